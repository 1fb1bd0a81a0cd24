//! The use cases of the care round's people: registering recipients (with consent and emergency
//! contacts), assigning visitors, registering devices, logging visits. Each takes the app state, the
//! caller as an `Actor` and parsed input; it authorises, screens text the care team will read, and owns
//! its transaction. A recipient the caller may not see does not exist for them (404).

use chrono::{DateTime, Duration, Utc};
use ehome_entities::{care_device, care_recipient, care_visit};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::error::CareError;
use super::lifecycle::{Circumstance, ConsentBy, DeviceKind, RiskLevel, VisitMode, Wellbeing};
use super::store;
use crate::authz::{self, Actor, CareAccess, CareScope};
use crate::domain::{CommunityId, Description, HouseholdId, Note, Phone, Role, Title, UserId};
use crate::platform::content::{self, Author};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::pagination::Keyset;
use crate::platform::wechat::TextScene;
use crate::scenes::community::service as community;
use crate::scenes::requests::service as requests;
use crate::state::AppState;

/// An emergency contact, seen by the care team only.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    pub name: String,
    pub relation: String,
    pub phone: String,
}

pub struct NewRecipient {
    pub household_id: HouseholdId,
    pub user_id: Option<UserId>,
    pub name: String,
    pub circumstance: Circumstance,
    pub risk_level: RiskLevel,
    pub consent_by: ConsentBy,
    pub guardian_name: Option<String>,
    pub contacts: Vec<(String, String, Phone)>,
    pub visit_interval_days: Option<i32>,
}

pub struct Recipient {
    pub row: care_recipient::Model,
    pub visitors: Vec<i64>,
    pub devices: Vec<care_device::Model>,
    pub access: CareAccess,
}

/// Loads a recipient the caller can see, with who visits them.
pub async fn visible(state: &AppState, actor: &Actor, id: i64) -> ApiResult<Recipient> {
    let row = store::recipient(&state.db, id).await?;
    let visitors = store::visitors_of(&state.db, id).await?;
    let scope = CareScope { community: CommunityId(row.community_id), grid_id: row.grid_id, visitors: &visitors };
    let access = authz::care_access(actor, &scope);
    if !access.visible {
        return Err(ApiError::NotFound("care recipient"));
    }
    let devices = store::devices_of(&state.db, id).await?;
    Ok(Recipient { row, visitors, devices, access })
}

/// Screens the names the care team will read: refused when the check is unsure.
async fn screen_names(state: &AppState, actor: &Actor, names: Vec<String>) -> ApiResult<Vec<String>> {
    let author_row = actor.user().clone();
    let author = Author { openid: &author_row.openid, scene: TextScene::Profile };
    let mut screened = Vec::with_capacity(names.len());
    for name in names {
        screened.push(content::screen_one(&state.wechat, author, name).await?.into_inner());
    }
    Ok(screened)
}

pub async fn register(state: &AppState, actor: &Actor, new: NewRecipient) -> ApiResult<Recipient> {
    let household = community::get_household(&state.db, new.household_id)
        .await
        .map_err(|_| ApiError::validation("household_id", "no such household"))?;
    let building = community::get_building(&state.db, crate::domain::BuildingId(household.building_id)).await?;
    let community_id = CommunityId(building.community_id);
    authz::manage_care(actor, community_id, new.user_id)?;
    let mut names = vec![new.name];
    names.extend(new.guardian_name.clone());
    names.extend(new.contacts.iter().map(|(name, _, _)| name.clone()));
    let mut screened = screen_names(state, actor, names).await?.into_iter();
    let name = screened.next().unwrap_or_default();
    let guardian_name = new.guardian_name.as_ref().and_then(|_| screened.next());
    let contacts: Vec<Contact> = new
        .contacts
        .iter()
        .zip(screened)
        .map(|((_, relation, phone), name)| Contact {
            name,
            relation: relation.clone(),
            phone: phone.as_str().to_owned(),
        })
        .collect();
    let now = state.clock.now();
    let interval = new.visit_interval_days.unwrap_or_else(|| new.risk_level.default_interval_days());
    let row = care_recipient::ActiveModel {
        community_id: Set(community_id.0),
        grid_id: Set(building.grid_id),
        building_id: Set(building.id),
        household_id: Set(household.id),
        user_id: Set(new.user_id.map(|u| u.0)),
        name: Set(name),
        circumstance: Set(new.circumstance.as_str().to_owned()),
        risk_level: Set(new.risk_level.as_str().to_owned()),
        consent_by: Set(new.consent_by.as_str().to_owned()),
        guardian_name: Set(guardian_name),
        consent_recorded_at: Set(now),
        emergency_contacts: Set(serde_json::to_string(&contacts).map_err(ApiError::internal)?),
        visit_interval_days: Set(interval),
        last_visit_at: Set(None),
        next_visit_due_at: Set(now + Duration::days(i64::from(interval))),
        missed_stage: Set(super::lifecycle::MissedStage::None.as_str().to_owned()),
        missed_stage_at: Set(None),
        registered_by: Set(actor.id.0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(Recipient {
        row,
        visitors: vec![],
        devices: vec![],
        access: CareAccess { visible: true, manage: true, visit: true },
    })
}

/// A page of the recipients the caller cares for, newest first: all of a community for its care
/// managers, else those the caller visits or whose grid they serve (decided in the query, so a page
/// is full whoever asks).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    community_id: CommunityId,
    keyset: &Keyset,
) -> ApiResult<Vec<care_recipient::Model>> {
    let mut query = care_recipient::Entity::find().filter(care_recipient::Column::CommunityId.eq(community_id.0));
    if !actor.runs_care(community_id) {
        query = query.filter(store::cared_for_by(&state.db, actor, community_id).await?);
    }
    if let Some(after) = keyset.after_id {
        query = query.filter(care_recipient::Column::Id.lt(after));
    }
    Ok(query.order_by_desc(care_recipient::Column::Id).limit(keyset.limit + 1).all(&state.db).await?)
}

pub async fn assign_visitor(state: &AppState, actor: &Actor, id: i64, visitor: UserId) -> ApiResult<Recipient> {
    let found = visible(state, actor, id).await?;
    let community_id = CommunityId(found.row.community_id);
    authz::manage_care(actor, community_id, found.row.user_id.map(UserId))?;
    if found.row.user_id == Some(visitor.0) {
        return Err(ApiError::PartyToCase);
    }
    let held = store::holders(&state.db, community_id, Role::Volunteer, None).await?;
    let social = store::holders(&state.db, community_id, Role::SocialWorker, None).await?;
    if !held.contains(&visitor.0) && !social.contains(&visitor.0) {
        return Err(ApiError::validation("user_id", "a volunteer or social worker of the community"));
    }
    store::add_visitor(&state.db, id, visitor.0, actor.id.0, state.clock.now()).await?;
    visible(state, actor, id).await
}

pub async fn register_device(
    state: &AppState,
    actor: &Actor,
    id: i64,
    vendor: String,
    device_key: String,
    kind: DeviceKind,
) -> ApiResult<care_device::Model> {
    let found = visible(state, actor, id).await?;
    authz::manage_care(actor, CommunityId(found.row.community_id), found.row.user_id.map(UserId))?;
    if store::device_by_key(&state.db, &vendor, &device_key).await?.is_some() {
        return Err(CareError::DeviceTaken.into());
    }
    let row = care_device::ActiveModel {
        recipient_id: Set(id),
        vendor: Set(vendor),
        device_key: Set(device_key),
        kind: Set(kind.as_str().to_owned()),
        registered_by: Set(actor.id.0),
        created_at: Set(state.clock.now()),
        ..Default::default()
    };
    row.insert(&state.db).await.map_err(|_| CareError::DeviceTaken.into())
}

pub struct NewVisit {
    pub visited_at: Option<DateTime<Utc>>,
    pub mode: VisitMode,
    pub wellbeing: Wellbeing,
    pub note: Option<Note>,
    pub photo_url: Option<String>,
}

/// Logs a visit; "needs help" or "urgent" opens a 邻办事 request on the recipient's behalf, reported by
/// the visitor and routed as usual. The schedule moves on and any missed-visit escalation ends.
pub async fn log_visit(state: &AppState, actor: &Actor, id: i64, visit: NewVisit) -> ApiResult<care_visit::Model> {
    let found = visible(state, actor, id).await?;
    if !found.access.visit {
        return Err(ApiError::Forbidden);
    }
    let now = state.clock.now();
    let visited_at = visit.visited_at.unwrap_or(now);
    if visited_at > now {
        return Err(ApiError::validation("visited_at", "not in the future"));
    }
    let note = match visit.note {
        Some(note) => Some(screen_names(state, actor, vec![note.into_inner()]).await?.concat()),
        None => None,
    };
    let request_id = if visit.wellbeing.opens_request() {
        Some(open_request(state, actor, &found.row, visit.wellbeing, note.as_deref()).await?)
    } else {
        None
    };
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let row = store::insert_visit(
        &txn,
        care_visit::ActiveModel {
            recipient_id: Set(id),
            visitor_id: Set(actor.id.0),
            visited_at: Set(visited_at),
            mode: Set(visit.mode.as_str().to_owned()),
            wellbeing: Set(visit.wellbeing.as_str().to_owned()),
            note: Set(note),
            photo_url: Set(visit.photo_url),
            request_id: Set(request_id),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    store::record_visit_on_schedule(&txn, &found.row, visited_at).await?;
    txn.commit().await?;
    Ok(row)
}

/// The request a worrying visit opens, through the requests scene's own use case. Its title names no
/// one: a request is seen by neighbours' handlers, and being cared for is private.
async fn open_request(
    state: &AppState,
    actor: &Actor,
    recipient: &care_recipient::Model,
    wellbeing: Wellbeing,
    note: Option<&str>,
) -> ApiResult<i64> {
    let community_id = CommunityId(recipient.community_id);
    let category_id = requests::category_for(state, community_id, "elderly_care").await?;
    let urgency = match wellbeing {
        Wellbeing::Urgent => crate::scenes::requests::lifecycle::Urgency::Urgent,
        _ => crate::scenes::requests::lifecycle::Urgency::Normal,
    };
    let report = requests::Report {
        category_id,
        building_id: Some(crate::domain::BuildingId(recipient.building_id)),
        title: Title::parse("title", "关爱走访：需要协助")?,
        description: Description::parse("description", note.filter(|n| !n.is_empty()).unwrap_or("走访中发现需要协助"))?,
        location: None,
        photos: vec![],
        urgency,
        anonymous: false,
    };
    Ok(requests::submit(state, actor, report).await?.request.id)
}

/// A page of a recipient's visits, the latest logged first.
pub async fn visits(state: &AppState, actor: &Actor, id: i64, keyset: &Keyset) -> ApiResult<Vec<care_visit::Model>> {
    visible(state, actor, id).await?;
    store::visits_of(&state.db, id, keyset).await
}
