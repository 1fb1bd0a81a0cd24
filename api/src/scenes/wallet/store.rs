//! The wallet's one table: the residents told that points expire on a day.

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::points_expiry_notice;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::domain::UserId;
use crate::points::Points;

/// Claims the reminder that `amount` expires on `date` for the resident; `false` when another run
/// (another day, another instance) claimed it first. The primary key decides, so exactly one wins.
pub async fn claim_notice(
    conn: &impl ConnectionTrait,
    user: UserId,
    date: NaiveDate,
    amount: Points,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let row = points_expiry_notice::ActiveModel {
        user_id: Set(user.0),
        expiry_date: Set(date),
        amount_minor: Set(amount.minor()),
        notified_at: Set(now),
    };
    let conflict =
        OnConflict::columns([points_expiry_notice::Column::UserId, points_expiry_notice::Column::ExpiryDate])
            .do_nothing()
            .to_owned();
    let inserted = points_expiry_notice::Entity::insert(row).on_conflict(conflict).exec_without_returning(conn).await?;
    Ok(inserted == 1)
}
