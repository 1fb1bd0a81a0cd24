//! Text a signed-in user writes for others to read: WeChat checks text against its author's openid,
//! so the author is looked up here and the text screened through `platform::content`.

use crate::domain::UserId;
use crate::platform::content::{self, Author, PublicText};
use crate::platform::error::ApiResult;
use crate::platform::wechat::TextScene;
use crate::state::AppState;

/// Screens one text; `review` and `risky` refuse it (`CONTENT_REJECTED`), an unanswered check is `503`.
pub async fn screen(state: &AppState, author: UserId, scene: TextScene, text: String) -> ApiResult<PublicText> {
    let user = crate::identity::users::get(&state.db, author).await?;
    content::screen_one(&state.wechat, Author { openid: &user.openid, scene }, text).await
}

/// Screens an optional text; absent text needs no check.
pub async fn screen_optional(
    state: &AppState,
    author: UserId,
    scene: TextScene,
    text: Option<String>,
) -> ApiResult<Option<PublicText>> {
    match text {
        None => Ok(None),
        Some(text) => Ok(Some(screen(state, author, scene, text).await?)),
    }
}
