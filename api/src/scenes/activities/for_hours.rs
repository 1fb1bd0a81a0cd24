//! What the hours scene reads of an activity and may do to it: its facts, its attendance, who may
//! organise it, and the one status change it makes (`ended → hours_approved`). The hours scene calls
//! these through `service` and nothing else of this scene.

use chrono::{DateTime, Utc};
use ehome_entities::{activity, activity_signup};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::error::ActivityError;
use super::lifecycle::{Action, State, Status};
use super::signups::SignupStatus;
use super::store;
use crate::authz::Actor;
use crate::domain::{ActivityId, CommunityId, TeamId, UserId};
use crate::platform::error::ApiError;

/// An activity as the hours scene needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityForHours {
    pub id: ActivityId,
    pub community_id: CommunityId,
    pub organiser_id: UserId,
    pub team_id: Option<TeamId>,
    /// The leader of the activity's team, who may organise it.
    pub team_leader_id: Option<UserId>,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub points_per_hour_minor: i64,
    pub status: Status,
}

/// One confirmed volunteer's attendance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub signup_id: i64,
    pub user_id: UserId,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Comma list, e.g. `outside_radius`.
    pub checkin_flags: Option<String>,
    pub checked_out_at: Option<DateTime<Utc>>,
    /// Comma list, e.g. `auto_checkout,outside_radius`.
    pub checkout_flags: Option<String>,
}

pub(super) fn status_of(row: &activity::Model) -> Result<Status, ApiError> {
    Status::parse(&row.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown activity status {}", row.status)))
}

pub(super) async fn describe(db: &impl ConnectionTrait, row: &activity::Model) -> Result<ActivityForHours, ApiError> {
    let team_leader_id = match row.team_id {
        Some(team) => store::team(db, TeamId(team)).await?.map(|team| UserId(team.leader_id)),
        None => None,
    };
    Ok(ActivityForHours {
        id: ActivityId(row.id),
        community_id: CommunityId(row.community_id),
        organiser_id: UserId(row.organiser_id),
        team_id: row.team_id.map(TeamId),
        team_leader_id,
        title: row.title.clone(),
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        points_per_hour_minor: row.points_per_hour_minor,
        status: status_of(row)?,
    })
}

pub async fn activity_for_hours(db: &impl ConnectionTrait, id: ActivityId) -> Result<ActivityForHours, ApiError> {
    let row = store::get(db, id).await?;
    describe(db, &row).await
}

/// Confirmed sign-ups in arrival order, with their check-in and check-out.
pub async fn attendance(db: &impl ConnectionTrait, activity_id: ActivityId) -> Result<Vec<Attendance>, ApiError> {
    let rows = activity_signup::Entity::find()
        .filter(activity_signup::Column::ActivityId.eq(activity_id.0))
        .filter(activity_signup::Column::Status.eq(SignupStatus::Confirmed.as_str()))
        .order_by_asc(activity_signup::Column::Arrival)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Attendance {
            signup_id: row.id,
            user_id: UserId(row.user_id),
            checked_in_at: row.checked_in_at,
            checkin_flags: row.checkin_flags,
            checked_out_at: row.checked_out_at,
            checkout_flags: row.checkout_flags,
        })
        .collect())
}

/// The committee, a social worker of the activity's community, an admin, or the leader of its team.
pub async fn may_organise(actor: &Actor, activity: &ActivityForHours) -> bool {
    crate::authz::organises(actor, activity.community_id, activity.team_leader_id)
}

/// `ended → hours_approved`, as a compare-and-set through the lifecycle: of two approvals racing, one
/// moves the status and the other gets `INVALID_TRANSITION`.
pub async fn mark_hours_approved(
    txn: &impl ConnectionTrait,
    activity_id: ActivityId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let row = store::get(txn, activity_id).await?;
    let from = status_of(&row)?;
    let state = State { status: from, starts_at: row.starts_at, ends_at: row.ends_at };
    let refused = || ActivityError::InvalidTransition {
        action: Action::ApproveHours.as_str().to_owned(),
        status: from.as_str().to_owned(),
    };
    let to = Action::ApproveHours.decide(&state, now).map_err(|_| refused())?;
    let updated = activity::Entity::update_many()
        .col_expr(activity::Column::Status, Expr::value(to.as_str()))
        .col_expr(activity::Column::UpdatedAt, Expr::value(now))
        .filter(activity::Column::Id.eq(activity_id.0))
        .filter(activity::Column::Status.eq(from.as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(refused().into());
    }
    Ok(())
}

/// What certificates and leaderboards need of a volunteer: the private real name (certificates only)
/// and whether they consented to appear by name on leaderboards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerProfile {
    pub user_id: UserId,
    pub real_name: Option<String>,
    pub leaderboard_consent: bool,
}

/// The approved volunteers of a community, by user.
pub async fn volunteer_profiles(
    db: &impl ConnectionTrait,
    community_id: CommunityId,
) -> Result<std::collections::HashMap<UserId, VolunteerProfile>, ApiError> {
    use ehome_entities::volunteer;
    let rows = volunteer::Entity::find()
        .filter(volunteer::Column::CommunityId.eq(community_id.0))
        .filter(volunteer::Column::Status.eq(super::lifecycle::VolunteerStatus::Approved.as_str()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let user_id = UserId(row.user_id);
            (
                user_id,
                VolunteerProfile { user_id, real_name: row.real_name, leaderboard_consent: row.leaderboard_consent },
            )
        })
        .collect())
}

/// The committee's volunteering figures of a community over `[from, to)`: activities held (ended in
/// the period, hours approved or not), people they served (their recorded beneficiaries), and the
/// teams that existed by `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActivityFigures {
    pub activities_held: u64,
    pub people_served: i64,
    pub teams: u64,
}

pub async fn activity_figures(
    db: &impl ConnectionTrait,
    community_id: CommunityId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ActivityFigures, ApiError> {
    use ehome_entities::volunteer_team;
    use sea_orm::PaginatorTrait;
    let held = activity::Entity::find()
        .filter(activity::Column::CommunityId.eq(community_id.0))
        .filter(activity::Column::Status.is_in([Status::Ended.as_str(), Status::HoursApproved.as_str()]))
        .filter(activity::Column::EndsAt.gte(from))
        .filter(activity::Column::EndsAt.lt(to))
        .all(db)
        .await?;
    let teams = volunteer_team::Entity::find()
        .filter(volunteer_team::Column::CommunityId.eq(community_id.0))
        .filter(volunteer_team::Column::CreatedAt.lt(to))
        .count(db)
        .await?;
    Ok(ActivityFigures {
        activities_held: held.len() as u64,
        people_served: held.iter().filter_map(|row| row.beneficiaries).map(i64::from).sum(),
        teams,
    })
}

// What the hours scene reads besides (added by the hours half, issue #11): titles for its records,
// the volunteer's private real name for their certificate, leaderboard consent, and the statistics'
// activities held and teams.

/// Titles of activities by id.
pub async fn titles(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, ApiError> {
    use sea_orm::QuerySelect;
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<(i64, String)> = activity::Entity::find()
        .select_only()
        .column(activity::Column::Id)
        .column(activity::Column::Title)
        .filter(activity::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The real name a volunteer registered with (their latest registration that gives one): private,
/// shown only to them, on their certificate.
pub async fn real_name(db: &impl ConnectionTrait, user: UserId) -> Result<Option<String>, ApiError> {
    use ehome_entities::volunteer;
    let found = volunteer::Entity::find()
        .filter(volunteer::Column::UserId.eq(user.0))
        .filter(volunteer::Column::RealName.is_not_null())
        .order_by_desc(volunteer::Column::Id)
        .one(db)
        .await?;
    Ok(found.and_then(|v| v.real_name).filter(|name| !name.trim().is_empty()))
}

/// Those of `users` who are approved volunteers of the community and consent to its leaderboards.
pub async fn leaderboard_consents(
    db: &impl ConnectionTrait,
    community: CommunityId,
    users: &[UserId],
) -> Result<std::collections::HashSet<UserId>, ApiError> {
    use ehome_entities::volunteer;
    if users.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let rows = volunteer::Entity::find()
        .filter(volunteer::Column::CommunityId.eq(community.0))
        .filter(volunteer::Column::UserId.is_in(users.iter().map(|u| u.0)))
        .filter(volunteer::Column::Status.eq(super::lifecycle::VolunteerStatus::Approved.as_str()))
        .filter(volunteer::Column::LeaderboardConsent.eq(true))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|v| UserId(v.user_id)).collect())
}

/// The community's activities held (ended, or with hours approved) that ended in `[from, to)`, as
/// `activity_figures` counts them: their end and the beneficiaries they recorded.
pub async fn held_between(
    db: &impl ConnectionTrait,
    community: CommunityId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, Option<i32>)>, ApiError> {
    use sea_orm::QuerySelect;
    let held = [Status::Ended.as_str(), Status::HoursApproved.as_str()];
    Ok(activity::Entity::find()
        .select_only()
        .column(activity::Column::EndsAt)
        .column(activity::Column::Beneficiaries)
        .filter(activity::Column::CommunityId.eq(community.0))
        .filter(activity::Column::Status.is_in(held))
        .filter(activity::Column::EndsAt.gte(from))
        .filter(activity::Column::EndsAt.lt(to))
        .into_tuple()
        .all(db)
        .await?)
}

/// How many volunteer teams the community has.
pub async fn team_count(db: &impl ConnectionTrait, community: CommunityId) -> Result<u64, ApiError> {
    use ehome_entities::volunteer_team;
    use sea_orm::PaginatorTrait;
    Ok(volunteer_team::Entity::find().filter(volunteer_team::Column::CommunityId.eq(community.0)).count(db).await?)
}
