//! The backend-independent front of posting: pure validation of each request, and its resolution,
//! in order, against the stored transfers the batch names and the batch's earlier requests, into a
//! plan of the balances it moves.

use std::collections::{HashMap, HashSet};

use ehome_entities::ledger_transfer;

use crate::error::LedgerError;
use crate::types::{AccountId, Asset, TransferAction, TransferId, TransferKind, TransferRequest, canonical_json};

use super::MAX_TIMEOUT_SECONDS;

/// The balance movement of a new transfer, as computed before it is stored.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    pub(super) kind: TransferKind,
    pub(super) debit: AccountId,
    pub(super) credit: AccountId,
    pub(super) asset: Asset,
    pub(super) amount: i64,
    /// Amount of the hold that a post, void or expiry releases.
    pub(super) released: i64,
    pub(super) pending_id: Option<TransferId>,
    pub(super) reverses: Option<TransferId>,
    pub(super) timeout_at_us: Option<i64>,
    /// Index of an earlier request of the same batch this one needs (the hold it resolves, the transfer
    /// it reverses).
    pub(super) depends_on: Option<usize>,
}

impl Plan {
    /// A transfer between two accounts that resolves and reverses nothing.
    fn new(kind: TransferKind, debit: AccountId, credit: AccountId, asset: Asset, amount: i64) -> Self {
        Plan {
            kind,
            debit,
            credit,
            asset,
            amount,
            released: 0,
            pending_id: None,
            reverses: None,
            timeout_at_us: None,
            depends_on: None,
        }
    }

    /// A stored transfer, as much as resolving later requests needs.
    fn of_stored(m: &ledger_transfer::Model) -> Result<Self, LedgerError> {
        let (debit, credit) = (AccountId(m.debit_account_id), AccountId(m.credit_account_id));
        let parties = Plan::new(TransferKind::parse(&m.kind)?, debit, credit, m.asset.parse()?, m.amount);
        let reverses = m.reverses.as_deref().map(TransferId::parse).transpose()?;
        Ok(Plan { reverses, timeout_at_us: m.timeout_at_us, ..parties })
    }

    /// Increments of (debits_posted, debits_pending) on the debit account and (credits_posted,
    /// credits_pending) on the credit account.
    pub(super) fn deltas(&self) -> (i64, i64) {
        match self.kind {
            TransferKind::Single => (self.amount, 0),
            TransferKind::Pending => (0, self.amount),
            TransferKind::PostPending => (self.amount, -self.released),
            TransferKind::VoidPending | TransferKind::ExpirePending => (0, -self.released),
        }
    }

    /// Whether a closed account refuses this transfer. Releasing a hold is always allowed.
    pub(super) fn refused_by_closed(&self) -> bool {
        matches!(self.kind, TransferKind::Single | TransferKind::Pending | TransferKind::PostPending)
    }
}

/// Where a request stands while a batch is prepared.
#[derive(Clone, Debug)]
pub(super) enum Slot {
    New(Plan),
    /// Already stored with the same content: its stored row is the result.
    Existing(Box<ledger_transfer::Model>),
    /// Repeats an earlier request of the batch: same result as that one.
    SameAs(usize),
    Failed(LedgerError),
}

/// Stored transfers the batch refers to, by id, and the resolutions and reversals pointing at them.
#[derive(Default)]
pub(super) struct Known {
    by_id: HashMap<String, ledger_transfer::Model>,
    by_key: HashMap<String, ledger_transfer::Model>,
    resolution_of: HashMap<String, ledger_transfer::Model>,
    reversal_of: HashMap<String, ledger_transfer::Model>,
}

/// What a batch names among the stored transfers: its own ids (and those of the holds it resolves and
/// the transfers it reverses), its idempotency keys, the holds it resolves (to find their resolutions)
/// and the transfers it reverses (to find their reversals).
pub(super) struct Referenced {
    pub(super) ids: Vec<String>,
    pub(super) keys: Vec<String>,
    pub(super) pendings: Vec<String>,
    pub(super) reversed: Vec<String>,
}

impl Referenced {
    pub(super) fn of(requests: &[TransferRequest]) -> Self {
        let mut ids: Vec<String> = requests.iter().map(|r| r.id.to_text()).collect();
        let keys: Vec<String> = requests.iter().filter_map(|r| r.idempotency_key.clone()).collect();
        let mut pendings = vec![];
        let mut reversed = vec![];
        for r in requests {
            match &r.action {
                TransferAction::PostPending { pending_id, .. }
                | TransferAction::VoidPending { pending_id }
                | TransferAction::ExpirePending { pending_id } => pendings.push(pending_id.to_text()),
                TransferAction::Reverse { transfer_id } => reversed.push(transfer_id.to_text()),
                TransferAction::Single { .. } | TransferAction::Pending { .. } => {}
            }
        }
        ids.extend(pendings.iter().cloned());
        ids.extend(reversed.iter().cloned());
        Referenced { ids, keys, pendings, reversed }
    }
}

impl Known {
    /// Indexes the stored transfers a batch names ([`Referenced`]).
    pub(super) fn from_rows(rows: Vec<ledger_transfer::Model>) -> Self {
        let mut known = Known::default();
        for row in rows {
            if let Some(p) = &row.pending_id {
                known.resolution_of.insert(p.clone(), row.clone());
            }
            if let Some(r) = &row.reverses {
                known.reversal_of.insert(r.clone(), row.clone());
            }
            if let Some(k) = &row.idempotency_key {
                known.by_key.insert(k.clone(), row.clone());
            }
            known.by_id.insert(row.id.clone(), row);
        }
        known
    }
}

/// Checks that need no database.
pub(super) fn validate_request(r: &TransferRequest) -> Result<(), LedgerError> {
    if r.code.trim().is_empty() || r.code.len() > 64 {
        return Err(LedgerError::InvalidCode(r.code.clone()));
    }
    match &r.action {
        TransferAction::Single { debit, credit, amount, .. }
        | TransferAction::Pending { debit, credit, amount, .. } => {
            crate::types::Amount::new(*amount)?;
            if debit == credit {
                return Err(LedgerError::SameAccount(*debit));
            }
            if let TransferAction::Pending { timeout_seconds: Some(t), .. } = &r.action
                && (*t == 0 || *t > MAX_TIMEOUT_SECONDS)
            {
                return Err(LedgerError::InvalidTimeout);
            }
            Ok(())
        }
        TransferAction::PostPending { amount: Some(amount), .. } => crate::types::Amount::new(*amount).map(|_| ()),
        _ => Ok(()),
    }
}

/// A stored or planned transfer that a later request of the batch names (the hold it resolves, the
/// transfer it reverses), as a plan, with its index in the batch when the batch plans it.
type Target = (Plan, Option<usize>);

/// What the batch has planned so far: the requests' ids and keys (to their index), and the holds
/// they resolve and the transfers they reverse.
#[derive(Default)]
struct Planned<'a> {
    ids: HashMap<TransferId, usize>,
    keys: HashMap<&'a str, usize>,
    resolved: HashSet<TransferId>,
    reversed: HashSet<TransferId>,
}

/// Resolves each request, in order, against the stored transfers and the batch's earlier requests.
pub(super) fn resolve(requests: &[TransferRequest], known: &Known, now_us: i64) -> Result<Vec<Slot>, LedgerError> {
    let mut slots: Vec<Slot> = Vec::with_capacity(requests.len());
    let mut planned = Planned::default();
    for (index, r) in requests.iter().enumerate() {
        let slot = match repeat(r, requests, known, &planned)? {
            Some(slot) => slot,
            None => match validate_request(r) {
                Ok(()) => plan_one(r, &slots, known, &planned, now_us)?,
                Err(e) => Slot::Failed(e),
            },
        };
        if let Slot::New(plan) = &slot {
            planned.ids.insert(r.id, index);
            if let Some(k) = &r.idempotency_key {
                planned.keys.insert(k.as_str(), index);
            }
            if let Some(p) = plan.pending_id {
                planned.resolved.insert(p);
            }
            if let Some(t) = plan.reverses {
                planned.reversed.insert(t);
            }
        }
        slots.push(slot);
    }
    Ok(slots)
}

/// A request that repeats a stored transfer or an earlier request of the batch: the first result,
/// or a conflict if the content differs. `None` for a new request.
fn repeat(
    r: &TransferRequest,
    requests: &[TransferRequest],
    known: &Known,
    planned: &Planned,
) -> Result<Option<Slot>, LedgerError> {
    let stored =
        known.by_id.get(&r.id.to_text()).or_else(|| r.idempotency_key.as_ref().and_then(|k| known.by_key.get(k)));
    if let Some(stored) = stored {
        let original = referenced_amount(r, known);
        return Ok(Some(if stored_matches(r, stored, original)? {
            Slot::Existing(Box::new(stored.clone()))
        } else {
            Slot::Failed(LedgerError::IdempotencyConflict(r.id))
        }));
    }
    let earlier = planned.ids.get(&r.id).or_else(|| r.idempotency_key.as_deref().and_then(|k| planned.keys.get(k)));
    Ok(earlier.map(|&earlier| {
        if requests.get(earlier) == Some(r) {
            Slot::SameAs(earlier)
        } else {
            Slot::Failed(LedgerError::IdempotencyConflict(r.id))
        }
    }))
}

/// Plans a new, valid request.
fn plan_one(
    r: &TransferRequest,
    slots: &[Slot],
    known: &Known,
    planned: &Planned,
    now_us: i64,
) -> Result<Slot, LedgerError> {
    let find = |id: &TransferId| -> Result<Option<Target>, LedgerError> {
        if let Some(&i) = planned.ids.get(id)
            && let Some(Slot::New(plan)) = slots.get(i)
        {
            return Ok(Some((plan.clone(), Some(i))));
        }
        known.by_id.get(&id.to_text()).map(|m| Ok((Plan::of_stored(m)?, None))).transpose()
    };
    let plan = match &r.action {
        TransferAction::Single { debit, credit, asset, amount } => {
            Ok(Plan::new(TransferKind::Single, *debit, *credit, *asset, *amount))
        }
        TransferAction::Pending { debit, credit, asset, amount, timeout_seconds } => Ok(Plan {
            timeout_at_us: timeout_seconds.map(|s| now_us + i64::from(s) * 1_000_000),
            ..Plan::new(TransferKind::Pending, *debit, *credit, *asset, *amount)
        }),
        TransferAction::PostPending { pending_id, .. }
        | TransferAction::VoidPending { pending_id }
        | TransferAction::ExpirePending { pending_id } => {
            let hold = find(pending_id)?;
            plan_resolution(r, *pending_id, hold, known, &planned.resolved, now_us)
        }
        TransferAction::Reverse { transfer_id } => {
            let original = find(transfer_id)?;
            plan_reversal(*transfer_id, original, known, &planned.reversed)
        }
    };
    Ok(match plan {
        Ok(plan) => Slot::New(plan),
        Err(e) => Slot::Failed(e),
    })
}

fn plan_resolution(
    r: &TransferRequest,
    pending_id: TransferId,
    hold: Option<Target>,
    known: &Known,
    resolved_in_batch: &HashSet<TransferId>,
    now_us: i64,
) -> Result<Plan, LedgerError> {
    let (hold, index) = hold.ok_or(LedgerError::UnknownTransfer(pending_id))?;
    if hold.kind != TransferKind::Pending {
        return Err(LedgerError::NotPending(pending_id));
    }
    if known.resolution_of.contains_key(&pending_id.to_text()) || resolved_in_batch.contains(&pending_id) {
        return Err(LedgerError::HoldAlreadyResolved(pending_id));
    }
    let expired = hold.timeout_at_us.is_some_and(|t| t <= now_us);
    let (kind, amount) = match &r.action {
        TransferAction::PostPending { amount, .. } => {
            let amount = amount.unwrap_or(hold.amount);
            if amount > hold.amount {
                return Err(LedgerError::AmountExceedsPending { pending: hold.amount, requested: amount });
            }
            (TransferKind::PostPending, amount)
        }
        TransferAction::VoidPending { .. } => (TransferKind::VoidPending, hold.amount),
        _ => (TransferKind::ExpirePending, hold.amount),
    };
    match kind {
        TransferKind::ExpirePending if !expired => {
            return Err(LedgerError::HoldNotExpired(pending_id));
        }
        TransferKind::PostPending | TransferKind::VoidPending if expired => {
            return Err(LedgerError::HoldExpired(pending_id));
        }
        _ => {}
    }
    Ok(Plan {
        released: hold.amount,
        pending_id: Some(pending_id),
        depends_on: index,
        ..Plan::new(kind, hold.debit, hold.credit, hold.asset, amount)
    })
}

fn plan_reversal(
    transfer_id: TransferId,
    original: Option<Target>,
    known: &Known,
    reversed_in_batch: &HashSet<TransferId>,
) -> Result<Plan, LedgerError> {
    let (original, index) = original.ok_or(LedgerError::UnknownTransfer(transfer_id))?;
    if original.reverses.is_some() {
        return Err(LedgerError::ReversalOfReversal(transfer_id));
    }
    if !original.kind.is_posting() {
        return Err(LedgerError::NotReversible(transfer_id));
    }
    if known.reversal_of.contains_key(&transfer_id.to_text()) || reversed_in_batch.contains(&transfer_id) {
        return Err(LedgerError::AlreadyReversed(transfer_id));
    }
    // The reversal moves the amount back: the original's credit account is debited.
    Ok(Plan {
        reverses: Some(transfer_id),
        depends_on: index,
        ..Plan::new(TransferKind::Single, original.credit, original.debit, original.asset, original.amount)
    })
}

/// The amount of the hold a full post refers to, when it is stored.
fn referenced_amount(r: &TransferRequest, known: &Known) -> Option<i64> {
    match &r.action {
        TransferAction::PostPending { pending_id, amount: None } => {
            known.by_id.get(&pending_id.to_text()).map(|m| m.amount)
        }
        _ => None,
    }
}

/// Whether a stored transfer is what this request would have created (so a retry gets it back).
fn stored_matches(
    r: &TransferRequest,
    s: &ledger_transfer::Model,
    full_hold_amount: Option<i64>,
) -> Result<bool, LedgerError> {
    let same_envelope = s.id == r.id.to_text()
        && s.code == r.code
        && s.metadata == canonical_json(&r.metadata)
        && (r.idempotency_key.is_none() || s.idempotency_key == r.idempotency_key);
    if !same_envelope {
        return Ok(false);
    }
    let kind = TransferKind::parse(&s.kind)?;
    let same_accounts = |debit: &AccountId, credit: &AccountId, asset: &Asset, amount: &i64| {
        s.debit_account_id == debit.0
            && s.credit_account_id == credit.0
            && s.asset == asset.code()
            && s.amount == *amount
    };
    let pending_is = |p: &TransferId| s.pending_id.as_deref() == Some(p.to_text().as_str());
    Ok(match &r.action {
        TransferAction::Single { debit, credit, asset, amount } => {
            kind == TransferKind::Single && s.reverses.is_none() && same_accounts(debit, credit, asset, amount)
        }
        TransferAction::Pending { debit, credit, asset, amount, timeout_seconds } => {
            kind == TransferKind::Pending
                && same_accounts(debit, credit, asset, amount)
                && s.timeout_at_us.is_some() == timeout_seconds.is_some()
        }
        TransferAction::PostPending { pending_id, amount } => {
            kind == TransferKind::PostPending
                && pending_is(pending_id)
                && match (amount, full_hold_amount) {
                    (Some(a), _) => s.amount == *a,
                    (None, Some(full)) => s.amount == full,
                    (None, None) => true,
                }
        }
        TransferAction::VoidPending { pending_id } => kind == TransferKind::VoidPending && pending_is(pending_id),
        TransferAction::ExpirePending { pending_id } => kind == TransferKind::ExpirePending && pending_is(pending_id),
        TransferAction::Reverse { transfer_id } => {
            kind == TransferKind::Single && s.reverses.as_deref() == Some(transfer_id.to_text().as_str())
        }
    })
}
