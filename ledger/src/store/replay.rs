//! The transfer-by-transfer path, shared by both backends: each new transfer of a batch applied by a
//! guarded increment per account (`UPDATE … WHERE <guard> RETURNING`, a guard that matches no row
//! being the rejection), in order, so that each gets its exact outcome and reason. A batch takes it
//! when its net movement was refused as a whole, and to find the first failure of a linked batch.

use std::collections::HashMap;
use std::sync::LazyLock;

use sea_orm::ConnectionTrait;

use crate::error::LedgerError;
use crate::types::{AccountId, MAX_BALANCE};

use super::AccountInfo;
use super::accounts::account;
use super::guard::{Closed, Growth, Increment, account_guard};
use super::plan::{Plan, Slot};
use super::sql::NamedSql;

/// The guarded increment of one side (`debits` or `credits`) of an account by one transfer.
fn increment_sql(side: &str) -> NamedSql {
    let growth = Some(":growth");
    let guard = account_guard(&Growth {
        closed: Closed::RefusesWhen(":refuse_closed"),
        debits: if side == "debits" { growth } else { None },
        credits: if side == "credits" { growth } else { None },
    });
    NamedSql::new(&format!(
        "UPDATE ledger_accounts SET {side}_posted = {side}_posted + :posted, \
           {side}_pending = {side}_pending + :pending \
         WHERE id = :account AND {side}_posted <= {MAX_BALANCE} - :posted \
           AND {side}_pending + :pending >= 0 AND {side}_pending <= {MAX_BALANCE} - :pending AND {guard} \
         RETURNING id"
    ))
}

/// The undo of an applied increment of one side of an account.
fn undo_sql(side: &str) -> NamedSql {
    NamedSql::new(&format!(
        "UPDATE ledger_accounts SET {side}_posted = {side}_posted - :posted, \
           {side}_pending = {side}_pending - :pending WHERE id = :account"
    ))
}

static DEBIT_INCREMENT: LazyLock<NamedSql> = LazyLock::new(|| increment_sql("debits"));
static CREDIT_INCREMENT: LazyLock<NamedSql> = LazyLock::new(|| increment_sql("credits"));
static DEBIT_UNDO: LazyLock<NamedSql> = LazyLock::new(|| undo_sql("debits"));
static CREDIT_UNDO: LazyLock<NamedSql> = LazyLock::new(|| undo_sql("credits"));

/// Applies a guarded increment; `false` when the guard refused it (nothing changed).
async fn apply(conn: &impl ConnectionTrait, inc: Increment, refuse_closed: bool) -> Result<bool, LedgerError> {
    let sql = if inc.debit_side { &*DEBIT_INCREMENT } else { &*CREDIT_INCREMENT };
    let statement = sql.statement(
        conn.get_database_backend(),
        vec![
            ("posted", inc.posted.into()),
            ("pending", inc.pending.into()),
            ("account", inc.account.0.into()),
            ("refuse_closed", refuse_closed.into()),
            ("growth", inc.growth().into()),
        ],
    )?;
    Ok(!conn.query_all_raw(statement).await?.is_empty())
}

/// Undoes an applied increment. The account is locked by this transaction and the undos run in the
/// reverse order of the increments, so each one restores a state the row had before.
async fn undo(conn: &impl ConnectionTrait, inc: Increment) -> Result<(), LedgerError> {
    let sql = if inc.debit_side { &*DEBIT_UNDO } else { &*CREDIT_UNDO };
    let statement = sql.statement(
        conn.get_database_backend(),
        vec![("posted", inc.posted.into()), ("pending", inc.pending.into()), ("account", inc.account.0.into())],
    )?;
    conn.execute_raw(statement).await?;
    Ok(())
}

pub(super) async fn undo_all(conn: &impl ConnectionTrait, applied: &[Increment]) -> Result<(), LedgerError> {
    for inc in applied.iter().rev() {
        undo(conn, *inc).await?;
    }
    Ok(())
}
/// Why a guarded increment matched no row.
async fn classify_refusal(
    conn: &impl ConnectionTrait,
    inc: Increment,
    plan: &Plan,
) -> Result<LedgerError, LedgerError> {
    let acct = account(conn, inc.account).await?;
    if plan.refused_by_closed() && acct.flags.closed() {
        return Ok(LedgerError::AccountClosed(inc.account));
    }
    let (posted, pending) = if inc.debit_side {
        (acct.debits_posted, acct.debits_pending)
    } else {
        (acct.credits_posted, acct.credits_pending)
    };
    if pending + inc.pending < 0 {
        // The hold was released by a concurrent writer after this batch read it.
        let id = plan.pending_id.unwrap_or_default();
        return Ok(LedgerError::HoldAlreadyResolved(id));
    }
    if posted > MAX_BALANCE - inc.posted || pending > MAX_BALANCE - inc.pending {
        return Ok(LedgerError::AmountOverflow);
    }
    Ok(if inc.debit_side {
        LedgerError::InsufficientFunds(inc.account)
    } else {
        LedgerError::CreditLimitExceeded(inc.account)
    })
}

/// Checks a plan against its locked accounts (existence, asset, closed).
pub(super) fn check_accounts(plan: &Plan, accounts: &HashMap<AccountId, AccountInfo>) -> Result<(), LedgerError> {
    for id in [plan.debit, plan.credit] {
        let acct = accounts.get(&id).ok_or(LedgerError::UnknownAccount(id))?;
        if acct.asset != plan.asset {
            return Err(LedgerError::AssetMismatch { account: id, account_asset: acct.asset, transfer: plan.asset });
        }
        if plan.refused_by_closed() && acct.flags.closed() {
            return Err(LedgerError::AccountClosed(id));
        }
    }
    Ok(())
}

/// Applies one plan's increments in ascending account order; on refusal, undoes its own increments.
async fn apply_plan(
    conn: &impl ConnectionTrait,
    plan: &Plan,
    applied: &mut Vec<Increment>,
) -> Result<Result<(), LedgerError>, LedgerError> {
    let (posted, pending) = plan.deltas();
    let debit = Increment { account: plan.debit, debit_side: true, posted, pending };
    let credit = Increment { account: plan.credit, debit_side: false, posted, pending };
    let ordered = if plan.debit < plan.credit { [debit, credit] } else { [credit, debit] };
    let mark = applied.len();
    for inc in ordered {
        if apply(conn, inc, plan.refused_by_closed()).await? {
            applied.push(inc);
        } else {
            let reason = classify_refusal(conn, inc, plan).await?;
            undo_all(conn, &applied[mark..]).await?;
            applied.truncate(mark);
            return Ok(Err(reason));
        }
    }
    Ok(Ok(()))
}

/// Applies the new transfers one by one, in order. Linked: stops at the first failure, undoes
/// everything and returns it. Independent: marks each failure in its slot and goes on. `undo_after`
/// undoes everything even when all succeed (to find the first failure of a linked prefix).
pub(super) async fn apply_in_order(
    conn: &impl ConnectionTrait,
    slots: &mut [Slot],
    linked: bool,
    undo_after: bool,
) -> Result<Option<(usize, LedgerError)>, LedgerError> {
    let mut applied: Vec<Increment> = vec![];
    for i in 0..slots.len() {
        let Slot::New(plan) = &slots[i] else { continue };
        let outcome = match plan.depends_on.and_then(|d| slots.get(d)) {
            Some(Slot::Failed(_)) => {
                Err(LedgerError::UnknownTransfer(plan.pending_id.or(plan.reverses).unwrap_or_default()))
            }
            _ => apply_plan(conn, plan, &mut applied).await?,
        };
        if let Err(e) = outcome {
            if linked {
                undo_all(conn, &applied).await?;
                return Ok(Some((i, e)));
            }
            slots[i] = Slot::Failed(e);
        }
    }
    if undo_after {
        undo_all(conn, &applied).await?;
    }
    Ok(None)
}
