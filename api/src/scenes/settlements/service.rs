//! The use cases of settlement with shops: a community's rate; a statement drafted for a period
//! (every captured, unrefunded, unsettled redemption claimed by compare-and-set, each line reckoned
//! half-even to the fen); the committee's approval (the points retired and the CNY owed, one linked
//! ledger batch, in the approving transaction) and payment; a draft's cancellation. Each owns its
//! transaction and runs it again when a concurrent writer got there first.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ehome_entities::{merchant, settlement, settlement_line, settlement_rate};
use sea_orm::DatabaseTransaction;

use super::error::SettlementError;
use super::notices::{Recorded, Told};
use super::rounding::{Rate, reckon};
use super::store::{self, Change, NewLine, NewStatement, Transfers};
use crate::authz::{self, Actor, MerchantScope};
use crate::domain::{CommunityId, MerchantId, SettlementId};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::transaction::Failure;
use crate::points::{self, Cny, Points, SettlementBatch, SettlementPayment};
use crate::scenes::merchants::service as merchants;
use crate::scenes::redemptions::service as redemptions;
use crate::state::AppState;

/// The longest period one statement covers.
pub const PERIOD_DAYS_MAX: i64 = 366;

impl From<SettlementError> for Failure {
    fn from(err: SettlementError) -> Self {
        Failure::Answer(err.into())
    }
}

async fn retrying<T>(state: &AppState, work: impl AsyncFn(&DatabaseTransaction) -> Result<T, Failure>) -> ApiResult<T> {
    crate::platform::transaction::retrying(&state.db, "settlement", work).await
}

/// The instant a day starts in Asia/Shanghai.
pub fn shanghai_start(day: NaiveDate) -> ApiResult<DateTime<Utc>> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(chrono_tz::Asia::Shanghai).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| ApiError::validation("period", "not a day"))
}

/// A period of whole days in Asia/Shanghai, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

impl Period {
    pub fn new(first_day: NaiveDate, last_day: NaiveDate) -> ApiResult<Period> {
        if last_day < first_day {
            return Err(ApiError::validation("to", "on or after from"));
        }
        if (last_day - first_day).num_days() >= PERIOD_DAYS_MAX {
            return Err(ApiError::validation("to", format!("at most {PERIOD_DAYS_MAX} days after from")));
        }
        Ok(Period { first_day, last_day })
    }

    /// `[start, end)` in UTC.
    pub fn bounds(self) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
        Ok((shanghai_start(self.first_day)?, shanghai_start(self.last_day)? + Duration::days(1)))
    }
}

/// A community's settlement rate, or `None` when it has set none.
pub async fn rate(
    state: &AppState,
    actor: &Actor,
    community: CommunityId,
) -> ApiResult<Option<settlement_rate::Model>> {
    authz::view_settlement_rate(actor, community)?;
    store::rate_of(&state.db, community).await
}

/// The committee sets the community's rate; statements drafted from now on use it.
pub async fn set_rate(
    state: &AppState,
    actor: &Actor,
    community: CommunityId,
    rate: Rate,
) -> ApiResult<settlement_rate::Model> {
    authz::set_settlement_rate(actor, community)?;
    // A platform admin passes the check for any id: an unknown community is 404, not a foreign key's 500.
    crate::scenes::community::service::get_community(&state.db, community).await?;
    store::set_rate(&state.db, community, &rate.to_text(), actor.id, state.clock.now()).await
}

/// A statement with what its views show.
pub struct Statement {
    pub row: settlement::Model,
    pub lines: Vec<settlement_line::Model>,
    pub merchant: merchant::Model,
    pub offer_titles: HashMap<i64, String>,
}

async fn statement_of(state: &AppState, row: settlement::Model, merchant: merchant::Model) -> ApiResult<Statement> {
    let lines = store::lines_of(&state.db, SettlementId(row.id)).await?;
    let mut offers: Vec<i64> = lines.iter().map(|l| l.offer_id).collect();
    offers.sort_unstable();
    offers.dedup();
    let offer_titles = merchants::offer_titles(&state.db, &offers).await?;
    Ok(Statement { row, lines, merchant, offer_titles })
}

/// Drafts the merchant's statement for `period`: every captured, unrefunded redemption of the period
/// that no statement holds, each line its points × the community's rate rounded half-even to the
/// fen, the total the sum of the lines. A welfare supermarket's lines are ¥0 (points retired only).
pub async fn draft(state: &AppState, actor: &Actor, id: MerchantId, period: Period) -> ApiResult<Statement> {
    let (merchant, scope) = merchants::merchant_with_scope(&state.db, id).await?;
    authz::draft_settlement(actor, &scope)?;
    let rate = if merchants::is_welfare_supermarket(&merchant)? {
        None
    } else {
        let stored = store::rate_of(&state.db, scope.community).await?.ok_or(SettlementError::RateNotSet)?;
        Some(Rate::parse(&stored.rate).map_err(|e| ApiError::internal(anyhow::anyhow!("stored rate: {e}")))?)
    };
    let (start, end) = period.bounds()?;
    let now = state.clock.now();
    let new = NewStatement {
        merchant: id,
        community: scope.community,
        first_day: period.first_day,
        last_day: period.last_day,
        start,
        end,
        rate: rate.map(Rate::to_text),
        by: actor.id,
    };
    let row = retrying(state, async |txn| {
        let row = store::insert_draft(txn, &new, now).await?;
        let statement = SettlementId(row.id);
        let claimed = redemptions::claim_for_settlement(txn, id, statement, start, end).await?;
        if claimed.is_empty() {
            return Err(SettlementError::NothingToSettle.into());
        }
        let points = claimed.iter().map(|r| Points::from_minor(r.amount_minor)).collect::<Result<Vec<_>, _>>()?;
        let reckoned = reckon(&points, rate).map_err(|e| ApiError::validation("rate", e))?;
        let lines: Vec<NewLine> = claimed
            .iter()
            .zip(&reckoned.lines)
            .map(|(r, cny)| NewLine {
                redemption: r.id,
                offer: r.offer_id,
                quantity: r.quantity,
                points_minor: r.amount_minor,
                cny_minor: cny.minor(),
                captured_at: r.captured_at.unwrap_or(now),
            })
            .collect();
        let totals = (reckoned.points.minor(), reckoned.total.minor(), reckoned.exact.as_str());
        store::fill(txn, statement, &lines, totals).await?;
        Ok(store::get(txn, statement).await?)
    })
    .await?;
    statement_of(state, row, merchant).await
}

/// The statement and its merchant, for someone who may see it.
async fn visible(
    state: &AppState,
    actor: &Actor,
    id: SettlementId,
) -> ApiResult<(settlement::Model, merchant::Model, MerchantScope)> {
    let row = store::get(&state.db, id).await?;
    let (merchant, scope) = merchants::merchant_with_scope(&state.db, MerchantId(row.merchant_id)).await?;
    authz::view_settlements(actor, &scope).map_err(|_| ApiError::NotFound("settlement"))?;
    Ok((row, merchant, scope))
}

pub async fn statement(state: &AppState, actor: &Actor, id: SettlementId) -> ApiResult<Statement> {
    let (row, merchant, _) = visible(state, actor, id).await?;
    statement_of(state, row, merchant).await
}

/// A merchant's statements, newest first.
pub async fn of_merchant(
    state: &AppState,
    actor: &Actor,
    id: MerchantId,
    before: Option<i64>,
    limit: u64,
) -> ApiResult<Vec<settlement::Model>> {
    let (_, scope) = merchants::merchant_with_scope(&state.db, id).await?;
    authz::view_settlements(actor, &scope)?;
    store::of_merchant(&state.db, id, before, limit).await
}

fn refused(action: &str, row: &settlement::Model) -> Failure {
    SettlementError::InvalidTransition { action: action.to_owned(), status: row.status.clone() }.into()
}

/// The committee approves a draft: in one transaction the status moves, one linked ledger batch
/// retires the points (and, for a shop, records the CNY owed) and the shop's owner is told.
pub async fn approve(state: &AppState, actor: &Actor, id: SettlementId) -> ApiResult<Statement> {
    let (_, merchant, scope) = visible(state, actor, id).await?;
    authz::decide_settlement(actor, &scope)?;
    let now = state.clock.now();
    let (row, told) = retrying(state, async |txn| {
        let current = store::get(txn, id).await?;
        let Some(approved) = store::transition(txn, &current, Change::Approve { by: actor.id }, now).await? else {
            return Err(refused("approve", &current));
        };
        let batch = SettlementBatch {
            statement: id.0,
            community: scope.community,
            merchant: scope.id,
            points: Points::from_minor(approved.points_minor)?,
            cny: approved.rate.as_ref().map(|_| Cny::from_minor(approved.cny_minor)).transpose()?,
        };
        let posted = points::settle(txn, &batch, now).await?;
        let transfers = Transfers::Approved { points: posted.points.to_text(), cny: posted.cny.map(|t| t.to_text()) };
        store::set_transfers(txn, id, transfers).await?;
        let row = store::get(txn, id).await?;
        let told = Recorded::record(txn, Told::Approved, &row, &merchant, now).await?;
        Ok((row, told))
    })
    .await?;
    told.push(state).await;
    statement_of(state, row, merchant).await
}

/// The committee records the bank transfer that paid an approved statement: the CNY owed moves to
/// the community's bank account, the bank's reference kept on the statement and the transfer, and the
/// shop's owner is told.
pub async fn mark_paid(
    state: &AppState,
    actor: &Actor,
    id: SettlementId,
    bank_reference: BankReference,
) -> ApiResult<Statement> {
    let (_, merchant, scope) = visible(state, actor, id).await?;
    authz::decide_settlement(actor, &scope)?;
    let now = state.clock.now();
    let reference = bank_reference.0;
    let (row, told) = retrying(state, async |txn| {
        let current = store::get(txn, id).await?;
        let change = Change::MarkPaid { by: actor.id, bank_reference: reference.clone() };
        let Some(paid) = store::transition(txn, &current, change, now).await? else {
            return Err(refused("mark_paid", &current));
        };
        let payment = SettlementPayment {
            statement: id.0,
            community: scope.community,
            merchant: scope.id,
            cny: Cny::from_minor(paid.cny_minor)?,
            bank_reference: reference.clone(),
        };
        let transfer = points::pay_settlement(txn, &payment, now).await?;
        store::set_transfers(txn, id, Transfers::Paid { payment: transfer.to_text() }).await?;
        let row = store::get(txn, id).await?;
        let told = Recorded::record(txn, Told::Paid, &row, &merchant, now).await?;
        Ok((row, told))
    })
    .await?;
    told.push(state).await;
    statement_of(state, row, merchant).await
}

/// The owner or the committee withdraws a draft: its redemptions are free for another statement.
pub async fn cancel(state: &AppState, actor: &Actor, id: SettlementId) -> ApiResult<Statement> {
    let (_, merchant, scope) = visible(state, actor, id).await?;
    authz::draft_settlement(actor, &scope)?;
    let now = state.clock.now();
    let row = retrying(state, async |txn| {
        let current = store::get(txn, id).await?;
        let Some(cancelled) = store::transition(txn, &current, Change::Cancel { by: actor.id }, now).await? else {
            return Err(refused("cancel", &current));
        };
        store::cancel_lines(txn, id, now).await?;
        redemptions::release_from_settlement(txn, id).await?;
        Ok(cancelled)
    })
    .await?;
    statement_of(state, row, merchant).await
}

/// A bank's reference for a payment: letters, digits and `-_/.`, 1 to 64 characters. Not prose, so
/// it needs no content check; anything else is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankReference(String);

impl BankReference {
    pub const CHARS_MAX: usize = 64;

    pub fn parse(text: &str) -> ApiResult<BankReference> {
        let trimmed = text.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.');
        if trimmed.is_empty() || trimmed.len() > Self::CHARS_MAX || !trimmed.chars().all(allowed) {
            return Err(ApiError::validation(
                "bank_reference",
                format!("1 to {} letters, digits or - _ / .", Self::CHARS_MAX),
            ));
        }
        Ok(BankReference(trimmed.to_owned()))
    }
}
