//! Volunteering statistics for the committee, per period (the buckets of `/communities/{id}/stats`):
//! activities held, volunteers active, hours served (activities' and help posts', the latter also
//! shown apart as 邻里互助), people served (the activities' beneficiaries), and the community's teams. The requests scene's statistics handler adds them as its
//! `volunteering` section; `GET /communities/{id}/volunteering.csv` serves them as a spreadsheet.
//!
//! The computation (`compute`) is pure; `volunteering` loads the rows.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use super::hours::{hours_text, shanghai_date};
use super::store::{self, StatRecord};
use crate::domain::CommunityId;
use crate::identity::auth::AuthUser;
use crate::platform::csv;
use crate::platform::error::ApiResult;
use crate::scenes::activities::service as activities;
use crate::scenes::requests::stats::{DateRange, Period, StatsQuery, authorised_community};
use crate::state::AppState;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Activities held that ended in the bucket (ended, or with hours approved).
    pub activities_held: u64,
    /// Volunteers with credited hours in the bucket.
    pub volunteers_active: u64,
    pub hours_served: String,
    pub minutes_served: i64,
    /// Of those, the hours served on help posts (邻里互助), flagged apart.
    pub neighbour_aid_hours: String,
    pub neighbour_aid_minutes: i64,
    /// The beneficiaries the held activities recorded.
    pub people_served: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub start: NaiveDate,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volunteering {
    pub totals: Figures,
    /// The community's volunteer teams now.
    pub teams: u64,
    pub series: Vec<Bucket>,
}

#[derive(Default)]
struct Tally {
    activities: u64,
    people: i64,
    minutes_by_user: HashMap<i64, i64>,
    neighbour_aid_minutes: i64,
}

impl Tally {
    fn figures(&self) -> Figures {
        let minutes: i64 = self.minutes_by_user.values().sum();
        Figures {
            activities_held: self.activities,
            volunteers_active: self.minutes_by_user.values().filter(|m| **m > 0).count() as u64,
            hours_served: hours_text(minutes),
            minutes_served: minutes,
            neighbour_aid_hours: hours_text(self.neighbour_aid_minutes),
            neighbour_aid_minutes: self.neighbour_aid_minutes,
            people_served: self.people,
        }
    }
}

/// The bucket a day falls in: the last bucket start on or before it.
fn bucket_of(starts: &[NaiveDate], day: NaiveDate) -> Option<NaiveDate> {
    starts.iter().rev().find(|start| **start <= day).copied()
}

/// Tallies held activities (end, beneficiaries) and hour records into the buckets `starts`.
pub fn compute(
    held: &[(DateTime<Utc>, Option<i32>)],
    records: &[StatRecord],
    starts: &[NaiveDate],
    teams: u64,
) -> Volunteering {
    let mut totals = Tally::default();
    let mut series: BTreeMap<NaiveDate, Tally> = starts.iter().map(|s| (*s, Tally::default())).collect();
    for (ended, beneficiaries) in held {
        let people = i64::from(beneficiaries.unwrap_or(0).max(0));
        totals.activities += 1;
        totals.people += people;
        if let Some(tally) = bucket_of(starts, shanghai_date(*ended)).and_then(|b| series.get_mut(&b)) {
            tally.activities += 1;
            tally.people += people;
        }
    }
    for record in records {
        let minutes = i64::from(record.credited_delta_minutes);
        let aid = if record.neighbour_aid { minutes } else { 0 };
        *totals.minutes_by_user.entry(record.user_id).or_default() += minutes;
        totals.neighbour_aid_minutes += aid;
        if let Some(tally) = bucket_of(starts, record.service_day).and_then(|b| series.get_mut(&b)) {
            *tally.minutes_by_user.entry(record.user_id).or_default() += minutes;
            tally.neighbour_aid_minutes += aid;
        }
    }
    Volunteering {
        totals: totals.figures(),
        teams,
        series: series.into_iter().map(|(start, tally)| Bucket { start, figures: tally.figures() }).collect(),
    }
}

/// A community's volunteering figures over `range` in `period` buckets.
pub async fn volunteering(
    db: &impl ConnectionTrait,
    community: CommunityId,
    period: Period,
    range: DateRange,
) -> ApiResult<Volunteering> {
    let (from, to) = range.instants()?;
    let held = activities::held_between(db, community, from, to).await?;
    let records = store::stat_records(db, community, range.from(), range.to()).await?;
    let teams = activities::team_count(db, community).await?;
    Ok(compute(&held, &records, &period.buckets(&range), teams))
}

/// `GET /communities/{id}/volunteering.csv`: one line per bucket, then the totals.
pub async fn volunteering_csv(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<StatsQuery>,
) -> ApiResult<HttpResponse> {
    let (period, range) = query.into_inner().parse(shanghai_date(state.clock.now()))?;
    let community = CommunityId(authorised_community(&state, caller, path.into_inner()).await?);
    let figures = volunteering(&state.db, community, period, range).await?;
    let mut document = csv::Document::new(&[
        "期间开始",
        "活动场次",
        "活跃志愿者",
        "服务时长（小时）",
        "其中邻里互助（小时）",
        "服务人次",
    ]);
    let mut line = |label: &str, f: &Figures| {
        let cells = [
            label.to_owned(),
            f.activities_held.to_string(),
            f.volunteers_active.to_string(),
            f.hours_served.clone(),
            f.neighbour_aid_hours.clone(),
            f.people_served.to_string(),
        ];
        document.line(cells.iter().map(String::as_str));
    };
    for bucket in &figures.series {
        line(&bucket.start.to_string(), &bucket.figures);
    }
    line("合计", &figures.totals);
    let teams = figures.teams.to_string();
    document.line(["志愿服务队伍", teams.as_str()]);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"volunteering.csv\""))
        .body(document.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn record(user_id: i64, minutes: i32, day: &str) -> StatRecord {
        StatRecord { user_id, credited_delta_minutes: minutes, service_day: date(day), neighbour_aid: false }
    }

    #[test]
    fn figures_per_bucket_and_in_total() {
        let starts = [date("2026-11-01"), date("2026-12-01")];
        // An activity ending 00:30 on 1 December in Shanghai is December's, though it is November in UTC.
        let held = [(at("2026-11-10T09:00:00+08:00"), Some(30)), (at("2026-12-01T00:30:00+08:00"), None)];
        let records = [
            record(1, 120, "2026-11-10"),
            record(2, 60, "2026-11-10"),
            // An adjustment that takes user 2's hours back to nothing: not active.
            record(2, -60, "2026-11-10"),
            record(1, 90, "2026-12-01"),
            // Hours user 3 served on a help post: counted, and flagged apart.
            StatRecord { neighbour_aid: true, ..record(3, 45, "2026-12-01") },
        ];
        let v = compute(&held, &records, &starts, 4);
        assert_eq!(v.teams, 4);
        assert_eq!(v.totals.activities_held, 2);
        assert_eq!(v.totals.people_served, 30);
        assert_eq!((v.totals.minutes_served, v.totals.hours_served.as_str()), (255, "4.25"));
        assert_eq!((v.totals.neighbour_aid_minutes, v.totals.neighbour_aid_hours.as_str()), (45, "0.75"));
        assert_eq!(v.totals.volunteers_active, 2);
        assert_eq!(v.series[0].figures.activities_held, 1);
        assert_eq!(v.series[0].figures.minutes_served, 120);
        assert_eq!(v.series[0].figures.neighbour_aid_minutes, 0);
        assert_eq!(v.series[1].figures.activities_held, 1);
        assert_eq!(v.series[1].figures.volunteers_active, 2);
        assert_eq!(v.series[1].figures.neighbour_aid_minutes, 45);
    }
}
