//! The rows of redemptions. Every change of status is a compare-and-set on the status (and, for a
//! capture or an expiry, on which side of the code's expiry `now` is), so of a capture, a cancel,
//! the expiry job and a suspension racing on one code exactly one applies.

use chrono::{DateTime, Utc};
use ehome_entities::redemption;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::lifecycle::{Action, Status};
use crate::domain::{CommunityId, MerchantId, OfferId, RedemptionId, UserId};
use crate::platform::error::ApiError;

pub struct NewRedemption {
    pub merchant: MerchantId,
    pub offer: OfferId,
    pub community: CommunityId,
    pub user: UserId,
    pub quantity: i64,
    pub amount_minor: i64,
    pub period_key: String,
    pub expires_at: DateTime<Utc>,
}

pub fn status_of(row: &redemption::Model) -> Result<Status, ApiError> {
    Status::parse(&row.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored redemption status {:?}", row.status)))
}

fn new_code() -> String {
    format!("{:08}", rand::rng().random_range(0..100_000_000u32))
}

/// Inserts an issued redemption with a fresh 8-digit code, unique per merchant for all time; a
/// collision draws again (the conflict target is the unique index, so the transaction survives it).
pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewRedemption,
    now: DateTime<Utc>,
) -> Result<redemption::Model, ApiError> {
    for _ in 0..8 {
        let code = new_code();
        let row = redemption::ActiveModel {
            merchant_id: Set(new.merchant.0),
            offer_id: Set(new.offer.0),
            community_id: Set(new.community.0),
            user_id: Set(new.user.0),
            code: Set(code.clone()),
            quantity: Set(new.quantity),
            amount_minor: Set(new.amount_minor),
            status: Set(Status::Issued.as_str().to_owned()),
            period_key: Set(new.period_key.clone()),
            issued_at: Set(now),
            expires_at: Set(new.expires_at),
            updated_at: Set(now),
            ..Default::default()
        };
        let inserted = redemption::Entity::insert(row)
            .on_conflict_do_nothing_on([redemption::Column::MerchantId, redemption::Column::Code])
            .exec_with_returning(db)
            .await?;
        if let sea_orm::TryInsertResult::Inserted(row) = inserted {
            return Ok(row);
        }
    }
    Err(ApiError::internal(anyhow::anyhow!("no free redemption code after 8 draws")))
}

/// Names the redemption's hold; returns the row after.
pub async fn set_hold(db: &impl ConnectionTrait, id: RedemptionId, hold: &str) -> Result<redemption::Model, ApiError> {
    let updated = redemption::Entity::update_many()
        .col_expr(redemption::Column::HoldTransferId, Expr::value(hold))
        .filter(redemption::Column::Id.eq(id.0))
        .exec_with_returning(db)
        .await?;
    updated.into_iter().next().ok_or(ApiError::NotFound("redemption"))
}

pub async fn get(db: &impl ConnectionTrait, id: RedemptionId) -> Result<redemption::Model, ApiError> {
    redemption::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("redemption"))
}

pub async fn by_code(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
    code: &str,
) -> Result<Option<redemption::Model>, ApiError> {
    Ok(redemption::Entity::find()
        .filter(redemption::Column::MerchantId.eq(merchant.0))
        .filter(redemption::Column::Code.eq(code))
        .one(db)
        .await?)
}

/// What an action writes besides the status.
pub struct Change {
    pub action: Action,
    pub by: Option<UserId>,
    pub transfer: Option<String>,
    pub reason: Option<String>,
}

/// Applies `change` if the row is still in the status it moves from (and, for a capture, the code
/// has not expired at `now`; for an expiry, it has). Returns the row after, or `None` when the
/// compare-and-set lost (someone else changed it first).
pub async fn transition(
    db: &impl ConnectionTrait,
    row: &redemption::Model,
    change: Change,
    now: DateTime<Utc>,
) -> Result<Option<redemption::Model>, ApiError> {
    let from = status_of(row)?;
    let Some(to) = change.action.apply(from) else { return Ok(None) };
    let mut update = redemption::Entity::update_many()
        .col_expr(redemption::Column::Status, Expr::value(to.as_str()))
        .col_expr(redemption::Column::UpdatedAt, Expr::value(now))
        .filter(redemption::Column::Id.eq(row.id))
        .filter(redemption::Column::Status.eq(from.as_str()));
    update = match change.action {
        Action::Capture => update
            .filter(redemption::Column::ExpiresAt.gt(now))
            .col_expr(redemption::Column::CapturedAt, Expr::value(now))
            .col_expr(redemption::Column::CapturedBy, Expr::value(change.by.map(|u| u.0)))
            .col_expr(redemption::Column::CaptureTransferId, Expr::value(change.transfer)),
        Action::Expire => update
            .filter(redemption::Column::ExpiresAt.lte(now))
            .col_expr(redemption::Column::EndedAt, Expr::value(now))
            .col_expr(redemption::Column::EndReason, Expr::value(change.action.as_str())),
        Action::Cancel | Action::Void => update
            .col_expr(redemption::Column::EndedAt, Expr::value(now))
            .col_expr(redemption::Column::EndReason, Expr::value(change.reason.unwrap_or_default())),
        // A redemption on a settlement statement stays captured: its points are the statement's
        // (a draft is cancelled first to refund one of its redemptions).
        Action::Refund => update
            .filter(redemption::Column::SettlementId.is_null())
            .col_expr(redemption::Column::RefundedAt, Expr::value(now))
            .col_expr(redemption::Column::RefundedBy, Expr::value(change.by.map(|u| u.0)))
            .col_expr(redemption::Column::RefundReason, Expr::value(change.reason))
            .col_expr(redemption::Column::RefundTransferId, Expr::value(change.transfer)),
    };
    Ok(update.exec_with_returning(db).await?.into_iter().next())
}

/// Records a refund's reversal transfer (posted after the status change won).
pub async fn set_refund_transfer(db: &impl ConnectionTrait, id: RedemptionId, transfer: &str) -> Result<(), ApiError> {
    redemption::Entity::update_many()
        .col_expr(redemption::Column::RefundTransferId, Expr::value(transfer))
        .filter(redemption::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Issued codes whose time ran out at `now`, oldest first.
pub async fn expired_codes(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<redemption::Model>, ApiError> {
    Ok(redemption::Entity::find()
        .filter(redemption::Column::Status.eq(Status::Issued.as_str()))
        .filter(redemption::Column::ExpiresAt.lte(now))
        .order_by_asc(redemption::Column::ExpiresAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// A merchant's codes not used yet.
pub async fn open_codes(db: &impl ConnectionTrait, merchant: MerchantId) -> Result<Vec<redemption::Model>, ApiError> {
    Ok(redemption::Entity::find()
        .filter(redemption::Column::MerchantId.eq(merchant.0))
        .filter(redemption::Column::Status.eq(Status::Issued.as_str()))
        .order_by_asc(redemption::Column::Id)
        .all(db)
        .await?)
}

/// A merchant's redemptions captured in `[from, to)`, and those refunded in it.
pub async fn captured_between(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<redemption::Model>, ApiError> {
    Ok(redemption::Entity::find()
        .filter(redemption::Column::MerchantId.eq(merchant.0))
        .filter(redemption::Column::CapturedAt.gte(from))
        .filter(redemption::Column::CapturedAt.lt(to))
        .order_by_asc(redemption::Column::CapturedAt)
        .all(db)
        .await?)
}

pub async fn refunded_between(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<redemption::Model>, ApiError> {
    Ok(redemption::Entity::find()
        .filter(redemption::Column::MerchantId.eq(merchant.0))
        .filter(redemption::Column::RefundedAt.gte(from))
        .filter(redemption::Column::RefundedAt.lt(to))
        .order_by_asc(redemption::Column::RefundedAt)
        .all(db)
        .await?)
}

/// Points captured, not refunded and on no settlement statement yet: what settlement will find.
pub async fn unsettled_minor(db: &impl ConnectionTrait, merchant: MerchantId) -> Result<i64, ApiError> {
    let rows: Vec<i64> = redemption::Entity::find()
        .select_only()
        .column(redemption::Column::AmountMinor)
        .filter(redemption::Column::MerchantId.eq(merchant.0))
        .filter(redemption::Column::Status.eq(Status::Captured.as_str()))
        .filter(redemption::Column::SettlementId.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().sum())
}

/// A resident's redemptions, newest first.
pub async fn of_user(
    db: &impl ConnectionTrait,
    user: UserId,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<redemption::Model>, ApiError> {
    let mut query = redemption::Entity::find()
        .filter(redemption::Column::UserId.eq(user.0))
        .order_by_desc(redemption::Column::Id)
        .limit(limit + 1);
    if let Some(before) = before {
        query = query.filter(redemption::Column::Id.lt(before));
    }
    Ok(query.all(db).await?)
}
