//! The errors of settlement with shops, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    /// The shop's community has set no settlement rate.
    #[error("the community has no settlement rate")]
    RateNotSet,
    /// No captured, unrefunded redemption of the period is free: all are on statements already.
    #[error("nothing to settle in the period")]
    NothingToSettle,
    #[error("action {action} is not allowed while the statement is {status}")]
    InvalidTransition { action: String, status: String },
}

impl SettlementError {
    pub fn code(&self) -> &'static str {
        match self {
            SettlementError::RateNotSet => "SETTLEMENT_RATE_NOT_SET",
            SettlementError::NothingToSettle => "NOTHING_TO_SETTLE",
            SettlementError::InvalidTransition { .. } => "INVALID_TRANSITION",
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            SettlementError::RateNotSet if zh => "社区尚未设置结算费率".to_owned(),
            SettlementError::RateNotSet => "The community has not set a settlement rate".to_owned(),
            SettlementError::NothingToSettle if zh => "该期间没有可结算的兑换记录".to_owned(),
            SettlementError::NothingToSettle => "No redemption of the period is left to settle".to_owned(),
            SettlementError::InvalidTransition { action, status } if zh => {
                format!("结算单当前状态（{status}）不能执行 {action}")
            }
            SettlementError::InvalidTransition { action, status } => {
                format!("Action {action} is not allowed while the statement is {status}")
            }
        }
    }
}
