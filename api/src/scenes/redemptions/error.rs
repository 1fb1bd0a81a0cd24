//! The errors of redemption at the counter, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum RedemptionError {
    /// The code was redeemed before: the answer names that redemption.
    #[error("code already used by redemption {redemption}")]
    CodeAlreadyUsed { redemption: i64, captured_at: Option<DateTime<Utc>> },
    #[error("the code has expired")]
    CodeExpired,
    #[error("the code was cancelled")]
    CodeCancelled,
    #[error("out of stock")]
    OutOfStock,
    #[error("the per-person limit is reached")]
    LimitReached,
    #[error("the shop's refund window has closed")]
    RefundWindowClosed,
    #[error("action {action} is not allowed while the redemption is {status}")]
    InvalidTransition { action: String, status: String },
    /// A refund of a redemption on settlement statement `statement`.
    #[error("the redemption is on settlement statement {statement}")]
    OnStatement { statement: i64 },
}

impl RedemptionError {
    pub fn code(&self) -> &'static str {
        match self {
            RedemptionError::CodeAlreadyUsed { .. } => "CODE_ALREADY_USED",
            RedemptionError::CodeExpired => "CODE_EXPIRED",
            RedemptionError::CodeCancelled => "CODE_CANCELLED",
            RedemptionError::OutOfStock => "OUT_OF_STOCK",
            RedemptionError::LimitReached => "REDEMPTION_LIMIT_REACHED",
            RedemptionError::RefundWindowClosed => "REFUND_WINDOW_CLOSED",
            RedemptionError::InvalidTransition { .. } => "INVALID_TRANSITION",
            RedemptionError::OnStatement { .. } => "REDEMPTION_ON_STATEMENT",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            RedemptionError::CodeExpired => StatusCode::GONE,
            _ => StatusCode::CONFLICT,
        }
    }

    /// Machine-readable detail beside the message: the first redemption of a used code.
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            RedemptionError::CodeAlreadyUsed { redemption, captured_at } => {
                Some(serde_json::json!({"redemption_id": redemption, "captured_at": captured_at}))
            }
            RedemptionError::OnStatement { statement } => Some(serde_json::json!({"settlement_id": statement})),
            _ => None,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let pick = |zh_text: &str, en_text: &str| if zh { zh_text.to_owned() } else { en_text.to_owned() };
        match self {
            RedemptionError::CodeAlreadyUsed { redemption, .. } if zh => {
                format!("该兑换码已使用（兑换记录 {redemption}）")
            }
            RedemptionError::CodeAlreadyUsed { redemption, .. } => {
                format!("This code was already redeemed (redemption {redemption})")
            }
            RedemptionError::CodeExpired => pick("兑换码已过期，请重新生成", "The code has expired; ask for a new one"),
            RedemptionError::CodeCancelled => pick("兑换码已取消", "The code was cancelled"),
            RedemptionError::OutOfStock => pick("库存不足", "Out of stock"),
            RedemptionError::LimitReached => pick("已达到每人兑换上限", "You have reached the per-person limit"),
            RedemptionError::RefundWindowClosed => {
                pick("已超过商家可退款期限，请联系居委会", "The shop's refund window has closed; ask the committee")
            }
            RedemptionError::InvalidTransition { action, status } if zh => {
                format!("当前状态（{status}）不能执行 {action}")
            }
            RedemptionError::InvalidTransition { action, status } => {
                format!("Action {action} is not allowed while the redemption is {status}")
            }
            RedemptionError::OnStatement { statement } if zh => {
                format!("该兑换已列入结算单 {statement}，不能退款")
            }
            RedemptionError::OnStatement { statement } => {
                format!("The redemption is on settlement statement {statement} and cannot be refunded")
            }
        }
    }
}
