//! `verify`: recompute every balance from the transfers and check the books.
//!
//! It replays the transfers in global order, checking each hash, each link to the previous hash of its
//! chain, the positions in each chain and every chain head; recomputes every account's four running balances and compares
//! them with the stored ones; checks each account's flags against its balances; and checks that debits
//! equal credits per asset. Every problem becomes a [`Fault`]; the report is clean when there are none.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use serde::Serialize;

use ehome_entities::{ledger_account, ledger_transfer};

use crate::error::LedgerError;
use crate::hash::{GENESIS_HASH, transfer_hash};
use crate::types::{AccountFlags, Asset, TransferKind};

/// Transfers read per query while replaying.
const PAGE: u64 = 5000;

/// Progress callback: (transfers done, transfers in total).
pub type Progress<'a> = &'a mut (dyn FnMut(u64, u64) + Send);

/// One thing wrong with the books.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The stored hash is not the hash of the transfer's content: the transfer was edited.
    HashMismatch { seq: i64, id: String },
    /// The transfer does not name the previous transfer's hash: a transfer was inserted or deleted.
    ChainBroken { seq: i64, chain: i32, expected_prev: String, found_prev: String },
    /// Positions in a chain are not consecutive: a transfer was deleted or inserted.
    ChainGap { seq: i64, chain: i32, expected: i64, found: i64 },
    /// The global order went backwards.
    SequenceOutOfOrder { seq: i64, previous: i64 },
    /// A chain head does not point at the last transfer of its chain (the end was cut off).
    ChainHeadMismatch { chain: i32, head_seq: i64, last_seq: i64 },
    /// A transfer that the ledger could never have accepted.
    BadTransfer { seq: i64, reason: String },
    /// A stored running balance differs from the sum of the account's transfers.
    BalanceMismatch { account: i64, code: String, field: &'static str, stored: i64, recomputed: i64 },
    /// An account's balances break its flags.
    FlagViolated { account: i64, code: String, flag: &'static str },
    /// Debits and credits of an asset differ, in the stored running balances (`stored`) or in the
    /// balances recomputed from the transfers.
    Unbalanced { asset: String, debits: i64, credits: i64, pending: bool, stored: bool },
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub transfers: u64,
    pub accounts: u64,
    /// Per asset: recomputed (debits posted, credits posted).
    pub totals: BTreeMap<String, (i64, i64)>,
    /// Per chain that holds transfers: its length and last hash.
    pub chains: BTreeMap<i32, (i64, String)>,
    pub faults: Vec<Fault>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.faults.is_empty()
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "transfers checked: {}", self.transfers)?;
        writeln!(f, "accounts checked:  {}", self.accounts)?;
        writeln!(f, "hash chains:       {} in use", self.chains.len())?;
        for (asset, (debits, credits)) in &self.totals {
            let a: Option<Asset> = asset.parse().ok();
            let fmt = |v: i64| a.map_or_else(|| v.to_string(), |a| a.format_minor(v));
            writeln!(f, "{asset}: debits {} credits {}", fmt(*debits), fmt(*credits))?;
        }
        if self.faults.is_empty() {
            writeln!(f, "OK: chain intact, balances recomputed, debits equal credits")
        } else {
            writeln!(f, "FAULTS: {}", self.faults.len())?;
            for fault in &self.faults {
                writeln!(f, "  {}", serde_json::to_string(fault).unwrap_or_default())?;
            }
            Ok(())
        }
    }
}

/// Recomputed balances of one account: [debits_posted, credits_posted, debits_pending, credits_pending].
type Sums = [i64; 4];

struct Hold {
    debit: i64,
    credit: i64,
    amount: i64,
    resolved: bool,
}

struct Replay {
    accounts: HashMap<i64, ledger_account::Model>,
    sums: HashMap<i64, Sums>,
    holds: HashMap<String, Hold>,
    posted: HashMap<String, (TransferKind, bool)>,
    reversed: HashMap<String, i64>,
    faults: Vec<Fault>,
    last_seq: i64,
    /// Per chain: last position and last hash.
    chains: BTreeMap<i32, (i64, String)>,
}

impl Replay {
    fn bad(&mut self, seq: i64, reason: String) {
        self.faults.push(Fault::BadTransfer { seq, reason });
    }

    fn add(&mut self, account: i64, field: usize, delta: i64, seq: i64) {
        let sums = self.sums.entry(account).or_insert([0; 4]);
        match sums[field].checked_add(delta) {
            Some(v) => sums[field] = v,
            None => {
                self.bad(seq, format!("balance overflow on account {account}"));
            }
        }
    }

    fn check_chain(&mut self, t: &ledger_transfer::Model) {
        if t.seq <= self.last_seq {
            self.faults.push(Fault::SequenceOutOfOrder { seq: t.seq, previous: self.last_seq });
        }
        let (last, last_hash) = self.chains.get(&t.chain_id).cloned().unwrap_or((0, GENESIS_HASH.to_owned()));
        if t.chain_seq != last + 1 {
            self.faults.push(Fault::ChainGap { seq: t.seq, chain: t.chain_id, expected: last + 1, found: t.chain_seq });
        }
        if t.prev_hash != last_hash {
            self.faults.push(Fault::ChainBroken {
                seq: t.seq,
                chain: t.chain_id,
                expected_prev: last_hash,
                found_prev: t.prev_hash.clone(),
            });
        }
        if transfer_hash(t) != t.hash {
            self.faults.push(Fault::HashMismatch { seq: t.seq, id: t.id.clone() });
        }
        self.last_seq = t.seq;
        self.chains.insert(t.chain_id, (t.chain_seq, t.hash.clone()));
    }

    fn check_shape(&mut self, t: &ledger_transfer::Model) -> Option<TransferKind> {
        let kind = match TransferKind::parse(&t.kind) {
            Ok(k) => k,
            Err(e) => {
                self.bad(t.seq, e.to_string());
                return None;
            }
        };
        if t.amount <= 0 {
            self.bad(t.seq, format!("amount {} is not positive", t.amount));
        }
        if t.debit_account_id == t.credit_account_id {
            self.bad(t.seq, "same account on both sides".into());
        }
        for id in [t.debit_account_id, t.credit_account_id] {
            match self.accounts.get(&id) {
                None => self.bad(t.seq, format!("unknown account {id}")),
                Some(a) if a.asset != t.asset => {
                    let reason = format!("asset {} on account {id} holding {}", t.asset, a.asset);
                    self.bad(t.seq, reason);
                }
                Some(_) => {}
            }
        }
        Some(kind)
    }

    fn replay(&mut self, t: &ledger_transfer::Model) {
        self.check_chain(t);
        let Some(kind) = self.check_shape(t) else {
            return;
        };
        let (d, c, a, seq) = (t.debit_account_id, t.credit_account_id, t.amount, t.seq);
        match kind {
            TransferKind::Single => {
                self.add(d, 0, a, seq);
                self.add(c, 1, a, seq);
                if let Some(original) = &t.reverses {
                    self.check_reversal(t, original);
                }
                self.posted.insert(t.id.clone(), (kind, t.reverses.is_some()));
            }
            TransferKind::Pending => {
                self.add(d, 2, a, seq);
                self.add(c, 3, a, seq);
                let hold = Hold { debit: d, credit: c, amount: a, resolved: false };
                self.holds.insert(t.id.clone(), hold);
            }
            TransferKind::PostPending | TransferKind::VoidPending | TransferKind::ExpirePending => {
                let Some(pending_id) = t.pending_id.clone() else {
                    self.bad(seq, "resolution without pending_id".into());
                    return;
                };
                let Some(hold) = self.holds.get_mut(&pending_id) else {
                    self.bad(seq, format!("resolves unknown hold {pending_id}"));
                    return;
                };
                let (hd, hc, ha, was_resolved) = (hold.debit, hold.credit, hold.amount, hold.resolved);
                hold.resolved = true;
                if was_resolved {
                    self.bad(seq, format!("hold {pending_id} resolved twice"));
                }
                if hd != d || hc != c || a > ha {
                    self.bad(seq, format!("resolution does not match hold {pending_id}"));
                }
                self.add(hd, 2, -ha, seq);
                self.add(hc, 3, -ha, seq);
                if kind == TransferKind::PostPending {
                    self.add(d, 0, a, seq);
                    self.add(c, 1, a, seq);
                    self.posted.insert(t.id.clone(), (kind, false));
                }
            }
        }
    }

    fn check_reversal(&mut self, t: &ledger_transfer::Model, original: &str) {
        match self.posted.get(original) {
            None => self.bad(t.seq, format!("reverses unknown or unposted transfer {original}")),
            Some((_, true)) => self.bad(t.seq, format!("reverses the reversal {original}")),
            Some(_) => {}
        }
        if self.reversed.insert(original.to_owned(), t.seq).is_some() {
            self.bad(t.seq, format!("transfer {original} reversed twice"));
        }
    }

    fn check_accounts(&mut self, totals: &mut BTreeMap<String, (i64, i64)>) {
        const FIELDS: [&str; 4] = ["debits_posted", "credits_posted", "debits_pending", "credits_pending"];
        let mut per_asset: BTreeMap<String, [i64; 4]> = BTreeMap::new();
        let mut stored_per_asset: BTreeMap<String, [i64; 4]> = BTreeMap::new();
        let mut ids: Vec<i64> = self.accounts.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(acct) = self.accounts.get(&id).cloned() else {
                continue;
            };
            let stored = [acct.debits_posted, acct.credits_posted, acct.debits_pending, acct.credits_pending];
            let recomputed = self.sums.get(&id).copied().unwrap_or([0; 4]);
            for i in 0..4 {
                if stored[i] != recomputed[i] {
                    self.faults.push(Fault::BalanceMismatch {
                        account: id,
                        code: acct.code.clone(),
                        field: FIELDS[i],
                        stored: stored[i],
                        recomputed: recomputed[i],
                    });
                }
            }
            self.check_flags(&acct, &stored);
            self.check_flags(&acct, &recomputed);
            for (sums, values) in [(&mut per_asset, recomputed), (&mut stored_per_asset, stored)] {
                let line = sums.entry(acct.asset.clone()).or_insert([0; 4]);
                for i in 0..4 {
                    line[i] = line[i].saturating_add(values[i]);
                }
            }
        }
        for (stored, sums) in [(true, &stored_per_asset), (false, &per_asset)] {
            for (asset, [dp, cp, dpend, cpend]) in sums {
                for (debits, credits, pending) in [(*dp, *cp, false), (*dpend, *cpend, true)] {
                    if debits != credits {
                        let asset = asset.clone();
                        self.faults.push(Fault::Unbalanced { asset, debits, credits, pending, stored });
                    }
                }
            }
        }
        for (asset, [dp, cp, _, _]) in per_asset {
            totals.insert(asset, (dp, cp));
        }
    }

    fn check_flags(&mut self, acct: &ledger_account::Model, [dp, cp, dpend, cpend]: &Sums) {
        let Ok(flags) = AccountFlags::from_bits(acct.flags) else {
            let fault = Fault::FlagViolated { account: acct.id, code: acct.code.clone(), flag: "invalid" };
            self.faults.push(fault);
            return;
        };
        let violated = if flags.debits_must_not_exceed_credits() && dp + dpend > *cp {
            Some("debits_must_not_exceed_credits")
        } else if flags.credits_must_not_exceed_debits() && cp + cpend > *dp {
            Some("credits_must_not_exceed_debits")
        } else if [dp, cp, dpend, cpend].iter().any(|v| **v < 0) {
            Some("non_negative")
        } else {
            None
        };
        if let Some(flag) = violated {
            let fault = Fault::FlagViolated { account: acct.id, code: acct.code.clone(), flag };
            if !self.faults.contains(&fault) {
                self.faults.push(fault);
            }
        }
    }
}

/// Verifies the whole ledger. Run it in a transaction with a stable snapshot (see
/// [`crate::Ledger::verify`]) when writers are active, so that accounts and transfers are read as of
/// one instant.
pub async fn verify(conn: &impl ConnectionTrait, progress: Progress<'_>) -> Result<VerifyReport, LedgerError> {
    let accounts = crate::store::all_accounts(conn).await?;
    let total = ledger_transfer::Entity::find().count(conn).await?;
    let mut replay = Replay {
        accounts: accounts.into_iter().map(|a| (a.id, a)).collect(),
        sums: HashMap::new(),
        holds: HashMap::new(),
        posted: HashMap::new(),
        reversed: HashMap::new(),
        faults: vec![],
        last_seq: 0,
        chains: BTreeMap::new(),
    };
    let mut done = 0u64;
    progress(0, total);
    loop {
        let page = ledger_transfer::Entity::find()
            .filter(ledger_transfer::Column::Seq.gt(replay.last_seq))
            .order_by_asc(ledger_transfer::Column::Seq)
            .limit(PAGE)
            .all(conn)
            .await?;
        if page.is_empty() {
            break;
        }
        for t in &page {
            replay.replay(t);
        }
        done += page.len() as u64;
        progress(done, total.max(done));
    }
    let heads = read_heads(conn).await?;
    for chain in replay.chains.keys() {
        if !heads.contains_key(chain) {
            let reason = format!("chain {chain} has no head");
            replay.faults.push(Fault::BadTransfer { seq: 0, reason });
        }
    }
    for (chain, (head_seq, head_hash)) in &heads {
        let (last_seq, last_hash) = replay.chains.get(chain).cloned().unwrap_or((0, GENESIS_HASH.to_owned()));
        if *head_seq != last_seq || *head_hash != last_hash {
            replay.faults.push(Fault::ChainHeadMismatch { chain: *chain, head_seq: *head_seq, last_seq });
        }
    }
    let mut totals = BTreeMap::new();
    replay.check_accounts(&mut totals);
    Ok(VerifyReport {
        transfers: done,
        accounts: replay.accounts.len() as u64,
        totals,
        chains: replay.chains,
        faults: replay.faults,
    })
}

async fn read_heads(conn: &impl ConnectionTrait) -> Result<BTreeMap<i32, (i64, String)>, LedgerError> {
    let backend: DbBackend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, last_seq, last_hash FROM ledger_chain_head ORDER BY id",
        ))
        .await?;
    let mut heads = BTreeMap::new();
    for row in rows {
        heads.insert(row.try_get_by_index::<i32>(0)?, (row.try_get_by_index(1)?, row.try_get_by_index(2)?));
    }
    Ok(heads)
}
