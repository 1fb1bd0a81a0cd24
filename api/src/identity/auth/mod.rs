//! Sign-in: WeChat login (and dev-login in dev), refresh-token rotation, logout.

pub mod extractor;
pub mod jwt;
pub mod refresh;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

pub use extractor::AuthUser;

use crate::identity::me::UserView;
use crate::identity::users;
use crate::platform::content::{self, Author};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::routes::Routes;
use crate::state::AppState;

pub fn routes(routes: &mut Routes<'_>) {
    routes.post("/auth/wechat/login", wechat_login);
    routes.post("/auth/refresh", refresh_tokens);
    routes.post("/auth/logout", logout);
    if routes.environment.is_dev() {
        routes.post("/auth/dev-login", dev_login);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    code: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevLoginBody {
    openid: String,
    nickname: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

#[derive(Debug, Serialize)]
pub struct TokenPair {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    refresh_expires_at: chrono::DateTime<chrono::Utc>,
    user: UserView,
}

async fn tokens_for(state: &AppState, user: ehome_entities::user::Model) -> ApiResult<TokenPair> {
    let now = state.clock.now();
    let access_token = state.jwt.issue_access(user.id, now.timestamp()).map_err(ApiError::internal)?;
    let refresh =
        refresh::issue(&state.db, crate::domain::UserId(user.id), None, state.settings.auth.refresh_ttl_seconds, now)
            .await?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.jwt.access_ttl_seconds,
        refresh_token: refresh.token,
        refresh_expires_at: refresh.expires_at,
        user: UserView::owner(&user),
    })
}

fn default_nickname(openid: &str) -> String {
    let tail: String = openid.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("邻居{tail}")
}

async fn wechat_login(state: web::Data<AppState>, body: web::Json<LoginBody>) -> ApiResult<HttpResponse> {
    let code = body.code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(ApiError::validation("code", "1 to 128 characters"));
    }
    let session = state.wechat.code_to_session(code).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let user = users::find_or_create(
        &txn,
        &session.openid,
        session.unionid.as_deref(),
        &default_nickname(&session.openid),
        now,
    )
    .await?;
    users::store_session_key(&txn, crate::domain::UserId(user.id), session.session_key.expose(), now).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id, "signed in with WeChat");
    Ok(HttpResponse::Ok().json(tokens_for(&state, user).await?))
}

async fn dev_login(state: web::Data<AppState>, body: web::Json<DevLoginBody>) -> ApiResult<HttpResponse> {
    let openid = body.openid.trim();
    if openid.is_empty() || openid.len() > 128 {
        return Err(ApiError::validation("openid", "1 to 128 characters"));
    }
    let nickname = match &body.nickname {
        Some(raw) => {
            let nickname = crate::domain::Nickname::parse(raw)?.into_inner();
            let author = Author { openid, scene: TextScene::Profile };
            content::screen_one(&state.wechat, author, nickname).await?.into_inner()
        }
        None => default_nickname(openid),
    };
    let user = users::find_or_create(&state.db, openid, None, &nickname, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(tokens_for(&state, user).await?))
}

async fn refresh_tokens(state: web::Data<AppState>, body: web::Json<RefreshBody>) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let ttl = state.settings.auth.refresh_ttl_seconds;
    // No enclosing transaction: when reuse is detected, the family's revocation must persist even
    // though the request fails. The rotation itself is one conditional update.
    let (user_id, issued) = refresh::rotate(&state.db, &body.refresh_token, ttl, now).await?;
    let user = users::get(&state.db, user_id).await?;
    let access_token = state.jwt.issue_access(user.id, now.timestamp()).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.jwt.access_ttl_seconds,
        refresh_token: issued.token,
        refresh_expires_at: issued.expires_at,
        user: UserView::owner(&user),
    }))
}

async fn logout(state: web::Data<AppState>, body: web::Json<RefreshBody>) -> ApiResult<HttpResponse> {
    refresh::revoke(&state.db, &body.refresh_token, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
