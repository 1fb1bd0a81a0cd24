//! `AuthUser`: the signed-in user, from a valid access token. A handler that takes it is protected.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::jwt::bearer_token;
use crate::domain::UserId;
use crate::platform::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: UserId,
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<AuthUser, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = (|| {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            let token = bearer_token(req.headers()).ok_or(ApiError::Unauthenticated)?;
            let user_id =
                state.jwt.verify_access(token, state.clock.now().timestamp()).map_err(|_| ApiError::Unauthenticated)?;
            Ok(AuthUser { id: UserId(user_id) })
        })();
        ready(outcome)
    }
}
