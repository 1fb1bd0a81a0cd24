//! A volunteer's own hours: their records page by page, and the service certificate (志愿服务证明) —
//! activities and help posts (邻里互助) together, each line saying which — as CSV (every cell through
//! `platform::csv`) and as a printable HTML page (every text escaped).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use ehome_entities::hour_record;

use super::hours::hours_text;
use super::lifecycle::RecordStatus;
use super::store;
use crate::domain::UserId;
use crate::platform::csv;
use crate::platform::error::ApiResult;
use crate::platform::html::escape;
use crate::platform::pagination::Keyset;
use crate::scenes::activities::service as activities;
use crate::state::AppState;

/// A page of the volunteer's records, newest first, each with its activity's title.
pub async fn my_records(
    state: &AppState,
    user: UserId,
    keyset: &Keyset,
) -> ApiResult<(Vec<hour_record::Model>, HashMap<i64, String>)> {
    let records = store::page_of_user(&state.db, user, keyset).await?;
    let ids: Vec<i64> = records.iter().map(|r| r.activity_id).collect();
    let titles = activities::titles(&state.db, &ids).await?;
    Ok((records, titles))
}

/// One activity, or one help post, on the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub title: String,
    pub day: NaiveDate,
    pub minutes: i64,
    /// Served on a help post (邻里互助) rather than at an activity.
    pub neighbour_aid: bool,
}

/// The kind of service a line records, as the certificate words it.
fn kind_of(line: &Line) -> &'static str {
    if line.neighbour_aid { "邻里互助" } else { "志愿活动" }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The real name the volunteer registered, else their nickname.
    pub name: String,
    pub lines: Vec<Line>,
    pub total_minutes: i64,
}

/// What counts now for each of the volunteer's sign-ups (its latest record, when approved with
/// credited minutes) and each help post they served (its credited minutes), by day.
pub async fn certificate(state: &AppState, user: UserId) -> ApiResult<Certificate> {
    let records = store::all_of_user(&state.db, user).await?;
    let latest = store::latest_by_signup(&records);
    let mut counted: BTreeMap<(NaiveDate, i64), (i64, i64)> = BTreeMap::new();
    for record in latest.values() {
        if record.status == RecordStatus::Approved.as_str() && record.credited_minutes > 0 {
            counted.insert(
                (record.service_day, record.signup_id),
                (record.activity_id, i64::from(record.credited_minutes)),
            );
        }
    }
    let ids: Vec<i64> = counted.values().map(|(activity, _)| *activity).collect();
    let titles = activities::titles(&state.db, &ids).await?;
    let mut lines: Vec<Line> = counted
        .into_iter()
        .map(|((day, _), (activity, minutes))| Line {
            title: titles.get(&activity).cloned().unwrap_or_else(|| format!("#{activity}")),
            day,
            minutes,
            neighbour_aid: false,
        })
        .collect();
    // A help post is named by its number: its title is the poster's words about their own need.
    let aid = super::from_help::all_of_user(&state.db, user).await?;
    lines.extend(aid.into_iter().filter(|r| r.credited_minutes > 0).map(|r| Line {
        title: format!("邻里互助 #{}", r.help_post_id),
        day: r.service_day,
        minutes: i64::from(r.credited_minutes),
        neighbour_aid: true,
    }));
    // By day, activities before help posts on the same day (a stable sort keeps each one's order).
    lines.sort_by_key(|line| (line.day, line.neighbour_aid));
    let total_minutes = lines.iter().map(|l| l.minutes).sum();
    let name = match activities::real_name(&state.db, user).await? {
        Some(real_name) => real_name,
        None => crate::identity::users::get(&state.db, user).await?.nickname,
    };
    Ok(Certificate { name, lines, total_minutes })
}

pub fn to_csv(certificate: &Certificate) -> String {
    let mut document = csv::Document::new(&["姓名", "活动", "日期", "服务时长（小时）", "类型"]);
    for line in &certificate.lines {
        let day = line.day.to_string();
        let hours = hours_text(line.minutes);
        document.line([certificate.name.as_str(), line.title.as_str(), day.as_str(), hours.as_str(), kind_of(line)]);
    }
    let total = hours_text(certificate.total_minutes);
    document.line([certificate.name.as_str(), "合计", "", total.as_str(), ""]);
    document.finish()
}

pub fn to_html(certificate: &Certificate, issued: NaiveDate) -> String {
    let name = escape(&certificate.name);
    let mut rows = String::new();
    for line in &certificate.lines {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n",
            escape(&line.title),
            kind_of(line),
            line.day,
            hours_text(line.minutes)
        ));
    }
    let total = hours_text(certificate.total_minutes);
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>志愿服务证明</title>\n\
         <style>body{{font-family:serif;max-width:42em;margin:2em auto}}table{{border-collapse:collapse;\
         width:100%}}td,th{{border:1px solid #444;padding:.3em .6em}}.n{{text-align:right}}\
         @media print{{body{{margin:0}}}}</style></head>\n<body>\n<h1>志愿服务证明</h1>\n\
         <p>兹证明 <strong>{name}</strong> 参加以下志愿服务活动，累计服务时长 <strong>{total}</strong> 小时。</p>\n\
         <table><thead><tr><th>活动</th><th>类型</th><th>日期</th><th>服务时长（小时）</th></tr></thead><tbody>\n{rows}\
         </tbody><tfoot><tr><th colspan=\"3\">合计</th><th class=\"n\">{total}</th></tr></tfoot></table>\n\
         <p>出具日期：{issued}</p>\n</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Certificate {
        Certificate {
            name: "<王>".to_owned(),
            lines: vec![Line {
                title: "=cmd|' /C calc'!A0".to_owned(),
                day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
                minutes: 150,
                neighbour_aid: false,
            }],
            total_minutes: 150,
        }
    }

    #[test]
    fn csv_cells_are_neutralised_and_html_is_escaped() {
        let text = to_csv(&sample());
        assert!(text.contains("<王>,'=cmd|' /C calc'!A0,2026-11-28,2.50,志愿活动\r\n"), "{text}");
        assert!(text.ends_with("<王>,合计,,2.50,\r\n"));
        let page = to_html(&sample(), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert!(page.contains("&lt;王&gt;"));
        assert!(!page.contains("<王>"));
        assert!(page.contains("<td class=\"n\">2.50</td>"));
    }
}
