//! The rows of deliberations: the topic with its buildings and source requests, groups and their
//! members, the panel, and the status compare-and-set. Meetings, minutes and resolutions are in
//! `meetings_store.rs`. Every function takes a connection or transaction.

use chrono::{DateTime, Utc};
use ehome_entities::{
    deliberation, deliberation_building, deliberation_group, deliberation_group_member, deliberation_panel,
    deliberation_request,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::error::DeliberationError;
use super::lifecycle::{ChosenBy, PanelKind, Profession, Severity, Status, Urgency};
use crate::domain::Area;
use crate::platform::content::PublicText;
use crate::platform::error::ApiError;
use crate::platform::pagination::Keyset;

pub struct NewDeliberation {
    pub community_id: i64,
    pub proposed_by: i64,
    pub title: PublicText,
    pub issue: PublicText,
    pub evidence: PublicText,
    pub severity: Severity,
    pub urgency: Urgency,
    pub area: Area,
    pub buildings: Vec<i64>,
    pub requests: Vec<i64>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewDeliberation,
    now: DateTime<Utc>,
) -> Result<deliberation::Model, ApiError> {
    let row = deliberation::ActiveModel {
        community_id: Set(new.community_id),
        title: Set(new.title.into_inner()),
        issue: Set(new.issue.into_inner()),
        evidence: Set(new.evidence.into_inner()),
        severity: Set(new.severity.as_str().to_owned()),
        urgency: Set(new.urgency.as_str().to_owned()),
        scope_kind: Set(new.area.kind().as_str().to_owned()),
        scope_ids: Set(new.area.ids_json()),
        status: Set(Status::Proposed.as_str().to_owned()),
        proposed_by: Set(new.proposed_by),
        anchored_by: Set(None),
        anchored_at: Set(None),
        closed_at: Set(None),
        closing_note: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let buildings = new.buildings.iter().map(|&building_id| deliberation_building::ActiveModel {
        deliberation_id: Set(row.id),
        building_id: Set(building_id),
    });
    deliberation_building::Entity::insert_many(buildings).exec_without_returning(db).await?;
    if !new.requests.is_empty() {
        let requests = new.requests.iter().map(|&request_id| deliberation_request::ActiveModel {
            deliberation_id: Set(row.id),
            request_id: Set(request_id),
        });
        deliberation_request::Entity::insert_many(requests).exec_without_returning(db).await?;
    }
    Ok(row)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<deliberation::Model, ApiError> {
    deliberation::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("deliberation"))
}

pub fn status_of(row: &deliberation::Model) -> Result<Status, ApiError> {
    Status::parse(&row.status)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored deliberation status {:?}", row.status)))
}

/// Moves the status from `from` to `to` if it is still `from` (a compare-and-set, so two instances or
/// two committee members never both apply a change); a lost race is `DELIBERATION_WRONG_STATUS`.
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: i64,
    from: Status,
    to: Status,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<deliberation::Model, ApiError> {
    let mut update = deliberation::Entity::update_many()
        .col_expr(deliberation::Column::Status, Expr::value(to.as_str()))
        .col_expr(deliberation::Column::UpdatedAt, Expr::value(now))
        .filter(deliberation::Column::Id.eq(id))
        .filter(deliberation::Column::Status.eq(from.as_str()));
    if to == Status::Anchored {
        update = update
            .col_expr(deliberation::Column::AnchoredBy, Expr::value(actor))
            .col_expr(deliberation::Column::AnchoredAt, Expr::value(now));
    }
    if to.is_finished() {
        update = update.col_expr(deliberation::Column::ClosedAt, Expr::value(now));
    }
    if update.exec(db).await?.rows_affected == 0 {
        let status = get(db, id).await?.status;
        return Err(DeliberationError::WrongStatus { action: to.as_str().to_owned(), status }.into());
    }
    get(db, id).await
}

/// Why the committee closed it, shown with the deliberation.
pub async fn set_closing_note(
    db: &impl ConnectionTrait,
    row: deliberation::Model,
    note: PublicText,
) -> Result<deliberation::Model, ApiError> {
    let mut active: deliberation::ActiveModel = row.into();
    active.closing_note = Set(Some(note.into_inner()));
    Ok(active.update(db).await?)
}

pub async fn buildings_of(db: &impl ConnectionTrait, id: i64) -> Result<Vec<i64>, ApiError> {
    let rows = deliberation_building::Entity::find()
        .filter(deliberation_building::Column::DeliberationId.eq(id))
        .order_by_asc(deliberation_building::Column::BuildingId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.building_id).collect())
}

pub async fn requests_of(db: &impl ConnectionTrait, id: i64) -> Result<Vec<i64>, ApiError> {
    let rows = deliberation_request::Entity::find()
        .filter(deliberation_request::Column::DeliberationId.eq(id))
        .order_by_asc(deliberation_request::Column::RequestId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.request_id).collect())
}

/// Which deliberations of a community a caller lists.
pub enum ListScope {
    All,
    /// Those affecting these buildings, those the user proposed or sits on the panel of, and those of
    /// the groups they belong to.
    Involving {
        buildings: Vec<i64>,
        user_id: i64,
    },
}

pub async fn page(
    db: &impl ConnectionTrait,
    community_id: i64,
    scope: ListScope,
    keyset: &Keyset,
) -> Result<Vec<deliberation::Model>, ApiError> {
    let mut select = deliberation::Entity::find()
        .filter(deliberation::Column::CommunityId.eq(community_id))
        .order_by_desc(deliberation::Column::Id)
        .limit(keyset.limit + 1);
    if let Some(before) = keyset.after_id {
        select = select.filter(deliberation::Column::Id.lt(before));
    }
    if let ListScope::Involving { buildings, user_id } = scope {
        let affecting = Query::select()
            .column(deliberation_building::Column::DeliberationId)
            .from(deliberation_building::Entity)
            .and_where(deliberation_building::Column::BuildingId.is_in(buildings))
            .to_owned();
        let seated = Query::select()
            .column(deliberation_panel::Column::DeliberationId)
            .from(deliberation_panel::Entity)
            .and_where(deliberation_panel::Column::UserId.eq(user_id))
            .to_owned();
        let groups = Query::select()
            .column(deliberation_group::Column::DeliberationId)
            .from(deliberation_group::Entity)
            .inner_join(
                deliberation_group_member::Entity,
                Expr::col((deliberation_group_member::Entity, deliberation_group_member::Column::GroupId))
                    .equals((deliberation_group::Entity, deliberation_group::Column::Id)),
            )
            .and_where(
                Expr::col((deliberation_group_member::Entity, deliberation_group_member::Column::UserId)).eq(user_id),
            )
            .to_owned();
        select = select.filter(
            Condition::any()
                .add(deliberation::Column::ProposedBy.eq(user_id))
                .add(deliberation::Column::Id.in_subquery(affecting))
                .add(deliberation::Column::Id.in_subquery(seated))
                .add(deliberation::Column::Id.in_subquery(groups)),
        );
    }
    Ok(select.all(db).await?)
}

pub async fn insert_group(
    db: &impl ConnectionTrait,
    deliberation_id: i64,
    name: PublicText,
    description: PublicText,
    members: &[i64],
    now: DateTime<Utc>,
) -> Result<deliberation_group::Model, ApiError> {
    let group = deliberation_group::ActiveModel {
        deliberation_id: Set(deliberation_id),
        name: Set(name.into_inner()),
        description: Set(description.into_inner()),
        poll_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    if !members.is_empty() {
        let rows = members
            .iter()
            .map(|&user_id| deliberation_group_member::ActiveModel { group_id: Set(group.id), user_id: Set(user_id) });
        deliberation_group_member::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(group)
}

pub async fn groups_of(db: &impl ConnectionTrait, id: i64) -> Result<Vec<deliberation_group::Model>, ApiError> {
    Ok(deliberation_group::Entity::find()
        .filter(deliberation_group::Column::DeliberationId.eq(id))
        .order_by_asc(deliberation_group::Column::Id)
        .all(db)
        .await?)
}

pub async fn get_group(
    db: &impl ConnectionTrait,
    deliberation_id: i64,
    id: i64,
) -> Result<deliberation_group::Model, ApiError> {
    deliberation_group::Entity::find_by_id(id)
        .filter(deliberation_group::Column::DeliberationId.eq(deliberation_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("group"))
}

/// The members of these groups: (group id, user id).
pub async fn members_of(db: &impl ConnectionTrait, groups: &[i64]) -> Result<Vec<(i64, i64)>, ApiError> {
    let rows = deliberation_group_member::Entity::find()
        .filter(deliberation_group_member::Column::GroupId.is_in(groups.to_vec()))
        .order_by_asc(deliberation_group_member::Column::UserId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.group_id, r.user_id)).collect())
}

/// Records the poll that elects a group's representatives, once (compare-and-set on the empty
/// column): a second election racing the first is `ELECTION_EXISTS`.
pub async fn set_group_poll(db: &impl ConnectionTrait, group_id: i64, poll_id: i64) -> Result<(), ApiError> {
    let done = deliberation_group::Entity::update_many()
        .col_expr(deliberation_group::Column::PollId, Expr::value(poll_id))
        .filter(deliberation_group::Column::Id.eq(group_id))
        .filter(deliberation_group::Column::PollId.is_null())
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(DeliberationError::ElectionExists.into());
    }
    Ok(())
}

/// A seat to add to the panel.
pub struct Seat {
    pub deliberation_id: i64,
    /// 0 for professionals (they represent no group).
    pub group_id: i64,
    pub user_id: i64,
    pub kind: PanelKind,
    pub chosen_by: ChosenBy,
    pub profession: Option<Profession>,
    pub reason: Option<PublicText>,
    pub decided_by: Option<i64>,
}

/// Seats someone; the unique index refuses the same person twice in one group (or twice as a
/// professional), also when two requests race.
pub async fn seat(
    db: &impl ConnectionTrait,
    seat: Seat,
    now: DateTime<Utc>,
) -> Result<deliberation_panel::Model, ApiError> {
    let row = deliberation_panel::ActiveModel {
        deliberation_id: Set(seat.deliberation_id),
        group_id: Set(seat.group_id),
        user_id: Set(seat.user_id),
        kind: Set(seat.kind.as_str().to_owned()),
        chosen_by: Set(seat.chosen_by.as_str().to_owned()),
        profession: Set(seat.profession.map(|p| p.as_str().to_owned())),
        reason: Set(seat.reason.map(PublicText::into_inner)),
        decided_by: Set(seat.decided_by),
        created_at: Set(now),
        ..Default::default()
    };
    let inserted = deliberation_panel::Entity::insert(row)
        .on_conflict_do_nothing_on([
            deliberation_panel::Column::DeliberationId,
            deliberation_panel::Column::GroupId,
            deliberation_panel::Column::UserId,
        ])
        .exec(db)
        .await?;
    match inserted {
        sea_orm::TryInsertResult::Inserted(done) => deliberation_panel::Entity::find_by_id(done.last_insert_id)
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("panel")),
        _ => Err(DeliberationError::AlreadyOnPanel.into()),
    }
}

pub async fn panel_of(db: &impl ConnectionTrait, id: i64) -> Result<Vec<deliberation_panel::Model>, ApiError> {
    Ok(deliberation_panel::Entity::find()
        .filter(deliberation_panel::Column::DeliberationId.eq(id))
        .order_by_asc(deliberation_panel::Column::Id)
        .all(db)
        .await?)
}
