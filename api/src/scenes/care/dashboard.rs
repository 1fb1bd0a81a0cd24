//! The committee's care dashboard (`GET /communities/{id}/care/dashboard`, and its CSV): recipients by
//! risk level, this Shanghai week's visits (who is still due, who was visited, who is missed), the open
//! alert tasks with their age, and the response times to urgent alert tasks per month (p50 and p90).
//!
//! `compute` is pure (tested below); `load` reads the rows it needs.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use ehome_entities::{care_recipient, care_task, care_visit};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::lifecycle::{AlertKind, RiskLevel, TaskKind, TaskLevel, TaskStatus};
use crate::authz::{self, Actor};
use crate::domain::CommunityId;
use crate::platform::csv::Document;
use crate::platform::error::{ApiError, ApiResult};
use crate::scenes::community::service as community;
use crate::scenes::requests::stats::{shanghai_date, shanghai_midnight};
use crate::state::AppState;

/// Months of response times a dashboard shows by default, and at most.
pub const MONTHS_DEFAULT: u32 = 6;
pub const MONTHS_MAX: u32 = 24;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ByRisk {
    pub low: u64,
    pub medium: u64,
    pub high: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipients {
    pub total: u64,
    pub by_risk: ByRisk,
}

/// This week's visits: `due` recipients still to be visited before the week ends (overdue ones
/// included), `visited` recipients with a visit logged this week (`visits_logged` in all), `missed`
/// recipients now past their due date and the grace period without a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Week {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub due: u64,
    pub visited: u64,
    pub visits_logged: u64,
    pub missed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenAlert {
    pub task_id: i64,
    pub recipient_id: i64,
    pub task_kind: String,
    pub alert_kind: String,
    pub status: String,
    pub level: String,
    pub events_count: i32,
    pub opened_at: DateTime<Utc>,
    pub age_minutes: i64,
    pub ack_due_at: Option<DateTime<Utc>>,
    /// Unacknowledged past its SLA.
    pub overdue: bool,
}

/// Urgent alert tasks opened in a Shanghai month: how many, how many were answered (acknowledged, or
/// resolved without one), how many within their SLA, and the answer times' p50 and p90 in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthResponses {
    pub month: String,
    pub tasks: u64,
    pub responded: u64,
    pub within_sla: u64,
    pub p50_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    pub generated_at: DateTime<Utc>,
    pub recipients: Recipients,
    pub week: Week,
    pub open_alerts: Vec<OpenAlert>,
    pub response_times: Vec<MonthResponses>,
}

/// The rows a dashboard is computed from.
pub struct Rows {
    pub recipients: Vec<care_recipient::Model>,
    pub visits: Vec<care_visit::Model>,
    pub tasks: Vec<care_task::Model>,
}

/// The Monday that starts the Shanghai week holding `day`.
fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The first day of the Shanghai month `back` months before the one holding `day`.
fn month_start(day: NaiveDate, back: u32) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day);
    first.checked_sub_months(Months::new(back)).unwrap_or(first)
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% at or below it.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// What the dashboard needs to read, from `now`: the week's first instant and the first month's.
pub struct Window {
    pub week_start: DateTime<Utc>,
    pub week_end: DateTime<Utc>,
    pub months_from: DateTime<Utc>,
    week_from: NaiveDate,
    months: u32,
}

impl Window {
    pub fn new(now: DateTime<Utc>, months: u32) -> ApiResult<Window> {
        let today = shanghai_date(now);
        let week_from = monday_of(today);
        Ok(Window {
            week_start: shanghai_midnight(week_from)?,
            week_end: shanghai_midnight(week_from + Duration::days(7))?,
            months_from: shanghai_midnight(month_start(today, months.saturating_sub(1)))?,
            week_from,
            months,
        })
    }
}

pub fn compute(rows: &Rows, window: &Window, grace: Duration, now: DateTime<Utc>) -> Dashboard {
    let mut by_risk = ByRisk::default();
    for recipient in &rows.recipients {
        match RiskLevel::parse(&recipient.risk_level) {
            Some(RiskLevel::Low) => by_risk.low += 1,
            Some(RiskLevel::Medium) => by_risk.medium += 1,
            Some(RiskLevel::High) => by_risk.high += 1,
            None => {}
        }
    }
    let count = |keep: &dyn Fn(&care_recipient::Model) -> bool| rows.recipients.iter().filter(|r| keep(r)).count();
    let this_week: Vec<&care_visit::Model> = rows.visits.iter().filter(|v| v.visited_at >= window.week_start).collect();
    let mut visited: Vec<i64> = this_week.iter().map(|v| v.recipient_id).collect();
    visited.sort_unstable();
    visited.dedup();
    let week = Week {
        from: window.week_from,
        to: window.week_from + Duration::days(6),
        due: count(&|r| r.next_visit_due_at < window.week_end) as u64,
        visited: visited.len() as u64,
        visits_logged: this_week.len() as u64,
        missed: count(&|r| r.next_visit_due_at + grace < now) as u64,
    };
    Dashboard {
        generated_at: now,
        recipients: Recipients { total: rows.recipients.len() as u64, by_risk },
        week,
        open_alerts: open_alerts(&rows.tasks, now),
        response_times: response_times(&rows.tasks, window),
    }
}

fn open_alerts(tasks: &[care_task::Model], now: DateTime<Utc>) -> Vec<OpenAlert> {
    let mut open: Vec<OpenAlert> = tasks
        .iter()
        .filter(|t| TaskStatus::parse(&t.status) != Some(TaskStatus::Resolved))
        .map(|t| OpenAlert {
            task_id: t.id,
            recipient_id: t.recipient_id,
            task_kind: t.task_kind.clone(),
            alert_kind: t.alert_kind.clone(),
            status: t.status.clone(),
            level: t.level.clone(),
            events_count: t.events_count,
            opened_at: t.opened_at,
            age_minutes: (now - t.opened_at).num_minutes().max(0),
            ack_due_at: t.ack_due_at,
            overdue: t.status == TaskStatus::Open.as_str() && t.ack_due_at.is_some_and(|due| due < now),
        })
        .collect();
    open.sort_by_key(|alert| (alert.opened_at, alert.task_id));
    open
}

fn response_times(tasks: &[care_task::Model], window: &Window) -> Vec<MonthResponses> {
    // Every month of the window, empty ones included, oldest first.
    let first = shanghai_date(window.months_from);
    let mut months: BTreeMap<String, (u64, u64, Vec<i64>)> = (0..window.months)
        .filter_map(|n| first.checked_add_months(Months::new(n)))
        .map(|day| (day.format("%Y-%m").to_string(), (0, 0, Vec::new())))
        .collect();
    for task in tasks.iter().filter(|t| t.task_kind == TaskKind::UrgentVisit.as_str()) {
        let Some((count, within, times)) = months.get_mut(&shanghai_date(task.opened_at).format("%Y-%m").to_string())
        else {
            continue;
        };
        *count += 1;
        let answered = match (task.acknowledged_at, task.resolved_at) {
            (Some(ack), Some(resolved)) => Some(ack.min(resolved)),
            (ack, resolved) => ack.or(resolved),
        };
        if let Some(at) = answered {
            times.push((at - task.opened_at).num_seconds().max(0));
            if task.ack_due_at.is_none_or(|due| at <= due) {
                *within += 1;
            }
        }
    }
    months
        .into_iter()
        .map(|(month, (tasks, within_sla, mut times))| {
            times.sort_unstable();
            MonthResponses {
                month,
                tasks,
                responded: times.len() as u64,
                within_sla,
                p50_seconds: percentile(&times, 50),
                p90_seconds: percentile(&times, 90),
            }
        })
        .collect()
}

/// The dashboard of a community for its committee (or an admin); an unknown community is 404.
pub async fn dashboard(state: &AppState, actor: &Actor, community: CommunityId, months: u32) -> ApiResult<Dashboard> {
    let found = community::get_community(&state.db, community).await?;
    authz::read_care_dashboard(actor, CommunityId(found.id))?;
    let now = state.clock.now();
    let window = Window::new(now, months)?;
    let rows = load(&state.db, found.id, &window).await?;
    Ok(compute(&rows, &window, Duration::hours(state.settings.care.missed_grace_hours), now))
}

/// Loads the community's recipients, this week's visits and the tasks the dashboard reads: every
/// unresolved task, and those opened in the window's months.
pub async fn load(db: &impl ConnectionTrait, community: i64, window: &Window) -> ApiResult<Rows> {
    // Here only: its `max` and `min` would shadow `Ord`'s in the computation above.
    use sea_orm::ExprTrait;
    let recipients =
        care_recipient::Entity::find().filter(care_recipient::Column::CommunityId.eq(community)).all(db).await?;
    let ids: Vec<i64> = recipients.iter().map(|r| r.id).collect();
    let visits = if ids.is_empty() {
        Vec::new()
    } else {
        care_visit::Entity::find()
            .filter(care_visit::Column::RecipientId.is_in(ids))
            .filter(care_visit::Column::VisitedAt.gte(window.week_start))
            .all(db)
            .await?
    };
    let tasks = care_task::Entity::find()
        .filter(care_task::Column::CommunityId.eq(community))
        .filter(
            care_task::Column::Status
                .ne(TaskStatus::Resolved.as_str())
                .or(care_task::Column::OpenedAt.gte(window.months_from)),
        )
        .order_by_asc(care_task::Column::Id)
        .all(db)
        .await?;
    Ok(Rows { recipients, visits, tasks })
}

fn label<T: Copy>(stored: &str, parse: fn(&str) -> Option<T>, label: fn(T) -> &'static str) -> String {
    parse(stored).map_or_else(|| stored.to_owned(), |value| label(value).to_owned())
}

fn minutes_text(seconds: Option<i64>) -> String {
    seconds.map(|s| format!("{:.1}", s as f64 / 60.0)).unwrap_or_default()
}

/// The dashboard as a spreadsheet: one figure a line (section, item, value), UTF-8 with a BOM.
pub fn to_csv(dashboard: &Dashboard) -> Result<String, ApiError> {
    let mut document = Document::new(&["分类", "项目", "数值"]);
    let mut line = |section: &str, item: &str, value: String| document.line([section, item, value.as_str()]);
    let risk = &dashboard.recipients.by_risk;
    line("关爱对象", "合计", dashboard.recipients.total.to_string());
    line("关爱对象", "高风险", risk.high.to_string());
    line("关爱对象", "中风险", risk.medium.to_string());
    line("关爱对象", "低风险", risk.low.to_string());
    let week = &dashboard.week;
    let section = format!("本周走访（{}至{}）", week.from, week.to);
    line(&section, "待走访", week.due.to_string());
    line(&section, "已走访对象", week.visited.to_string());
    line(&section, "走访记录", week.visits_logged.to_string());
    line(&section, "逾期未访", week.missed.to_string());
    for alert in &dashboard.open_alerts {
        let kind = label(&alert.alert_kind, AlertKind::parse, AlertKind::label);
        let level =
            if TaskLevel::parse(&alert.level) == Some(TaskLevel::Committee) { "已升级" } else { "处理中" };
        let item = format!("任务#{} {kind}（{level}{}）", alert.task_id, if alert.overdue { "，已超时" } else { "" });
        line("未结预警（已开启分钟数）", &item, alert.age_minutes.to_string());
    }
    for month in &dashboard.response_times {
        let section = format!("响应时间 {}", month.month);
        line(&section, "紧急任务", month.tasks.to_string());
        line(&section, "已响应", month.responded.to_string());
        line(&section, "时限内响应", month.within_sla.to_string());
        line(&section, "P50（分钟）", minutes_text(month.p50_seconds));
        line(&section, "P90（分钟）", minutes_text(month.p90_seconds));
    }
    Ok(document.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn task(id: i64, opened: &str, ack_after_s: Option<i64>, kind: TaskKind) -> care_task::Model {
        let opened_at = at(opened);
        let acknowledged_at = ack_after_s.map(|s| opened_at + Duration::seconds(s));
        care_task::Model {
            id,
            community_id: 1,
            recipient_id: 1,
            device_id: 1,
            task_kind: kind.as_str().to_owned(),
            alert_kind: "smoke".to_owned(),
            fold_key: format!("k{id}"),
            status: if acknowledged_at.is_some() { "acknowledged" } else { "open" }.to_owned(),
            level: "team".to_owned(),
            events_count: 1,
            first_observed_at: opened_at,
            last_observed_at: opened_at,
            opened_at,
            ack_due_at: Some(opened_at + Duration::minutes(15)),
            acknowledged_at,
            acknowledged_by: None,
            escalated_at: None,
            resolved_at: None,
            resolved_by: None,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!((percentile(&ten, 50), percentile(&ten, 90)), (Some(5), Some(9)));
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    }

    #[test]
    fn weeks_start_on_a_shanghai_monday_and_months_are_shanghai_months() {
        // Sunday 30 November 2026, 17:00 UTC, is Monday 1 December 01:00 in Shanghai.
        let window = Window::new(at("2026-11-30T17:00:00Z"), 2).unwrap();
        assert_eq!(window.week_from, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(window.week_start, at("2026-11-29T16:00:00Z"));
        assert_eq!(window.months_from, at("2026-10-31T16:00:00Z"));
        let tasks = [
            task(1, "2026-11-03T00:00:00Z", Some(60), TaskKind::UrgentVisit),
            task(2, "2026-11-04T00:00:00Z", Some(1200), TaskKind::UrgentVisit),
            task(3, "2026-11-05T00:00:00Z", None, TaskKind::UrgentVisit),
            task(4, "2026-11-06T00:00:00Z", Some(5), TaskKind::Maintenance),
            // 00:30 on 1 December in Shanghai: December's, though November in UTC.
            task(5, "2026-11-30T16:30:00Z", Some(300), TaskKind::UrgentVisit),
        ];
        let months = response_times(&tasks, &window);
        assert_eq!(months.len(), 2);
        let november = &months[0];
        assert_eq!((november.month.as_str(), november.tasks, november.responded), ("2026-11", 3, 2));
        assert_eq!((november.within_sla, november.p50_seconds, november.p90_seconds), (1, Some(60), Some(1200)));
        assert_eq!((months[1].month.as_str(), months[1].tasks, months[1].p50_seconds), ("2026-12", 1, Some(300)));
        let mut tasks = tasks.to_vec();
        tasks[0].status = TaskStatus::Resolved.as_str().to_owned();
        let open = open_alerts(&tasks, at("2026-11-05T00:20:00Z"));
        assert_eq!(open.iter().map(|a| a.task_id).collect::<Vec<_>>(), vec![2, 3, 4, 5], "all but the resolved");
        let (acknowledged, unanswered) = (&open[0], &open[1]);
        assert_eq!((acknowledged.age_minutes, acknowledged.overdue), (1460, false), "acknowledged in time");
        assert_eq!((unanswered.age_minutes, unanswered.overdue), (20, true));
    }
}
