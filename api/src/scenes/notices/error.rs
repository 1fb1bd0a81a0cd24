//! The errors of notices, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("only important and urgent notices are followed up in person")]
    NotImportant,
    #[error("the household has already read the notice")]
    AlreadyRead,
    #[error("the household was already told in person")]
    AlreadyTold,
}

impl NoticeError {
    pub fn code(&self) -> &'static str {
        match self {
            NoticeError::NotImportant => "NOTICE_NOT_IMPORTANT",
            NoticeError::AlreadyRead => "NOTICE_ALREADY_READ",
            NoticeError::AlreadyTold => "NOTICE_ALREADY_TOLD",
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let text = match self {
            NoticeError::NotImportant if zh => "只有重要或紧急通知需要上门告知",
            NoticeError::NotImportant => "Only important and urgent notices are followed up in person",
            NoticeError::AlreadyRead if zh => "该户已阅读此通知",
            NoticeError::AlreadyRead => "The household has already read this notice",
            NoticeError::AlreadyTold if zh => "该户已登记上门告知",
            NoticeError::AlreadyTold => "The household was already told in person",
        };
        text.to_owned()
    }
}
