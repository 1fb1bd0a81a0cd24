//! The committee's CSV export of a community's requests: one row per request created in a range of
//! Shanghai dates, Chinese headers, Shanghai times, UTF-8 with a BOM so that Excel opens it as
//! UTF-8. The reporter's identity is never in it.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use ehome_entities::{building, service_request};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::lifecycle::{Level, Moderation, Status, Urgency};
use super::stats::{self, DateRange, Names};
use crate::identity::auth::AuthUser;
use crate::platform::csv::Document;
use crate::platform::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const HEADERS: [&str; 22] = [
    "编号",
    "类别",
    "网格",
    "楼栋",
    "标题",
    "描述",
    "位置",
    "状态",
    "紧急程度",
    "处理层级",
    "升级次数",
    "附议人数",
    "提交时间",
    "响应期限",
    "办结期限",
    "首次响应时间",
    "解决时间",
    "关闭时间",
    "评分",
    "评价",
    "是否超时",
    "审核状态",
];

fn shanghai_time(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.with_timezone(&Shanghai).format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

/// The Chinese word for a stored value, or the stored word itself if it is unknown.
fn label<T: Copy>(stored: &str, parse: impl Fn(&str) -> Option<T>, label: impl Fn(T) -> &'static str) -> String {
    parse(stored).map_or_else(|| stored.to_owned(), |value| label(value).to_owned())
}

/// Where a request is: names of its category, grid and building.
pub struct Places<'a> {
    pub names: &'a Names,
    pub buildings: &'a HashMap<i64, String>,
}

/// The cells of one request, in `HEADERS` order. "是否超时" is the queue's rule at `now`: open and
/// past its response or resolution deadline.
pub fn cells(request: &service_request::Model, places: &Places<'_>, now: DateTime<Utc>) -> Vec<String> {
    let (response_overdue, resolution_overdue) = super::views::overdue(request, now);
    let name = |names: &std::collections::BTreeMap<i64, String>, id: i64| {
        names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
    };
    vec![
        request.id.to_string(),
        name(&places.names.categories, request.category_id),
        name(&places.names.grids, request.grid_id),
        places.buildings.get(&request.building_id).cloned().unwrap_or_else(|| format!("#{}", request.building_id)),
        request.title.clone(),
        request.description.clone(),
        request.location.clone().unwrap_or_default(),
        label(&request.status, Status::parse, Status::label),
        label(&request.urgency, Urgency::parse, Urgency::label),
        label(&request.assignee_level, Level::parse, Level::label),
        request.escalation_level.to_string(),
        request.interest_count.to_string(),
        shanghai_time(Some(request.created_at)),
        shanghai_time(Some(request.response_due_at)),
        shanghai_time(Some(request.resolution_due_at)),
        shanghai_time(request.first_response_at),
        shanghai_time(request.resolved_at),
        shanghai_time(request.closed_at),
        request.rating.map(|r| r.to_string()).unwrap_or_default(),
        request.rating_text.clone().unwrap_or_default(),
        if response_overdue || resolution_overdue { "是" } else { "否" }.to_owned(),
        label(&request.moderation, Moderation::parse, Moderation::label),
    ]
}

/// The whole file: BOM, header line, one CRLF-terminated line per request; every cell through
/// `platform::csv::cell` (names typed by the committee as much as residents' text).
pub fn render(requests: &[service_request::Model], places: &Places<'_>, now: DateTime<Utc>) -> String {
    let mut document = Document::new(&HEADERS);
    for request in requests {
        document.line(cells(request, places, now).iter().map(String::as_str));
    }
    document.finish()
}

async fn load(
    db: &impl ConnectionTrait,
    community_id: i64,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<(Vec<service_request::Model>, HashMap<i64, String>), ApiError> {
    let requests = service_request::Entity::find()
        .filter(service_request::Column::CommunityId.eq(community_id))
        .filter(service_request::Column::CreatedAt.gte(start))
        .filter(service_request::Column::CreatedAt.lt(end))
        .order_by_asc(service_request::Column::CreatedAt)
        .order_by_asc(service_request::Column::Id)
        .all(db)
        .await?;
    let buildings = building::Entity::find().filter(building::Column::CommunityId.eq(community_id)).all(db).await?;
    Ok((requests, buildings.into_iter().map(|b| (b.id, b.name)).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn requests_csv(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<CsvQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let now = state.clock.now();
    let range = DateRange::parse(query.from.as_deref(), query.to.as_deref(), stats::shanghai_date(now))?;
    let community_id = stats::authorised_community(&state, caller, path.into_inner()).await?;
    let (requests, buildings) = load(&state.db, community_id, range.instants()?).await?;
    let names = stats::load_names(&state.db, community_id).await?;
    let body = render(&requests, &Places { names: &names, buildings: &buildings }, now);
    let filename = format!("requests-{community_id}-{}-{}.csv", range.from(), range.to());
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_one_request() {
        let at = DateTime::parse_from_rfc3339("2026-11-01T16:30:00Z").unwrap().with_timezone(&Utc);
        let request = service_request::Model {
            reporter_id: 99,
            title: "灯坏了, 请修".to_owned(),
            description: "说\"尽快\"".to_owned(),
            urgency: "urgent".to_owned(),
            ..crate::scenes::requests::views::submitted_at(at)
        };
        let mut names = Names::default();
        names.categories.insert(2, "维修".to_owned());
        names.grids.insert(3, "=第一网格".to_owned());
        let buildings = HashMap::from([(4, "1号楼".to_owned())]);
        let text =
            render(&[request], &Places { names: &names, buildings: &buildings }, at + chrono::Duration::hours(5));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].starts_with("\u{FEFF}编号,类别,网格,楼栋,标题"));
        assert_eq!(
            lines[1],
            "7,维修,'=第一网格,1号楼,\"灯坏了, 请修\",\"说\"\"尽快\"\"\",,已提交,紧急,楼长,0,0,2026-11-02 00:30:00,\
             2026-11-02 04:30:00,2026-11-03 00:30:00,,,,,,是,已发布"
        );
        assert_eq!(lines[2], "");
        assert_eq!(lines.len(), 3);
    }
}
