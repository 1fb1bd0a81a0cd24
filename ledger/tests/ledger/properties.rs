//! Property test: random sequences of account creations, transfers, linked batches, holds, partial
//! posts, voids, expiries, reversals and retried ids. After every step the stored ledger equals a simple
//! in-memory reference model, every result (posted transfer or rejection) equals the model's, and the
//! invariants of DESIGN.md §4 hold (`verify` clean: chain intact, balances recomputed from transfers,
//! debits = credits per asset, no flag broken).

use std::collections::HashMap;

use ehome_ledger::prelude::*;
use ehome_ledger::{Transfer, TransferKind, store};
use proptest::prelude::*;
use proptest::sample::Index;
use sea_orm::TransactionTrait;
use serde_json::json;

use crate::support::TestDb;

const START_US: i64 = 1_800_000_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    CreateAccount { cny: bool, flags: u8 },
    Transfer(Leg),
    Hold { leg: Leg, timeout_seconds: Option<u32> },
    Post { hold: Index, amount: Option<i64> },
    Void { hold: Index },
    Reverse { target: Index },
    Linked(Vec<Leg>),
    Retry { previous: Index },
    RetryChanged { previous: Index },
    Close { account: Index },
    Advance { seconds: u32 },
    Expire,
}

#[derive(Clone, Debug)]
struct Leg {
    debit: Index,
    credit: Index,
    amount: i64,
    cny: bool,
}

fn leg() -> impl Strategy<Value = Leg> {
    (any::<Index>(), any::<Index>(), prop_oneof![8 => 1i64..400, 1 => -2i64..=0], prop::bool::weighted(0.1))
        .prop_map(|(debit, credit, amount, cny)| Leg { debit, credit, amount, cny })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (any::<bool>(), 0u8..4).prop_map(|(cny, flags)| Op::CreateAccount { cny, flags }),
        10 => leg().prop_map(Op::Transfer),
        4 => (leg(), prop::option::of(1u32..100)).prop_map(|(leg, timeout_seconds)| Op::Hold { leg, timeout_seconds }),
        3 => (any::<Index>(), prop::option::of(0i64..400)).prop_map(|(hold, amount)| Op::Post { hold, amount }),
        2 => any::<Index>().prop_map(|hold| Op::Void { hold }),
        3 => any::<Index>().prop_map(|target| Op::Reverse { target }),
        3 => prop::collection::vec(leg(), 1..4).prop_map(Op::Linked),
        3 => any::<Index>().prop_map(|previous| Op::Retry { previous }),
        1 => any::<Index>().prop_map(|previous| Op::RetryChanged { previous }),
        1 => any::<Index>().prop_map(|account| Op::Close { account }),
        2 => (1u32..150).prop_map(|seconds| Op::Advance { seconds }),
        2 => Just(Op::Expire),
    ]
}

// ---------------------------------------------------------------------------------------------------
// The reference model: balances as plain integers, transfers in a map, each rule written out plainly.
// ---------------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
struct MAccount {
    asset: Asset,
    flags: AccountFlags,
    balances: [i64; 4], // debits_posted, credits_posted, debits_pending, credits_pending
}

#[derive(Clone, Debug)]
struct MTransfer {
    request: TransferRequest,
    kind: TransferKind,
    debit: AccountId,
    credit: AccountId,
    asset: Asset,
    amount: i64,
    reverses: Option<TransferId>,
    pending_id: Option<TransferId>,
    timeout_at_us: Option<i64>,
}

#[derive(Clone, Debug, Default)]
struct Model {
    accounts: HashMap<AccountId, MAccount>,
    transfers: HashMap<TransferId, MTransfer>,
    resolved: HashMap<TransferId, TransferId>,
    reversed: HashMap<TransferId, TransferId>,
}

/// What resolving a later request needs of an earlier transfer: kind, debit, credit, asset, amount,
/// whether it is a reversal, its timeout.
type Target = (TransferKind, AccountId, AccountId, Asset, i64, bool, Option<i64>);

type Outcome = Result<(TransferKind, AccountId, AccountId, i64), LedgerError>;

/// The model's view of what a request would do, before balances are touched.
#[derive(Clone, Copy, Debug)]
struct MPlan {
    kind: TransferKind,
    debit: AccountId,
    credit: AccountId,
    asset: Asset,
    amount: i64,
    released: i64,
    pending_id: Option<TransferId>,
    reverses: Option<TransferId>,
    timeout_at_us: Option<i64>,
}

enum MSlot {
    New(MPlan),
    Existing(MTransfer),
    Failed(LedgerError),
}

impl Model {
    fn matches(&self, r: &TransferRequest, s: &MTransfer) -> bool {
        if s.request.code != r.code || s.request.metadata != r.metadata {
            return false;
        }
        match &r.action {
            TransferAction::Single { debit, credit, asset, amount } => {
                s.kind == TransferKind::Single
                    && s.reverses.is_none()
                    && (s.debit, s.credit, s.asset, s.amount) == (*debit, *credit, *asset, *amount)
            }
            TransferAction::Pending { debit, credit, asset, amount, timeout_seconds } => {
                s.kind == TransferKind::Pending
                    && (s.debit, s.credit, s.asset, s.amount) == (*debit, *credit, *asset, *amount)
                    && s.timeout_at_us.is_some() == timeout_seconds.is_some()
            }
            TransferAction::PostPending { pending_id, amount } => {
                s.kind == TransferKind::PostPending
                    && s.pending_id == Some(*pending_id)
                    && match amount {
                        Some(a) => s.amount == *a,
                        None => self.transfers.get(pending_id).is_none_or(|h| h.amount == s.amount),
                    }
            }
            TransferAction::VoidPending { pending_id } => {
                s.kind == TransferKind::VoidPending && s.pending_id == Some(*pending_id)
            }
            TransferAction::ExpirePending { pending_id } => {
                s.kind == TransferKind::ExpirePending && s.pending_id == Some(*pending_id)
            }
            TransferAction::Reverse { transfer_id } => {
                s.kind == TransferKind::Single && s.reverses == Some(*transfer_id)
            }
        }
    }

    /// Everything checked before balances: idempotency, amounts, references.
    fn plan(&self, r: &TransferRequest, now_us: i64, batch: &[(TransferId, MPlan)]) -> MSlot {
        if let Some(s) = self.transfers.get(&r.id) {
            return if self.matches(r, s) {
                MSlot::Existing(s.clone())
            } else {
                MSlot::Failed(LedgerError::IdempotencyConflict(r.id))
            };
        }
        let find = |id: &TransferId| -> Option<Target> {
            if let Some((_, p)) = batch.iter().find(|(bid, _)| bid == id) {
                return Some((p.kind, p.debit, p.credit, p.asset, p.amount, p.reverses.is_some(), p.timeout_at_us));
            }
            self.transfers
                .get(id)
                .map(|t| (t.kind, t.debit, t.credit, t.asset, t.amount, t.reverses.is_some(), t.timeout_at_us))
        };
        let resolved_in_batch = |id: &TransferId| batch.iter().any(|(_, p)| p.pending_id == Some(*id));
        let reversed_in_batch = |id: &TransferId| batch.iter().any(|(_, p)| p.reverses == Some(*id));
        let fail = MSlot::Failed;
        match &r.action {
            TransferAction::Single { debit, credit, asset, amount }
            | TransferAction::Pending { debit, credit, asset, amount, .. } => {
                if *amount <= 0 {
                    return fail(LedgerError::AmountNotPositive(*amount));
                }
                if debit == credit {
                    return fail(LedgerError::SameAccount(*debit));
                }
                let pending = matches!(r.action, TransferAction::Pending { .. });
                let timeout = match &r.action {
                    TransferAction::Pending { timeout_seconds, .. } => {
                        timeout_seconds.map(|s| now_us + i64::from(s) * 1_000_000)
                    }
                    _ => None,
                };
                MSlot::New(MPlan {
                    kind: if pending { TransferKind::Pending } else { TransferKind::Single },
                    debit: *debit,
                    credit: *credit,
                    asset: *asset,
                    amount: *amount,
                    released: 0,
                    pending_id: None,
                    reverses: None,
                    timeout_at_us: timeout,
                })
            }
            TransferAction::PostPending { pending_id, .. }
            | TransferAction::VoidPending { pending_id }
            | TransferAction::ExpirePending { pending_id } => {
                let post_amount = match &r.action {
                    TransferAction::PostPending { amount: Some(a), .. } => Some(*a),
                    _ => None,
                };
                if let Some(a) = post_amount
                    && a <= 0
                {
                    return fail(LedgerError::AmountNotPositive(a));
                }
                let Some((kind, debit, credit, asset, held, _, timeout)) = find(pending_id) else {
                    return fail(LedgerError::UnknownTransfer(*pending_id));
                };
                if kind != TransferKind::Pending {
                    return fail(LedgerError::NotPending(*pending_id));
                }
                if self.resolved.contains_key(pending_id) || resolved_in_batch(pending_id) {
                    return fail(LedgerError::HoldAlreadyResolved(*pending_id));
                }
                let expired = timeout.is_some_and(|t| t <= now_us);
                let (kind, amount) = match &r.action {
                    TransferAction::PostPending { amount, .. } => {
                        let a = amount.unwrap_or(held);
                        if a > held {
                            return fail(LedgerError::AmountExceedsPending { pending: held, requested: a });
                        }
                        (TransferKind::PostPending, a)
                    }
                    TransferAction::VoidPending { .. } => (TransferKind::VoidPending, held),
                    _ => (TransferKind::ExpirePending, held),
                };
                if kind == TransferKind::ExpirePending && !expired {
                    return fail(LedgerError::HoldNotExpired(*pending_id));
                }
                if kind != TransferKind::ExpirePending && expired {
                    return fail(LedgerError::HoldExpired(*pending_id));
                }
                MSlot::New(MPlan {
                    kind,
                    debit,
                    credit,
                    asset,
                    amount,
                    released: held,
                    pending_id: Some(*pending_id),
                    reverses: None,
                    timeout_at_us: None,
                })
            }
            TransferAction::Reverse { transfer_id } => {
                let Some((kind, debit, credit, asset, amount, is_reversal, _)) = find(transfer_id) else {
                    return fail(LedgerError::UnknownTransfer(*transfer_id));
                };
                if is_reversal {
                    return fail(LedgerError::ReversalOfReversal(*transfer_id));
                }
                if !kind.is_posting() {
                    return fail(LedgerError::NotReversible(*transfer_id));
                }
                if self.reversed.contains_key(transfer_id) || reversed_in_batch(transfer_id) {
                    return fail(LedgerError::AlreadyReversed(*transfer_id));
                }
                MSlot::New(MPlan {
                    kind: TransferKind::Single,
                    debit: credit,
                    credit: debit,
                    asset,
                    amount,
                    released: 0,
                    pending_id: None,
                    reverses: Some(*transfer_id),
                    timeout_at_us: None,
                })
            }
        }
    }

    /// Checks accounts and moves balances, or says why not.
    fn apply(&mut self, p: &MPlan) -> Result<(), LedgerError> {
        let closing = matches!(p.kind, TransferKind::Single | TransferKind::Pending | TransferKind::PostPending);
        for id in [p.debit, p.credit] {
            let a = self.accounts.get(&id).ok_or(LedgerError::UnknownAccount(id))?;
            if a.asset != p.asset {
                return Err(LedgerError::AssetMismatch { account: id, account_asset: a.asset, transfer: p.asset });
            }
            if closing && a.flags.closed() {
                return Err(LedgerError::AccountClosed(id));
            }
        }
        let (posted, pending) = match p.kind {
            TransferKind::Single => (p.amount, 0),
            TransferKind::Pending => (0, p.amount),
            TransferKind::PostPending => (p.amount, -p.released),
            TransferKind::VoidPending | TransferKind::ExpirePending => (0, -p.released),
        };
        let mut sides = [(p.debit, true), (p.credit, false)];
        sides.sort();
        for (id, debit_side) in sides {
            let a = &self.accounts[&id];
            let [dp, cp, dpend, cpend] = a.balances;
            let grows = posted + pending > 0;
            let refused = if debit_side {
                a.flags.debits_must_not_exceed_credits() && grows && dp + dpend + posted + pending > cp
            } else {
                a.flags.credits_must_not_exceed_debits() && grows && cp + cpend + posted + pending > dp
            };
            if refused {
                return Err(if debit_side {
                    LedgerError::InsufficientFunds(id)
                } else {
                    LedgerError::CreditLimitExceeded(id)
                });
            }
        }
        let d = self.accounts.get_mut(&p.debit).unwrap();
        d.balances[0] += posted;
        d.balances[2] += pending;
        let c = self.accounts.get_mut(&p.credit).unwrap();
        c.balances[1] += posted;
        c.balances[3] += pending;
        Ok(())
    }

    fn record(&mut self, r: &TransferRequest, p: MPlan) -> MTransfer {
        let t = MTransfer {
            request: r.clone(),
            kind: p.kind,
            debit: p.debit,
            credit: p.credit,
            asset: p.asset,
            amount: p.amount,
            reverses: p.reverses,
            pending_id: p.pending_id,
            timeout_at_us: p.timeout_at_us,
        };
        if let Some(h) = p.pending_id {
            self.resolved.insert(h, r.id);
        }
        if let Some(o) = p.reverses {
            self.reversed.insert(o, r.id);
        }
        self.transfers.insert(r.id, t.clone());
        t
    }

    /// A linked batch: resolve all, then apply in order on a copy; all or nothing.
    fn post_linked(&mut self, requests: &[TransferRequest], now_us: i64) -> Vec<Outcome> {
        let mut slots: Vec<MSlot> = vec![];
        let mut planned: Vec<(TransferId, MPlan)> = vec![];
        for r in requests {
            let slot = if planned.iter().any(|(id, _)| *id == r.id) {
                // Repeats inside one batch are not generated by this test.
                MSlot::Failed(LedgerError::IdempotencyConflict(r.id))
            } else {
                self.plan(r, now_us, &planned)
            };
            if let MSlot::New(p) = &slot {
                planned.push((r.id, *p));
            }
            slots.push(slot);
        }
        let linked_failure = |i: usize, e: LedgerError| -> Vec<Outcome> {
            (0..requests.len())
                .map(|j| Err(if j == i { e.clone() } else { LedgerError::LinkedTransferFailed }))
                .collect()
        };
        if let Some((i, e)) = slots.iter().enumerate().find_map(|(i, s)| match s {
            MSlot::Failed(e) => Some((i, e.clone())),
            _ => None,
        }) {
            return linked_failure(i, e);
        }
        let mut trial = self.clone();
        let mut out = vec![];
        for (i, (r, slot)) in requests.iter().zip(slots).enumerate() {
            match slot {
                MSlot::New(p) => {
                    if let Err(e) = trial.apply(&p) {
                        return linked_failure(i, e);
                    }
                    let t = trial.record(r, p);
                    out.push(Ok((t.kind, t.debit, t.credit, t.amount)));
                }
                MSlot::Existing(t) => out.push(Ok((t.kind, t.debit, t.credit, t.amount))),
                MSlot::Failed(_) => unreachable!(),
            }
        }
        *self = trial;
        out
    }
}

fn outcome(result: Result<Transfer, LedgerError>) -> Outcome {
    result.map(|t| (t.kind, t.debit, t.credit, t.amount))
}

// ---------------------------------------------------------------------------------------------------
// Driving both
// ---------------------------------------------------------------------------------------------------

struct Harness {
    t: TestDb,
    model: Model,
    accounts: Vec<AccountId>,
    holds: Vec<TransferId>,
    posted: Vec<TransferId>,
    sent: Vec<TransferRequest>,
    now_us: i64,
}

impl Harness {
    async fn new() -> Harness {
        let mut h = Harness {
            t: TestDb::new().await,
            model: Model::default(),
            accounts: vec![],
            holds: vec![],
            posted: vec![],
            sent: vec![],
            now_us: START_US,
        };
        h.create(false, 0).await;
        h.create(false, 1).await;
        h.create(false, 1).await;
        h.create(true, 0).await;
        h.create(true, 1).await;
        h
    }

    async fn create(&mut self, cny: bool, flags: u8) {
        let asset = if cny { Asset::Cny } else { Asset::Points };
        let flags = AccountFlags::from_bits(i32::from(flags % 3)).unwrap();
        let code = format!("prop:{}", self.accounts.len());
        let a = store::create_account(&self.t.db, &NewAccount::new(code, asset, flags)).await.unwrap();
        self.model.accounts.insert(a.id, MAccount { asset, flags, balances: [0; 4] });
        self.accounts.push(a.id);
    }

    fn account(&self, i: &Index) -> AccountId {
        // One time in sixteen, an account that does not exist.
        if i.index(16) == 0 { AccountId(9_999) } else { *i.get(&self.accounts) }
    }

    fn leg(&self, l: &Leg, pending: Option<Option<u32>>) -> TransferRequest {
        let (debit, credit) = (self.account(&l.debit), self.account(&l.credit));
        let asset = if l.cny { Asset::Cny } else { Asset::Points };
        let action = match pending {
            None => TransferAction::Single { debit, credit, asset, amount: l.amount },
            Some(timeout_seconds) => {
                TransferAction::Pending { debit, credit, asset, amount: l.amount, timeout_seconds }
            }
        };
        TransferRequest::new(action, "prop").with_metadata(json!({"n": self.sent.len()}))
    }

    async fn send(&mut self, requests: Vec<TransferRequest>) {
        let expected = self.model.post_linked(&requests, self.now_us);
        let txn = self.t.ledger().begin().await.unwrap();
        let actual: Vec<Outcome> = match store::post_linked_at(&txn, &requests, self.now_us).await {
            Ok(posted) => posted.into_iter().map(|t| outcome(Ok(t))).collect(),
            Err(batch) => batch.failures.into_iter().map(|f| Err(f.error)).collect(),
        };
        txn.commit().await.unwrap();
        assert_eq!(actual, expected, "requests: {requests:#?}");
        for (r, o) in requests.iter().zip(&actual) {
            if let Ok((kind, ..)) = o {
                match kind {
                    TransferKind::Pending => self.holds.push(r.id),
                    TransferKind::Single | TransferKind::PostPending => self.posted.push(r.id),
                    _ => {}
                }
            }
        }
        self.sent.extend(requests);
    }

    async fn step(&mut self, op: &Op) {
        match op {
            Op::CreateAccount { cny, flags } => self.create(*cny, *flags).await,
            Op::Transfer(l) => self.send(vec![self.leg(l, None)]).await,
            Op::Hold { leg, timeout_seconds } => self.send(vec![self.leg(leg, Some(*timeout_seconds))]).await,
            Op::Post { hold, amount } if !self.holds.is_empty() => {
                let pending_id = *hold.get(&self.holds);
                self.send(vec![TransferRequest::new(
                    TransferAction::PostPending { pending_id, amount: *amount },
                    "prop",
                )])
                .await;
            }
            Op::Void { hold } if !self.holds.is_empty() => {
                let pending_id = *hold.get(&self.holds);
                self.send(vec![TransferRequest::new(TransferAction::VoidPending { pending_id }, "prop")]).await;
            }
            Op::Reverse { target } if !self.posted.is_empty() => {
                let transfer_id = *target.get(&self.posted);
                self.send(vec![TransferRequest::new(TransferAction::Reverse { transfer_id }, "reversal")]).await;
            }
            Op::Linked(legs) => {
                let requests = legs.iter().map(|l| self.leg(l, None)).collect();
                self.send(requests).await;
            }
            Op::Retry { previous } if !self.sent.is_empty() => {
                let r = previous.get(&self.sent).clone();
                self.send(vec![r]).await;
            }
            Op::RetryChanged { previous } if !self.sent.is_empty() => {
                let r = previous.get(&self.sent).clone().with_metadata(json!({"changed": true}));
                self.send(vec![r]).await;
            }
            Op::Close { account } => {
                let id = *account.get(&self.accounts);
                store::close_account(&self.t.db, id).await.unwrap();
                let a = self.model.accounts.get_mut(&id).unwrap();
                a.flags = a.flags.union(AccountFlags::CLOSED);
            }
            Op::Advance { seconds } => self.now_us += i64::from(*seconds) * 1_000_000,
            Op::Expire => self.expire().await,
            _ => {}
        }
    }

    async fn expire(&mut self) {
        let mut due: Vec<TransferId> = self
            .model
            .transfers
            .iter()
            .filter(|(id, t)| {
                t.kind == TransferKind::Pending
                    && !self.model.resolved.contains_key(id)
                    && t.timeout_at_us.is_some_and(|at| at <= self.now_us)
            })
            .map(|(id, _)| *id)
            .collect();
        due.sort();
        let txn = self.t.db.begin().await.unwrap();
        let expired = store::expire_holds(&txn, self.now_us, 10_000).await.unwrap();
        txn.commit().await.unwrap();
        let mut got: Vec<TransferId> = expired.iter().map(|t| t.pending_id.unwrap()).collect();
        got.sort();
        assert_eq!(got, due);
        for t in expired {
            let request = store::expiry_request(&store::transfer(&self.t.db, t.pending_id.unwrap()).await.unwrap());
            assert_eq!(request.id, t.id);
            let MSlot::New(plan) = self.model.plan(&request, self.now_us, &[]) else {
                panic!("the model cannot expire {request:?}")
            };
            self.model.apply(&plan).unwrap();
            self.model.record(&request, plan);
        }
    }

    async fn check(&self) {
        for (id, m) in &self.model.accounts {
            let a = store::account(&self.t.db, *id).await.unwrap();
            assert_eq!(
                [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending],
                m.balances,
                "account {id}"
            );
            assert_eq!(a.flags, m.flags);
            if a.flags.debits_must_not_exceed_credits() {
                assert!(a.balance().available >= 0, "account {id} overdrawn");
            }
        }
        for line in store::trial_balance(&self.t.db).await.unwrap() {
            assert!(line.balanced(), "{line:?}");
        }
        let report = self.t.ledger().verify(&mut |_, _| {}).await.unwrap();
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.transfers as usize, self.model.transfers.len());
    }
}

fn cases() -> u32 {
    let default = if crate::support::Backend::from_env() == crate::support::Backend::Postgres { 24 } else { 48 };
    std::env::var("EHOME_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_behaves_like_the_reference_model(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut h = Harness::new().await;
            for op in &ops {
                h.step(op).await;
                h.check().await;
            }
        });
    }
}
