//! HTTP of service hours: bodies, and handlers that parse, load the caller, call a use case and show
//! the result.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use ehome_entities::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::json;

use super::certificate;
use super::hours::{ADJUSTED_MINUTES_MAX, QUARTER_MINUTES, hours_text, shanghai_date};
use super::leaderboard::{self, Period};
use super::service::{self, Decided};
use super::views::{record_view, review_line_view};
use crate::authz::Actor;
use crate::domain::{ActivityId, CommunityId, Note, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::{self, PageQuery};
use crate::scenes::activities::service as activities;
use crate::scenes::community::service as community;
use crate::state::AppState;

/// The nicknames of these users, by id.
async fn nicknames(state: &AppState, ids: impl IntoIterator<Item = i64>) -> ApiResult<HashMap<i64, String>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let users = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(&state.db).await?;
    Ok(users.into_iter().map(|u| (u.id, u.nickname)).collect())
}

pub async fn review(state: web::Data<AppState>, caller: AuthUser, path: web::Path<i64>) -> ApiResult<HttpResponse> {
    let actor = Actor::of(&state, caller).await?;
    let review = service::review(&state, &actor, ActivityId(path.into_inner())).await?;
    let names = nicknames(&state, review.lines.iter().map(|l| l.attendance.user_id.0)).await?;
    let activity = &review.activity;
    let head = json!({
        "id": activity.id,
        "title": activity.title,
        "status": activity.status,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "scheduled_hours": hours_text((activity.ends_at - activity.starts_at).num_minutes()),
    });
    let items: Vec<_> = review
        .lines
        .into_iter()
        .map(|line| {
            let name = names.get(&line.attendance.user_id.0).cloned();
            review_line_view(line, name)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"activity": head, "items": items})))
}

fn decided_json(decided: Decided) -> serde_json::Value {
    let records: Vec<_> = decided.records.into_iter().map(|r| record_view(r, None)).collect();
    json!({"records": records, "hours_approved": decided.hours_approved})
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    signup_ids: Option<Vec<i64>>,
}

/// Sign-ups one approval may name.
const SIGNUPS_PER_APPROVAL_MAX: usize = 5_000;

pub async fn approve(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    body: web::Json<ApproveBody>,
) -> ApiResult<HttpResponse> {
    let signup_ids = body.into_inner().signup_ids;
    if signup_ids.as_ref().is_some_and(|ids| ids.is_empty() || ids.len() > SIGNUPS_PER_APPROVAL_MAX) {
        return Err(ApiError::validation(
            "signup_ids",
            format!("1 to {SIGNUPS_PER_APPROVAL_MAX} ids, or absent for all"),
        ));
    }
    let actor = Actor::of(&state, caller).await?;
    let decided = service::approve(&state, &actor, ActivityId(path.into_inner()), signup_ids).await?;
    Ok(HttpResponse::Ok().json(decided_json(decided)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    minutes: i64,
    reason: String,
}

pub async fn adjust(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<AdjustBody>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if !(0..=ADJUSTED_MINUTES_MAX).contains(&body.minutes) || body.minutes % QUARTER_MINUTES != 0 {
        return Err(ApiError::validation(
            "minutes",
            format!("0 to {ADJUSTED_MINUTES_MAX}, in whole quarter hours ({QUARTER_MINUTES})"),
        ));
    }
    let reason = Note::parse("reason", &body.reason)?.into_inner();
    let (activity, signup) = path.into_inner();
    let actor = Actor::of(&state, caller).await?;
    let decided = service::adjust(&state, &actor, ActivityId(activity), signup, body.minutes, reason).await?;
    Ok(HttpResponse::Created().json(decided_json(decided)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclineBody {
    reason: String,
}

pub async fn decline(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<DeclineBody>,
) -> ApiResult<HttpResponse> {
    let reason = Note::parse("reason", &body.into_inner().reason)?.into_inner();
    let (activity, signup) = path.into_inner();
    let actor = Actor::of(&state, caller).await?;
    let decided = service::decline(&state, &actor, ActivityId(activity), signup, reason).await?;
    Ok(HttpResponse::Created().json(decided_json(decided)))
}

pub async fn my_hours(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let keyset = query.keyset()?;
    let (records, titles) = certificate::my_records(&state, caller.id, &keyset).await?;
    let total = super::store::lifetime_minutes(&state.db, caller.id).await?;
    let page = pagination::page(
        records,
        keyset.limit,
        |r| r.id,
        |r| {
            let title = titles.get(&r.activity_id).cloned();
            record_view(r, title)
        },
    );
    // Hours served on help posts (邻里互助) sit on the same record: counted in the total, listed beside.
    let aid = super::from_help::help_records(&state.db, caller.id, 50).await?;
    let aid_items: Vec<_> = aid
        .into_iter()
        .map(|r| {
            json!({"id": r.id, "help_post_id": r.help_post_id, "minutes": r.minutes,
                "credited_minutes": r.credited_minutes, "hours": hours_text(i64::from(r.credited_minutes)),
                "service_day": r.service_day, "flags": r.flags.split(',').collect::<Vec<_>>(), "label": "邻里互助"})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "items": page.items,
        "next_cursor": page.next_cursor,
        "total_hours": hours_text(total),
        "neighbour_aid_items": aid_items,
    })))
}

pub async fn certificate_csv(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let found = certificate::certificate(&state, caller.id).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"certificate.csv\""))
        .body(certificate::to_csv(&found)))
}

pub async fn certificate_html(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let found = certificate::certificate(&state, caller.id).await?;
    let issued = shanghai_date(state.clock.now());
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"))
        .body(certificate::to_html(&found, issued)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardQuery {
    period: Option<String>,
    by: Option<String>,
    limit: Option<usize>,
}

const ANONYMOUS: &str = "匿名志愿者";
const LEADERBOARD_LIMIT_DEFAULT: usize = 20;
const LEADERBOARD_LIMIT_MAX: usize = 100;

pub async fn leaderboard(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<LeaderboardQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let period = Period::parse(query.period.as_deref())?;
    if query.by.as_deref().is_some_and(|by| by != "hours") {
        return Err(ApiError::validation("by", "hours (points are spendable; hours are the honour)"));
    }
    let limit = query.limit.unwrap_or(LEADERBOARD_LIMIT_DEFAULT);
    if !(1..=LEADERBOARD_LIMIT_MAX).contains(&limit) {
        return Err(ApiError::validation("limit", format!("1 to {LEADERBOARD_LIMIT_MAX}")));
    }
    let found = community::get_community(&state.db, CommunityId(path.into_inner())).await?;
    let community_id = CommunityId(found.id);
    let actor = Actor::of(&state, caller).await?;
    if !actor.in_community(community_id) {
        return Err(ApiError::Forbidden);
    }
    let today = shanghai_date(state.clock.now());
    let standings = leaderboard::top(&state.db, &state.cache, community_id, period, today, limit).await?;
    let users: Vec<UserId> = standings.iter().map(|s| s.user).collect();
    let consenting = activities::leaderboard_consents(&state.db, community_id, &users).await?;
    // Of each volunteer's hours, those served on help posts (邻里互助), shown apart.
    let aid = super::from_help::minutes_by_user(&state.db, community_id, period.days(today), Some(&users)).await?;
    let names = nicknames(&state, users.iter().map(|u| u.0)).await?;
    let items: Vec<_> = standings
        .iter()
        .enumerate()
        .map(|(index, standing)| {
            let shown = consenting.contains(&standing.user);
            let name = if shown { names.get(&standing.user.0).cloned() } else { None };
            json!({
                "rank": index + 1,
                "user_id": shown.then_some(standing.user.0),
                "name": name.unwrap_or_else(|| ANONYMOUS.to_owned()),
                "hours": hours_text(standing.minutes),
                "minutes": standing.minutes,
                "neighbour_aid_hours": hours_text(aid.get(&standing.user.0).copied().unwrap_or(0)),
                "me": standing.user == actor.id,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"period": period.as_str(), "by": "hours", "items": items})))
}
