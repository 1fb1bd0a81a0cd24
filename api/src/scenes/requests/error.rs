//! The errors of 邻办事 requests, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("action {action} is not allowed from status {status}")]
    InvalidTransition { action: String, status: String },
    #[error("the reopen window has closed")]
    ReopenWindowClosed,
    #[error("already rated")]
    AlreadyRated,
}

impl RequestError {
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::InvalidTransition { .. } => "INVALID_TRANSITION",
            RequestError::ReopenWindowClosed => "REOPEN_WINDOW_CLOSED",
            RequestError::AlreadyRated => "ALREADY_RATED",
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            RequestError::InvalidTransition { action, status } if zh => {
                format!("当前状态（{status}）不能执行操作 {action}")
            }
            RequestError::InvalidTransition { action, status } => {
                format!("Action {action} is not allowed while the request is {status}")
            }
            RequestError::ReopenWindowClosed if zh => "已超过可重新打开的期限".to_owned(),
            RequestError::ReopenWindowClosed => "The window for reopening has closed".to_owned(),
            RequestError::AlreadyRated if zh => "您已评价过".to_owned(),
            RequestError::AlreadyRated => "You have already rated this".to_owned(),
        }
    }
}
