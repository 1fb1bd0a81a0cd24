//! The daily rollups of 邻办事 (`request_daily_rollups`, migration 000018): per community, Shanghai day,
//! category and grid, what the statistics sum. A request's *parts* are what it adds to the rollups — to
//! the row of the day it was created (reported, open, not withdrawn, resolved for good, its rating, its
//! response and resolution times) and to the row of the day it was resolved (handled). Every write that
//! changes a request records the difference of its parts before and after in the same transaction
//! (`record`), so the rollups always equal a recount of the requests; `rebuild` recomputes them from the
//! requests with the migration's statement. A change of counts alone goes to one of [`SHARDS`] shard
//! rows beside the day's row (`request_rollup_shards`, chosen by the request's id), so that reports of
//! one day, category and grid do not wait for each other's commits; a row's figures are the row plus
//! its shards (`load`, `all`), and durations stay in the row itself.
//!
//! What depends on the instant a question is asked (overdue, not yet due for the resolution rate) is
//! not stored: the statistics read it from the few requests it concerns (`stats::load_live`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use ehome_entities::{request_daily_rollup as rollup, request_rollup_shard as shard_row, service_request};
use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};

use super::calendar::{DateRange, shanghai_date};
use super::lifecycle::Status;
use super::writes::{self, RequestRef};
use crate::platform::error::ApiError;

/// A rollup row's key: (community, Shanghai day, category, grid). Rows are locked in this order, so
/// two transactions that touch the same rows cannot wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub community_id: i64,
    pub day: NaiveDate,
    pub category_id: i64,
    pub grid_id: i64,
}

/// What rows of the rollups add up to (or what a request adds to one row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    pub reported: i64,
    pub open: i64,
    pub not_withdrawn: i64,
    pub resolved_for_good: i64,
    pub rated: i64,
    pub rating_sum: i64,
    pub handled: i64,
    pub response_seconds: Vec<i64>,
    pub resolution_seconds: Vec<i64>,
}

impl Part {
    /// Adds `sign` times `other`'s counts (its durations aside).
    fn add_counts(&mut self, other: &Part, sign: i64) {
        self.reported += sign * other.reported;
        self.open += sign * other.open;
        self.not_withdrawn += sign * other.not_withdrawn;
        self.resolved_for_good += sign * other.resolved_for_good;
        self.rated += sign * other.rated;
        self.rating_sum += sign * other.rating_sum;
        self.handled += sign * other.handled;
    }
}

/// One day of one category and grid, as the statistics read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub key: Key,
    pub part: Part,
}

fn status_of(request: &service_request::Model) -> Result<Status, ApiError> {
    Status::parse(&request.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored status {:?}", request.status)))
}

/// What one request adds to the rollups.
pub fn parts(request: &service_request::Model) -> Result<Vec<(Key, Part)>, ApiError> {
    let status = status_of(request)?;
    let key = |at| Key {
        community_id: request.community_id,
        day: shanghai_date(at),
        category_id: request.category_id,
        grid_id: request.grid_id,
    };
    let seconds = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map(|at| (at - request.created_at).num_seconds()).into_iter().collect::<Vec<_>>()
    };
    let reported = Part {
        reported: 1,
        open: i64::from(request.is_open),
        not_withdrawn: i64::from(status != Status::Withdrawn),
        resolved_for_good: i64::from(status.is_resolved()),
        rated: i64::from(request.rating.is_some()),
        rating_sum: request.rating.map(i64::from).unwrap_or(0),
        handled: 0,
        response_seconds: seconds(request.first_response_at),
        resolution_seconds: seconds(request.resolved_at),
    };
    let mut all = vec![(key(request.created_at), reported)];
    if let Some(resolved_at) = request.resolved_at {
        all.push((key(resolved_at), Part { handled: 1, ..Part::default() }));
    }
    Ok(all)
}

/// The change of one row: counts to add (negative to take away), durations to add and to take away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    pub counts: Part,
    pub removed_response: Vec<i64>,
    pub removed_resolution: Vec<i64>,
}

impl Delta {
    fn add(&mut self, part: Part, sign: i64) {
        let c = &mut self.counts;
        c.add_counts(&part, sign);
        if sign > 0 {
            c.response_seconds.extend(part.response_seconds);
            c.resolution_seconds.extend(part.resolution_seconds);
        } else {
            self.removed_response.extend(part.response_seconds);
            self.removed_resolution.extend(part.resolution_seconds);
        }
    }

    /// Durations both added and taken away cancel out.
    fn settle(mut self) -> Delta {
        cancel(&mut self.counts.response_seconds, &mut self.removed_response);
        cancel(&mut self.counts.resolution_seconds, &mut self.removed_resolution);
        self
    }

    /// True when only counts change (no durations added or taken away).
    fn counts_only(&self) -> bool {
        self.counts.response_seconds.is_empty()
            && self.counts.resolution_seconds.is_empty()
            && self.removed_response.is_empty()
            && self.removed_resolution.is_empty()
    }

    fn is_empty(&self) -> bool {
        *self == Delta::default()
    }
}

fn cancel(added: &mut Vec<i64>, removed: &mut Vec<i64>) {
    removed.retain(|value| match added.iter().position(|a| a == value) {
        Some(at) => {
            added.swap_remove(at);
            false
        }
        None => true,
    });
}

/// The rows a change of a request touches and how: `before` (none for a new request) becomes `after`.
pub fn change(
    before: Option<&service_request::Model>,
    after: &service_request::Model,
) -> Result<BTreeMap<Key, Delta>, ApiError> {
    let mut deltas: BTreeMap<Key, Delta> = BTreeMap::new();
    if let Some(before) = before {
        for (key, part) in parts(before)? {
            deltas.entry(key).or_default().add(part, -1);
        }
    }
    for (key, part) in parts(after)? {
        deltas.entry(key).or_default().add(part, 1);
    }
    Ok(deltas.into_iter().map(|(key, delta)| (key, delta.settle())).filter(|(_, delta)| !delta.is_empty()).collect())
}

fn decode(field: &str, text: &str) -> Result<Vec<i64>, ApiError> {
    text.split(',')
        .filter(|value| !value.is_empty())
        .map(|value| value.parse().map_err(|_| ApiError::internal(anyhow::anyhow!("rollup {field} holds {value:?}"))))
        .collect()
}

fn encode(values: &[i64]) -> String {
    values.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// `values` with `delta` added and `removed` taken away (one occurrence each); a value to take away
/// that is not there means the rollups no longer match the requests.
fn adjusted(field: &str, stored: &str, added: &[i64], removed: &[i64]) -> Result<String, ApiError> {
    let mut values = decode(field, stored)?;
    for value in removed {
        let at = values
            .iter()
            .position(|v| v == value)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("rollup {field} lacks {value} to take away")))?;
        values.swap_remove(at);
    }
    values.extend_from_slice(added);
    Ok(encode(&values))
}

fn empty_row(key: Key) -> rollup::ActiveModel {
    rollup::ActiveModel {
        community_id: Set(key.community_id),
        day: Set(key.day),
        category_id: Set(key.category_id),
        grid_id: Set(key.grid_id),
        reported: Set(0),
        open_count: Set(0),
        not_withdrawn: Set(0),
        resolved_for_good: Set(0),
        rated: Set(0),
        rating_sum: Set(0),
        handled: Set(0),
        response_seconds: Set(String::new()),
        resolution_seconds: Set(String::new()),
    }
}

/// How many shard rows each rollup row has beside it (migration 000022).
pub const SHARDS: i64 = 8;

/// Applies a change of counts alone (a report, most transitions) in one statement, to the request's
/// shard of the row: made with the counts if missing, else each count grows in place. Reports of one
/// day, category and grid so lock different rows, instead of each waiting for the one before it to be
/// on disk.
async fn add_counts(db: &impl ConnectionTrait, key: Key, request: RequestRef, counts: &Part) -> Result<(), ApiError> {
    db.execute(&counts_row(key, request, counts)?).await?;
    Ok(())
}

/// The statement of [`add_counts`], for a request stored or being inserted (see `writes.rs`).
pub fn counts_row(key: Key, request: RequestRef, counts: &Part) -> Result<InsertStatement, ApiError> {
    use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
    use shard_row::Column;
    let figures = [
        (Column::Reported, counts.reported),
        (Column::OpenCount, counts.open),
        (Column::NotWithdrawn, counts.not_withdrawn),
        (Column::ResolvedForGood, counts.resolved_for_good),
        (Column::Rated, counts.rated),
        (Column::RatingSum, counts.rating_sum),
        (Column::Handled, counts.handled),
    ];
    let mut columns = vec![Column::CommunityId, Column::Day, Column::CategoryId, Column::GridId, Column::Shard];
    let mut values = vec![
        Expr::val(key.community_id),
        Expr::val(key.day),
        Expr::val(key.category_id),
        Expr::val(key.grid_id),
        writes::id_modulo(request, SHARDS),
    ];
    let mut grow =
        OnConflict::columns([Column::CommunityId, Column::Day, Column::CategoryId, Column::GridId, Column::Shard]);
    for (column, by) in figures {
        columns.push(column);
        values.push(Expr::val(by));
        grow.value(column, Expr::col((shard_row::Entity, column)).add(by));
    }
    let mut insert = writes::insert_row(shard_row::Entity, columns, request, values)?;
    insert.on_conflict(grow.to_owned());
    Ok(insert)
}

/// The counts a new request adds, by row: a new request has no durations yet, so they are counts
/// alone (one upsert each, which `writes.rs` can make part of the request's own statement).
pub fn new_request_counts(request: &service_request::Model) -> Result<Vec<(Key, Part)>, ApiError> {
    change(None, request)?
        .into_iter()
        .map(|(key, delta)| {
            if delta.counts_only() {
                Ok((key, delta.counts))
            } else {
                Err(ApiError::internal(anyhow::anyhow!("a new request's rollup change {key:?} has durations")))
            }
        })
        .collect()
}

/// Applies one row's change. Counts alone take one statement (`add_counts`); a change of durations
/// makes the row if missing, then reads it under a row lock (PostgreSQL's `FOR UPDATE`; SQLite's write
/// transaction already excludes other writers) and writes it back.
async fn apply(db: &impl ConnectionTrait, key: Key, request: RequestRef, delta: Delta) -> Result<(), ApiError> {
    use rollup::Column;
    let c = &delta.counts;
    if delta.counts_only() {
        return add_counts(db, key, request, c).await;
    }
    rollup::Entity::insert(empty_row(key))
        .on_conflict_do_nothing_on([Column::CommunityId, Column::Day, Column::CategoryId, Column::GridId])
        .exec(db)
        .await?;
    let row = rollup::Entity::find_by_id((key.community_id, key.day, key.category_id, key.grid_id))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("rollup row {key:?} vanished")))?;
    let response = adjusted("response_seconds", &row.response_seconds, &c.response_seconds, &delta.removed_response)?;
    let resolution =
        adjusted("resolution_seconds", &row.resolution_seconds, &c.resolution_seconds, &delta.removed_resolution)?;
    let mut update = row.clone().into_active_model();
    update.reported = Set(row.reported + c.reported);
    update.open_count = Set(row.open_count + c.open);
    update.not_withdrawn = Set(row.not_withdrawn + c.not_withdrawn);
    update.resolved_for_good = Set(row.resolved_for_good + c.resolved_for_good);
    update.rated = Set(row.rated + c.rated);
    update.rating_sum = Set(row.rating_sum + c.rating_sum);
    update.handled = Set(row.handled + c.handled);
    update.response_seconds = Set(response);
    update.resolution_seconds = Set(resolution);
    update.update(db).await?;
    Ok(())
}

/// Records in the caller's transaction what changing `before` into `after` does to the rollups; `before`
/// is `None` for a new request. Call it with the rows as stored, after the change was written.
pub async fn record(
    db: &impl ConnectionTrait,
    before: Option<&service_request::Model>,
    after: &service_request::Model,
) -> Result<(), ApiError> {
    for (key, delta) in change(before, after)? {
        apply(db, key, RequestRef::Stored(after.id), delta).await?;
    }
    Ok(())
}

/// The rollups of a community's days in `range`, ordered by day: each row with its shards added.
pub async fn load(db: &impl ConnectionTrait, community_id: i64, range: &DateRange) -> Result<Vec<Rollup>, ApiError> {
    let rows = rollup::Entity::find()
        .filter(rollup::Column::CommunityId.eq(community_id))
        .filter(rollup::Column::Day.gte(range.from()))
        .filter(rollup::Column::Day.lte(range.to()))
        .all(db)
        .await?;
    let shards = shard_row::Entity::find()
        .filter(shard_row::Column::CommunityId.eq(community_id))
        .filter(shard_row::Column::Day.gte(range.from()))
        .filter(shard_row::Column::Day.lte(range.to()))
        .all(db)
        .await?;
    merged(rows, shards)
}

/// Every rollup of every community, each row with its shards added (for checks and tests).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Rollup>, ApiError> {
    merged(rollup::Entity::find().all(db).await?, shard_row::Entity::find().all(db).await?)
}

/// Rows and shards summed by key, ordered by key (community, day, category, grid).
fn merged(rows: Vec<rollup::Model>, shards: Vec<shard_row::Model>) -> Result<Vec<Rollup>, ApiError> {
    let rows = rows.into_iter().map(|row| {
        let key =
            Key { community_id: row.community_id, day: row.day, category_id: row.category_id, grid_id: row.grid_id };
        let part = Part {
            reported: row.reported,
            open: row.open_count,
            not_withdrawn: row.not_withdrawn,
            resolved_for_good: row.resolved_for_good,
            rated: row.rated,
            rating_sum: row.rating_sum,
            handled: row.handled,
            response_seconds: decode("response_seconds", &row.response_seconds)?,
            resolution_seconds: decode("resolution_seconds", &row.resolution_seconds)?,
        };
        Ok((key, part))
    });
    let shards = shards.into_iter().map(|row| {
        let key =
            Key { community_id: row.community_id, day: row.day, category_id: row.category_id, grid_id: row.grid_id };
        let part = Part {
            reported: row.reported,
            open: row.open_count,
            not_withdrawn: row.not_withdrawn,
            resolved_for_good: row.resolved_for_good,
            rated: row.rated,
            rating_sum: row.rating_sum,
            handled: row.handled,
            ..Part::default()
        };
        Ok::<_, ApiError>((key, part))
    });
    let mut by_key: BTreeMap<Key, Part> = BTreeMap::new();
    for found in rows.chain(shards) {
        let (key, part) = found?;
        let sum = by_key.entry(key).or_default();
        sum.add_counts(&part, 1);
        sum.response_seconds.extend(part.response_seconds);
        sum.resolution_seconds.extend(part.resolution_seconds);
    }
    Ok(by_key.into_iter().map(|(key, part)| Rollup { key, part }).collect())
}

/// Recomputes every rollup from the requests, in one transaction: the operators' repair after rows
/// were written around the app (a bulk import, the benchmark's seeding), `ehome stats rebuild`.
pub async fn rebuild(db: &sea_orm::DatabaseConnection) -> Result<u64, ApiError> {
    use ehome_migrations::m20261127_000018_create_request_rollups::backfill;
    let txn = crate::platform::db::begin_write(db).await?;
    shard_row::Entity::delete_many().exec(&txn).await?;
    rollup::Entity::delete_many().exec(&txn).await?;
    txn.execute_unprepared(&backfill(txn.get_database_backend())).await?;
    let rows = rollup::Entity::find().count(&txn).await?;
    txn.commit().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, Utc};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    /// A request created at 23:00 on 1 November (Shanghai), answered and resolved after two hours.
    fn resolved() -> service_request::Model {
        let created_at = at("2026-11-01T15:00:00Z");
        service_request::Model {
            status: "resolved".to_owned(),
            is_open: false,
            response_due_at: created_at + Duration::hours(24),
            resolution_due_at: created_at + Duration::hours(72),
            first_response_at: Some(created_at + Duration::seconds(90)),
            resolved_at: Some(created_at + Duration::hours(2)),
            ..crate::scenes::requests::views::submitted_at(created_at)
        }
    }

    fn key(day: &str) -> Key {
        Key { community_id: 1, day: day.parse().unwrap(), category_id: 2, grid_id: 3 }
    }

    #[test]
    fn a_new_request_adds_to_the_day_it_was_created_and_the_day_it_was_resolved() {
        let deltas = change(None, &resolved()).unwrap();
        let created = &deltas[&key("2026-11-01")].counts;
        assert_eq!((created.reported, created.open, created.not_withdrawn, created.handled), (1, 0, 1, 0));
        assert_eq!((created.response_seconds.clone(), created.resolution_seconds.clone()), (vec![90], vec![7200]));
        assert_eq!(deltas[&key("2026-11-02")].counts.handled, 1, "resolved at 01:00 the next day");
    }

    #[test]
    fn a_reopening_takes_back_the_resolution_and_a_rating_only_adds_itself() {
        let before = resolved();
        let after = service_request::Model {
            status: "reopened".to_owned(),
            is_open: true,
            resolved_at: None,
            ..before.clone()
        };
        let deltas = change(Some(&before), &after).unwrap();
        let created = &deltas[&key("2026-11-01")];
        assert_eq!((created.counts.reported, created.counts.open), (0, 1));
        assert_eq!(created.removed_resolution, vec![7200]);
        assert!(created.removed_response.is_empty() && created.counts.response_seconds.is_empty(), "unchanged");
        assert_eq!(deltas[&key("2026-11-02")].counts.handled, -1);
        let rated = service_request::Model { rating: Some(4), ..before.clone() };
        let deltas = change(Some(&before), &rated).unwrap();
        assert_eq!(deltas.len(), 1);
        let only = &deltas[&key("2026-11-01")];
        assert_eq!(only.counts, Part { rated: 1, rating_sum: 4, ..Part::default() });
        assert!(change(Some(&before), &before).unwrap().is_empty(), "no change touches no row");
    }

    #[test]
    fn durations_to_take_away_must_be_there() {
        assert_eq!(adjusted("response_seconds", "5,90,5", &[7], &[5]).unwrap(), "5,90,7");
        assert!(adjusted("response_seconds", "90", &[], &[5]).is_err());
        assert_eq!(decode("response_seconds", "").unwrap(), Vec::<i64>::new());
    }
}
