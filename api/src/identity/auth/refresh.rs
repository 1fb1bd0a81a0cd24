//! Refresh tokens: random, stored hashed, rotated on every use. A token belongs to a family (one
//! sign-in); presenting a token that was already rotated means it leaked, so the whole family is
//! revoked.

use chrono::{DateTime, Duration, Utc};
use ehome_entities::refresh_token;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::domain::UserId;
use crate::platform::error::ApiError;

pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

pub async fn issue(
    db: &impl ConnectionTrait,
    user: UserId,
    family_id: Option<String>,
    ttl_seconds: u64,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, ApiError> {
    let token = new_token();
    let expires_at = now + Duration::seconds(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 2));
    refresh_token::ActiveModel {
        user_id: Set(user.0),
        family_id: Set(family_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())),
        token_hash: Set(hash(&token)),
        expires_at: Set(expires_at),
        created_at: Set(now),
        rotated_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(IssuedRefresh { token, expires_at })
}

async fn revoke_family(db: &impl ConnectionTrait, family_id: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Exchanges a refresh token for a new one of the same family. The rotation is a conditional update,
/// so two concurrent uses of one token cannot both succeed: the loser is treated as reuse.
pub async fn rotate(
    db: &impl ConnectionTrait,
    presented: &str,
    ttl_seconds: u64,
    now: DateTime<Utc>,
) -> Result<(UserId, IssuedRefresh), ApiError> {
    let row = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(presented)))
        .one(db)
        .await?
        .ok_or(ApiError::RefreshTokenInvalid)?;
    if row.revoked_at.is_some() || row.expires_at <= now {
        return Err(ApiError::RefreshTokenInvalid);
    }
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        tracing::warn!(family_id = %row.family_id, user_id = row.user_id, "refresh token reused; revoking its family");
        revoke_family(db, &row.family_id, now).await?;
        return Err(ApiError::RefreshTokenInvalid);
    }
    let issued = issue(db, UserId(row.user_id), Some(row.family_id), ttl_seconds, now).await?;
    Ok((UserId(row.user_id), issued))
}

/// Logs out the sign-in the token belongs to. Unknown tokens are ignored: logout always succeeds.
pub async fn revoke(db: &impl ConnectionTrait, presented: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    let row =
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash(presented))).one(db).await?;
    if let Some(row) = row {
        revoke_family(db, &row.family_id, now).await?;
    }
    Ok(())
}
