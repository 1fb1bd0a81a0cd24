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

/// The pair answered to a sign-in or a refresh, with an access token issued now.
fn token_pair(
    state: &AppState,
    user: &ehome_entities::user::Model,
    refresh: refresh::IssuedRefresh,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<TokenPair> {
    let access_token = state.jwt.issue_access(user.id, now.timestamp()).map_err(ApiError::internal)?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: state.jwt.access_ttl_seconds,
        refresh_token: refresh.token,
        refresh_expires_at: refresh.expires_at,
        user: UserView::owner(user),
    })
}

async fn tokens_for(state: &AppState, user: ehome_entities::user::Model) -> ApiResult<TokenPair> {
    let now = state.clock.now();
    let refresh = refresh::issue(&state.db, crate::domain::UserId(user.id), &state.settings.auth, now).await?;
    token_pair(state, &user, refresh, now)
}

/// The nickname of a new user until they choose one: the same for everyone, so that nothing of the
/// openid (an identifier WeChat treats as private) is shown to neighbours.
pub const DEFAULT_NICKNAME: &str = "邻居";

async fn wechat_login(state: web::Data<AppState>, body: web::Json<LoginBody>) -> ApiResult<HttpResponse> {
    let code = body.code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(ApiError::validation("code", "1 to 128 characters"));
    }
    let session = state.wechat.code_to_session(code).await?;
    let now = state.clock.now();
    let txn = crate::platform::db::begin_write(&state.db).await?;
    let user = users::find_or_create(&txn, &session.openid, session.unionid.as_deref(), DEFAULT_NICKNAME, now).await?;
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
        None => DEFAULT_NICKNAME.to_owned(),
    };
    let user = users::find_or_create(&state.db, openid, None, &nickname, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(tokens_for(&state, user).await?))
}

async fn refresh_tokens(state: web::Data<AppState>, body: web::Json<RefreshBody>) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    // No enclosing transaction: when reuse is detected, the family's revocation must persist even
    // though the request fails. The rotation owns its own transaction.
    let (user_id, issued) = refresh::rotate(&state.db, &body.refresh_token, &state.settings.auth, now).await?;
    let user = users::get(&state.db, user_id).await?;
    Ok(HttpResponse::Ok().json(token_pair(&state, &user, issued, now)?))
}

async fn logout(state: web::Data<AppState>, body: web::Json<RefreshBody>) -> ApiResult<HttpResponse> {
    refresh::revoke(&state.db, &body.refresh_token, state.clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}
