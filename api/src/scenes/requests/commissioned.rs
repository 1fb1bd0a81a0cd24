//! Requests other scenes open on purpose: a deliberation's resolution becomes a 邻办事 request in the
//! community's 协商决议 category, assigned to the resolution's owner, due on its due date, and then
//! routed, tracked, escalated and confirmed like any other. Re-exported by `service.rs`.

use chrono::{DateTime, Utc};
use ehome_entities::{request_category, service_request};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::lifecycle::{Moderation, Urgency};
use super::store::{self, Moderated, NewRequest, Placement, Submission};
use crate::authz::{self, Actor, RequestScope};
use crate::domain::{CommunityId, UserId};
use crate::identity::auth::AuthUser;
use crate::platform::content::PublicText;
use crate::platform::error::{ApiError, ApiResult};

/// The category of deliberation resolutions.
pub const RESOLUTION_CATEGORY_KEY: &str = "deliberation";
const RESOLUTION_CATEGORY_NAME: &str = "协商决议";
/// Response within three days; the resolution's own due date replaces the resolution deadline.
const RESOLUTION_SLA_HOURS: (i32, i32) = (72, 24 * 30);

/// The community's 协商决议 category, created the first time it is needed (safe across instances:
/// the conflict target is the unique index).
pub async fn resolution_category(
    db: &impl ConnectionTrait,
    community: CommunityId,
    now: DateTime<Utc>,
) -> ApiResult<request_category::Model> {
    super::categories::list(db, community, now).await?;
    let row = request_category::ActiveModel {
        community_id: Set(community.0),
        key: Set(RESOLUTION_CATEGORY_KEY.to_owned()),
        name: Set(RESOLUTION_CATEGORY_NAME.to_owned()),
        response_sla_hours: Set(RESOLUTION_SLA_HOURS.0),
        resolution_sla_hours: Set(RESOLUTION_SLA_HOURS.1),
        active: Set(true),
        created_at: Set(now),
        ..Default::default()
    };
    request_category::Entity::insert(row)
        .on_conflict_do_nothing_on([request_category::Column::CommunityId, request_category::Column::Key])
        .exec(db)
        .await?;
    request_category::Entity::find()
        .filter(request_category::Column::CommunityId.eq(community.0))
        .filter(request_category::Column::Key.eq(RESOLUTION_CATEGORY_KEY))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("category"))
}

/// A request to open for someone: where, what (already screened), who owns it and by when.
pub struct Commission {
    pub community_id: i64,
    pub grid_id: i64,
    pub building_id: i64,
    pub title: PublicText,
    pub description: PublicText,
    pub owner: UserId,
    pub due_at: DateTime<Utc>,
}

/// Whether `owner` may be handed a request placed like this one reported by `reporter` (a handler of
/// its building, grid or community, and not the reporter). Checked before the transaction.
pub async fn check_owner(
    db: &impl ConnectionTrait,
    reporter: UserId,
    commission: &Commission,
) -> ApiResult<super::lifecycle::Level> {
    let owner = Actor::load(db, AuthUser { id: commission.owner })
        .await
        .map_err(|_| ApiError::validation("owner_id", "no such user"))?;
    let scope = RequestScope {
        community: CommunityId(commission.community_id),
        grid_id: commission.grid_id,
        building_id: commission.building_id,
        reporter_id: reporter.0,
        assignee_id: Some(commission.owner.0),
        published: true,
    };
    let level = super::service::level_of(
        &owner,
        CommunityId(commission.community_id),
        commission.grid_id,
        commission.building_id,
    );
    level.filter(|_| authz::can_be_assigned(&owner, &scope)).ok_or_else(|| {
        ApiError::validation(
            "owner_id",
            "must handle requests of this building (leader, grid worker, committee), and not be the one recording it",
        )
    })
}

/// Opens the request inside the caller's transaction, reported by `reporter` (who confirms it when
/// done) and assigned to the owner at `level`; its resolution deadline is the due date.
pub async fn open_commissioned(
    db: &impl ConnectionTrait,
    reporter: UserId,
    category: &request_category::Model,
    commission: Commission,
    level: super::lifecycle::Level,
    now: DateTime<Utc>,
) -> ApiResult<service_request::Model> {
    let placement = Placement {
        community_id: commission.community_id,
        grid_id: commission.grid_id,
        building_id: commission.building_id,
        level,
        assignee_id: Some(commission.owner.0),
    };
    let new = NewRequest {
        title: commission.title.into_inner(),
        description: commission.description.into_inner(),
        location: None,
        photos: Vec::new(),
        urgency: Urgency::Normal,
        anonymous: false,
    };
    let published = Moderated { moderation: Moderation::Published, note: None };
    let submission = Submission { reporter_id: reporter.0, category, placement, new, moderated: published };
    let request = store::insert(db, submission, now).await?;
    let mut due: service_request::ActiveModel = request.into();
    due.resolution_due_at = Set(commission.due_at);
    Ok(due.update(db).await?)
}

/// The requests with these ids, and whether each is done (confirmed, or closed after resolution).
pub async fn progress_of(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<(service_request::Model, bool)>> {
    let rows = service_request::Entity::find().filter(service_request::Column::Id.is_in(ids.to_vec())).all(db).await?;
    rows.into_iter()
        .map(|row| {
            let done = store::status_of(&row)?.is_resolved();
            Ok((row, done))
        })
        .collect()
}
