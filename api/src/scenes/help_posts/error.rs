//! The errors of help posts, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum HelpPostError {
    #[error("someone else claimed the post first")]
    AlreadyClaimed,
    #[error("action {action} is not allowed while the post is {status}")]
    InvalidTransition { action: String, status: String },
    #[error("authors do not claim their own post")]
    OwnPost,
}

impl HelpPostError {
    pub fn code(&self) -> &'static str {
        match self {
            HelpPostError::AlreadyClaimed => "ALREADY_CLAIMED",
            HelpPostError::InvalidTransition { .. } => "INVALID_TRANSITION",
            HelpPostError::OwnPost => "OWN_POST",
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            HelpPostError::AlreadyClaimed if zh => "已有邻居先接单了".to_owned(),
            HelpPostError::AlreadyClaimed => "Another neighbour claimed this post first".to_owned(),
            HelpPostError::InvalidTransition { action, status } if zh => {
                format!("当前状态（{status}）不能执行 {action}")
            }
            HelpPostError::InvalidTransition { action, status } => {
                format!("Action {action} is not allowed while the post is {status}")
            }
            HelpPostError::OwnPost if zh => "不能认领自己发布的互助".to_owned(),
            HelpPostError::OwnPost => "You cannot claim your own post".to_owned(),
        }
    }
}
