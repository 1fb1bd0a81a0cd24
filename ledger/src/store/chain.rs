//! A batch's new transfers as rows: hashed and linked after the chain head the batch holds, numbered
//! by the database as they are inserted, and turned into the batch's results.

use std::collections::{BTreeSet, HashMap};

use sea_orm::QueryResult;

use ehome_entities::ledger_transfer;

use crate::error::LedgerError;
use crate::hash::transfer_hash;
use crate::types::{AccountId, TransferId, TransferRequest, canonical_json};

use super::plan::{Plan, Slot};
use super::records::Transfer;

/// A new transfer's row, with the index of its request in the batch.
pub(super) type NewRow = (usize, ledger_transfer::Model);

/// The `seq` the database gave each chain position it inserted.
pub(super) type Seqs = HashMap<i64, i64>;

/// A hash chain's head: where the next transfer on it links to.
#[derive(Clone, Debug)]
pub(super) struct Head {
    pub(super) chain_id: i32,
    pub(super) last_seq: i64,
    pub(super) last_hash: String,
}

impl Head {
    /// From a row whose first three columns are `id, last_seq, last_hash` of `ledger_chain_head`.
    pub(super) fn from_row(row: &QueryResult) -> Result<Self, LedgerError> {
        Ok(Head {
            chain_id: row.try_get_by_index(0)?,
            last_seq: row.try_get_by_index(1)?,
            last_hash: row.try_get_by_index(2)?,
        })
    }
}

pub(super) fn new_plans(slots: &[Slot]) -> Vec<&Plan> {
    slots
        .iter()
        .filter_map(|s| match s {
            Slot::New(p) => Some(p),
            _ => None,
        })
        .collect()
}

pub(super) fn accounts_of(plans: &[&Plan]) -> BTreeSet<AccountId> {
    plans.iter().flat_map(|p| [p.debit, p.credit]).collect()
}

/// The rows of the batch's new transfers, hashed and linked after `head`, with their slot indexes.
pub(super) fn chain_rows(requests: &[TransferRequest], slots: &[Slot], head: &Head, now_us: i64) -> Vec<NewRow> {
    let mut chain_seq = head.last_seq;
    let mut prev_hash = head.last_hash.clone();
    let mut rows = Vec::with_capacity(slots.len());
    for (i, slot) in slots.iter().enumerate() {
        let Slot::New(plan) = slot else { continue };
        chain_seq += 1;
        let r = &requests[i];
        let mut row = ledger_transfer::Model {
            // Assigned by the database on insert, in chain order, under the head lock.
            seq: 0,
            chain_id: head.chain_id,
            chain_seq,
            id: r.id.to_text(),
            idempotency_key: r.idempotency_key.clone(),
            kind: plan.kind.as_str().to_owned(),
            debit_account_id: plan.debit.0,
            credit_account_id: plan.credit.0,
            asset: plan.asset.code().to_owned(),
            amount: plan.amount,
            code: r.code.clone(),
            pending_id: plan.pending_id.map(TransferId::to_text),
            reverses: plan.reverses.map(TransferId::to_text),
            timeout_at_us: plan.timeout_at_us,
            metadata: canonical_json(&r.metadata),
            created_at_us: now_us,
            prev_hash,
            hash: String::new(),
        };
        row.hash = transfer_hash(&row);
        prev_hash = row.hash.clone();
        rows.push((i, row));
    }
    rows
}

/// Gives each inserted row the `seq` the database assigned to its chain position.
pub(super) fn numbered(rows: Vec<NewRow>, seqs: &Seqs) -> Result<HashMap<usize, ledger_transfer::Model>, LedgerError> {
    let mut inserted = HashMap::with_capacity(rows.len());
    for (i, mut row) in rows {
        row.seq =
            *seqs.get(&row.chain_seq).ok_or_else(|| LedgerError::Invariant("inserted transfer without seq".into()))?;
        inserted.insert(i, row);
    }
    Ok(inserted)
}

/// The columns a new transfer is inserted with (all but `seq`, which the database assigns).
pub(super) const INSERT_COLUMNS: &str = "chain_id, chain_seq, id, idempotency_key, kind, debit_account_id, \
    credit_account_id, asset, amount, code, pending_id, reverses, timeout_at_us, metadata, created_at_us, \
    prev_hash, hash";

pub(super) fn first_failure(slots: &[Slot]) -> Option<(usize, LedgerError)> {
    slots.iter().enumerate().find_map(|(i, s)| match s {
        Slot::Failed(e) => Some((i, e.clone())),
        _ => None,
    })
}

pub(super) fn linked_failure(len: usize, (index, error): (usize, LedgerError)) -> Vec<Result<Transfer, LedgerError>> {
    (0..len).map(|i| Err(if i == index { error.clone() } else { LedgerError::LinkedTransferFailed })).collect()
}

pub(super) fn results(
    requests: &[TransferRequest],
    slots: &[Slot],
    inserted: HashMap<usize, ledger_transfer::Model>,
) -> Result<Vec<Result<Transfer, LedgerError>>, LedgerError> {
    let mut out: Vec<Result<Transfer, LedgerError>> = Vec::with_capacity(requests.len());
    for (i, slot) in slots.iter().enumerate() {
        let result = match slot {
            Slot::New(_) => {
                let row =
                    inserted.get(&i).ok_or_else(|| LedgerError::Invariant("planned transfer not inserted".into()))?;
                Ok(Transfer::from_model(row)?)
            }
            Slot::Existing(row) => Ok(Transfer::from_model(row)?),
            Slot::SameAs(j) => {
                out.get(*j).cloned().ok_or_else(|| LedgerError::Invariant("repeat of a later request".into()))?
            }
            Slot::Failed(e) => Err(e.clone()),
        };
        out.push(result);
    }
    Ok(out)
}
