//! The rows of notices: the notice with the buildings it reaches, the households' read receipts (one
//! per household, the first opener's, kept by the primary key) and the door-to-door marks. Every
//! function takes a connection or transaction.

use chrono::{DateTime, Utc};
use ehome_entities::{notice, notice_building, notice_read, notice_told};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::error::NoticeError;
use super::lifecycle::Importance;
use crate::domain::Area;
use crate::platform::content::PublicText;
use crate::platform::error::ApiError;
use crate::platform::pagination::Keyset;

/// A notice ready to store: its text screened, its area resolved into buildings.
pub struct NewNotice {
    pub community_id: i64,
    pub author_id: i64,
    pub area: Area,
    pub buildings: Vec<i64>,
    pub title: PublicText,
    pub body: PublicText,
    pub importance: Importance,
    pub attachments: Vec<String>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewNotice, now: DateTime<Utc>) -> Result<notice::Model, ApiError> {
    let row = notice::ActiveModel {
        community_id: Set(new.community_id),
        author_id: Set(new.author_id),
        scope_kind: Set(new.area.kind().as_str().to_owned()),
        scope_ids: Set(new.area.ids_json()),
        title: Set(new.title.into_inner()),
        body: Set(new.body.into_inner()),
        importance: Set(new.importance.as_str().to_owned()),
        attachments: Set(serde_json::to_string(&new.attachments).map_err(ApiError::internal)?),
        published_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let links = new
        .buildings
        .iter()
        .map(|&building_id| notice_building::ActiveModel { notice_id: Set(row.id), building_id: Set(building_id) });
    notice_building::Entity::insert_many(links).exec(db).await?;
    Ok(row)
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<notice::Model, ApiError> {
    notice::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound("notice"))
}

pub fn importance_of(row: &notice::Model) -> Result<Importance, ApiError> {
    Importance::parse(&row.importance)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored importance {:?}", row.importance)))
}

pub fn attachments_of(row: &notice::Model) -> Vec<String> {
    serde_json::from_str(&row.attachments).unwrap_or_default()
}

/// The buildings a notice reaches, in id order.
pub async fn buildings_of(db: &impl ConnectionTrait, notice_id: i64) -> Result<Vec<i64>, ApiError> {
    let rows = notice_building::Entity::find()
        .filter(notice_building::Column::NoticeId.eq(notice_id))
        .order_by_asc(notice_building::Column::BuildingId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.building_id).collect())
}

/// Which notices of a community a caller lists.
pub enum ListScope {
    All,
    /// Those reaching one of these buildings, and the caller's own.
    Reaching {
        buildings: Vec<i64>,
        author_id: i64,
    },
}

/// A page of a community's notices, newest first (keyset by id, one more row than the limit).
pub async fn page(
    db: &impl ConnectionTrait,
    community_id: i64,
    scope: ListScope,
    keyset: &Keyset,
) -> Result<Vec<notice::Model>, ApiError> {
    let mut select = notice::Entity::find()
        .filter(notice::Column::CommunityId.eq(community_id))
        .order_by_desc(notice::Column::Id)
        .limit(keyset.limit + 1);
    if let Some(before) = keyset.after_id {
        select = select.filter(notice::Column::Id.lt(before));
    }
    if let ListScope::Reaching { buildings, author_id } = scope {
        let reaching = Query::select()
            .column(notice_building::Column::NoticeId)
            .from(notice_building::Entity)
            .and_where(notice_building::Column::BuildingId.is_in(buildings))
            .to_owned();
        select = select.filter(
            Condition::any().add(notice::Column::Id.in_subquery(reaching)).add(notice::Column::AuthorId.eq(author_id)),
        );
    }
    Ok(select.all(db).await?)
}

/// Records that these households read the notice; a household that had already read it keeps its
/// first receipt.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    notice_id: i64,
    households: &[i64],
    reader_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if households.is_empty() {
        return Ok(());
    }
    let rows = households.iter().map(|&household_id| notice_read::ActiveModel {
        notice_id: Set(notice_id),
        household_id: Set(household_id),
        reader_id: Set(reader_id),
        read_at: Set(now),
    });
    notice_read::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([notice_read::Column::NoticeId, notice_read::Column::HouseholdId])
        .exec(db)
        .await?;
    Ok(())
}

pub async fn reads(db: &impl ConnectionTrait, notice_id: i64) -> Result<Vec<notice_read::Model>, ApiError> {
    Ok(notice_read::Entity::find().filter(notice_read::Column::NoticeId.eq(notice_id)).all(db).await?)
}

pub async fn told(db: &impl ConnectionTrait, notice_id: i64) -> Result<Vec<notice_told::Model>, ApiError> {
    Ok(notice_told::Entity::find().filter(notice_told::Column::NoticeId.eq(notice_id)).all(db).await?)
}

/// Marks a household told in person, once: a second mark is `NOTICE_ALREADY_TOLD`, and so is a mark
/// racing another (the primary key decides).
pub async fn mark_told(
    db: &impl ConnectionTrait,
    notice_id: i64,
    household_id: i64,
    told_by: i64,
    note: PublicText,
    now: DateTime<Utc>,
) -> Result<notice_told::Model, ApiError> {
    let row = notice_told::ActiveModel {
        notice_id: Set(notice_id),
        household_id: Set(household_id),
        told_by: Set(told_by),
        note: Set(note.into_inner()),
        told_at: Set(now),
    };
    let inserted = notice_told::Entity::insert(row)
        .on_conflict_do_nothing_on([notice_told::Column::NoticeId, notice_told::Column::HouseholdId])
        .exec(db)
        .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(_)) {
        return Err(NoticeError::AlreadyTold.into());
    }
    notice_told::Entity::find_by_id((notice_id, household_id)).one(db).await?.ok_or(ApiError::NotFound("notice"))
}
