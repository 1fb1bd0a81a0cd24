//! The errors of 邻互助 volunteering (volunteers, teams, activities, sign-ups, check-in), each with a
//! stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    #[error("action {action} is not allowed from status {status}")]
    InvalidTransition { action: String, status: String },
    #[error("already registered as a volunteer in this community")]
    AlreadyVolunteer,
    #[error("the volunteer registration is not pending")]
    VolunteerNotPending,
    #[error("not an approved volunteer of this community")]
    NotAVolunteer,
    #[error("the activity is not open for sign-ups")]
    SignupClosed,
    #[error("the caller is not in the activity's audience")]
    NotInAudience,
    #[error("already signed up")]
    AlreadySignedUp,
    #[error("not signed up")]
    NotSignedUp,
    #[error("check-in is open from 30 minutes before the start to the end")]
    OutsideCheckinWindow,
    #[error("the check-in code is wrong or stale")]
    CheckinCodeInvalid,
    #[error("not checked in")]
    NotCheckedIn,
}

impl ActivityError {
    pub fn code(&self) -> &'static str {
        match self {
            ActivityError::InvalidTransition { .. } => "INVALID_TRANSITION",
            ActivityError::AlreadyVolunteer => "ALREADY_VOLUNTEER",
            ActivityError::VolunteerNotPending => "VOLUNTEER_NOT_PENDING",
            ActivityError::NotAVolunteer => "NOT_A_VOLUNTEER",
            ActivityError::SignupClosed => "SIGNUP_CLOSED",
            ActivityError::NotInAudience => "NOT_IN_AUDIENCE",
            ActivityError::AlreadySignedUp => "ALREADY_SIGNED_UP",
            ActivityError::NotSignedUp => "NOT_SIGNED_UP",
            ActivityError::OutsideCheckinWindow => "OUTSIDE_CHECKIN_WINDOW",
            ActivityError::CheckinCodeInvalid => "CHECKIN_CODE_INVALID",
            ActivityError::NotCheckedIn => "NOT_CHECKED_IN",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ActivityError::NotAVolunteer | ActivityError::NotInAudience => StatusCode::FORBIDDEN,
            ActivityError::CheckinCodeInvalid => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let pick = |zh_text: &str, en_text: &str| if zh { zh_text.to_owned() } else { en_text.to_owned() };
        match self {
            ActivityError::InvalidTransition { action, status } if zh => {
                format!("活动当前状态（{status}）不能执行操作 {action}")
            }
            ActivityError::InvalidTransition { action, status } => {
                format!("Action {action} is not allowed while the activity is {status}")
            }
            ActivityError::AlreadyVolunteer => {
                pick("您已在本社区登记为志愿者", "You have already registered as a volunteer here")
            }
            ActivityError::VolunteerNotPending => {
                pick("该志愿者登记已处理", "This volunteer registration has already been decided")
            }
            ActivityError::NotAVolunteer => {
                pick("需要先成为本社区审核通过的志愿者", "Only approved volunteers of this community may do this")
            }
            ActivityError::SignupClosed => pick("活动未开放报名或报名已截止", "Sign-ups for this activity are closed"),
            ActivityError::NotInAudience => pick("该活动不面向您报名", "This activity is not open to you"),
            ActivityError::AlreadySignedUp => pick("您已报名该活动", "You have already signed up"),
            ActivityError::NotSignedUp => pick("您未报名该活动", "You have not signed up for this activity"),
            ActivityError::OutsideCheckinWindow => pick(
                "签到时间为活动开始前30分钟至活动结束",
                "Check-in is open from 30 minutes before the start until the end",
            ),
            ActivityError::CheckinCodeInvalid => {
                pick("签到码错误或已过期", "The check-in code is wrong or has expired")
            }
            ActivityError::NotCheckedIn => pick("您尚未签到", "You have not checked in"),
        }
    }
}
