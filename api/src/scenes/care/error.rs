//! The errors of the 关爱 care round, each with a stable code; `ApiError` renders them. Every way a
//! device alert can fail has its own code, so a vendor can tell a clock skew from a wrong secret.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum CareError {
    #[error("alert signature headers missing or malformed")]
    AlertUnsigned,
    #[error("unknown alert vendor")]
    AlertVendorUnknown,
    #[error("alert signature does not match")]
    AlertSignatureInvalid,
    #[error("alert timestamp outside the allowed skew")]
    AlertTimestampStale,
    #[error("alert event id seen before")]
    AlertReplayed,
    #[error("alert names an unregistered device")]
    AlertDeviceUnknown,
    #[error("this device is already registered")]
    DeviceTaken,
    #[error("task action not allowed in its status")]
    TaskClosed,
}

impl CareError {
    pub fn code(&self) -> &'static str {
        match self {
            CareError::AlertUnsigned => "ALERT_UNSIGNED",
            CareError::AlertVendorUnknown => "ALERT_VENDOR_UNKNOWN",
            CareError::AlertSignatureInvalid => "ALERT_SIGNATURE_INVALID",
            CareError::AlertTimestampStale => "ALERT_TIMESTAMP_STALE",
            CareError::AlertReplayed => "ALERT_REPLAYED",
            CareError::AlertDeviceUnknown => "ALERT_DEVICE_UNKNOWN",
            CareError::DeviceTaken => "DEVICE_TAKEN",
            CareError::TaskClosed => "CARE_TASK_CLOSED",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            CareError::AlertUnsigned
            | CareError::AlertVendorUnknown
            | CareError::AlertSignatureInvalid
            | CareError::AlertTimestampStale => StatusCode::UNAUTHORIZED,
            CareError::AlertReplayed | CareError::DeviceTaken | CareError::TaskClosed => StatusCode::CONFLICT,
            CareError::AlertDeviceUnknown => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let (zh, en) = match self {
            CareError::AlertUnsigned => {
                ("缺少签名头", "X-Care-Vendor, X-Care-Timestamp and X-Care-Signature are required")
            }
            CareError::AlertVendorUnknown => ("未知的设备厂商", "Unknown vendor"),
            CareError::AlertSignatureInvalid => ("签名不正确", "The signature does not match"),
            CareError::AlertTimestampStale => {
                ("时间戳超出允许范围（5分钟）", "The timestamp is more than 5 minutes off")
            }
            CareError::AlertReplayed => ("该事件已接收过", "This event id was received before"),
            CareError::AlertDeviceUnknown => ("设备未登记", "No such device is registered"),
            CareError::DeviceTaken => ("该设备已登记", "This device is already registered"),
            CareError::TaskClosed => ("任务已处理", "The task is already handled"),
        };
        if lang == Lang::Zh { zh.to_owned() } else { en.to_owned() }
    }
}
