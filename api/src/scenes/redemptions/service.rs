//! The use cases of redemption at the counter, each exactly once: a code is issued with its stock,
//! limit and points reserved; captured by the shop's staff; cancelled by the resident, expired by
//! the job or voided by a suspension (everything reserved given back); refunded by the shop or the
//! committee. Each owns its transaction, runs it again when a concurrent writer won a race the
//! ledger or the database detected, and tells the resident after commit.

use chrono::{DateTime, Duration, Utc};
use ehome_entities::{merchant, offer, redemption};
use sea_orm::DatabaseTransaction;

use super::error::RedemptionError;
use super::guard;
use super::lifecycle::{Action, CODE_TTL_SECONDS, Status};
use super::store::{self, Change, NewRedemption};
use crate::authz::{self, Actor, RefundBy};
use crate::domain::{CommunityId, MerchantId, Note, OfferId, RedemptionId, UserId};
use crate::identity::author;
use crate::platform::content::PublicText;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::points::{self, Points, PointsError, RedemptionHold, ReversalReason, TransferId, points_text};
use crate::scenes::merchants::error::MerchantError;
use crate::scenes::merchants::offer_service as offers;
use crate::scenes::merchants::service as merchants;
use crate::scenes::notifications::{self, Notice};
use crate::scenes::wallet;
use crate::state::AppState;

pub use super::for_settlement::{
    captured_by_merchant, captured_in, claim as claim_for_settlement, redeemed_before,
    release as release_from_settlement,
};
pub use crate::platform::transaction::Failure;

impl From<RedemptionError> for Failure {
    fn from(err: RedemptionError) -> Self {
        Failure::Answer(err.into())
    }
}

/// Runs `work` in a write transaction, again while a concurrent writer got there first.
async fn retrying<T>(state: &AppState, work: impl AsyncFn(&DatabaseTransaction) -> Result<T, Failure>) -> ApiResult<T> {
    crate::platform::transaction::retrying(&state.db, "redemption", work).await
}

fn hold_of(row: &redemption::Model) -> Result<TransferId, ApiError> {
    let text = row.hold_transfer_id.as_deref().unwrap_or_default();
    TransferId::parse(text).map_err(|_| ApiError::internal(anyhow::anyhow!("redemption {} has no hold", row.id)))
}

fn transfer_of(text: Option<&str>, row: &redemption::Model) -> Result<TransferId, ApiError> {
    TransferId::parse(text.unwrap_or_default())
        .map_err(|_| ApiError::internal(anyhow::anyhow!("redemption {} has no capture", row.id)))
}

/// A code as issued to the resident's screen.
pub struct Issued {
    pub redemption: redemption::Model,
    pub merchant: merchant::Model,
    pub offer: offer::Model,
}

/// The resident asks for a code: the limit, the points (a hold that times out with the code) and the
/// stock are reserved in one transaction, or nothing is.
pub async fn issue(state: &AppState, actor: &Actor, offer_id: OfferId, quantity: i64) -> ApiResult<Issued> {
    let (offer, merchant) = offers::visible_offer(state, actor, offer_id).await?;
    let amount = Points::from_minor(offer.price_minor)?.checked_mul(quantity)?;
    let limit = offers::limit_of(&offer)?;
    // A quick look before any work: once the stock is gone, the losers of a rush learn it at once.
    // The reservation below is what decides.
    if offer.stock_total.is_some_and(|total| total - offer.stock_taken < quantity) {
        return Err(RedemptionError::OutOfStock.into());
    }
    let now = state.clock.now();
    let new = NewRedemption {
        merchant: MerchantId(merchant.id),
        offer: offer_id,
        community: CommunityId(merchant.community_id),
        user: actor.id,
        quantity,
        amount_minor: amount.minor(),
        period_key: limit.map_or_else(|| "none".to_owned(), |l| l.period.key(now)),
        expires_at: now + Duration::seconds(i64::from(CODE_TTL_SECONDS)),
    };
    // Every code of an offer takes from its one stock row, the one row all its codes wait on: it comes
    // last, so it is locked for a statement and the commit only. (The hold's credit to the shop's
    // account goes to the ledger's shard for the chain this transaction holds, not to the account's
    // row, so the shop's codes do not wait on each other there.)
    let redemption = retrying(state, async |txn| {
        if let Some(limit) = limit
            && !offers::reserve_limit(txn, offer_id, actor.id, &new.period_key, quantity, limit.quantity).await?
        {
            return Err(RedemptionError::LimitReached.into());
        }
        let inserted = store::insert(txn, &new, now).await?;
        let hold_id = points::redemption_hold_id(inserted.id);
        let row = store::set_hold(txn, RedemptionId(inserted.id), &hold_id.to_text()).await?;
        let hold = RedemptionHold {
            user: actor.id,
            merchant: new.merchant,
            amount,
            redemption_code: row.id,
            timeout_seconds: CODE_TTL_SECONDS,
        };
        let held = points::hold_for_redemption(txn, &hold, now).await?;
        if held.id != hold_id {
            return Err(ApiError::internal(anyhow::anyhow!("redemption {} held as {}", row.id, held.id)).into());
        }
        if !offers::reserve_stock(txn, offer_id, quantity).await? {
            return Err(RedemptionError::OutOfStock.into());
        }
        Ok(row)
    })
    .await?;
    wallet::changed(state, [actor.id]).await;
    Ok(Issued { redemption, merchant, offer })
}

/// Refuses a code that cannot be captured now, saying why.
fn refuse_unless_open(row: &redemption::Model, now: DateTime<Utc>) -> Result<(), RedemptionError> {
    match store::status_of(row).map_err(|_| RedemptionError::CodeCancelled)? {
        Status::Issued if row.expires_at > now => Ok(()),
        Status::Issued | Status::Expired => Err(RedemptionError::CodeExpired),
        Status::Captured | Status::Refunded => {
            Err(RedemptionError::CodeAlreadyUsed { redemption: row.id, captured_at: row.captured_at })
        }
        Status::Cancelled => Err(RedemptionError::CodeCancelled),
    }
}

/// The shop a counter call is for: the one named, else the only one the caller works for.
async fn counter_merchant(state: &AppState, actor: &Actor, named: Option<MerchantId>) -> ApiResult<MerchantId> {
    if let Some(id) = named {
        return Ok(id);
    }
    let mut shops = actor.staff_of();
    shops.extend(merchants::owned_by(&state.db, actor.id).await?);
    shops.sort();
    shops.dedup();
    match shops.as_slice() {
        [only] => Ok(*only),
        [] => Err(ApiError::Forbidden),
        _ => Err(ApiError::validation("merchant_id", "required when you work for more than one shop")),
    }
}

fn notice(user: i64, title: &str, body: String, phrase: &str) -> Notice {
    Notice {
        user_id: user,
        kind: "redemption",
        title: title.to_owned(),
        body,
        request_id: None,
        phrase: phrase.to_owned(),
    }
}

/// The shop's staff redeem a code: the hold is captured, the stock reservation made final, the
/// redemption recorded and the resident told — once, however often or from wherever it is sent.
pub async fn capture(
    state: &AppState,
    actor: &Actor,
    code: &str,
    named: Option<MerchantId>,
) -> ApiResult<redemption::Model> {
    let merchant_id = counter_merchant(state, actor, named).await?;
    let (merchant, scope) = merchants::merchant_with_scope(&state.db, merchant_id).await?;
    if !actor.works_for(&scope) {
        return Err(ApiError::Forbidden);
    }
    guard::refuse_if_locked(state, actor.id, merchant_id).await?;
    if !merchants::is_approved(&merchant)? {
        return Err(MerchantError::MerchantNotApproved.into());
    }
    let Some(found) = store::by_code(&state.db, merchant_id, code).await? else {
        guard::count_miss(&state.cache, actor.id, merchant_id).await;
        return Err(ApiError::NotFound("code"));
    };
    authz::redeem(actor, &scope, UserId(found.user_id))?;
    let now = state.clock.now();
    refuse_unless_open(&found, now)?;
    let offer = offers::offer_by_id(&state.db, OfferId(found.offer_id)).await?;
    let id = RedemptionId(found.id);
    let capture_id = points::capture_id(hold_of(&found)?);
    // The status changes by compare-and-set from the row as read (a concurrent capture, cancel or
    // expiry makes it miss). Nothing here is shared with the shop's other redemptions: the stock was
    // taken at issue, and the capture's credit to the shop goes to a ledger shard (see `issue`).
    let (captured, told) = retrying(state, async |txn| {
        let change =
            Change { action: Action::Capture, by: Some(actor.id), transfer: Some(capture_id.to_text()), reason: None };
        let Some(updated) = store::transition(txn, &found, change, now).await? else {
            // Another capture, a cancel or the expiry job committed first: say which.
            refuse_unless_open(&store::get(txn, id).await?, now)?;
            return Err(Failure::Retry);
        };
        let body = format!(
            "您在「{}」兑换的「{}」已核销，使用积分 {}",
            merchant.name,
            offer.title,
            points_text(updated.amount_minor)
        );
        let told = notice(updated.user_id, &offer.title, body, "已核销");
        notifications::record(txn, &told, now).await?;
        let posted = points::capture(txn, hold_of(&updated)?, None, now).await?;
        if posted.id != capture_id {
            return Err(ApiError::internal(anyhow::anyhow!("redemption {} captured as {}", id.0, posted.id)).into());
        }
        Ok((updated, told))
    })
    .await?;
    wallet::changed(state, [UserId(captured.user_id)]).await;
    notifications::push(state, told, now).await;
    Ok(captured)
}

/// Gives back what an unused code reserved: its hold (released, or expired once its time ran out,
/// which the ledger's own expiry job may have done already), its stock and its limit.
async fn give_back(txn: &DatabaseTransaction, row: &redemption::Model, now: DateTime<Utc>) -> Result<(), Failure> {
    let hold = hold_of(row)?;
    let voided = if now >= row.expires_at {
        points::expire_hold(txn, hold, now).await
    } else {
        points::release(txn, hold, now).await
    };
    match voided {
        Ok(_) | Err(PointsError::HoldAlreadyResolved(_)) => {}
        Err(err) => return Err(err.into()),
    }
    offers::give_back_stock(txn, OfferId(row.offer_id), row.quantity).await?;
    offers::release_limit(txn, OfferId(row.offer_id), UserId(row.user_id), &row.period_key, row.quantity).await?;
    Ok(())
}

/// Ends an unused code by `action` and gives back what it reserved; `None` when it was no longer
/// issued (someone else ended or captured it first).
async fn end_code(
    txn: &DatabaseTransaction,
    id: RedemptionId,
    action: Action,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<redemption::Model>, Failure> {
    let current = store::get(txn, id).await?;
    let change = Change { action, by: None, transfer: None, reason: Some(reason.to_owned()) };
    let Some(ended) = store::transition(txn, &current, change, now).await? else { return Ok(None) };
    give_back(txn, &ended, now).await?;
    Ok(Some(ended))
}

/// The resident cancels their code.
pub async fn cancel(state: &AppState, actor: &Actor, id: RedemptionId) -> ApiResult<redemption::Model> {
    let row = store::get(&state.db, id).await?;
    if row.user_id != actor.id.0 {
        return Err(ApiError::NotFound("redemption"));
    }
    let now = state.clock.now();
    let cancelled =
        retrying(state, async |txn| match end_code(txn, id, Action::Cancel, "cancelled_by_resident", now).await? {
            Some(ended) => Ok(ended),
            None => {
                let latest = store::get(txn, id).await?;
                let status = latest.status.clone();
                Err(RedemptionError::InvalidTransition { action: "cancel".to_owned(), status }.into())
            }
        })
        .await?;
    wallet::changed(state, [actor.id]).await;
    Ok(cancelled)
}

/// Voids every code of a suspended merchant in the caller's transaction; returns what to tell the
/// residents after commit.
pub async fn void_open_codes(
    txn: &DatabaseTransaction,
    merchant: MerchantId,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Notice>> {
    let mut told = Vec::new();
    for row in store::open_codes(txn, merchant).await? {
        let ended = match end_code(txn, RedemptionId(row.id), Action::Void, "merchant_suspended", now).await {
            Ok(ended) => ended,
            Err(Failure::Answer(err)) => return Err(err),
            Err(Failure::Retry) => return Err(ApiError::Unavailable("redemption busy".to_owned())),
        };
        if ended.is_some() {
            let body = "商家已暂停服务，您的兑换码已作废，冻结的积分已退回".to_owned();
            told.push(notice(row.user_id, "兑换码已作废", body, "已作废"));
        }
    }
    for notice in &told {
        notifications::record(txn, notice, now).await?;
    }
    Ok(told)
}

/// The job's pass: every issued code whose time ran out is expired and what it reserved given back,
/// each in its own transaction and by compare-and-set, so with many instances each code expires once.
pub async fn expire_codes(state: &AppState, batch: u64) -> ApiResult<usize> {
    let now = state.clock.now();
    let mut expired = 0;
    for row in store::expired_codes(&state.db, now, batch).await? {
        if expire_one(state, RedemptionId(row.id), now).await? {
            expired += 1;
        }
    }
    Ok(expired)
}

/// Expires one code, again while busy. A loop of its own rather than `retrying`: the job runs in a
/// spawned task, whose future must be `Send`, which an async closure's cannot yet be shown to be.
async fn expire_one(state: &AppState, id: RedemptionId, now: DateTime<Utc>) -> ApiResult<bool> {
    for attempt in 1..=crate::platform::transaction::ATTEMPTS {
        let txn = crate::platform::db::begin_write(&state.db).await?;
        match end_code(&txn, id, Action::Expire, "expired", now).await {
            Ok(ended) => {
                txn.commit().await?;
                if let Some(ended) = &ended {
                    wallet::changed(state, [UserId(ended.user_id)]).await;
                }
                return Ok(ended.is_some());
            }
            Err(Failure::Retry) => {
                txn.rollback().await?;
                tokio::time::sleep(std::time::Duration::from_millis(3 * attempt)).await;
            }
            Err(Failure::Answer(err)) => {
                txn.rollback().await?;
                return Err(err);
            }
        }
    }
    Err(ApiError::Unavailable("redemption busy".to_owned()))
}

/// The shop (within its window) or the committee refunds a captured redemption: the capture is
/// reversed (a transfer naming it), the stock and the limit given back, the resident told.
pub async fn refund(
    state: &AppState,
    actor: &Actor,
    id: RedemptionId,
    reason: Option<Note>,
) -> ApiResult<redemption::Model> {
    let row = store::get(&state.db, id).await?;
    let (merchant, scope) = merchants::merchant_with_scope(&state.db, MerchantId(row.merchant_id)).await?;
    let now = state.clock.now();
    let captured_at = row.captured_at.unwrap_or(now);
    if authz::refund(actor, &scope, UserId(row.user_id), captured_at, now)? == (RefundBy::Shop { window_open: false }) {
        return Err(RedemptionError::RefundWindowClosed.into());
    }
    let reason = author::screen_optional(state, actor.id, TextScene::Comment, reason.map(Note::into_inner)).await?;
    let reason = reason.map(PublicText::into_inner);
    let told = retrying(state, async |txn| {
        let current = store::get(txn, id).await?;
        let change = Change { action: Action::Refund, by: Some(actor.id), transfer: None, reason: reason.clone() };
        let Some(refunded) = store::transition(txn, &current, change, now).await? else {
            if let Some(statement) = current.settlement_id {
                return Err(RedemptionError::OnStatement { statement }.into());
            }
            let status = current.status.clone();
            return Err(RedemptionError::InvalidTransition { action: "refund".to_owned(), status }.into());
        };
        let capture = transfer_of(refunded.capture_transfer_id.as_deref(), &refunded)?;
        let reversal = points::reverse(txn, capture, ReversalReason::Refund { redemption: id.0 }, now).await?;
        store::set_refund_transfer(txn, id, &reversal.id.to_text()).await?;
        offers::give_back_stock(txn, OfferId(refunded.offer_id), refunded.quantity).await?;
        let offer = OfferId(refunded.offer_id);
        offers::release_limit(txn, offer, UserId(refunded.user_id), &refunded.period_key, refunded.quantity).await?;
        let body = format!("「{}」已为您退回积分 {}", merchant.name, points_text(refunded.amount_minor));
        let told = notice(refunded.user_id, "积分已退回", body, "已退款");
        notifications::record(txn, &told, now).await?;
        Ok(told)
    })
    .await?;
    wallet::changed(state, [UserId(told.user_id)]).await;
    notifications::push(state, told, now).await;
    store::get(&state.db, id).await
}

/// A shop's day at the counter (Asia/Shanghai): what was redeemed, what was refunded, and the points
/// captured and not refunded that no settlement statement holds yet.
pub struct Books {
    pub merchant: merchant::Model,
    pub day: chrono::NaiveDate,
    pub captured: Vec<redemption::Model>,
    pub refunded: Vec<redemption::Model>,
    pub unsettled_minor: i64,
}

pub async fn books(
    state: &AppState,
    actor: &Actor,
    id: MerchantId,
    day: Option<chrono::NaiveDate>,
) -> ApiResult<Books> {
    let (merchant, scope) = merchants::merchant_with_scope(&state.db, id).await?;
    authz::view_redemptions(actor, &scope)?;
    let shanghai = chrono_tz::Asia::Shanghai;
    let day = day.unwrap_or_else(|| state.clock.now().with_timezone(&shanghai).date_naive());
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(shanghai).single())
        .ok_or_else(|| ApiError::validation("date", "not a day"))?
        .with_timezone(&Utc);
    let end = start + Duration::days(1);
    Ok(Books {
        captured: store::captured_between(&state.db, id, start, end).await?,
        refunded: store::refunded_between(&state.db, id, start, end).await?,
        unsettled_minor: store::unsettled_minor(&state.db, id).await?,
        merchant,
        day,
    })
}

/// A resident's own redemptions, newest first.
pub async fn mine(
    state: &AppState,
    actor: &Actor,
    before: Option<i64>,
    limit: u64,
) -> ApiResult<Vec<redemption::Model>> {
    store::of_user(&state.db, actor.id, before, limit).await
}
