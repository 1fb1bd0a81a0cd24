//! The errors of service hours, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum HoursError {
    #[error("the activity's hours cannot be reviewed in status {status}")]
    HoursNotOpen { status: String },
    #[error("the sign-up's hours are already decided")]
    AlreadyDecided,
    #[error("the sign-up's hours are not decided yet")]
    NotDecided,
}

impl HoursError {
    pub fn code(&self) -> &'static str {
        match self {
            HoursError::HoursNotOpen { .. } => "HOURS_NOT_OPEN",
            HoursError::AlreadyDecided => "HOURS_ALREADY_DECIDED",
            HoursError::NotDecided => "HOURS_NOT_DECIDED",
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            HoursError::HoursNotOpen { status } if zh => format!("活动当前状态（{status}）不能审核服务时长"),
            HoursError::HoursNotOpen { status } => format!("Hours cannot be reviewed while the activity is {status}"),
            HoursError::AlreadyDecided if zh => "该报名的服务时长已审核，请用调整更正".to_owned(),
            HoursError::AlreadyDecided => "These hours are already decided; adjust them instead".to_owned(),
            HoursError::NotDecided if zh => "该报名的服务时长尚未审核".to_owned(),
            HoursError::NotDecided => "These hours are not decided yet".to_owned(),
        }
    }
}
