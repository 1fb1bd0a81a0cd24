//! Users: created on first sign-in by openid; the WeChat session key is kept server-side only.

use chrono::{DateTime, Utc};
use ehome_entities::{user, wechat_session};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::domain::UserId;
use crate::platform::error::ApiError;

/// Finds the user with this openid or creates it. Concurrent first sign-ins with one openid converge
/// on one row (the openid is unique; the loser of the race reads the winner's row).
pub async fn find_or_create(
    db: &impl ConnectionTrait,
    openid: &str,
    unionid: Option<&str>,
    nickname: &str,
    now: DateTime<Utc>,
) -> Result<user::Model, ApiError> {
    if let Some(existing) = user::Entity::find().filter(user::Column::Openid.eq(openid)).one(db).await? {
        if unionid.is_some() && existing.unionid.as_deref() != unionid {
            let mut active: user::ActiveModel = existing.into();
            active.unionid = Set(unionid.map(str::to_owned));
            active.updated_at = Set(now);
            return Ok(active.update(db).await?);
        }
        return Ok(existing);
    }
    user::Entity::insert(user::ActiveModel {
        openid: Set(openid.to_owned()),
        unionid: Set(unionid.map(str::to_owned)),
        nickname: Set(nickname.to_owned()),
        avatar_url: Set(None),
        phone: Set(None),
        is_admin: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    // Two first sign-ins of one openid at once: the second finds the first's row. The conflict target
    // names the unique index (a bare `on_conflict_do_nothing()` would target the primary key).
    .on_conflict_do_nothing_on([user::Column::Openid])
    .exec(db)
    .await?;
    user::Entity::find()
        .filter(user::Column::Openid.eq(openid))
        .one(db)
        .await?
        .ok_or(ApiError::internal(anyhow::anyhow!("user vanished after insert")))
}

pub async fn get(db: &impl ConnectionTrait, id: UserId) -> Result<user::Model, ApiError> {
    user::Entity::find_by_id(id.0).one(db).await?.ok_or(ApiError::NotFound("user"))
}

/// How many of these user ids exist.
pub async fn count_existing(db: &impl ConnectionTrait, ids: &[i64]) -> Result<usize, ApiError> {
    use sea_orm::PaginatorTrait;
    let found = user::Entity::find().filter(user::Column::Id.is_in(ids.to_vec())).count(db).await?;
    Ok(usize::try_from(found).unwrap_or(usize::MAX))
}

pub async fn store_session_key(
    db: &impl ConnectionTrait,
    user: UserId,
    session_key: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    wechat_session::Entity::insert(wechat_session::ActiveModel {
        user_id: Set(user.0),
        session_key: Set(session_key.to_owned()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(wechat_session::Column::UserId)
            .update_columns([wechat_session::Column::SessionKey, wechat_session::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
