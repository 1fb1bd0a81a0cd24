//! The rows of settlement: rates, statements and their lines. Every change of a statement's status
//! is a compare-and-set on the status, so of two deciders, or an approval and a cancel, one applies.

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::{settlement, settlement_line, settlement_rate};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::lifecycle::{Action, Status};
use crate::domain::{CommunityId, MerchantId, SettlementId, UserId};
use crate::platform::error::{ApiError, ApiResult};

pub fn status_of(row: &settlement::Model) -> ApiResult<Status> {
    Status::parse(&row.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored settlement status {:?}", row.status)))
}

pub async fn rate_of(db: &impl ConnectionTrait, community: CommunityId) -> ApiResult<Option<settlement_rate::Model>> {
    Ok(settlement_rate::Entity::find().filter(settlement_rate::Column::CommunityId.eq(community.0)).one(db).await?)
}

/// Sets a community's rate (one row per community, replaced).
pub async fn set_rate(
    db: &impl ConnectionTrait,
    community: CommunityId,
    rate: &str,
    by: UserId,
    now: DateTime<Utc>,
) -> ApiResult<settlement_rate::Model> {
    let row = settlement_rate::ActiveModel {
        community_id: Set(community.0),
        rate: Set(rate.to_owned()),
        set_by: Set(by.0),
        set_at: Set(now),
        ..Default::default()
    };
    let conflict = OnConflict::column(settlement_rate::Column::CommunityId)
        .update_columns([settlement_rate::Column::Rate, settlement_rate::Column::SetBy, settlement_rate::Column::SetAt])
        .to_owned();
    settlement_rate::Entity::insert(row).on_conflict(conflict).exec_without_returning(db).await?;
    rate_of(db, community).await?.ok_or(ApiError::NotFound("settlement rate"))
}

pub struct NewStatement {
    pub merchant: MerchantId,
    pub community: CommunityId,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rate: Option<String>,
    pub by: UserId,
}

/// Inserts an empty draft; its lines and totals follow in the same transaction.
pub async fn insert_draft(
    db: &impl ConnectionTrait,
    new: &NewStatement,
    now: DateTime<Utc>,
) -> ApiResult<settlement::Model> {
    let row = settlement::ActiveModel {
        merchant_id: Set(new.merchant.0),
        community_id: Set(new.community.0),
        period_first_day: Set(new.first_day),
        period_last_day: Set(new.last_day),
        period_start: Set(new.start),
        period_end: Set(new.end),
        rate: Set(new.rate.clone()),
        line_count: Set(0),
        points_minor: Set(0),
        cny_minor: Set(0),
        cny_exact: Set("0".to_owned()),
        status: Set(Status::Draft.as_str().to_owned()),
        drafted_by: Set(new.by.0),
        drafted_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let id = settlement::Entity::insert(row).exec(db).await?.last_insert_id;
    get(db, SettlementId(id)).await
}

/// One line as it goes on the statement.
pub struct NewLine {
    pub redemption: i64,
    pub offer: i64,
    pub quantity: i64,
    pub points_minor: i64,
    pub cny_minor: i64,
    pub captured_at: DateTime<Utc>,
}

/// Writes the lines and the totals of a draft. The partial unique index on live lines refuses a
/// redemption already on another live statement.
pub async fn fill(
    db: &impl ConnectionTrait,
    statement: SettlementId,
    lines: &[NewLine],
    totals: (i64, i64, &str),
) -> ApiResult<()> {
    let rows = lines.iter().map(|line| settlement_line::ActiveModel {
        settlement_id: Set(statement.0),
        redemption_id: Set(line.redemption),
        offer_id: Set(line.offer),
        quantity: Set(line.quantity),
        points_minor: Set(line.points_minor),
        cny_minor: Set(line.cny_minor),
        captured_at: Set(line.captured_at),
        ..Default::default()
    });
    settlement_line::Entity::insert_many(rows).exec_without_returning(db).await?;
    let (points, cny, exact) = totals;
    let count = i64::try_from(lines.len()).map_err(ApiError::internal)?;
    settlement::Entity::update_many()
        .col_expr(settlement::Column::LineCount, Expr::value(count))
        .col_expr(settlement::Column::PointsMinor, Expr::value(points))
        .col_expr(settlement::Column::CnyMinor, Expr::value(cny))
        .col_expr(settlement::Column::CnyExact, Expr::value(exact))
        .filter(settlement::Column::Id.eq(statement.0))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: SettlementId) -> ApiResult<settlement::Model> {
    settlement::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("settlement"))
}

/// A statement's lines, oldest redemption first (cancelled drafts keep theirs, marked cancelled).
pub async fn lines_of(db: &impl ConnectionTrait, id: SettlementId) -> ApiResult<Vec<settlement_line::Model>> {
    Ok(settlement_line::Entity::find()
        .filter(settlement_line::Column::SettlementId.eq(id.0))
        .order_by_asc(settlement_line::Column::CapturedAt)
        .order_by_asc(settlement_line::Column::Id)
        .all(db)
        .await?)
}

/// A merchant's statements, newest first.
pub async fn of_merchant(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
    before: Option<i64>,
    limit: u64,
) -> ApiResult<Vec<settlement::Model>> {
    let mut query = settlement::Entity::find()
        .filter(settlement::Column::MerchantId.eq(merchant.0))
        .order_by_desc(settlement::Column::Id)
        .limit(limit + 1);
    if let Some(before) = before {
        query = query.filter(settlement::Column::Id.lt(before));
    }
    Ok(query.all(db).await?)
}

/// Per merchant: the points of its approved and paid statements (what settlement took from it).
pub async fn settled_by_merchant(db: &impl ConnectionTrait) -> ApiResult<Vec<(i64, i64)>> {
    let settled = [Status::Approved.as_str(), Status::Paid.as_str()];
    let rows: Vec<(i64, i64)> = settlement::Entity::find()
        .select_only()
        .column(settlement::Column::MerchantId)
        .column(settlement::Column::PointsMinor)
        .filter(settlement::Column::Status.is_in(settled))
        .into_tuple()
        .all(db)
        .await?;
    let mut sums = std::collections::BTreeMap::new();
    for (merchant, points) in rows {
        *sums.entry(merchant).or_insert(0i64) += points;
    }
    Ok(sums.into_iter().collect())
}

/// What an action writes besides the status.
pub enum Change {
    Approve { by: UserId },
    MarkPaid { by: UserId, bank_reference: String },
    Cancel { by: UserId },
}

impl Change {
    fn action(&self) -> Action {
        match self {
            Change::Approve { .. } => Action::Approve,
            Change::MarkPaid { .. } => Action::MarkPaid,
            Change::Cancel { .. } => Action::Cancel,
        }
    }
}

/// Applies `change` if the statement is still in the status it moves from; `None` when the
/// lifecycle refuses it or the compare-and-set lost.
pub async fn transition(
    db: &impl ConnectionTrait,
    row: &settlement::Model,
    change: Change,
    now: DateTime<Utc>,
) -> ApiResult<Option<settlement::Model>> {
    let from = status_of(row)?;
    let pays_cny = row.rate.is_some() && row.cny_minor > 0;
    let Some(to) = change.action().apply(from, pays_cny) else { return Ok(None) };
    let mut update = settlement::Entity::update_many()
        .col_expr(settlement::Column::Status, Expr::value(to.as_str()))
        .col_expr(settlement::Column::UpdatedAt, Expr::value(now))
        .filter(settlement::Column::Id.eq(row.id))
        .filter(settlement::Column::Status.eq(from.as_str()));
    update = match change {
        Change::Approve { by } => update
            .col_expr(settlement::Column::ApprovedBy, Expr::value(by.0))
            .col_expr(settlement::Column::ApprovedAt, Expr::value(now)),
        Change::MarkPaid { by, bank_reference } => update
            .col_expr(settlement::Column::PaidBy, Expr::value(by.0))
            .col_expr(settlement::Column::PaidAt, Expr::value(now))
            .col_expr(settlement::Column::BankReference, Expr::value(bank_reference)),
        Change::Cancel { by } => update
            .col_expr(settlement::Column::CancelledBy, Expr::value(by.0))
            .col_expr(settlement::Column::CancelledAt, Expr::value(now)),
    };
    if update.exec(db).await?.rows_affected != 1 {
        return Ok(None);
    }
    get(db, SettlementId(row.id)).await.map(Some)
}

/// Marks a cancelled draft's lines, so its redemptions may go on another statement.
pub async fn cancel_lines(db: &impl ConnectionTrait, id: SettlementId, now: DateTime<Utc>) -> ApiResult<()> {
    settlement_line::Entity::update_many()
        .col_expr(settlement_line::Column::CancelledAt, Expr::value(now))
        .filter(settlement_line::Column::SettlementId.eq(id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Which transfers of a statement a column records.
pub enum Transfers {
    Approved { points: String, cny: Option<String> },
    Paid { payment: String },
}

pub async fn set_transfers(db: &impl ConnectionTrait, id: SettlementId, transfers: Transfers) -> ApiResult<()> {
    let update = settlement::Entity::update_many().filter(settlement::Column::Id.eq(id.0));
    let update = match transfers {
        Transfers::Approved { points, cny } => update
            .col_expr(settlement::Column::PointsTransferId, Expr::value(points))
            .col_expr(settlement::Column::CnyTransferId, Expr::value(cny)),
        Transfers::Paid { payment } => update.col_expr(settlement::Column::PaymentTransferId, Expr::value(payment)),
    };
    update.exec(db).await?;
    Ok(())
}
