//! Points expiry against the ledger: which residents may have points expiring, expiring what is due
//! (the `expiry` transfers), and what will expire soon. The arithmetic is `expiry_rule.rs` (pure).
//!
//! A resident's earnings are read from their transfers: credits coded as earnings are lots, dated when
//! they were posted, from the community whose account paid them; a take-back (a `reversal` debit, or
//! an `award_adjustment` debit naming the award it `corrects`) lowers the lot it takes back from. What
//! has left the balance (`consumed`: spent, held, expired, less refunds) is the lots' net total less
//! the available balance, so no debit has to be classified one by one.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::accounts::{LedgerAccount, Purpose, community_of_code, find, user_of_code};
use super::amount::Points;
use super::error::PointsError;
use super::expiry_rule::{ExpiryRule, Lot, due_by, shanghai_day, upcoming};
use super::verbs::{Expiry, Posted, expire, expiry_key};
use crate::domain::{CommunityId, UserId};

/// Points that expire on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Expiring {
    pub date: NaiveDate,
    pub amount: Points,
}

/// What one resident's expiry run did and what comes next.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiryRun {
    /// The `expiry` transfers posted, one per community the expired points were earned in.
    pub expired: Vec<(CommunityId, Posted)>,
    /// What expires after today up to the day asked for, if nothing else changes.
    pub upcoming: Vec<Expiring>,
}

fn quoted(purposes: &[Purpose]) -> String {
    purposes.iter().map(|p| format!("'{}'", p.code())).collect::<Vec<_>>().join(", ")
}

/// The instant as the ledger stores it (microseconds since the epoch).
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Residents who may have points that expire by `until`, after the account `after`, `limit` at a
/// time: `(user, account id)` in account order. A superset (take-backs are not dated here); each is
/// computed exactly by `expire_due`. One statement over the residents' accounts with a positive
/// available balance: earnings before the cut-off exceed what has left the balance.
pub async fn residents_with_expiring_points(
    conn: &impl ConnectionTrait,
    rule: ExpiryRule,
    until: NaiveDate,
    after: i64,
    limit: u64,
) -> Result<Vec<(UserId, i64)>, PointsError> {
    let earnings = quoted(&Purpose::EARNINGS);
    let take_backs = quoted(&[Purpose::Reversal, Purpose::AwardAdjustment]);
    let earned = |extra: &str| {
        format!(
            "(SELECT COALESCE(SUM(t.amount), 0) FROM ledger_transfers t WHERE t.credit_account_id = a.id \
               AND t.kind IN ('single', 'post_pending') AND t.code IN ({earnings}){extra})"
        )
    };
    let (before, all) = (earned(" AND t.created_at_us < $2"), earned(""));
    let sql = format!(
        "SELECT a.id, a.code FROM ledger_accounts a \
         WHERE a.code LIKE $1 AND a.id > $3 \
           AND a.credits_posted - a.debits_posted - a.debits_pending > 0 \
           AND {before} + a.credits_posted - a.debits_posted - a.debits_pending \
             + (SELECT COALESCE(SUM(t.amount), 0) FROM ledger_transfers t WHERE t.debit_account_id = a.id \
                 AND t.kind = 'single' AND t.code IN ({take_backs})) > {all} \
         ORDER BY a.id LIMIT {limit}"
    );
    let values = ["user:%:points".into(), micros(rule.valid_from(until)).into(), after.into()];
    let statement = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    let rows = conn.query_all_raw(statement).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (id, code) = (row.try_get_by_index::<i64>(0)?, row.try_get_by_index::<String>(1)?);
        if let Some(user) = user_of_code(&code) {
            out.push((user, id));
        }
    }
    Ok(out)
}

/// A resident's lots earned from `from` on, in the order earned; those earned from `young_from` on
/// come summed per community (dated at the first of them), since only their total matters to a
/// forecast. One statement.
async fn lots_of(
    conn: &impl ConnectionTrait,
    user: UserId,
    from_us: i64,
    young_from_us: i64,
) -> Result<Vec<Lot>, PointsError> {
    let earnings = quoted(&Purpose::EARNINGS);
    let backend = conn.get_database_backend();
    // The one backend-specific expression: the award a downward adjustment corrects is in its metadata.
    let corrects = match backend {
        DbBackend::Postgres => "CAST(t.metadata AS jsonb) ->> 'corrects'",
        _ => "json_extract(t.metadata, '$.corrects')",
    };
    let mine = "(SELECT id FROM ledger_accounts WHERE code = $1)";
    let sql = format!(
        "WITH lots(lot_seq, earned_at_us, source_id, amount) AS ( \
           SELECT t.seq, t.created_at_us, t.debit_account_id, t.amount FROM ledger_transfers t \
             WHERE t.credit_account_id = {mine} AND t.kind IN ('single', 'post_pending') AND t.code IN ({earnings}) \
           UNION ALL \
           SELECT o.seq, o.created_at_us, o.debit_account_id, -t.amount FROM ledger_transfers t \
             JOIN ledger_transfers o ON o.id = t.reverses \
             WHERE t.debit_account_id = {mine} AND t.kind = 'single' AND t.code = 'reversal' \
           UNION ALL \
           SELECT o.seq, o.created_at_us, o.debit_account_id, -t.amount FROM ledger_transfers t \
             JOIN ledger_transfers o ON o.id = {corrects} \
             WHERE t.debit_account_id = {mine} AND t.kind = 'single' AND t.code = 'award_adjustment') \
         SELECT x.lot, MIN(x.earned_at_us), x.source, CAST(SUM(x.amount) AS BIGINT) FROM ( \
           SELECT CASE WHEN l.earned_at_us >= $3 THEN 0 ELSE l.lot_seq END AS lot, l.earned_at_us, \
             s.code AS source, l.amount FROM lots l JOIN ledger_accounts s ON s.id = l.source_id \
           WHERE l.earned_at_us >= $2) x \
         GROUP BY x.lot, x.source ORDER BY 2, 1"
    );
    let code = LedgerAccount::User(user).code();
    let statement = Statement::from_sql_and_values(backend, sql, [code.into(), from_us.into(), young_from_us.into()]);
    let rows = conn.query_all_raw(statement).await?;
    let mut lots = Vec::with_capacity(rows.len());
    for row in rows {
        let (at_us, source, amount) =
            (row.try_get_by_index::<i64>(1)?, row.try_get_by_index::<String>(2)?, row.try_get_by_index::<i64>(3)?);
        let community = community_of_code(&source).ok_or(PointsError::UnexpectedSource(source))?;
        let earned_at = DateTime::from_timestamp_micros(at_us).ok_or(PointsError::AmountOverflow)?;
        lots.push(Lot { earned_at, community, amount_minor: amount.max(0) });
    }
    Ok(lots)
}

/// What expires after `today` up to `until`, from lots (any that expire after `until` count as valid).
fn forecast(rule: ExpiryRule, lots: &[Lot], available: i64, today: NaiveDate, until: NaiveDate) -> Vec<Expiring> {
    let mut valid_after = 0i64;
    let mut window = Vec::new();
    for lot in lots {
        let expires = rule.expires_on(shanghai_day(lot.earned_at));
        if expires > until {
            valid_after += lot.amount_minor;
        } else if expires > today {
            window.push((expires, lot.amount_minor));
        }
    }
    upcoming(available, valid_after, &window, today)
        .into_iter()
        .filter_map(|(date, minor)| Points::from_minor(minor).ok().map(|amount| Expiring { date, amount }))
        .collect()
}

/// What a resident's points expire from `today` to `until` (the wallet's forecast): one statement
/// for the lots that matter (those still valid today; those valid beyond `until` summed), given the
/// available balance read beside it. Points past their day that the daily job has not expired yet
/// show on `today`.
pub async fn expiring_between(
    conn: &impl ConnectionTrait,
    rule: ExpiryRule,
    user: UserId,
    today: NaiveDate,
    until: NaiveDate,
) -> Result<ExpiryForecast, PointsError> {
    let lots = lots_of(conn, user, micros(rule.valid_from(today)), micros(rule.valid_from(until))).await?;
    Ok(ExpiryForecast { rule, lots, today, until })
}

/// Lots read for a forecast; the available balance (read in parallel) completes it.
pub struct ExpiryForecast {
    rule: ExpiryRule,
    lots: Vec<Lot>,
    today: NaiveDate,
    until: NaiveDate,
}

impl ExpiryForecast {
    pub fn with_available(&self, available: Points) -> Vec<Expiring> {
        forecast(self.rule, &self.lots, available.minor(), self.today, self.until)
    }
}

/// Expires a resident's points due by `today` (one `expiry` transfer per community the expired
/// points were earned in; the id derives from the community, the resident and the day) and tells
/// what expires after today up to `notice_until`. Run in a write transaction: on PostgreSQL the
/// resident's account row is locked first, so no spending commits between the reading and the
/// posting (SQLite's `BEGIN IMMEDIATE` already holds the one write lock). A day whose expiry was
/// posted before (the job ran twice, or on two instances) posts nothing more that day.
pub async fn expire_due(
    conn: &impl ConnectionTrait,
    rule: ExpiryRule,
    user: UserId,
    today: NaiveDate,
    notice_until: NaiveDate,
    now: DateTime<Utc>,
) -> Result<ExpiryRun, PointsError> {
    let Some(account) = find(conn, LedgerAccount::User(user)).await? else {
        return Ok(ExpiryRun::default());
    };
    if conn.get_database_backend() == DbBackend::Postgres {
        let lock = "SELECT id FROM ledger_accounts WHERE id = $1 FOR UPDATE";
        conn.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, lock, [account.id.0.into()])).await?;
    }
    let mut available = ehome_ledger::account(conn, account.id).await?.balance().available;
    let lots = lots_of(conn, user, i64::MIN, i64::MAX).await?;
    let consumed = lots.iter().map(|lot| lot.amount_minor).sum::<i64>() - available;
    let mut run = ExpiryRun::default();
    for (community, minor) in due_by(rule, &lots, consumed, today) {
        let expiry = Expiry { community, user, amount: Points::from_minor(minor.min(available))?, date: today };
        if expiry.amount.is_zero()
            || ehome_ledger::transfer_by_idempotency_key(conn, &expiry_key(&expiry)).await?.is_some()
        {
            continue;
        }
        let posted = expire(conn, &expiry, now).await?;
        available -= posted.amount.minor();
        run.expired.push((community, posted));
    }
    run.upcoming = forecast(rule, &lots, available, today, notice_until)
        .into_iter()
        .filter(|expiring| expiring.date > today)
        .collect();
    Ok(run)
}
