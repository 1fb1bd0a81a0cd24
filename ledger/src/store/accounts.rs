//! Accounts: creation (idempotent by code), reads with the shards folded in, closing, balances and
//! the trial balance.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};

use ehome_entities::{ledger_account, ledger_account_shard};

use crate::error::LedgerError;
use crate::types::{AccountFlags, AccountId, Asset, NewAccount};

use super::guard::{LIMIT_BITS, closed_flags};
use super::records::{Account, Balance, TrialBalanceLine};
use super::{Backend, now_us};

/// Creates an account, or returns the existing one with the same code if its asset and limits agree.
pub async fn create_account(conn: &impl ConnectionTrait, new: &NewAccount) -> Result<Account, LedgerError> {
    if new.code.trim().is_empty() || new.code.len() > 200 {
        return Err(LedgerError::UnknownAccountCode(new.code.clone()));
    }
    let flags = AccountFlags::from_bits(new.flags.bits())?;
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        "INSERT INTO ledger_accounts (code, asset, flags, debits_posted, credits_posted, \
         debits_pending, credits_pending, created_at_us) VALUES ($1, $2, $3, 0, 0, 0, 0, $4) \
         ON CONFLICT (code) DO NOTHING",
        [new.code.clone().into(), new.asset.code().into(), flags.bits().into(), now_us().into()],
    ))
    .await?;
    let account = account_by_code(conn, &new.code).await?;
    let limits = |f: AccountFlags| f.bits() & LIMIT_BITS;
    if account.asset != new.asset || limits(account.flags) != limits(flags) {
        return Err(LedgerError::AccountCodeConflict(new.code.clone()));
    }
    Ok(account)
}

/// Creates several accounts (each idempotent by code), in order.
pub async fn create_accounts(conn: &impl ConnectionTrait, new: &[NewAccount]) -> Result<Vec<Account>, LedgerError> {
    let mut out = Vec::with_capacity(new.len());
    for n in new {
        out.push(create_account(conn, n).await?);
    }
    Ok(out)
}

pub async fn account(conn: &impl ConnectionTrait, id: AccountId) -> Result<Account, LedgerError> {
    let mut model = ledger_account::Entity::find_by_id(id.0).one(conn).await?.ok_or(LedgerError::UnknownAccount(id))?;
    fold_shards(conn, std::slice::from_mut(&mut model), Some(id)).await?;
    Account::from_model(model)
}

pub async fn account_by_code(conn: &impl ConnectionTrait, code: &str) -> Result<Account, LedgerError> {
    let mut model = ledger_account::Entity::find()
        .filter(ledger_account::Column::Code.eq(code))
        .one(conn)
        .await?
        .ok_or_else(|| LedgerError::UnknownAccountCode(code.to_owned()))?;
    let id = AccountId(model.id);
    fold_shards(conn, std::slice::from_mut(&mut model), Some(id)).await?;
    Account::from_model(model)
}

/// The ids of the accounts with these codes, in the order given (`None` for a code no account has):
/// one statement that reads no balance, for a caller that only needs to name a transfer's accounts.
pub async fn account_ids_by_code(
    conn: &impl ConnectionTrait,
    codes: &[String],
) -> Result<Vec<Option<AccountId>>, LedgerError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<(i64, String)> = ledger_account::Entity::find()
        .select_only()
        .column(ledger_account::Column::Id)
        .column(ledger_account::Column::Code)
        .filter(ledger_account::Column::Code.is_in(codes.iter().cloned()))
        .into_tuple()
        .all(conn)
        .await?;
    let by_code: HashMap<&str, i64> = found.iter().map(|(id, code)| (code.as_str(), *id)).collect();
    Ok(codes.iter().map(|code| by_code.get(code.as_str()).map(|id| AccountId(*id))).collect())
}

/// Every account row with its shards folded in: the running balances as they stand.
pub(crate) async fn all_accounts(conn: &impl ConnectionTrait) -> Result<Vec<ledger_account::Model>, LedgerError> {
    let mut models = ledger_account::Entity::find().order_by_asc(ledger_account::Column::Id).all(conn).await?;
    fold_shards(conn, &mut models, None).await?;
    Ok(models)
}

/// Adds the shards of the accounts' balances (`ledger_account_shards`: on PostgreSQL a transfer adds
/// its posted amounts on an account without limits, and a hold's credits on an account whose debits
/// must not exceed its credits, to the shard of the hash chain it holds, so that concurrent writers of
/// a hot account do not queue on its row) to the account rows. `only`
/// narrows the read to one account's shards.
async fn fold_shards(
    conn: &impl ConnectionTrait,
    models: &mut [ledger_account::Model],
    only: Option<AccountId>,
) -> Result<(), LedgerError> {
    let mut query = ledger_account_shard::Entity::find();
    if let Some(id) = only {
        query = query.filter(ledger_account_shard::Column::AccountId.eq(id.0));
    }
    let shards = query.all(conn).await?;
    if shards.is_empty() {
        return Ok(());
    }
    let index: HashMap<i64, usize> = models.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
    for shard in shards {
        let Some(model) = index.get(&shard.account_id).and_then(|i| models.get_mut(*i)) else { continue };
        let add = |a: i64, b: i64| a.checked_add(b).ok_or(LedgerError::AmountOverflow);
        model.debits_posted = add(model.debits_posted, shard.debits_posted)?;
        model.credits_posted = add(model.credits_posted, shard.credits_posted)?;
        model.credits_pending = add(model.credits_pending, shard.credits_pending)?;
    }
    Ok(())
}

/// Closes an account: it takes part in no new transfer (holds on it may still be voided or expire).
/// Setting the flag is the one change to an account besides its running balances. On PostgreSQL it
/// first takes every chain head: a writer adding to an account's shard does not lock the account's
/// row but holds a chain head from before its guard reads the flag until it commits, so once every
/// head is held no writer that saw the account open is still running, and every later one sees it
/// closed. Run it in a transaction (or use [`crate::Ledger::close_account`]): the heads are held
/// until it commits.
pub async fn close_account(conn: &impl ConnectionTrait, id: AccountId) -> Result<Account, LedgerError> {
    on_backend!(conn, |B| B::before_close(conn).await)?;
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        format!("UPDATE ledger_accounts SET flags = {} WHERE id = $1", closed_flags()),
        [id.0.into()],
    ))
    .await?;
    account(conn, id).await
}

/// Current balances of an account.
pub async fn balance(conn: &impl ConnectionTrait, id: AccountId) -> Result<Balance, LedgerError> {
    Ok(account(conn, id).await?.balance())
}

/// Balances of an account as they stood at `at` (every transfer created at or before it counted).
pub async fn balance_as_of(
    conn: &impl ConnectionTrait,
    id: AccountId,
    at: DateTime<Utc>,
) -> Result<Balance, LedgerError> {
    let acct = account(conn, id).await?;
    let at_us = at.timestamp_micros();
    let mut sums = [0i64; 4];
    for (side, column) in [(0usize, "debit_account_id"), (1usize, "credit_account_id")] {
        let sql = format!(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN t.kind IN ('single', 'post_pending') \
                 THEN t.amount ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN t.kind = 'pending' AND NOT EXISTS ( \
                   SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id AND r.created_at_us <= $2) \
                 THEN t.amount ELSE 0 END), 0) AS BIGINT) \
             FROM ledger_transfers t WHERE t.{column} = $1 AND t.created_at_us <= $2"
        );
        let row = conn
            .query_one_raw(Statement::from_sql_and_values(
                conn.get_database_backend(),
                sql,
                [id.0.into(), at_us.into()],
            ))
            .await?
            .ok_or_else(|| LedgerError::Invariant("aggregate returned no row".into()))?;
        sums[side] = row.try_get_by_index::<i64>(0)?;
        sums[side + 2] = row.try_get_by_index::<i64>(1)?;
    }
    Ok(Balance::new(acct.asset, sums[0], sums[1], sums[2], sums[3]))
}

/// The trial balance: per asset, the sums of the running balances of all accounts.
pub async fn trial_balance(conn: &impl ConnectionTrait) -> Result<Vec<TrialBalanceLine>, LedgerError> {
    // Sums are computed as NUMERIC/REAL-free integers by summing per account in Rust: an asset's total
    // may exceed one column's bound, so checked arithmetic catches what SQL SUM would overflow on.
    let rows = all_accounts(conn).await?;
    let mut lines: BTreeMap<Asset, TrialBalanceLine> = BTreeMap::new();
    for row in rows {
        let asset: Asset = row.asset.parse()?;
        let line = lines.entry(asset).or_insert(TrialBalanceLine {
            asset,
            accounts: 0,
            debits_posted: 0,
            credits_posted: 0,
            debits_pending: 0,
            credits_pending: 0,
        });
        let add = |a: i64, b: i64| a.checked_add(b).ok_or(LedgerError::AmountOverflow);
        line.accounts += 1;
        line.debits_posted = add(line.debits_posted, row.debits_posted)?;
        line.credits_posted = add(line.credits_posted, row.credits_posted)?;
        line.debits_pending = add(line.debits_pending, row.debits_pending)?;
        line.credits_pending = add(line.credits_pending, row.credits_pending)?;
    }
    Ok(lines.into_values().collect())
}
