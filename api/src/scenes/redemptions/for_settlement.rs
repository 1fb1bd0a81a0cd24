//! What settlement needs of redemptions, through the redemptions scene's `service`: a draft claims
//! the captured, unrefunded, unsettled redemptions of a period by a compare-and-set on
//! `settlement_id IS NULL` (two drafts at once: each redemption goes to one of them), a cancelled
//! draft frees them, and the checks and reports read what was captured.

use chrono::{DateTime, Utc};
use ehome_entities::redemption;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::lifecycle::Status;
use crate::domain::{CommunityId, MerchantId, SettlementId};
use crate::platform::error::ApiResult;

/// Puts every captured, unrefunded redemption of `merchant` captured in `[start, end)` that no
/// statement holds yet on `statement`, and returns them (oldest first). A redemption another
/// transaction claimed first is not claimed again: the `UPDATE` re-checks `settlement_id IS NULL`
/// once that transaction commits.
pub async fn claim(
    txn: &impl ConnectionTrait,
    merchant: MerchantId,
    statement: SettlementId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> ApiResult<Vec<redemption::Model>> {
    redemption::Entity::update_many()
        .col_expr(redemption::Column::SettlementId, Expr::value(statement.0))
        .filter(redemption::Column::MerchantId.eq(merchant.0))
        .filter(redemption::Column::Status.eq(Status::Captured.as_str()))
        .filter(redemption::Column::SettlementId.is_null())
        .filter(redemption::Column::CapturedAt.gte(start))
        .filter(redemption::Column::CapturedAt.lt(end))
        .exec(txn)
        .await?;
    Ok(redemption::Entity::find()
        .filter(redemption::Column::SettlementId.eq(statement.0))
        .order_by_asc(redemption::Column::CapturedAt)
        .order_by_asc(redemption::Column::Id)
        .all(txn)
        .await?)
}

/// Frees the redemptions of a cancelled draft.
pub async fn release(txn: &impl ConnectionTrait, statement: SettlementId) -> ApiResult<u64> {
    let result = redemption::Entity::update_many()
        .col_expr(redemption::Column::SettlementId, Expr::value(Option::<i64>::None))
        .filter(redemption::Column::SettlementId.eq(statement.0))
        .exec(txn)
        .await?;
    Ok(result.rows_affected)
}

/// Per merchant: the points of its redemptions captured and not refunded (whether settled or not).
pub async fn captured_by_merchant(db: &impl ConnectionTrait) -> ApiResult<Vec<(i64, i64)>> {
    let rows: Vec<(i64, i64)> = redemption::Entity::find()
        .select_only()
        .column(redemption::Column::MerchantId)
        .column(redemption::Column::AmountMinor)
        .filter(redemption::Column::Status.eq(Status::Captured.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let mut sums = std::collections::BTreeMap::new();
    for (merchant, amount) in rows {
        *sums.entry(merchant).or_insert(0i64) += amount;
    }
    Ok(sums.into_iter().collect())
}

/// Redemptions at `community`'s merchants captured in `[start, end)` (refunded since or not).
pub async fn captured_in(
    db: &impl ConnectionTrait,
    community: CommunityId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> ApiResult<Vec<redemption::Model>> {
    Ok(redemption::Entity::find()
        .filter(redemption::Column::CommunityId.eq(community.0))
        .filter(redemption::Column::CapturedAt.gte(start))
        .filter(redemption::Column::CapturedAt.lt(end))
        .order_by_asc(redemption::Column::Id)
        .all(db)
        .await?)
}

/// Points of `community`'s merchants' redemptions captured before `at`, less those refunded before it.
pub async fn redeemed_before(db: &impl ConnectionTrait, community: CommunityId, at: DateTime<Utc>) -> ApiResult<i64> {
    let rows: Vec<(i64, Option<DateTime<Utc>>)> = redemption::Entity::find()
        .select_only()
        .column(redemption::Column::AmountMinor)
        .column(redemption::Column::RefundedAt)
        .filter(redemption::Column::CommunityId.eq(community.0))
        .filter(redemption::Column::CapturedAt.lt(at))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter(|(_, refunded)| refunded.is_none_or(|r| r >= at)).map(|(amount, _)| amount).sum())
}
