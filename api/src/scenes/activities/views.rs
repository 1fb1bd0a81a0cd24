//! What the scene shows: activities (never their check-in secret), sign-ups with waitlist positions,
//! volunteers (the real name only to the volunteer and organisers), teams.

use chrono::{DateTime, Utc};
use ehome_entities::{activity, activity_signup, user, volunteer, volunteer_team, volunteer_team_member};
use serde::Serialize;

use super::lifecycle::Status;
use crate::points::points_text;

#[derive(Debug, Serialize)]
pub struct SignupView {
    pub id: i64,
    pub activity_id: i64,
    pub user_id: i64,
    pub nickname: Option<String>,
    pub status: String,
    /// Waiting only: 1 is promoted next.
    pub position: Option<u64>,
    pub arrival: i64,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checkin_flags: Vec<String>,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub checkout_flags: Vec<String>,
    pub created_at: DateTime<Utc>,
}

fn flags(text: Option<&str>) -> Vec<String> {
    text.map(|t| t.split(',').filter(|f| !f.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}

pub fn signup_view(row: activity_signup::Model, position: Option<u64>, user: Option<&user::Model>) -> SignupView {
    SignupView {
        id: row.id,
        activity_id: row.activity_id,
        user_id: row.user_id,
        nickname: user.map(|u| u.nickname.clone()),
        status: row.status,
        position,
        arrival: row.arrival,
        checked_in_at: row.checked_in_at,
        checkin_flags: flags(row.checkin_flags.as_deref()),
        checked_out_at: row.checked_out_at,
        checkout_flags: flags(row.checkout_flags.as_deref()),
        created_at: row.created_at,
    }
}

#[derive(Debug, Serialize)]
pub struct ActivityView {
    pub id: i64,
    pub community_id: i64,
    pub organiser_id: i64,
    pub team_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub place: Option<String>,
    pub grid_id: Option<i64>,
    pub building_id: Option<i64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub radius_m: Option<i32>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signup_deadline: DateTime<Utc>,
    pub capacity: i32,
    pub confirmed_count: i32,
    pub audience: String,
    pub audience_id: Option<i64>,
    pub points_per_hour: String,
    pub cover_url: Option<String>,
    pub beneficiaries: Option<i32>,
    pub status: String,
    pub status_label: &'static str,
    /// The caller's sign-up, if they have one that is not cancelled.
    pub my_signup: Option<SignupView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn activity_view(row: activity::Model, my_signup: Option<SignupView>) -> ActivityView {
    let status_label = Status::parse(&row.status).map_or("", Status::label);
    ActivityView {
        id: row.id,
        community_id: row.community_id,
        organiser_id: row.organiser_id,
        team_id: row.team_id,
        title: row.title,
        description: row.description,
        place: row.place,
        grid_id: row.grid_id,
        building_id: row.building_id,
        latitude: row.latitude,
        longitude: row.longitude,
        radius_m: row.radius_m,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        signup_deadline: row.signup_deadline,
        capacity: row.capacity,
        confirmed_count: row.confirmed_count,
        audience: row.audience,
        audience_id: row.audience_id,
        points_per_hour: points_text(row.points_per_hour_minor),
        cover_url: row.cover_url,
        beneficiaries: row.beneficiaries,
        status: row.status,
        status_label,
        my_signup,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[derive(Debug, Serialize)]
pub struct VolunteerView {
    pub id: i64,
    pub community_id: i64,
    pub user_id: i64,
    pub nickname: Option<String>,
    pub status: String,
    pub skills: Vec<String>,
    pub available_times: Option<String>,
    pub real_name: Option<String>,
    pub leaderboard_consent: bool,
    pub note: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Shown to the volunteer themself and to those who run volunteering in the community only.
pub fn volunteer_view(row: volunteer::Model, user: Option<&user::Model>) -> VolunteerView {
    VolunteerView {
        id: row.id,
        community_id: row.community_id,
        user_id: row.user_id,
        nickname: user.map(|u| u.nickname.clone()),
        status: row.status,
        skills: serde_json::from_str(&row.skills).unwrap_or_default(),
        available_times: row.available_times,
        real_name: row.real_name,
        leaderboard_consent: row.leaderboard_consent,
        note: row.note,
        decided_by: row.decided_by,
        decided_at: row.decided_at,
        created_at: row.created_at,
    }
}

#[derive(Debug, Serialize)]
pub struct TeamView {
    pub id: i64,
    pub community_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub leader_id: i64,
    pub member_count: u64,
    pub created_at: DateTime<Utc>,
}

pub fn team_view(team: volunteer_team::Model, member_count: u64) -> TeamView {
    TeamView {
        id: team.id,
        community_id: team.community_id,
        name: team.name,
        description: team.description,
        leader_id: team.leader_id,
        member_count,
        created_at: team.created_at,
    }
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub user_id: i64,
    pub nickname: Option<String>,
    pub joined_at: DateTime<Utc>,
}

pub fn member_view(member: volunteer_team_member::Model, user: Option<&user::Model>) -> MemberView {
    MemberView { user_id: member.user_id, nickname: user.map(|u| u.nickname.clone()), joined_at: member.joined_at }
}
