//! The rows of service hours: every function takes a connection or transaction, so a use case in
//! `service.rs` composes them with the points verbs in one transaction. Rows are inserted, never
//! updated or deleted; kinds, statuses and flags cross the column boundary here.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use ehome_entities::hour_record;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use super::lifecycle::{Flag, Kind, RecordStatus, flags_text};
use crate::domain::{CommunityId, UserId};
use crate::platform::error::ApiError;
use crate::platform::pagination::Keyset;

/// A decision about to be written.
pub struct NewRecord {
    pub community_id: i64,
    pub activity_id: i64,
    pub user_id: i64,
    pub signup_id: i64,
    pub kind: Kind,
    pub corrects_id: Option<i64>,
    pub status: RecordStatus,
    pub minutes: i64,
    pub credited_minutes: i64,
    pub points_minor: i64,
    pub credited_delta_minutes: i64,
    pub points_delta_minor: i64,
    pub credited_by_day: BTreeMap<NaiveDate, i64>,
    pub flags: Vec<Flag>,
    pub reason: Option<String>,
    pub decided_by: i64,
    pub service_day: NaiveDate,
}

fn int(field: &str, value: i64) -> Result<i32, ApiError> {
    i32::try_from(value).map_err(|_| ApiError::validation(field, "out of range"))
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewRecord,
    now: DateTime<Utc>,
) -> Result<hour_record::Model, ApiError> {
    let by_day: BTreeMap<String, i64> = new.credited_by_day.iter().map(|(d, m)| (d.to_string(), *m)).collect();
    let by_day = serde_json::to_string(&by_day).map_err(ApiError::internal)?;
    Ok(hour_record::ActiveModel {
        community_id: Set(new.community_id),
        activity_id: Set(new.activity_id),
        user_id: Set(new.user_id),
        signup_id: Set(new.signup_id),
        kind: Set(new.kind.as_str().to_owned()),
        corrects_id: Set(new.corrects_id),
        status: Set(new.status.as_str().to_owned()),
        minutes: Set(int("minutes", new.minutes)?),
        credited_minutes: Set(int("minutes", new.credited_minutes)?),
        points_minor: Set(new.points_minor),
        credited_delta_minutes: Set(int("minutes", new.credited_delta_minutes)?),
        points_delta_minor: Set(new.points_delta_minor),
        credited_by_day: Set(by_day),
        transfer_id: Set(None),
        flags: Set(flags_text(&new.flags)),
        reason: Set(new.reason),
        decided_by: Set(new.decided_by),
        service_day: Set(new.service_day),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Records the transfer a record's points moved with. The one write after insert: the transfer id
/// is derived from the record's id, so it is known only once the row exists; it is set in the same
/// transaction, before anyone can read the row.
pub async fn set_transfer(db: &impl ConnectionTrait, id: i64, transfer: &str) -> Result<(), ApiError> {
    hour_record::Entity::update_many()
        .col_expr(hour_record::Column::TransferId, Expr::value(transfer.to_owned()))
        .filter(hour_record::Column::Id.eq(id))
        .filter(hour_record::Column::TransferId.is_null())
        .exec(db)
        .await?;
    Ok(())
}

pub fn kind_of(record: &hour_record::Model) -> Result<Kind, ApiError> {
    Kind::parse(&record.kind).ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored kind {:?}", record.kind)))
}

/// Credited minutes by Shanghai day, as stored.
pub fn by_day_of(record: &hour_record::Model) -> BTreeMap<NaiveDate, i64> {
    let stored: BTreeMap<String, i64> = serde_json::from_str(&record.credited_by_day).unwrap_or_default();
    stored.into_iter().filter_map(|(day, minutes)| Some((day.parse().ok()?, minutes))).collect()
}

/// Every record of an activity, oldest first.
pub async fn of_activity(db: &impl ConnectionTrait, activity_id: i64) -> Result<Vec<hour_record::Model>, ApiError> {
    Ok(hour_record::Entity::find()
        .filter(hour_record::Column::ActivityId.eq(activity_id))
        .order_by_asc(hour_record::Column::Id)
        .all(db)
        .await?)
}

/// Every record of one sign-up, oldest first (the original, then its adjustments).
pub async fn of_signup(db: &impl ConnectionTrait, signup_id: i64) -> Result<Vec<hour_record::Model>, ApiError> {
    Ok(hour_record::Entity::find()
        .filter(hour_record::Column::SignupId.eq(signup_id))
        .order_by_asc(hour_record::Column::Id)
        .all(db)
        .await?)
}

/// The latest record of each sign-up: what counts now.
pub fn latest_by_signup(records: &[hour_record::Model]) -> HashMap<i64, &hour_record::Model> {
    let mut latest: HashMap<i64, &hour_record::Model> = HashMap::new();
    for record in records {
        let slot = latest.entry(record.signup_id).or_insert(record);
        if record.id > slot.id {
            *slot = record;
        }
    }
    latest
}

/// Volunteers' credited minutes per Shanghai day from `first` to `last`, from the latest record of
/// each of their sign-ups to other activities than `except_activity` (the one being decided: a
/// volunteer has one sign-up there). One query for all of them, so a bulk approval reads its caps
/// at once.
pub async fn credited_by_day(
    db: &impl ConnectionTrait,
    users: &[UserId],
    first: NaiveDate,
    last: NaiveDate,
    except_activity: i64,
) -> Result<HashMap<UserId, BTreeMap<NaiveDate, i64>>, ApiError> {
    let mut days: HashMap<UserId, BTreeMap<NaiveDate, i64>> = HashMap::new();
    if users.is_empty() {
        return Ok(days);
    }
    // A record's service day is the day its activity started, so its minutes fall on that day or
    // later; a day earlier covers activities that crossed midnight into `first`.
    let since = first.checked_sub_days(Days::new(1)).unwrap_or(first);
    let records = hour_record::Entity::find()
        .filter(hour_record::Column::UserId.is_in(users.iter().map(|u| u.0)))
        .filter(hour_record::Column::ServiceDay.between(since, last))
        .filter(hour_record::Column::ActivityId.ne(except_activity))
        .all(db)
        .await?;
    for record in latest_by_signup(&records).into_values() {
        let mine = days.entry(UserId(record.user_id)).or_default();
        for (day, minutes) in by_day_of(record) {
            if (first..=last).contains(&day) {
                *mine.entry(day).or_default() += minutes;
            }
        }
    }
    Ok(days)
}

#[derive(Debug, FromQueryResult)]
struct Total {
    total: Option<i64>,
}

/// A volunteer's credited minutes over their whole history: the sum of what each record changed.
pub async fn lifetime_minutes(db: &impl ConnectionTrait, user: UserId) -> Result<i64, ApiError> {
    let found = hour_record::Entity::find()
        .select_only()
        .column_as(Expr::cust("CAST(COALESCE(SUM(credited_delta_minutes), 0) AS BIGINT)"), "total")
        .filter(hour_record::Column::UserId.eq(user.0))
        .into_model::<Total>()
        .one(db)
        .await?;
    let activities = found.and_then(|t| t.total).unwrap_or(0);
    Ok(activities + super::from_help::help_minutes(db, user).await?)
}

/// A volunteer's records, newest first, a keyset page at a time (`limit + 1` rows).
pub async fn page_of_user(
    db: &impl ConnectionTrait,
    user: UserId,
    keyset: &Keyset,
) -> Result<Vec<hour_record::Model>, ApiError> {
    let mut query = hour_record::Entity::find().filter(hour_record::Column::UserId.eq(user.0));
    if let Some(after) = keyset.after_id {
        query = query.filter(hour_record::Column::Id.lt(after));
    }
    Ok(query.order_by_desc(hour_record::Column::Id).limit(keyset.limit + 1).all(db).await?)
}

/// Every record of a volunteer, oldest first (the certificate).
pub async fn all_of_user(db: &impl ConnectionTrait, user: UserId) -> Result<Vec<hour_record::Model>, ApiError> {
    Ok(hour_record::Entity::find()
        .filter(hour_record::Column::UserId.eq(user.0))
        .order_by_asc(hour_record::Column::Id)
        .all(db)
        .await?)
}

/// Records by id (wording a points history).
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<hour_record::Model>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(hour_record::Entity::find().filter(hour_record::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

#[derive(Debug, FromQueryResult)]
pub struct UserMinutes {
    pub user_id: i64,
    pub minutes: Option<i64>,
}

/// Credited minutes per volunteer of a community whose service day is in `[from, to]` (all days when
/// absent), activities and help posts together, highest first then by user id, volunteers with
/// nothing credited left out.
pub async fn minutes_by_user(
    db: &impl ConnectionTrait,
    community: CommunityId,
    days: Option<(NaiveDate, NaiveDate)>,
) -> Result<Vec<(i64, i64)>, ApiError> {
    let mut query = hour_record::Entity::find()
        .select_only()
        .column(hour_record::Column::UserId)
        .column_as(Expr::cust("CAST(SUM(credited_delta_minutes) AS BIGINT)"), "minutes")
        .filter(hour_record::Column::CommunityId.eq(community.0));
    if let Some((from, to)) = days {
        query = query.filter(hour_record::Column::ServiceDay.between(from, to));
    }
    let rows = query.group_by(hour_record::Column::UserId).into_model::<UserMinutes>().all(db).await?;
    // Hours served on help posts (邻里互助) count on the same board.
    let mut by_user = super::from_help::minutes_by_user(db, community, days, None).await?;
    for row in rows {
        *by_user.entry(row.user_id).or_default() += row.minutes.unwrap_or(0);
    }
    let mut totals: Vec<(i64, i64)> = by_user.into_iter().filter(|(_, m)| *m > 0).collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(totals)
}

/// The communities that have hour records of activities or help posts (the leaderboard rebuild walks them).
pub async fn communities_with_records(db: &impl ConnectionTrait) -> Result<Vec<i64>, ApiError> {
    let ids: Vec<i64> = hour_record::Entity::find()
        .select_only()
        .column(hour_record::Column::CommunityId)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut ids: Vec<i64> = ids.into_iter().chain(super::from_help::communities_with_records(db).await?).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// What the statistics need of one record.
#[derive(Debug, Clone, FromQueryResult)]
pub struct StatRecord {
    pub user_id: i64,
    pub credited_delta_minutes: i32,
    pub service_day: NaiveDate,
    /// Served on a help post (邻里互助) rather than at an activity.
    #[sea_orm(skip)]
    pub neighbour_aid: bool,
}

/// The records of a community whose service day is in `[from, to]`: activities', then help posts'.
pub async fn stat_records(
    db: &impl ConnectionTrait,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<StatRecord>, ApiError> {
    let mut records = hour_record::Entity::find()
        .select_only()
        .column(hour_record::Column::UserId)
        .column(hour_record::Column::CreditedDeltaMinutes)
        .column(hour_record::Column::ServiceDay)
        .filter(hour_record::Column::CommunityId.eq(community.0))
        .filter(hour_record::Column::ServiceDay.between(from, to))
        .into_model::<StatRecord>()
        .all(db)
        .await?;
    let aid = super::from_help::records_between(db, community, from, to).await?;
    records.extend(aid.into_iter().map(|r| StatRecord {
        user_id: r.user_id,
        credited_delta_minutes: r.credited_minutes,
        service_day: r.service_day,
        neighbour_aid: true,
    }));
    Ok(records)
}
