//! 邻办事 statistics for the committee: how many requests were reported and handled, how many are
//! still open or overdue, the resolution rate, response and resolution times and satisfaction, per day,
//! week or month (Asia/Shanghai), per category and per grid.
//!
//! The computation is pure (`compute` over rows, the instant and the range) so that it is tested
//! without a database; the handler loads the rows and the names.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use ehome_entities::{grid, request_category, service_request};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use super::lifecycle::Status;
use crate::authz::{self, Actor};
use crate::domain::CommunityId;
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::community::service as community;
use crate::state::AppState;

/// The longest range one call may cover, in days (a leap year).
pub const RANGE_DAYS_MAX: u64 = 366;
/// The range when none is given: the last 30 days up to today.
pub const RANGE_DAYS_DEFAULT: u64 = 30;

/// The Shanghai calendar date of an instant.
pub fn shanghai_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// The instant a Shanghai calendar day begins.
pub fn shanghai_midnight(date: NaiveDate) -> Result<DateTime<Utc>, ApiError> {
    // Shanghai has had no daylight saving since 1991, so midnight always exists and is unique; the
    // error is for a time-zone database that says otherwise.
    Shanghai
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no Shanghai midnight on {date}")))
}

/// Inclusive Shanghai dates, `from` ≤ `to`, at most `RANGE_DAYS_MAX` days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

fn parse_date(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ApiError::validation(field, "a date as YYYY-MM-DD"))
}

impl DateRange {
    /// The range a query asks for; `to` defaults to today and `from` to 30 days up to `to`.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<DateRange, ApiError> {
        let to = to.map(|t| parse_date("to", t)).transpose()?.unwrap_or(today);
        let from = match from {
            Some(text) => parse_date("from", text)?,
            None => to
                .checked_sub_days(Days::new(RANGE_DAYS_DEFAULT - 1))
                .ok_or_else(|| ApiError::validation("to", "out of range"))?,
        };
        if from > to {
            return Err(ApiError::validation("from", "must not be after `to`"));
        }
        let days = to.signed_duration_since(from).num_days() + 1;
        if days > RANGE_DAYS_MAX as i64 {
            return Err(ApiError::validation("from", format!("at most {RANGE_DAYS_MAX} days from `from` to `to`")));
        }
        Ok(DateRange { from, to })
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// [start, end) in UTC: Shanghai midnight of `from` to Shanghai midnight after `to`.
    pub fn instants(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        let after = self.to.checked_add_days(Days::new(1)).ok_or_else(|| ApiError::validation("to", "out of range"))?;
        Ok((shanghai_midnight(self.from)?, shanghai_midnight(after)?))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn parse(text: Option<&str>) -> Result<Period, ApiError> {
        match text {
            None | Some("day") => Ok(Period::Day),
            Some("week") => Ok(Period::Week),
            Some("month") => Ok(Period::Month),
            Some(_) => Err(ApiError::validation("period", "day, week or month")),
        }
    }

    /// The first day of the bucket a date falls in: the day, its week's Monday, its month's 1st.
    pub fn bucket_start(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => date,
            Period::Week => {
                date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday()))).unwrap_or(date)
            }
            Period::Month => date.with_day(1).unwrap_or(date),
        }
    }

    fn next_bucket(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Period::Day => start.checked_add_days(Days::new(1)),
            Period::Week => start.checked_add_days(Days::new(7)),
            Period::Month => start.checked_add_months(chrono::Months::new(1)),
        }
    }

    /// Every bucket start from the one holding `range.from` to the one holding `range.to`.
    pub fn buckets(self, range: &DateRange) -> Vec<NaiveDate> {
        let mut starts = Vec::new();
        let mut start = Some(self.bucket_start(range.from));
        while let Some(current) = start.filter(|s| *s <= range.to) {
            starts.push(current);
            start = self.next_bucket(current);
        }
        starts
    }
}

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

/// The statistics of `rows` (those created or resolved in `range`) at `now`, bucketed by `period`.
pub fn compute(rows: &[StatRow], names: &Names, period: Period, range: DateRange, now: DateTime<Utc>) -> Stats {
    let mut totals = Tally::default();
    let mut series: BTreeMap<NaiveDate, Tally> =
        period.buckets(&range).into_iter().map(|start| (start, Tally::default())).collect();
    let mut by_category = keyed(&names.categories);
    let mut by_grid = keyed(&names.grids);
    for row in rows {
        let created = shanghai_date(row.created_at);
        if range.contains(created) {
            totals.add_reported(row, now);
            series.entry(period.bucket_start(created)).or_default().add_reported(row, now);
            by_category.entry(row.category_id).or_default().add_reported(row, now);
            by_grid.entry(row.grid_id).or_default().add_reported(row, now);
        }
        if let Some(resolved) = row.resolved_at.map(shanghai_date).filter(|d| range.contains(*d)) {
            totals.handled += 1;
            series.entry(period.bucket_start(resolved)).or_default().handled += 1;
            by_category.entry(row.category_id).or_default().handled += 1;
            by_grid.entry(row.grid_id).or_default().handled += 1;
        }
    }
    Stats {
        period,
        from: range.from,
        to: range.to,
        totals: totals.figures(),
        series: series.into_iter().map(|(start, tally)| BucketFigures { start, figures: tally.figures() }).collect(),
        by_category: by_category
            .into_iter()
            .map(|(id, tally)| CategoryFigures {
                category_id: id,
                name: name_of(&names.categories, id),
                figures: tally.figures(),
            })
            .collect(),
        by_grid: by_grid
            .into_iter()
            .map(|(id, tally)| GridFigures { grid_id: id, name: name_of(&names.grids, id), figures: tally.figures() })
            .collect(),
    }
}

/// Requests of a community created or resolved in [start, end).
async fn load_rows(
    db: &impl ConnectionTrait,
    community_id: i64,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<StatRow>, ApiError> {
    use service_request::Column;
    let in_range = Condition::any()
        .add(Condition::all().add(Column::CreatedAt.gte(start)).add(Column::CreatedAt.lt(end)))
        .add(Condition::all().add(Column::ResolvedAt.gte(start)).add(Column::ResolvedAt.lt(end)));
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
        .filter(Column::CommunityId.eq(community_id))
        .filter(in_range)
        .order_by_asc(Column::Id)
        .into_model::<StatRow>()
        .all(db)
        .await?;
    Ok(rows)
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

/// Loads the community and checks that the caller is its committee or an admin.
pub async fn authorised_community(state: &AppState, caller: AuthUser, id: i64) -> ApiResult<i64> {
    let found = community::get_community(&state.db, CommunityId(id)).await?;
    authz::manage_requests(&Actor::of(state, caller).await?, CommunityId(found.id))?;
    Ok(found.id)
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

/// The statistics of 邻办事, with the 邻互助 volunteering figures of the same buckets as the
/// `volunteering` section (the service-hours scene computes them).
pub async fn stats(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<StatsQuery>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let (period, range) = query.into_inner().parse(shanghai_date(now))?;
    let community_id = authorised_community(&state, caller, path.into_inner()).await?;
    let rows = load_rows(&state.db, community_id, range.instants()?).await?;
    let names = load_names(&state.db, community_id).await?;
    let volunteering =
        crate::scenes::service_hours::stats::volunteering(&state.db, CommunityId(community_id), period, range).await?;
    let mut body = serde_json::to_value(compute(&rows, &names, period, range, now)).map_err(ApiError::internal)?;
    if let serde_json::Value::Object(fields) = &mut body {
        fields.insert("volunteering".to_owned(), serde_json::to_value(volunteering).map_err(ApiError::internal)?);
    }
    Ok(HttpResponse::Ok().json(body))
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
    fn ranges_default_and_are_checked() {
        let today = date("2026-11-22");
        let default = DateRange::parse(None, None, today).unwrap();
        assert_eq!((default.from(), default.to()), (date("2026-10-24"), today));
        assert!(DateRange::parse(Some("2026-11-23"), Some("2026-11-22"), today).is_err());
        assert!(DateRange::parse(Some("2025-11-22"), Some("2026-11-22"), today).is_ok(), "366 days");
        assert!(DateRange::parse(Some("2025-11-21"), Some("2026-11-22"), today).is_err(), "367 days");
        assert!(DateRange::parse(Some("2026-13-01"), None, today).is_err());
        assert!(DateRange::parse(Some("2026-11-01T00:00:00Z"), None, today).is_err());
        let (start, end) = range("2026-11-01", "2026-11-02").instants().unwrap();
        assert_eq!(start, at("2026-10-31T16:00:00Z"));
        assert_eq!(end, at("2026-11-02T16:00:00Z"));
    }

    #[test]
    fn buckets_are_shanghai_days_mondays_and_months() {
        assert_eq!(shanghai_date(at("2026-11-01T15:59:59Z")), date("2026-11-01"));
        assert_eq!(shanghai_date(at("2026-11-01T16:00:00Z")), date("2026-11-02"));
        let r = range("2026-10-30", "2026-11-10");
        assert_eq!(Period::Day.buckets(&r).len(), 12);
        // 2026-10-30 is a Friday: its week starts on Monday 26 October.
        assert_eq!(Period::Week.buckets(&r), vec![date("2026-10-26"), date("2026-11-02"), date("2026-11-09")]);
        assert_eq!(Period::Month.buckets(&r), vec![date("2026-10-01"), date("2026-11-01")]);
        assert_eq!(Period::Month.bucket_start(date("2024-02-29")), date("2024-02-01"));
        assert!(Period::parse(Some("year")).is_err());
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
