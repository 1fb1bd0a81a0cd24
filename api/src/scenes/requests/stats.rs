//! 邻办事 statistics for the committee: how many requests were reported and handled, how many are
//! still open or overdue, the resolution rate, response and resolution times and satisfaction, per day,
//! week or month (Asia/Shanghai), per category and per grid.
//!
//! The endpoint reads the daily rollups (`rollup.rs`): a range's rows, one per day, category and grid,
//! plus the few requests whose figures depend on the instant of the question (open ones, for overdue;
//! those not yet due, which the resolution rate leaves out until they are). `compute` is the recount:
//! the same figures from the requests themselves, pure over their rows, which the tests and `ehome
//! stats verify` compare with the rollups.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use ehome_entities::{grid, request_category, service_request};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

pub use super::calendar::{DateRange, Period, RANGE_DAYS_DEFAULT, RANGE_DAYS_MAX, shanghai_date, shanghai_midnight};
use super::lifecycle::Status;
use super::rollup::{self, Rollup};
use crate::authz::{self, Actor};
use crate::domain::CommunityId;
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::community::service as community;
use crate::state::AppState;

/// What the statistics need of one request.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct StatRow {
    pub category_id: i64,
    pub grid_id: i64,
    pub status: String,
    pub is_open: bool,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub rating: Option<i32>,
    pub created_at: DateTime<Utc>,
}

impl StatRow {
    /// Open and past a deadline at `now`: the rule of `queue::overdue_condition`.
    fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.is_open
            && (self.resolution_due_at < now || (self.first_response_at.is_none() && self.response_due_at < now))
    }

    /// Counts in the resolution rate: due by now and not withdrawn by the reporter.
    fn due(&self, now: DateTime<Utc>) -> bool {
        self.resolution_due_at <= now && self.status != Status::Withdrawn.as_str()
    }

    /// Closed as resolved: confirmed by the reporter, or closed when they did not answer in time.
    fn resolved_for_good(&self) -> bool {
        Status::parse(&self.status).is_some_and(Status::is_resolved)
    }
}

/// The figures of one bucket, category, grid or the whole range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Created in the bucket.
    pub reported: u64,
    /// Resolved in the bucket (each request's current `resolved_at`).
    pub handled: u64,
    /// Of those reported, still open now.
    pub open: u64,
    /// Of those reported, open and past a deadline now.
    pub overdue: u64,
    /// Of those reported and due by now (withdrawn ones aside), the share confirmed or closed after
    /// the confirmation window; four places.
    pub resolution_rate: Option<String>,
    pub median_response_seconds: Option<i64>,
    pub median_resolution_seconds: Option<i64>,
    /// The mean rating of those reported and rated; two places.
    pub satisfaction: Option<String>,
    pub rated: u64,
}

#[derive(Debug, Default, Clone)]
struct Tally {
    reported: u64,
    handled: u64,
    open: u64,
    overdue: u64,
    due: u64,
    resolved_for_good: u64,
    response_seconds: Vec<i64>,
    resolution_seconds: Vec<i64>,
    rating_sum: i64,
    rated: u64,
}

impl Tally {
    fn add_reported(&mut self, row: &StatRow, now: DateTime<Utc>) {
        self.reported += 1;
        self.open += u64::from(row.is_open);
        self.overdue += u64::from(row.overdue(now));
        if row.due(now) {
            self.due += 1;
            self.resolved_for_good += u64::from(row.resolved_for_good());
        }
        if let Some(at) = row.first_response_at {
            self.response_seconds.push((at - row.created_at).num_seconds());
        }
        if let Some(at) = row.resolved_at {
            self.resolution_seconds.push((at - row.created_at).num_seconds());
        }
        if let Some(rating) = row.rating {
            self.rating_sum += i64::from(rating);
            self.rated += 1;
        }
    }

    /// A rollup row: the requests reported on its day and those handled on it. Their overdue count and
    /// those not yet due come from `add_live`.
    fn add_rollup(&mut self, part: &rollup::Part) {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        self.reported += count(part.reported);
        self.handled += count(part.handled);
        self.open += count(part.open);
        self.due += count(part.not_withdrawn);
        self.resolved_for_good += count(part.resolved_for_good);
        self.response_seconds.extend_from_slice(&part.response_seconds);
        self.resolution_seconds.extend_from_slice(&part.resolution_seconds);
        self.rating_sum += part.rating_sum;
        self.rated += count(part.rated);
    }

    /// What a request reported in the range and counted in its rollup changes at `now`: it is overdue
    /// when open past a deadline, and leaves the resolution rate while not yet due.
    fn add_live(&mut self, row: &StatRow, now: DateTime<Utc>) {
        self.overdue += u64::from(row.overdue(now));
        if row.resolution_due_at > now && row.status != Status::Withdrawn.as_str() {
            self.due = self.due.saturating_sub(1);
            if row.resolved_for_good() {
                self.resolved_for_good = self.resolved_for_good.saturating_sub(1);
            }
        }
    }

    fn figures(mut self) -> Figures {
        Figures {
            reported: self.reported,
            handled: self.handled,
            open: self.open,
            overdue: self.overdue,
            resolution_rate: ratio(self.resolved_for_good, self.due, 4),
            median_response_seconds: median(&mut self.response_seconds),
            median_resolution_seconds: median(&mut self.resolution_seconds),
            satisfaction: ratio(u64::try_from(self.rating_sum).unwrap_or(0), self.rated, 2),
            rated: self.rated,
        }
    }
}

/// The median; of an even count, the mean of the two middle values, rounded down.
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        return Some(values[middle]);
    }
    let (low, high) = (i128::from(values[middle - 1]), i128::from(values[middle]));
    i64::try_from((low + high).div_euclid(2)).ok()
}

/// `numerator / denominator` as a decimal string with `places` places, rounded half up; `None` for
/// an empty denominator.
pub fn ratio(numerator: u64, denominator: u64, places: u32) -> Option<String> {
    if denominator == 0 {
        return None;
    }
    let scale = 10u128.pow(places);
    let (numerator, denominator) = (u128::from(numerator), u128::from(denominator));
    let scaled = (numerator * scale * 2 + denominator) / (denominator * 2);
    let width = places as usize;
    Some(format!("{}.{:0width$}", scaled / scale, scaled % scale))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketFigures {
    pub start: NaiveDate,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryFigures {
    pub category_id: i64,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridFigures {
    pub grid_id: i64,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub period: Period,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: Figures,
    pub series: Vec<BucketFigures>,
    pub by_category: Vec<CategoryFigures>,
    pub by_grid: Vec<GridFigures>,
}

/// Names of the community's categories and grids, by id.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub categories: BTreeMap<i64, String>,
    pub grids: BTreeMap<i64, String>,
}

/// Tallies keyed by id: every named id appears, plus any id a row carries.
fn keyed(names: &BTreeMap<i64, String>) -> BTreeMap<i64, Tally> {
    names.keys().map(|id| (*id, Tally::default())).collect()
}

fn name_of(names: &BTreeMap<i64, String>, id: i64) -> String {
    names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
}

/// The tallies of one answer: the totals, each bucket of the series, each category and each grid.
struct Tallies<'a> {
    names: &'a Names,
    period: Period,
    range: DateRange,
    totals: Tally,
    series: BTreeMap<NaiveDate, Tally>,
    by_category: BTreeMap<i64, Tally>,
    by_grid: BTreeMap<i64, Tally>,
}

impl<'a> Tallies<'a> {
    fn new(names: &'a Names, period: Period, range: DateRange) -> Tallies<'a> {
        Tallies {
            names,
            period,
            range,
            totals: Tally::default(),
            series: period.buckets(&range).into_iter().map(|start| (start, Tally::default())).collect(),
            by_category: keyed(&names.categories),
            by_grid: keyed(&names.grids),
        }
    }

    /// Adds to the totals, the bucket of `day`, the category and the grid alike.
    fn add(&mut self, day: NaiveDate, category_id: i64, grid_id: i64, add: impl Fn(&mut Tally)) {
        add(&mut self.totals);
        add(self.series.entry(self.period.bucket_start(day)).or_default());
        add(self.by_category.entry(category_id).or_default());
        add(self.by_grid.entry(grid_id).or_default());
    }

    fn stats(self) -> Stats {
        let names = self.names;
        Stats {
            period: self.period,
            from: self.range.from(),
            to: self.range.to(),
            totals: self.totals.figures(),
            series: self
                .series
                .into_iter()
                .map(|(start, tally)| BucketFigures { start, figures: tally.figures() })
                .collect(),
            by_category: self
                .by_category
                .into_iter()
                .map(|(id, tally)| CategoryFigures {
                    category_id: id,
                    name: name_of(&names.categories, id),
                    figures: tally.figures(),
                })
                .collect(),
            by_grid: self
                .by_grid
                .into_iter()
                .map(|(id, tally)| GridFigures {
                    grid_id: id,
                    name: name_of(&names.grids, id),
                    figures: tally.figures(),
                })
                .collect(),
        }
    }
}

/// The recount: the statistics of `rows` (those created or resolved in `range`) at `now`, bucketed by
/// `period`.
pub fn compute(rows: &[StatRow], names: &Names, period: Period, range: DateRange, now: DateTime<Utc>) -> Stats {
    let mut tallies = Tallies::new(names, period, range);
    for row in rows {
        let created = shanghai_date(row.created_at);
        if range.contains(created) {
            tallies.add(created, row.category_id, row.grid_id, |tally| tally.add_reported(row, now));
        }
        if let Some(resolved) = row.resolved_at.map(shanghai_date).filter(|d| range.contains(*d)) {
            tallies.add(resolved, row.category_id, row.grid_id, |tally| tally.handled += 1);
        }
    }
    tallies.stats()
}

/// The same statistics from the rollups of the range's days and the live rows (`load_live`: the
/// requests reported in the range that are open or not yet due at `now`).
pub fn from_rollups(
    rollups: &[Rollup],
    live: &[StatRow],
    names: &Names,
    period: Period,
    range: DateRange,
    now: DateTime<Utc>,
) -> Stats {
    let mut tallies = Tallies::new(names, period, range);
    for Rollup { key, part } in rollups.iter().filter(|r| range.contains(r.key.day)) {
        // A row whose every figure went back to zero (a resolution undone) says nothing; the recount
        // would not name its category or grid either.
        if *part != rollup::Part::default() {
            tallies.add(key.day, key.category_id, key.grid_id, |tally| tally.add_rollup(part));
        }
    }
    for row in live {
        let created = shanghai_date(row.created_at);
        if range.contains(created) {
            tallies.add(created, row.category_id, row.grid_id, |tally| tally.add_live(row, now));
        }
    }
    tallies.stats()
}

/// The columns of a `StatRow`, from the requests that `condition` picks.
async fn stat_rows(db: &impl ConnectionTrait, condition: Condition) -> Result<Vec<StatRow>, ApiError> {
    use service_request::Column;
    let rows = service_request::Entity::find()
        .select_only()
        .columns([
            Column::CategoryId,
            Column::GridId,
            Column::Status,
            Column::IsOpen,
            Column::ResponseDueAt,
            Column::ResolutionDueAt,
            Column::FirstResponseAt,
            Column::ResolvedAt,
            Column::Rating,
            Column::CreatedAt,
        ])
        .filter(condition)
        .order_by_asc(Column::Id)
        .into_model::<StatRow>()
        .all(db)
        .await?;
    Ok(rows)
}

/// For the recount: the requests of a community created or resolved in [start, end).
pub async fn load_rows(
    db: &impl ConnectionTrait,
    community_id: i64,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<StatRow>, ApiError> {
    use service_request::Column;
    let in_range = Condition::any()
        .add(Condition::all().add(Column::CreatedAt.gte(start)).add(Column::CreatedAt.lt(end)))
        .add(Condition::all().add(Column::ResolvedAt.gte(start)).add(Column::ResolvedAt.lt(end)));
    stat_rows(db, Condition::all().add(Column::CommunityId.eq(community_id)).add(in_range)).await
}

/// For the rollups: the requests of a community created in [start, end) whose figures depend on `now`
/// — open ones (overdue or not) and those not yet due. Both are a community's current work, not its
/// history, and each has its index (`is_open`, `resolution_due_at`).
pub async fn load_live(
    db: &impl ConnectionTrait,
    community_id: i64,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<Vec<StatRow>, ApiError> {
    use service_request::Column;
    let live = Condition::any().add(Column::IsOpen.eq(true)).add(Column::ResolutionDueAt.gt(now));
    let condition = Condition::all()
        .add(Column::CommunityId.eq(community_id))
        .add(Column::CreatedAt.gte(start))
        .add(Column::CreatedAt.lt(end))
        .add(live);
    stat_rows(db, condition).await
}

/// The statistics of a community from the rollups (the endpoint's answer).
pub async fn from_store(
    db: &impl ConnectionTrait,
    community_id: i64,
    period: Period,
    range: DateRange,
    now: DateTime<Utc>,
) -> Result<Stats, ApiError> {
    let rollups = rollup::load(db, community_id, &range).await?;
    let live = load_live(db, community_id, range.instants()?, now).await?;
    let names = load_names(db, community_id).await?;
    Ok(from_rollups(&rollups, &live, &names, period, range, now))
}

/// The statistics of a community recounted from its requests.
pub async fn recount(
    db: &impl ConnectionTrait,
    community_id: i64,
    period: Period,
    range: DateRange,
    now: DateTime<Utc>,
) -> Result<Stats, ApiError> {
    let rows = load_rows(db, community_id, range.instants()?).await?;
    let names = load_names(db, community_id).await?;
    Ok(compute(&rows, &names, period, range, now))
}

/// The names of the community's categories and grids.
pub async fn load_names(db: &impl ConnectionTrait, community_id: i64) -> Result<Names, ApiError> {
    let categories =
        request_category::Entity::find().filter(request_category::Column::CommunityId.eq(community_id)).all(db).await?;
    let grids = grid::Entity::find().filter(grid::Column::CommunityId.eq(community_id)).all(db).await?;
    Ok(Names {
        categories: categories.into_iter().map(|c| (c.id, c.name)).collect(),
        grids: grids.into_iter().map(|g| (g.id, g.name)).collect(),
    })
}

/// Checks that the community exists and that the caller is its committee or an admin.
pub async fn authorised_community(state: &AppState, caller: AuthUser, id: i64) -> ApiResult<i64> {
    let actor = Actor::of(state, caller).await?;
    // A role there says the community exists; anyone else learns it from the database (or a 404).
    if !actor.in_community(CommunityId(id)) || actor.is_admin {
        community::get_community(&state.db, CommunityId(id)).await?;
    }
    authz::manage_requests(&actor, CommunityId(id))?;
    Ok(id)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl StatsQuery {
    /// The period and the range asked for (`today` is the default end).
    pub fn parse(&self, today: NaiveDate) -> ApiResult<(Period, DateRange)> {
        let period = Period::parse(self.period.as_deref())?;
        Ok((period, DateRange::parse(self.from.as_deref(), self.to.as_deref(), today)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn range(from: &str, to: &str) -> DateRange {
        DateRange::parse(Some(from), Some(to), date("2026-12-31")).unwrap()
    }

    /// A request created at `created` (RFC 3339), category 1, grid 10, submitted and not yet due.
    fn row(created: &str) -> StatRow {
        let created_at = at(created);
        StatRow {
            category_id: 1,
            grid_id: 10,
            status: "submitted".to_owned(),
            is_open: true,
            response_due_at: created_at + chrono::Duration::hours(24),
            resolution_due_at: created_at + chrono::Duration::hours(72),
            first_response_at: None,
            resolved_at: None,
            rating: None,
            created_at,
        }
    }

    fn closed(
        mut row: StatRow,
        status: &str,
        response_s: Option<i64>,
        resolution_s: Option<i64>,
        rating: Option<i32>,
    ) -> StatRow {
        row.status = status.to_owned();
        row.is_open = false;
        row.first_response_at = response_s.map(|s| row.created_at + chrono::Duration::seconds(s));
        row.resolved_at = resolution_s.map(|s| row.created_at + chrono::Duration::seconds(s));
        row.rating = rating;
        row
    }

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 4]), Some(4));
        assert_eq!(median(&mut [1, 4, 2, 9]), Some(3));
        assert_eq!(median(&mut [1, 2]), Some(1));
        assert_eq!(ratio(12, 13, 4).as_deref(), Some("0.9231"));
        assert_eq!(ratio(1, 1, 4).as_deref(), Some("1.0000"));
        assert_eq!(ratio(0, 7, 4).as_deref(), Some("0.0000"));
        assert_eq!(ratio(1, 3, 4).as_deref(), Some("0.3333"));
        assert_eq!(ratio(2, 3, 4).as_deref(), Some("0.6667"));
        assert_eq!(ratio(33, 8, 2).as_deref(), Some("4.13"), "4.125 rounds half up");
        assert_eq!(ratio(9, 2, 2).as_deref(), Some("4.50"));
        assert_eq!(ratio(1, 0, 2), None);
    }
    #[test]
    fn figures_of_a_small_community() {
        let now = at("2026-11-10T00:00:00Z");
        let rows = vec![
            // Shanghai 2 November: confirmed after 1 h / 10 h, rated 5.
            closed(row("2026-11-01T16:30:00Z"), "confirmed", Some(3600), Some(36_000), Some(5)),
            // Shanghai 1 November (15:59 UTC): closed by the job, rated 4.
            closed(row("2026-11-01T15:59:00Z"), "closed_timeout", Some(60), Some(120), Some(4)),
            // Rejected: due, counts against the rate; responded in 30 s.
            closed(row("2026-11-02T02:00:00Z"), "rejected", Some(30), None, None),
            // Withdrawn: left out of the rate.
            closed(row("2026-11-02T03:00:00Z"), "withdrawn", None, None, None),
            // Open and overdue (submitted long ago, never answered).
            row("2026-11-03T03:00:00Z"),
            // Open, answered, not yet due.
            StatRow { first_response_at: Some(at("2026-11-09T01:00:00Z")), ..row("2026-11-09T00:00:00Z") },
            // Created before the range, resolved in it: handled only.
            closed(row("2026-10-20T00:00:00Z"), "confirmed", Some(10), Some(1_209_600 - 3600), None),
        ];
        let mut names = Names::default();
        names.categories.insert(1, "维修".to_owned());
        names.categories.insert(2, "其他".to_owned());
        names.grids.insert(10, "第一网格".to_owned());
        let stats = compute(&rows, &names, Period::Day, range("2026-11-01", "2026-11-09"), now);
        let totals = &stats.totals;
        assert_eq!((totals.reported, totals.handled, totals.open, totals.overdue), (6, 3, 2, 1));
        // Due and not withdrawn: confirmed, closed_timeout, rejected, the overdue one → 2 of 4.
        assert_eq!(totals.resolution_rate.as_deref(), Some("0.5000"));
        // Responses 30, 60, 3600, 3600 (the open one) → (60 + 3600) / 2.
        assert_eq!(totals.median_response_seconds, Some(1830));
        assert_eq!(totals.median_resolution_seconds, Some(18_060));
        assert_eq!((totals.satisfaction.as_deref(), totals.rated), (Some("4.50"), 2));
        assert_eq!(stats.series.len(), 9);
        let day = |d: &str| &stats.series.iter().find(|b| b.start == date(d)).unwrap().figures;
        // The request of 23:59 on 1 November was resolved two minutes later, on 2 November.
        assert_eq!((day("2026-11-01").reported, day("2026-11-01").handled), (1, 0));
        assert_eq!((day("2026-11-02").reported, day("2026-11-02").handled), (3, 2));
        assert_eq!(day("2026-11-03").handled, 1, "the old request resolved on 3 November");
        assert_eq!(day("2026-11-04").resolution_rate, None);
        assert_eq!(day("2026-11-04").median_response_seconds, None);
        assert_eq!(stats.by_category.len(), 2);
        assert_eq!(stats.by_category[0].figures, stats.totals);
        assert_eq!(stats.by_category[1].figures.reported, 0);
        assert_eq!(stats.by_grid[0].name, "第一网格");
        let month = compute(&rows, &names, Period::Month, range("2026-10-20", "2026-11-09"), now);
        assert_eq!(month.series.iter().map(|b| b.figures.reported).collect::<Vec<_>>(), vec![1, 6]);
        assert_eq!(month.series.iter().map(|b| b.figures.handled).collect::<Vec<_>>(), vec![0, 3]);
    }
}
