//! Volunteer registration and approval. A member of a community registers (skills from the
//! community's list, available times, an optional real name, leaderboard consent); the committee or a
//! social worker approves — granting the `volunteer` role in the same transaction — or declines.

use std::collections::BTreeSet;

use ehome_entities::{user, volunteer};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TryIntoModel};

use super::error::ActivityError;
use super::lifecycle::VolunteerStatus;
use super::{settings, store};
use crate::authz::{self, Actor};
use crate::domain::{CommunityId, Label, Note, Role, UserId, VolunteerId};
use crate::identity::author;
use crate::platform::content::PublicText;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::Keyset;
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::state::AppState;

pub const SKILLS_MAX: usize = 10;

/// A registration as the resident filled it in, validated.
pub struct Registration {
    pub community: CommunityId,
    pub skills: Vec<String>,
    /// When they can serve, in their words; organisers read it.
    pub available_times: Option<Note>,
    /// Private: shown to the volunteer and organisers only, printed on certificates.
    pub real_name: Option<Label>,
    pub leaderboard_consent: bool,
}

pub fn status_of(row: &volunteer::Model) -> VolunteerStatus {
    VolunteerStatus::parse(&row.status).unwrap_or(VolunteerStatus::Pending)
}

fn check_skills(known: &settings::Settings, skills: &[String]) -> ApiResult<()> {
    if skills.is_empty() || skills.len() > SKILLS_MAX {
        return Err(ApiError::validation("skills", format!("1 to {SKILLS_MAX} skill keys")));
    }
    let mut seen = BTreeSet::new();
    for key in skills {
        if !known.knows_skill(key) {
            return Err(ApiError::validation("skills", format!("{key} is not a skill of this community")));
        }
        if !seen.insert(key) {
            return Err(ApiError::validation("skills", format!("{key} is listed twice")));
        }
    }
    Ok(())
}

/// Registers the caller in a community they belong to. A declined or withdrawn registration may be
/// made again (it becomes pending); a pending or approved one is `ALREADY_VOLUNTEER`.
pub async fn register(state: &AppState, actor: &Actor, registration: Registration) -> ApiResult<volunteer::Model> {
    let community_id = registration.community;
    community::get_community(&state.db, community_id).await?;
    if !actor.in_community(community_id) {
        return Err(ApiError::Forbidden);
    }
    let known = settings::of(&state.db, community_id).await?;
    check_skills(&known, &registration.skills)?;
    let available_times = author::screen_optional(
        state,
        actor.id,
        TextScene::Profile,
        registration.available_times.map(Note::into_inner),
    )
    .await?;
    let skills = serde_json::to_string(&registration.skills).map_err(ApiError::internal)?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let existing = store::volunteer_of(&txn, community_id, actor.id).await?;
    let mut row = match existing {
        None => volunteer::ActiveModel {
            community_id: Set(community_id.0),
            user_id: Set(actor.id.0),
            created_at: Set(now),
            ..Default::default()
        },
        Some(found) if matches!(status_of(&found), VolunteerStatus::Pending | VolunteerStatus::Approved) => {
            return Err(ActivityError::AlreadyVolunteer.into());
        }
        Some(found) => found.into(),
    };
    row.status = Set(VolunteerStatus::Pending.as_str().to_owned());
    row.skills = Set(skills);
    row.available_times = Set(available_times.map(PublicText::into_inner));
    row.real_name = Set(registration.real_name.map(Label::into_inner));
    row.leaderboard_consent = Set(registration.leaderboard_consent);
    row.note = Set(None);
    row.decided_by = Set(None);
    row.decided_at = Set(None);
    let saved = row.save(&txn).await?;
    let saved = saved.try_into_model()?;
    txn.commit().await?;
    Ok(saved)
}

/// A change of the volunteer's own registration: absent fields stay as they are.
#[derive(Default)]
pub struct ProfileChange {
    pub skills: Option<Vec<String>>,
    pub available_times: Option<Note>,
    pub real_name: Option<Label>,
    pub leaderboard_consent: Option<bool>,
}

/// The volunteer changes their own pending or approved registration (skills, times, real name,
/// leaderboard consent); a decision stands. Anyone else is refused.
pub async fn update_own(
    state: &AppState,
    actor: &Actor,
    id: VolunteerId,
    change: ProfileChange,
) -> ApiResult<volunteer::Model> {
    let found = get(state, id).await?;
    if found.user_id != actor.id.0 {
        return Err(ApiError::Forbidden);
    }
    if !matches!(status_of(&found), VolunteerStatus::Pending | VolunteerStatus::Approved) {
        return Err(ActivityError::VolunteerNotPending.into());
    }
    if let Some(skills) = &change.skills {
        check_skills(&settings::of(&state.db, CommunityId(found.community_id)).await?, skills)?;
    }
    let available_times =
        author::screen_optional(state, actor.id, TextScene::Profile, change.available_times.map(Note::into_inner))
            .await?;
    let mut row: volunteer::ActiveModel = found.into();
    if let Some(skills) = change.skills {
        row.skills = Set(serde_json::to_string(&skills).map_err(ApiError::internal)?);
    }
    if let Some(times) = available_times {
        row.available_times = Set(Some(times.into_inner()));
    }
    if let Some(name) = change.real_name {
        row.real_name = Set(Some(name.into_inner()));
    }
    if let Some(consent) = change.leaderboard_consent {
        row.leaderboard_consent = Set(consent);
    }
    Ok(row.update(&state.db).await?)
}

pub async fn get(state: &AppState, id: VolunteerId) -> ApiResult<volunteer::Model> {
    volunteer::Entity::find_by_id(id.0).one(&state.db).await?.ok_or(ApiError::NotFound("volunteer"))
}

/// Approves or declines a pending registration, as a compare-and-set on `pending`; approval grants
/// the `volunteer` role in the community in the same transaction.
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    id: VolunteerId,
    approve: bool,
    note: Option<Note>,
) -> ApiResult<volunteer::Model> {
    let found = get(state, id).await?;
    let community_id = CommunityId(found.community_id);
    authz::decide_volunteer(actor, community_id, UserId(found.user_id))?;
    let note = author::screen_optional(state, actor.id, TextScene::Comment, note.map(Note::into_inner)).await?;
    let now = state.clock.now();
    let to = if approve { VolunteerStatus::Approved } else { VolunteerStatus::Declined };
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let updated = volunteer::Entity::update_many()
        .col_expr(volunteer::Column::Status, Expr::value(to.as_str()))
        .col_expr(volunteer::Column::Note, Expr::value(note.map(PublicText::into_inner)))
        .col_expr(volunteer::Column::DecidedBy, Expr::value(actor.id.0))
        .col_expr(volunteer::Column::DecidedAt, Expr::value(now))
        .filter(volunteer::Column::Id.eq(found.id))
        .filter(volunteer::Column::Status.eq(VolunteerStatus::Pending.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ActivityError::VolunteerNotPending.into());
    }
    if approve {
        community::grant_role(&txn, community_id, UserId(found.user_id), Role::Volunteer, now).await?;
    }
    txn.commit().await?;
    if approve {
        crate::identity::caller::changed(state, UserId(found.user_id)).await;
    }
    get(state, id).await
}

/// A community's registrations, newest first, with their users; for those who run volunteering.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    community_id: CommunityId,
    status: Option<VolunteerStatus>,
    keyset: &Keyset,
) -> ApiResult<Vec<(volunteer::Model, Option<user::Model>)>> {
    authz::manage_volunteers(actor, community_id)?;
    let mut query = volunteer::Entity::find()
        .filter(volunteer::Column::CommunityId.eq(community_id.0))
        .order_by_desc(volunteer::Column::Id)
        .limit(keyset.limit + 1);
    if let Some(status) = status {
        query = query.filter(volunteer::Column::Status.eq(status.as_str()));
    }
    if let Some(after) = keyset.after_id {
        query = query.filter(volunteer::Column::Id.lt(after));
    }
    let rows = query.all(&state.db).await?;
    with_users(&state.db, rows).await
}

/// Each row with its user (absent only if the user was deleted meanwhile).
pub async fn with_users(
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<volunteer::Model>,
) -> ApiResult<Vec<(volunteer::Model, Option<user::Model>)>> {
    let ids: Vec<i64> = rows.iter().map(|row| row.user_id).collect();
    let users: std::collections::HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let user = users.get(&row.user_id).cloned();
            (row, user)
        })
        .collect())
}

/// The caller's own registrations, in every community.
pub async fn mine(state: &AppState, actor: &Actor) -> ApiResult<Vec<volunteer::Model>> {
    Ok(volunteer::Entity::find()
        .filter(volunteer::Column::UserId.eq(actor.id.0))
        .order_by_asc(volunteer::Column::Id)
        .all(&state.db)
        .await?)
}

/// An approved volunteer of the community, or `NOT_A_VOLUNTEER`.
pub async fn require_approved(
    db: &impl sea_orm::ConnectionTrait,
    community_id: CommunityId,
    user: UserId,
) -> ApiResult<volunteer::Model> {
    match store::volunteer_of(db, community_id, user).await? {
        Some(row) if status_of(&row) == VolunteerStatus::Approved => Ok(row),
        _ => Err(ActivityError::NotAVolunteer.into()),
    }
}

/// A community's skill list and default rate, for its members (the registration form shows them).
pub async fn settings_for(state: &AppState, actor: &Actor, community_id: CommunityId) -> ApiResult<settings::Settings> {
    community::get_community(&state.db, community_id).await?;
    if !actor.in_community(community_id) {
        return Err(ApiError::Forbidden);
    }
    settings::of(&state.db, community_id).await
}
