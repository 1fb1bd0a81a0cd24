//! The signed-in user's own profile: `GET/PATCH /me`, `POST /me/phone`.

use actix_web::{HttpResponse, web};
use ehome_entities::user;
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};

use crate::domain::media_url::MediaUrl;
use crate::domain::{Nickname, Phone, phone};
use crate::identity::auth::AuthUser;
use crate::identity::caller::Caller;
use crate::identity::users;
use crate::platform::content::{self, Author};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::wechat::TextScene;
use crate::routes::Routes;
use crate::state::AppState;

pub fn routes(routes: &mut Routes<'_>) {
    routes.get("/me", get_me);
    routes.add(actix_web::http::Method::PATCH, "/me", patch_me);
    routes.post("/me/phone", bind_phone);
}

/// A user as shown: the full phone number only to its owner.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: i64,
    pub nickname: String,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    pub is_admin: bool,
}

impl UserView {
    pub fn owner(user: &user::Model) -> UserView {
        UserView {
            id: user.id,
            nickname: user.nickname.clone(),
            avatar_url: user.avatar_url.clone(),
            phone: user.phone.clone(),
            is_admin: user.is_admin,
        }
    }

    pub fn public(user: &user::Model) -> UserView {
        UserView { phone: user.phone.as_deref().map(phone::mask), ..UserView::owner(user) }
    }
}

#[derive(Debug, Serialize)]
struct MembershipView {
    community_id: i64,
    household_id: i64,
    building_id: i64,
    household_label: String,
}

#[derive(Debug, Serialize)]
struct RoleView {
    community_id: i64,
    role: &'static str,
    scope_id: Option<i64>,
}

#[derive(Debug, Serialize)]
struct MeView {
    #[serde(flatten)]
    user: UserView,
    households: Vec<MembershipView>,
    roles: Vec<RoleView>,
}

/// The caller's profile, households and roles: all from their `Caller`, which this instance keeps
/// between requests (a change to any of them reloads it).
async fn get_me(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let me = Caller::of(&state, caller).await?;
    Ok(HttpResponse::Ok().json(MeView {
        user: UserView::owner(&me.user),
        households: me
            .homes
            .iter()
            .map(|home| MembershipView {
                community_id: home.community_id,
                household_id: home.household_id,
                building_id: home.building_id,
                household_label: home.label.clone(),
            })
            .collect(),
        roles: me
            .roles
            .iter()
            .map(|(community_id, role, scope_id)| RoleView {
                community_id: *community_id,
                role: role.as_str(),
                scope_id: (*scope_id != 0).then_some(*scope_id),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchMe {
    nickname: Option<String>,
    avatar_url: Option<String>,
}

async fn patch_me(state: web::Data<AppState>, caller: AuthUser, body: web::Json<PatchMe>) -> ApiResult<HttpResponse> {
    let nickname = body.nickname.as_deref().map(Nickname::parse).transpose()?;
    let media_hosts = &state.settings.security.media_hosts;
    let avatar = body
        .avatar_url
        .as_deref()
        .map(|raw| MediaUrl::parse("avatar_url", raw, media_hosts).map(MediaUrl::into_inner))
        .transpose()?;
    let user = users::get(&state.db, caller.id).await.map_err(|_| ApiError::Unauthenticated)?;
    // Neighbours see the nickname beside everything its owner writes.
    let author = Author { openid: &user.openid, scene: TextScene::Profile };
    let nickname = match nickname {
        Some(nickname) => Some(content::screen_one(&state.wechat, author, nickname.into_inner()).await?),
        None => None,
    };
    let mut active: user::ActiveModel = user.into();
    if let Some(nickname) = nickname {
        active.nickname = Set(nickname.into_inner());
    }
    if let Some(avatar) = avatar {
        active.avatar_url = Set(Some(avatar));
    }
    active.updated_at = Set(state.clock.now());
    let updated = active.update(&state.db).await?;
    super::caller::changed(&state, caller.id).await;
    // Request lists show their reporters' nicknames.
    crate::scenes::requests::service::reporter_changed(&state, caller.id).await?;
    Ok(HttpResponse::Ok().json(UserView::owner(&updated)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneBody {
    code: String,
}

async fn bind_phone(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<PhoneBody>,
) -> ApiResult<HttpResponse> {
    let code = body.code.trim();
    if code.is_empty() || code.len() > 128 {
        return Err(ApiError::validation("code", "1 to 128 characters"));
    }
    let info = state.wechat.phone_number(code).await?;
    let phone = Phone::parse(&info.pure_phone_number)
        .map_err(|reason| ApiError::internal(anyhow::anyhow!("WeChat returned an unusable phone number: {reason}")))?;
    let user = users::get(&state.db, caller.id).await.map_err(|_| ApiError::Unauthenticated)?;
    let mut active: user::ActiveModel = user.into();
    active.phone = Set(Some(phone.as_str().to_owned()));
    active.updated_at = Set(state.clock.now());
    let updated = active.update(&state.db).await?;
    super::caller::changed(&state, caller.id).await;
    // Handlers see the reporter's masked phone in request lists.
    crate::scenes::requests::service::reporter_changed(&state, caller.id).await?;
    Ok(HttpResponse::Ok().json(UserView::owner(&updated)))
}
