//! The rows of offers, their stock and the per-person limit usage. Stock and limits are taken when a
//! code is issued and given back when it ends unused or is refunded, each a compare-and-set that holds
//! under any concurrency: `available = total − taken` never goes below zero, and a resident's usage in
//! a period never above the limit. A capture changes neither: what it redeems was taken at issue.

use chrono::{DateTime, Utc};
use ehome_entities::{offer, offer_limit_usage};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::lifecycle::{LimitPeriod, OfferStatus};
use crate::domain::{MerchantId, OfferId, UserId};
use crate::platform::error::ApiError;

/// A per-person limit: `quantity` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub quantity: i32,
    pub period: LimitPeriod,
}

/// An offer's fields as the service screened them.
pub struct OfferFields {
    pub title: String,
    pub description: String,
    pub photo_url: Option<String>,
    pub price_minor: i64,
    pub stock_total: Option<i64>,
    pub limit: Option<Limit>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

pub fn status_of(offer: &offer::Model) -> Result<OfferStatus, ApiError> {
    OfferStatus::parse(&offer.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored offer status {:?}", offer.status)))
}

pub fn limit_of(offer: &offer::Model) -> Result<Option<Limit>, ApiError> {
    match (offer.limit_quantity, offer.limit_period.as_deref()) {
        (Some(quantity), Some(period)) => {
            let period = LimitPeriod::parse(period)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored limit period {period:?}")))?;
            Ok(Some(Limit { quantity, period }))
        }
        _ => Ok(None),
    }
}

pub async fn insert(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
    fields: OfferFields,
    created_by: UserId,
    now: DateTime<Utc>,
) -> Result<offer::Model, ApiError> {
    Ok(offer::ActiveModel {
        merchant_id: Set(merchant.0),
        title: Set(fields.title),
        description: Set(fields.description),
        photo_url: Set(fields.photo_url),
        price_minor: Set(fields.price_minor),
        stock_total: Set(fields.stock_total),
        stock_taken: Set(0),
        limit_quantity: Set(fields.limit.map(|l| l.quantity)),
        limit_period: Set(fields.limit.map(|l| l.period.as_str().to_owned())),
        valid_from: Set(fields.valid_from),
        valid_until: Set(fields.valid_until),
        status: Set(OfferStatus::Active.as_str().to_owned()),
        created_by: Set(created_by.0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Replaces an offer's fields. The total stock may not go below what codes have taken.
pub async fn update(
    db: &impl ConnectionTrait,
    current: offer::Model,
    fields: OfferFields,
    now: DateTime<Utc>,
) -> Result<offer::Model, ApiError> {
    if let Some(total) = fields.stock_total
        && total < current.stock_taken
    {
        return Err(ApiError::validation("stock", "below what is already reserved and redeemed"));
    }
    let mut active: offer::ActiveModel = current.into();
    active.title = Set(fields.title);
    active.description = Set(fields.description);
    active.photo_url = Set(fields.photo_url);
    active.price_minor = Set(fields.price_minor);
    active.stock_total = Set(fields.stock_total);
    active.limit_quantity = Set(fields.limit.map(|l| l.quantity));
    active.limit_period = Set(fields.limit.map(|l| l.period.as_str().to_owned()));
    active.valid_from = Set(fields.valid_from);
    active.valid_until = Set(fields.valid_until);
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

pub async fn set_status(
    db: &impl ConnectionTrait,
    offer: offer::Model,
    status: OfferStatus,
    now: DateTime<Utc>,
) -> Result<offer::Model, ApiError> {
    let mut active: offer::ActiveModel = offer.into();
    active.status = Set(status.as_str().to_owned());
    active.updated_at = Set(now);
    Ok(active.update(db).await?)
}

pub async fn get(db: &impl ConnectionTrait, id: OfferId) -> Result<offer::Model, ApiError> {
    offer::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("offer"))
}

/// The offers of these merchants, active ones only when `active_at` is given (and valid then).
pub async fn of_merchants(
    db: &impl ConnectionTrait,
    merchants: &[i64],
    active_at: Option<DateTime<Utc>>,
) -> Result<Vec<offer::Model>, ApiError> {
    let mut query = offer::Entity::find().filter(offer::Column::MerchantId.is_in(merchants.iter().copied()));
    if let Some(now) = active_at {
        query = query
            .filter(offer::Column::Status.eq(OfferStatus::Active.as_str()))
            .filter(offer::Column::ValidFrom.lte(now))
            .filter(offer::Column::ValidUntil.gt(now));
    }
    Ok(query.order_by_asc(offer::Column::Id).all(db).await?)
}

/// Takes `quantity` of the stock; false when not that much is left. Unlimited stock always is.
pub async fn reserve_stock(db: &impl ConnectionTrait, offer: OfferId, quantity: i64) -> Result<bool, ApiError> {
    let available = Expr::col(offer::Column::StockTotal).sub(Expr::col(offer::Column::StockTaken));
    let applied = offer::Entity::update_many()
        .col_expr(offer::Column::StockTaken, Expr::col(offer::Column::StockTaken).add(quantity))
        .filter(offer::Column::Id.eq(offer.0))
        .filter(sea_orm::Condition::any().add(offer::Column::StockTotal.is_null()).add(available.gte(quantity)))
        .exec(db)
        .await?;
    Ok(applied.rows_affected == 1)
}

/// Gives back stock a code took: it ended unused (cancelled, expired, voided) or was refunded.
pub async fn give_back_stock(db: &impl ConnectionTrait, offer: OfferId, quantity: i64) -> Result<(), ApiError> {
    offer::Entity::update_many()
        .col_expr(offer::Column::StockTaken, Expr::col(offer::Column::StockTaken).sub(quantity))
        .filter(offer::Column::Id.eq(offer.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Reserves `quantity` of a resident's limit in a period; false when it would pass the limit.
pub async fn reserve_limit(
    db: &impl ConnectionTrait,
    offer: OfferId,
    user: UserId,
    period_key: &str,
    quantity: i64,
    limit: i32,
) -> Result<bool, ApiError> {
    offer_limit_usage::Entity::insert(offer_limit_usage::ActiveModel {
        offer_id: Set(offer.0),
        user_id: Set(user.0),
        period_key: Set(period_key.to_owned()),
        quantity: Set(0),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([
        offer_limit_usage::Column::OfferId,
        offer_limit_usage::Column::UserId,
        offer_limit_usage::Column::PeriodKey,
    ])
    .exec_without_returning(db)
    .await?;
    let applied = offer_limit_usage::Entity::update_many()
        .col_expr(offer_limit_usage::Column::Quantity, Expr::col(offer_limit_usage::Column::Quantity).add(quantity))
        .filter(offer_limit_usage::Column::OfferId.eq(offer.0))
        .filter(offer_limit_usage::Column::UserId.eq(user.0))
        .filter(offer_limit_usage::Column::PeriodKey.eq(period_key))
        .filter(offer_limit_usage::Column::Quantity.lte(i64::from(limit) - quantity))
        .exec(db)
        .await?;
    Ok(applied.rows_affected == 1)
}

/// Gives back `quantity` of a resident's limit in a period (a code that ended unused, a refund).
pub async fn release_limit(
    db: &impl ConnectionTrait,
    offer: OfferId,
    user: UserId,
    period_key: &str,
    quantity: i64,
) -> Result<(), ApiError> {
    offer_limit_usage::Entity::update_many()
        .col_expr(offer_limit_usage::Column::Quantity, Expr::col(offer_limit_usage::Column::Quantity).sub(quantity))
        .filter(offer_limit_usage::Column::OfferId.eq(offer.0))
        .filter(offer_limit_usage::Column::UserId.eq(user.0))
        .filter(offer_limit_usage::Column::PeriodKey.eq(period_key))
        .filter(offer_limit_usage::Column::Quantity.gte(quantity))
        .exec(db)
        .await?;
    Ok(())
}
