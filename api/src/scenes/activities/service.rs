//! The use cases of 邻互助 activities: an organiser drafts, edits, publishes, starts, ends or cancels
//! an activity and records how many people it served; residents list what is coming near them. What
//! the hours scene may call is re-exported here: [`activity_for_hours`], [`attendance`],
//! [`may_organise`] and [`mark_hours_approved`] (the contract), and for its certificates, leaderboards
//! and statistics [`volunteer_profiles`] and [`activity_figures`].

use chrono::{DateTime, Duration, Utc};
use ehome_entities::activity;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::error::ActivityError;
pub use super::for_hours::{
    ActivityFigures, ActivityForHours, Attendance, VolunteerProfile, activity_figures, activity_for_hours, attendance,
    mark_hours_approved, may_organise, volunteer_profiles,
};
use super::for_hours::{describe, status_of};
pub use super::for_hours::{held_between, leaderboard_consents, real_name, team_count, titles};
use super::lifecycle::{Action, ActorKind, Audience, State, Status};
use super::{code, settings, signups, store};
use crate::authz::{self, Actor};
use crate::domain::media_url::MediaUrl;
use crate::domain::{ActivityId, BuildingId, CommunityId, Description, GridId, Location, TeamId, Title, UserId};
use crate::platform::content::{self, Author, PublicText, WhenUnsure};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::scenes::notifications::Notice;
use crate::state::AppState;

pub const CAPACITY_MAX: i32 = 10_000;
pub const DURATION_MAX_HOURS: i64 = 24 * 7;
pub const BENEFICIARIES_MAX: i32 = 1_000_000;
/// 1,000.00 points per hour at most.
pub const POINTS_PER_HOUR_MINOR_MAX: i64 = 100_000;
pub const RADIUS_M_DEFAULT: i32 = 200;

/// Where an activity is on the map, and how far from it a check-in is still "here".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
    pub radius_m: Option<i32>,
}

/// An activity as the organiser filled it in (or as an edit leaves it), validated field by field.
#[derive(Debug, Clone)]
pub struct Draft {
    pub community_id: CommunityId,
    pub team_id: Option<TeamId>,
    pub title: Title,
    pub description: Description,
    pub place: Option<Location>,
    pub grid_id: Option<GridId>,
    pub building_id: Option<BuildingId>,
    pub coordinates: Option<Coordinates>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signup_deadline: Option<DateTime<Utc>>,
    pub capacity: i32,
    pub audience: Audience,
    pub audience_id: Option<i64>,
    pub points_per_hour_minor: Option<i64>,
    pub cover_url: Option<MediaUrl>,
}

/// An edit of a draft: absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub team_id: Option<TeamId>,
    pub title: Option<Title>,
    pub description: Option<Description>,
    pub place: Option<Location>,
    pub grid_id: Option<GridId>,
    pub building_id: Option<BuildingId>,
    pub coordinates: Option<Coordinates>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub signup_deadline: Option<DateTime<Utc>>,
    pub capacity: Option<i32>,
    pub audience: Option<Audience>,
    pub audience_id: Option<i64>,
    pub points_per_hour_minor: Option<i64>,
    pub cover_url: Option<MediaUrl>,
}

/// The places and people a draft names, checked against its community.
struct Placed {
    grid_id: Option<i64>,
    building_id: Option<i64>,
    audience_id: Option<i64>,
    team_leader: Option<UserId>,
}

fn check_times(draft: &Draft, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
    if draft.starts_at <= now {
        return Err(ApiError::validation("starts_at", "must be in the future"));
    }
    if draft.ends_at <= draft.starts_at {
        return Err(ApiError::validation("ends_at", "must be after starts_at"));
    }
    if draft.ends_at - draft.starts_at > Duration::hours(DURATION_MAX_HOURS) {
        return Err(ApiError::validation("ends_at", format!("at most {DURATION_MAX_HOURS} hours after starts_at")));
    }
    let deadline = draft.signup_deadline.unwrap_or(draft.starts_at);
    if deadline > draft.ends_at || deadline <= now {
        return Err(ApiError::validation("signup_deadline", "in the future and not after ends_at"));
    }
    if !(1..=CAPACITY_MAX).contains(&draft.capacity) {
        return Err(ApiError::validation("capacity", format!("1 to {CAPACITY_MAX}")));
    }
    if draft.points_per_hour_minor.is_some_and(|p| !(0..=POINTS_PER_HOUR_MINOR_MAX).contains(&p)) {
        return Err(ApiError::validation("points_per_hour", "0.00 to 1000.00"));
    }
    if let Some(at) = draft.coordinates {
        let valid = (-90.0..=90.0).contains(&at.latitude)
            && (-180.0..=180.0).contains(&at.longitude)
            && at.radius_m.is_none_or(|r| (10..=10_000).contains(&r));
        if !valid {
            return Err(ApiError::validation("latitude", "latitude −90..90, longitude −180..180, radius_m 10..10000"));
        }
    }
    Ok(deadline)
}

/// A row that is not there as `None`; any other failure (the database) stays an error.
fn absent_as_none<T>(found: ApiResult<T>) -> ApiResult<Option<T>> {
    match found {
        Ok(row) => Ok(Some(row)),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Checks the grid, building, team and audience against the community; the audience's id defaults to
/// the activity's own grid, building or team.
async fn place(state: &AppState, draft: &Draft) -> ApiResult<Placed> {
    let db = &state.db;
    let community_id = draft.community_id;
    let mut grid_id = draft.grid_id.map(|g| g.0);
    let building_id = draft.building_id.map(|b| b.0);
    if let Some(id) = building_id {
        let building = absent_as_none(community::get_building(db, BuildingId(id)).await)?
            .filter(|b| b.community_id == community_id.0);
        let building =
            building.ok_or_else(|| ApiError::validation("building_id", "not a building of this community"))?;
        if grid_id.is_some_and(|g| g != building.grid_id) {
            return Err(ApiError::validation("grid_id", "not the grid of building_id"));
        }
        grid_id = Some(building.grid_id);
    } else if let Some(id) = grid_id {
        let grid =
            absent_as_none(community::get_grid(db, GridId(id)).await)?.filter(|g| g.community_id == community_id.0);
        grid.ok_or_else(|| ApiError::validation("grid_id", "not a grid of this community"))?;
    }
    let team = match draft.team_id {
        Some(id) => Some(
            store::team(db, id)
                .await?
                .filter(|t| t.community_id == community_id.0)
                .ok_or_else(|| ApiError::validation("team_id", "not a team of this community"))?,
        ),
        None => None,
    };
    let audience_id = match draft.audience {
        Audience::Community if draft.audience_id.is_some() => {
            return Err(ApiError::validation("audience_id", "not for the community audience"));
        }
        Audience::Community => None,
        Audience::Grid => {
            let id = draft.audience_id.or(grid_id).ok_or_else(|| ApiError::validation("audience_id", "a grid"))?;
            let grid =
                absent_as_none(community::get_grid(db, GridId(id)).await)?.filter(|g| g.community_id == community_id.0);
            Some(grid.ok_or_else(|| ApiError::validation("audience_id", "not a grid of this community"))?.id)
        }
        Audience::Building => {
            let id =
                draft.audience_id.or(building_id).ok_or_else(|| ApiError::validation("audience_id", "a building"))?;
            let found = absent_as_none(community::get_building(db, BuildingId(id)).await)?
                .filter(|b| b.community_id == community_id.0);
            Some(found.ok_or_else(|| ApiError::validation("audience_id", "not a building of this community"))?.id)
        }
        Audience::Team => {
            let id = draft.audience_id.or(draft.team_id.map(|t| t.0));
            let id = id.ok_or_else(|| ApiError::validation("audience_id", "a team"))?;
            let found = store::team(db, TeamId(id)).await?.filter(|t| t.community_id == community_id.0);
            Some(found.ok_or_else(|| ApiError::validation("audience_id", "not a team of this community"))?.id)
        }
    };
    Ok(Placed { grid_id, building_id, audience_id, team_leader: team.map(|t| UserId(t.leader_id)) })
}

/// Screens the title, description and place together; activities have no held state, so an unsure
/// check refuses.
async fn screen(state: &AppState, actor: &Actor, draft: &Draft) -> ApiResult<[PublicText; 3]> {
    let author = actor.user().clone();
    let texts = [
        draft.title.as_str().to_owned(),
        draft.description.as_str().to_owned(),
        draft.place.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
    ];
    let author = Author { openid: &author.openid, scene: TextScene::Forum };
    let (texts, _) = content::screen(&state.wechat, author, texts, WhenUnsure::Refuse).await?;
    Ok(texts)
}

fn fill(
    row: &mut activity::ActiveModel,
    draft: &Draft,
    placed: &Placed,
    texts: [PublicText; 3],
    deadline: DateTime<Utc>,
) {
    let [title, description, place] = texts;
    row.team_id = Set(draft.team_id.map(|t| t.0));
    row.title = Set(title.into_inner());
    row.description = Set(description.into_inner());
    row.place = Set(Some(place.into_inner()).filter(|p| !p.is_empty()));
    row.grid_id = Set(placed.grid_id);
    row.building_id = Set(placed.building_id);
    row.latitude = Set(draft.coordinates.map(|c| c.latitude));
    row.longitude = Set(draft.coordinates.map(|c| c.longitude));
    row.radius_m = Set(draft.coordinates.map(|c| c.radius_m.unwrap_or(RADIUS_M_DEFAULT)));
    row.starts_at = Set(draft.starts_at);
    row.ends_at = Set(draft.ends_at);
    row.signup_deadline = Set(deadline);
    row.capacity = Set(draft.capacity);
    row.audience = Set(draft.audience.as_str().to_owned());
    row.audience_id = Set(placed.audience_id);
    row.cover_url = Set(draft.cover_url.clone().map(MediaUrl::into_inner));
}

/// Creates a draft. The organiser is the committee, a social worker, or the leader of the team named.
pub async fn create(state: &AppState, actor: &Actor, draft: Draft) -> ApiResult<activity::Model> {
    community::get_community(&state.db, draft.community_id).await?;
    let now = state.clock.now();
    let deadline = check_times(&draft, now)?;
    let placed = place(state, &draft).await?;
    authz::organise_activity(actor, draft.community_id, placed.team_leader)?;
    let texts = screen(state, actor, &draft).await?;
    let rate = match draft.points_per_hour_minor {
        Some(rate) => rate,
        None => settings::of(&state.db, draft.community_id).await?.points_per_hour_minor,
    };
    let mut row = activity::ActiveModel {
        community_id: Set(draft.community_id.0),
        organiser_id: Set(actor.id.0),
        points_per_hour_minor: Set(rate),
        beneficiaries: Set(None),
        status: Set(Status::Draft.as_str().to_owned()),
        checkin_secret: Set(code::new_secret()),
        confirmed_count: Set(0),
        signup_arrivals: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    fill(&mut row, &draft, &placed, texts, deadline);
    Ok(row.insert(&state.db).await?)
}

fn coordinates_of(row: &activity::Model) -> Option<Coordinates> {
    match (row.latitude, row.longitude) {
        (Some(latitude), Some(longitude)) => Some(Coordinates { latitude, longitude, radius_m: row.radius_m }),
        _ => None,
    }
}

fn parse_stored<T>(field: &str, parsed: Result<T, ApiError>) -> ApiResult<T> {
    parsed.map_err(|err| ApiError::internal(anyhow::anyhow!("stored activity {field} no longer parses: {err}")))
}

/// The draft as the row holds it, with the change applied.
fn merged(
    row: &activity::Model,
    change: Change,
    media_hosts: &crate::domain::media_url::MediaHosts,
) -> ApiResult<Draft> {
    let audience = match change.audience {
        Some(audience) => audience,
        None => Audience::parse(&row.audience).ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad audience")))?,
    };
    let audience_id =
        if change.audience.is_some() { change.audience_id } else { change.audience_id.or(row.audience_id) };
    let cover_url = match change.cover_url {
        Some(url) => Some(url),
        None => match &row.cover_url {
            Some(url) => Some(parse_stored("cover_url", MediaUrl::parse("cover_url", url, media_hosts))?),
            None => None,
        },
    };
    Ok(Draft {
        community_id: CommunityId(row.community_id),
        team_id: change.team_id.or(row.team_id.map(TeamId)),
        title: match change.title {
            Some(title) => title,
            None => parse_stored("title", Title::parse("title", &row.title))?,
        },
        description: match change.description {
            Some(description) => description,
            None => parse_stored("description", Description::parse("description", &row.description))?,
        },
        place: match change.place {
            Some(place) => Some(place),
            None => parse_stored("place", Location::parse_optional("place", row.place.as_deref()))?,
        },
        grid_id: if change.building_id.is_some() { change.grid_id } else { change.grid_id.or(row.grid_id.map(GridId)) },
        building_id: change.building_id.or(row.building_id.map(BuildingId)),
        coordinates: change.coordinates.or_else(|| coordinates_of(row)),
        starts_at: change.starts_at.unwrap_or(row.starts_at),
        ends_at: change.ends_at.unwrap_or(row.ends_at),
        signup_deadline: Some(change.signup_deadline.unwrap_or(row.signup_deadline)),
        capacity: change.capacity.unwrap_or(row.capacity),
        audience,
        audience_id,
        points_per_hour_minor: Some(change.points_per_hour_minor.unwrap_or(row.points_per_hour_minor)),
        cover_url,
    })
}

/// Loads an activity the caller may organise, with what the hours scene would see of it.
pub async fn organised(state: &AppState, actor: &Actor, id: ActivityId) -> ApiResult<activity::Model> {
    let row = visible(state, actor, id).await?;
    let described = describe(&state.db, &row).await?;
    authz::organise_activity(actor, described.community_id, described.team_leader_id)?;
    Ok(row)
}

/// Edits a draft (only a draft: once published, volunteers rely on what they signed up for).
pub async fn update(state: &AppState, actor: &Actor, id: ActivityId, change: Change) -> ApiResult<activity::Model> {
    let row = organised(state, actor, id).await?;
    let from = status_of(&row)?;
    if from != Status::Draft {
        return Err(
            ActivityError::InvalidTransition { action: "edit".to_owned(), status: from.as_str().to_owned() }.into()
        );
    }
    let draft = merged(&row, change, &state.settings.security.media_hosts)?;
    let now = state.clock.now();
    let deadline = check_times(&draft, now)?;
    let placed = place(state, &draft).await?;
    authz::organise_activity(actor, draft.community_id, placed.team_leader)?;
    let texts = screen(state, actor, &draft).await?;
    let mut active: activity::ActiveModel = row.into();
    fill(&mut active, &draft, &placed, texts, deadline);
    active.points_per_hour_minor = Set(draft.points_per_hour_minor.unwrap_or(settings::DEFAULT_POINTS_PER_HOUR_MINOR));
    active.updated_at = Set(now);
    Ok(active.update(&state.db).await?)
}

/// Moves the activity through its lifecycle as a compare-and-set on the status it was read in.
/// Returns false when another actor (or a job) moved it first.
pub async fn apply(
    db: &impl sea_orm::ConnectionTrait,
    row: &activity::Model,
    action: Action,
    now: DateTime<Utc>,
) -> ApiResult<Option<Status>> {
    let from = status_of(row)?;
    let state = State { status: from, starts_at: row.starts_at, ends_at: row.ends_at };
    let Ok(to) = action.decide(&state, now) else { return Ok(None) };
    let updated = activity::Entity::update_many()
        .col_expr(activity::Column::Status, Expr::value(to.as_str()))
        .col_expr(activity::Column::UpdatedAt, Expr::value(now))
        .filter(activity::Column::Id.eq(row.id))
        .filter(activity::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    Ok((updated.rows_affected == 1).then_some(to))
}

/// An organiser's transition. Publishing needs the sign-up deadline ahead; cancelling tells everyone
/// signed up.
pub async fn transition(state: &AppState, actor: &Actor, id: ActivityId, action: Action) -> ApiResult<activity::Model> {
    let row = organised(state, actor, id).await?;
    let now = state.clock.now();
    let refused = |status: &str| ActivityError::InvalidTransition {
        action: action.as_str().to_owned(),
        status: status.to_owned(),
    };
    if action.actor() != ActorKind::Organiser {
        return Err(refused(&row.status).into());
    }
    if action == Action::Publish && row.signup_deadline <= now {
        return Err(ApiError::validation("signup_deadline", "has passed; edit the draft first"));
    }
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let Some(to) = apply(&txn, &row, action, now).await? else {
        return Err(refused(&row.status).into());
    };
    let mut notices = Vec::new();
    if to == Status::Cancelled {
        for signup in signups::active(&txn, id).await? {
            let notice = Notice {
                user_id: signup.user_id,
                kind: "activity_status",
                title: row.title.clone(),
                body: format!("您报名的「{}」已取消", row.title),
                request_id: None,
                phrase: to.label().to_owned(),
            };
            crate::scenes::notifications::record(&txn, &notice, now).await?;
            notices.push(notice);
        }
    }
    txn.commit().await?;
    crate::scenes::notifications::push_all(state, notices, now).await;
    // The committee's statistics count the activities held.
    crate::scenes::requests::service::stats_changed(state, [CommunityId(row.community_id)]).await;
    store::get(&state.db, id).await
}

/// Records how many people the activity served, at or after its end.
pub async fn record_beneficiaries(
    state: &AppState,
    actor: &Actor,
    id: ActivityId,
    count: i32,
) -> ApiResult<activity::Model> {
    if !(0..=BENEFICIARIES_MAX).contains(&count) {
        return Err(ApiError::validation("count", format!("0 to {BENEFICIARIES_MAX}")));
    }
    let row = organised(state, actor, id).await?;
    let status = status_of(&row)?;
    if !matches!(status, Status::InProgress | Status::Ended | Status::HoursApproved) {
        return Err(ActivityError::InvalidTransition {
            action: "beneficiaries".to_owned(),
            status: status.as_str().to_owned(),
        }
        .into());
    }
    let mut active: activity::ActiveModel = row.into();
    active.beneficiaries = Set(Some(count));
    active.updated_at = Set(state.clock.now());
    Ok(active.update(&state.db).await?)
}

/// An activity the caller can see: a draft only by those who may organise it, the rest by members of
/// the community. One they cannot see does not exist for them.
pub async fn visible(state: &AppState, actor: &Actor, id: ActivityId) -> ApiResult<activity::Model> {
    let row = store::get(&state.db, id).await?;
    let community_id = CommunityId(row.community_id);
    let sees = if status_of(&row)? == Status::Draft {
        let described = describe(&state.db, &row).await?;
        authz::organises(actor, community_id, described.team_leader_id)
    } else {
        actor.in_community(community_id)
    };
    if !sees {
        return Err(ApiError::NotFound("activity"));
    }
    Ok(row)
}

/// An approved registration with the default skill, for the demo data (whose volunteer already holds
/// the role); a registration already there is left as it is.
pub async fn seed_approved_volunteer(
    db: &impl sea_orm::ConnectionTrait,
    community_id: CommunityId,
    user: UserId,
    decided_by: UserId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    use ehome_entities::volunteer;
    let skill = settings::DEFAULT_SKILLS.first().map_or("environment", |(key, _)| *key);
    volunteer::Entity::insert(volunteer::ActiveModel {
        community_id: Set(community_id.0),
        user_id: Set(user.0),
        status: Set(super::lifecycle::VolunteerStatus::Approved.as_str().to_owned()),
        skills: Set(serde_json::json!([skill]).to_string()),
        available_times: Set(None),
        real_name: Set(None),
        leaderboard_consent: Set(true),
        note: Set(None),
        decided_by: Set(Some(decided_by.0)),
        decided_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([volunteer::Column::CommunityId, volunteer::Column::UserId])
    .exec(db)
    .await?;
    Ok(())
}
