//! The errors of merchants, staff invites and offers, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum MerchantError {
    #[error("decision {decision} is not allowed while the merchant is {status}")]
    InvalidTransition { decision: String, status: String },
    #[error("the merchant is not approved")]
    MerchantNotApproved,
    #[error("the staff invite has expired")]
    InviteExpired,
    #[error("the staff invite was used by someone else")]
    InviteUsed,
}

impl MerchantError {
    pub fn code(&self) -> &'static str {
        match self {
            MerchantError::InvalidTransition { .. } => "INVALID_TRANSITION",
            MerchantError::MerchantNotApproved => "MERCHANT_NOT_APPROVED",
            MerchantError::InviteExpired => "INVITE_EXPIRED",
            MerchantError::InviteUsed => "INVITE_USED",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            MerchantError::InviteExpired => StatusCode::GONE,
            _ => StatusCode::CONFLICT,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            MerchantError::InvalidTransition { decision, status } if zh => {
                format!("商家当前状态（{status}）不能执行 {decision}")
            }
            MerchantError::InvalidTransition { decision, status } => {
                format!("Decision {decision} is not allowed while the merchant is {status}")
            }
            MerchantError::MerchantNotApproved if zh => "商家尚未通过审核或已被暂停".to_owned(),
            MerchantError::MerchantNotApproved => "The merchant is not approved, or is suspended".to_owned(),
            MerchantError::InviteExpired if zh => "邀请码已过期".to_owned(),
            MerchantError::InviteExpired => "The invite code has expired".to_owned(),
            MerchantError::InviteUsed if zh => "邀请码已被他人使用".to_owned(),
            MerchantError::InviteUsed => "The invite code was used by someone else".to_owned(),
        }
    }
}
