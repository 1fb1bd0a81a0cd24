//! The rows of merchants and staff invites, on `&impl ConnectionTrait` so a use case composes them
//! in one transaction. Statuses cross the column boundary here, as the enums of `lifecycle.rs`.

use chrono::{DateTime, Utc};
use ehome_entities::{merchant, merchant_staff_invite};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::error::MerchantError;
use super::lifecycle::{AllianceLevel, Decision, MerchantKind, MerchantStatus};
use crate::authz::MerchantScope;
use crate::domain::{CommunityId, MerchantId, UserId};
use crate::platform::error::ApiError;

/// An application as the service screened it.
pub struct NewMerchant {
    pub community: CommunityId,
    pub name: String,
    pub kind: MerchantKind,
    pub business_category: String,
    pub address: String,
    pub contact_phone: String,
    pub licence_number: String,
    pub alliance_level: AllianceLevel,
    pub alliance_id: i64,
    pub owner: UserId,
}

fn stored<T>(column: &str, word: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(word).ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown stored {column} {word:?}")))
}

pub fn status_of(merchant: &merchant::Model) -> Result<MerchantStatus, ApiError> {
    stored("merchant status", &merchant.status, MerchantStatus::parse)
}

pub fn level_of(merchant: &merchant::Model) -> Result<AllianceLevel, ApiError> {
    stored("alliance level", &merchant.alliance_level, AllianceLevel::parse)
}

pub fn scope_of(merchant: &merchant::Model) -> Result<MerchantScope, ApiError> {
    Ok(MerchantScope {
        id: MerchantId(merchant.id),
        community: CommunityId(merchant.community_id),
        owner: merchant.owner_id.map(UserId),
        above_community: level_of(merchant)? != AllianceLevel::Community,
    })
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewMerchant,
    now: DateTime<Utc>,
) -> Result<merchant::Model, ApiError> {
    Ok(merchant::ActiveModel {
        community_id: Set(new.community.0),
        name: Set(new.name),
        status: Set(MerchantStatus::Pending.as_str().to_owned()),
        created_at: Set(now),
        kind: Set(new.kind.as_str().to_owned()),
        business_category: Set(new.business_category),
        address: Set(new.address),
        contact_phone: Set(Some(new.contact_phone)),
        licence_number: Set(new.licence_number),
        alliance_level: Set(new.alliance_level.as_str().to_owned()),
        alliance_id: Set(new.alliance_id),
        owner_id: Set(Some(new.owner.0)),
        decided_by: Set(None),
        decided_at: Set(None),
        decision_note: Set(None),
        updated_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn get(db: &impl ConnectionTrait, id: MerchantId) -> Result<merchant::Model, ApiError> {
    merchant::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("merchant"))
}

/// Applies a decision with a compare-and-set on the status, so two deciders cannot both move it.
pub async fn decide(
    db: &impl ConnectionTrait,
    merchant: &merchant::Model,
    decision: Decision,
    decider: UserId,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<merchant::Model, ApiError> {
    let from = status_of(merchant)?;
    let refused = || MerchantError::InvalidTransition {
        decision: decision.as_str().to_owned(),
        status: from.as_str().to_owned(),
    };
    let to = decision.apply(from).ok_or_else(refused)?;
    let applied = merchant::Entity::update_many()
        .col_expr(merchant::Column::Status, Expr::value(to.as_str()))
        .col_expr(merchant::Column::DecidedBy, Expr::value(decider.0))
        .col_expr(merchant::Column::DecidedAt, Expr::value(now))
        .col_expr(merchant::Column::DecisionNote, Expr::value(note))
        .col_expr(merchant::Column::UpdatedAt, Expr::value(now))
        .filter(merchant::Column::Id.eq(merchant.id))
        .filter(merchant::Column::Status.eq(from.as_str()))
        .exec(db)
        .await?;
    if applied.rows_affected != 1 {
        return Err(refused().into());
    }
    get(db, MerchantId(merchant.id)).await
}

/// Merchants in the given alliances with one of the statuses, by id.
pub async fn in_alliances(
    db: &impl ConnectionTrait,
    alliances: &[(AllianceLevel, Vec<i64>)],
    statuses: &[MerchantStatus],
) -> Result<Vec<merchant::Model>, ApiError> {
    let mut any = sea_orm::Condition::any();
    for (level, ids) in alliances {
        any = any.add(
            sea_orm::Condition::all()
                .add(merchant::Column::AllianceLevel.eq(level.as_str()))
                .add(merchant::Column::AllianceId.is_in(ids.clone())),
        );
    }
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    Ok(merchant::Entity::find()
        .filter(any)
        .filter(merchant::Column::Status.is_in(statuses))
        .order_by_asc(merchant::Column::Id)
        .all(db)
        .await?)
}

/// A page of merchants matching `filter`, by id after `after`.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: sea_orm::Condition,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<merchant::Model>, ApiError> {
    let mut query = merchant::Entity::find().filter(filter).order_by_asc(merchant::Column::Id).limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(merchant::Column::Id.gt(after));
    }
    Ok(query.all(db).await?)
}

pub async fn insert_invite(
    db: &impl ConnectionTrait,
    merchant: MerchantId,
    code_hash: String,
    created_by: UserId,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<merchant_staff_invite::Model, ApiError> {
    Ok(merchant_staff_invite::ActiveModel {
        merchant_id: Set(merchant.0),
        code_hash: Set(code_hash),
        created_by: Set(created_by.0),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_by: Set(None),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn invite_by_hash(
    db: &impl ConnectionTrait,
    code_hash: &str,
) -> Result<Option<merchant_staff_invite::Model>, ApiError> {
    Ok(merchant_staff_invite::Entity::find()
        .filter(merchant_staff_invite::Column::CodeHash.eq(code_hash))
        .one(db)
        .await?)
}

/// Marks the invite used by `user` (compare-and-set on `used_by IS NULL`); false when someone used
/// it first.
pub async fn use_invite(
    db: &impl ConnectionTrait,
    invite: &merchant_staff_invite::Model,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let applied = merchant_staff_invite::Entity::update_many()
        .col_expr(merchant_staff_invite::Column::UsedBy, Expr::value(user.0))
        .col_expr(merchant_staff_invite::Column::UsedAt, Expr::value(now))
        .filter(merchant_staff_invite::Column::Id.eq(invite.id))
        .filter(merchant_staff_invite::Column::UsedBy.is_null())
        .exec(db)
        .await?;
    Ok(applied.rows_affected == 1)
}
