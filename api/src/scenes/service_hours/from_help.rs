//! Service hours served on a 邻互助 help post, on the same permanent record as activity hours: the
//! poster confirms the duration, the minutes are credited within the same daily cap as activity
//! hours (what the helper already has that Shanghai day, activities and help posts together), and
//! the record is flagged 邻里互助. A help post's points are its reward, so these hours earn no
//! points from issuance. One record per post (a unique index), never updated once committed.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::help_hour_record;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set,
};

use super::hours::shanghai_date;
use crate::domain::{CommunityId, UserId};
use crate::platform::error::ApiError;

/// The flag every help-post record carries (邻里互助).
pub const NEIGHBOUR_AID_FLAG: &str = "neighbour_aid";

/// Hours the poster confirmed for the helper of a help post.
pub struct HelpHours {
    pub community: CommunityId,
    pub help_post: i64,
    pub helper: UserId,
    pub minutes: i64,
    pub confirmed_by: UserId,
}

#[derive(FromQueryResult)]
struct Total {
    total: Option<i64>,
}

/// The help-post minutes credited to `user` in all.
pub async fn help_minutes(db: &impl ConnectionTrait, user: UserId) -> Result<i64, ApiError> {
    let found = help_hour_record::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(credited_minutes), 0) AS BIGINT)"), "total")
        .filter(help_hour_record::Column::UserId.eq(user.0))
        .into_model::<Total>()
        .one(db)
        .await?;
    Ok(found.and_then(|t| t.total).unwrap_or(0))
}

/// A helper's help-post records, newest first (the most recent `limit`).
pub async fn help_records(
    db: &impl ConnectionTrait,
    user: UserId,
    limit: u64,
) -> Result<Vec<help_hour_record::Model>, ApiError> {
    use sea_orm::QueryOrder;
    Ok(help_hour_record::Entity::find()
        .filter(help_hour_record::Column::UserId.eq(user.0))
        .order_by_desc(help_hour_record::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Records the hours in the caller's transaction, credited within the daily cap.
pub async fn record_help_hours(
    db: &impl ConnectionTrait,
    hours: &HelpHours,
    daily_hours_max: u32,
    now: DateTime<Utc>,
) -> Result<help_hour_record::Model, ApiError> {
    let day = shanghai_date(now);
    let activity_minutes = super::store::credited_by_day(db, &[hours.helper], day, day, 0)
        .await?
        .get(&hours.helper)
        .and_then(|days| days.get(&day).copied())
        .unwrap_or(0);
    let help_today: Vec<help_hour_record::Model> = help_hour_record::Entity::find()
        .filter(help_hour_record::Column::UserId.eq(hours.helper.0))
        .filter(help_hour_record::Column::ServiceDay.eq(day))
        .all(db)
        .await?;
    let help_minutes: i64 = help_today.iter().map(|r| i64::from(r.credited_minutes)).sum();
    let room = (i64::from(daily_hours_max) * 60 - activity_minutes - help_minutes).max(0);
    let credited = hours.minutes.min(room);
    let to_i32 = |m: i64| i32::try_from(m).map_err(|_| ApiError::validation("minutes", "too many minutes"));
    let mut flags = vec![NEIGHBOUR_AID_FLAG];
    if credited < hours.minutes {
        flags.push("daily_cap");
    }
    let row = help_hour_record::ActiveModel {
        community_id: Set(hours.community.0),
        help_post_id: Set(hours.help_post),
        user_id: Set(hours.helper.0),
        minutes: Set(to_i32(hours.minutes)?),
        credited_minutes: Set(to_i32(credited)?),
        flags: Set(flags.join(",")),
        confirmed_by: Set(hours.confirmed_by.0),
        service_day: Set(day),
        created_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(db).await?)
}

/// Adds a committed record to the leaderboards already built (after the confirming transaction
/// commits, as activity decisions do; a board never built will read it from the database).
pub async fn count_on_leaderboards(state: &crate::state::AppState, record: &help_hour_record::Model) {
    let credited = [(UserId(record.user_id), record.service_day, i64::from(record.credited_minutes))];
    super::leaderboard::count(state, CommunityId(record.community_id), &credited).await;
}

#[derive(FromQueryResult)]
struct UserTotal {
    user_id: i64,
    total: Option<i64>,
}

/// Help-post minutes credited per helper of a community whose service day is in `[from, to]` (all
/// days when absent), only for `users` when given.
pub async fn minutes_by_user(
    db: &impl ConnectionTrait,
    community: CommunityId,
    days: Option<(NaiveDate, NaiveDate)>,
    users: Option<&[UserId]>,
) -> Result<HashMap<i64, i64>, ApiError> {
    let mut query = help_hour_record::Entity::find()
        .select_only()
        .column(help_hour_record::Column::UserId)
        .column_as(Expr::cust("CAST(SUM(credited_minutes) AS BIGINT)"), "total")
        .filter(help_hour_record::Column::CommunityId.eq(community.0));
    if let Some((from, to)) = days {
        query = query.filter(help_hour_record::Column::ServiceDay.between(from, to));
    }
    if let Some(users) = users {
        query = query.filter(help_hour_record::Column::UserId.is_in(users.iter().map(|u| u.0)));
    }
    let rows = query.group_by(help_hour_record::Column::UserId).into_model::<UserTotal>().all(db).await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.total.unwrap_or(0))).collect())
}

/// A community's help-post records whose service day is in `[from, to]` (the statistics).
pub async fn records_between(
    db: &impl ConnectionTrait,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<help_hour_record::Model>, ApiError> {
    Ok(help_hour_record::Entity::find()
        .filter(help_hour_record::Column::CommunityId.eq(community.0))
        .filter(help_hour_record::Column::ServiceDay.between(from, to))
        .all(db)
        .await?)
}

/// Every help-post record of a helper, oldest first (the certificate).
pub async fn all_of_user(db: &impl ConnectionTrait, user: UserId) -> Result<Vec<help_hour_record::Model>, ApiError> {
    use sea_orm::QueryOrder;
    Ok(help_hour_record::Entity::find()
        .filter(help_hour_record::Column::UserId.eq(user.0))
        .order_by_asc(help_hour_record::Column::Id)
        .all(db)
        .await?)
}

/// The communities with help-post records (the leaderboard rebuild walks them too).
pub async fn communities_with_records(db: &impl ConnectionTrait) -> Result<Vec<i64>, ApiError> {
    Ok(help_hour_record::Entity::find()
        .select_only()
        .column(help_hour_record::Column::CommunityId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?)
}
