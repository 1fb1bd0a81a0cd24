//! Refresh tokens: random, stored hashed, rotated on every use. A token belongs to a family (one
//! sign-in) that ends a fixed time after it began, however often it rotates. Presenting a token that
//! was already rotated means either a client racing itself (several requests refreshing at once) or a
//! leak: within a short grace window it answers with the successor already issued, later it revokes the
//! whole family.
//!
//! A token's successor is derived from it (an HMAC under the server's JWT secret) rather than drawn at
//! random, so a racing request can be handed the same successor without the plaintext ever being
//! stored: only hashes are kept.

use chrono::{DateTime, Duration, Utc};
use ehome_entities::refresh_token;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::domain::UserId;
use crate::platform::config::AuthSettings;
use crate::platform::error::ApiError;

pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn encode_token(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    encode_token(&bytes)
}

/// HMAC-SHA256 (RFC 2104), written out because it is eight lines over `sha2`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK_BYTES: usize = 64;
    let mut block = [0u8; BLOCK_BYTES];
    if key.len() > BLOCK_BYTES {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new().chain_update(block.map(|b| b ^ 0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(block.map(|b| b ^ 0x5c)).chain_update(inner).finalize().into()
}

/// The token that replaces `presented`: only the server (holding the secret) can compute it.
fn successor_of(settings: &AuthSettings, presented: &str) -> String {
    let message = [b"ehome refresh successor\0".as_slice(), presented.as_bytes()].concat();
    encode_token(&hmac_sha256(settings.jwt_secret.expose().as_bytes(), &message))
}

fn seconds(value: u64) -> Duration {
    Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 2))
}

/// When the family that began at `started_at` ends.
fn family_end(settings: &AuthSettings, started_at: DateTime<Utc>) -> DateTime<Utc> {
    started_at + Duration::days(i64::try_from(settings.refresh_family_max_days).unwrap_or(i64::MAX / 86_400 / 2))
}

/// The family a token continues: its id and when it began.
pub struct Family {
    pub id: String,
    pub started_at: DateTime<Utc>,
}

/// Stores `token` as the family's newest; it expires after the refresh TTL or when the family ends,
/// whichever is first. Without a family, a new sign-in starts one.
async fn insert(
    db: &impl ConnectionTrait,
    user: UserId,
    family: Option<Family>,
    token: String,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, ApiError> {
    let family = family.unwrap_or_else(|| Family { id: uuid::Uuid::new_v4().to_string(), started_at: now });
    let expires_at = (now + seconds(settings.refresh_ttl_seconds)).min(family_end(settings, family.started_at));
    refresh_token::ActiveModel {
        user_id: Set(user.0),
        family_id: Set(family.id),
        family_started_at: Set(Some(family.started_at)),
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

/// A new sign-in: a random token starting a new family.
pub async fn issue(
    db: &impl ConnectionTrait,
    user: UserId,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, ApiError> {
    insert(db, user, None, new_token(), settings, now).await
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

async fn find(db: &impl ConnectionTrait, token: &str) -> Result<Option<refresh_token::Model>, ApiError> {
    Ok(refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash(token))).one(db).await?)
}

/// Exchanges a refresh token for its successor in the same family. Claiming the token and storing the
/// successor is one transaction, so a concurrent use of the same token either wins or finds the
/// successor committed; the losers within the grace window get that successor too.
pub async fn rotate(
    db: &DatabaseConnection,
    presented: &str,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> Result<(UserId, IssuedRefresh), ApiError> {
    let row = find(db, presented).await?.ok_or(ApiError::RefreshTokenInvalid)?;
    let started_at = row.family_started_at.unwrap_or(row.created_at);
    if row.revoked_at.is_some() || row.expires_at <= now || family_end(settings, started_at) <= now {
        return Err(ApiError::RefreshTokenInvalid);
    }
    let user = UserId(row.user_id);
    let successor = successor_of(settings, presented);
    let txn = crate::platform::db::begin_write(db).await?;
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 1 {
        let family = Family { id: row.family_id, started_at };
        let issued = insert(&txn, user, Some(family), successor, settings, now).await?;
        txn.commit().await?;
        return Ok((user, issued));
    }
    txn.rollback().await?;
    reused(db, row.id, successor, settings, now).await.map(|issued| (user, issued))
}

/// A rotated token presented again. Within the grace window after its rotation it is a client racing
/// itself: the successor is handed out again. Later, it is treated as leaked and its family revoked
/// (the revocation persists although the request fails).
async fn reused(
    db: &DatabaseConnection,
    row_id: i64,
    successor: String,
    settings: &AuthSettings,
    now: DateTime<Utc>,
) -> Result<IssuedRefresh, ApiError> {
    let row = refresh_token::Entity::find_by_id(row_id).one(db).await?.ok_or(ApiError::RefreshTokenInvalid)?;
    let grace_ends = row.rotated_at.map(|rotated_at| rotated_at + seconds(settings.refresh_reuse_grace_seconds));
    if row.revoked_at.is_none() && grace_ends.is_some_and(|ends| now <= ends) {
        let issued = find(db, &successor).await?.filter(|next| next.revoked_at.is_none() && next.expires_at > now);
        if let Some(next) = issued {
            tracing::info!(family_id = %row.family_id, user_id = row.user_id, "refresh token reused within the grace window");
            return Ok(IssuedRefresh { token: successor, expires_at: next.expires_at });
        }
    }
    tracing::warn!(family_id = %row.family_id, user_id = row.user_id, "refresh token reused; revoking its family");
    revoke_family(db, &row.family_id, now).await?;
    Err(ApiError::RefreshTokenInvalid)
}

/// Logs out the sign-in the token belongs to. Unknown tokens are ignored: logout always succeeds.
pub async fn revoke(db: &impl ConnectionTrait, presented: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
    if let Some(row) = find(db, presented).await? {
        revoke_family(db, &row.family_id, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let long_key = [0xaa_u8; 131];
        let mac = hmac_sha256(&long_key, b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
}
