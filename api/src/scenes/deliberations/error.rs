//! The errors of deliberations, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use super::lifecycle::Refusal;
use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum DeliberationError {
    #[error("{action} is not possible while the deliberation is {status}")]
    WrongStatus { action: String, status: String },
    #[error("every stakeholder group needs 1 to 3 representatives")]
    RepresentativesIncomplete,
    #[error("a group has at most 3 representatives")]
    TooManyRepresentatives,
    #[error("already on the panel")]
    AlreadyOnPanel,
    #[error("no signed-off minutes yet")]
    MinutesNotSignedOff,
    #[error("these minutes are already signed off")]
    MinutesAlreadySignedOff,
    #[error("no resolutions yet")]
    NoResolutions,
    #[error("the group already has an election")]
    ElectionExists,
    #[error("the group has no election")]
    NoElection,
    #[error("the election has not closed")]
    ElectionNotClosed,
    #[error("the last seat is tied")]
    ElectionTied,
}

impl DeliberationError {
    pub fn refused(refusal: Refusal, action: &str, status: &str) -> DeliberationError {
        match refusal {
            Refusal::WrongStatus => {
                DeliberationError::WrongStatus { action: action.to_owned(), status: status.to_owned() }
            }
            Refusal::RepresentativesIncomplete => DeliberationError::RepresentativesIncomplete,
            Refusal::MinutesNotSignedOff => DeliberationError::MinutesNotSignedOff,
            Refusal::NoResolutions => DeliberationError::NoResolutions,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            DeliberationError::WrongStatus { .. } => "DELIBERATION_WRONG_STATUS",
            DeliberationError::RepresentativesIncomplete => "REPRESENTATIVES_INCOMPLETE",
            DeliberationError::TooManyRepresentatives => "TOO_MANY_REPRESENTATIVES",
            DeliberationError::AlreadyOnPanel => "ALREADY_ON_PANEL",
            DeliberationError::MinutesNotSignedOff => "MINUTES_NOT_SIGNED_OFF",
            DeliberationError::MinutesAlreadySignedOff => "MINUTES_ALREADY_SIGNED_OFF",
            DeliberationError::NoResolutions => "NO_RESOLUTIONS",
            DeliberationError::ElectionExists => "ELECTION_EXISTS",
            DeliberationError::NoElection => "NO_ELECTION",
            DeliberationError::ElectionNotClosed => "ELECTION_NOT_CLOSED",
            DeliberationError::ElectionTied => "ELECTION_TIED",
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            DeliberationError::WrongStatus { action, status } if zh => {
                format!("议事当前状态（{status}）不能执行 {action}")
            }
            DeliberationError::WrongStatus { action, status } => {
                format!("{action} is not possible while the deliberation is {status}")
            }
            DeliberationError::RepresentativesIncomplete if zh => "每个利益相关群体需要 1 至 3 名代表".to_owned(),
            DeliberationError::TooManyRepresentatives if zh => "每个群体最多 3 名代表".to_owned(),
            DeliberationError::AlreadyOnPanel if zh => "此人已在议事小组中".to_owned(),
            DeliberationError::MinutesNotSignedOff if zh => "尚无经主持人签署的会议纪要".to_owned(),
            DeliberationError::MinutesAlreadySignedOff if zh => "该版本纪要已签署，请提交更正版本".to_owned(),
            DeliberationError::NoResolutions if zh => "尚未形成议事决议".to_owned(),
            DeliberationError::ElectionExists if zh => "该群体已发起代表推选".to_owned(),
            DeliberationError::NoElection if zh => "该群体尚未发起代表推选".to_owned(),
            DeliberationError::ElectionNotClosed if zh => "代表推选尚未结束".to_owned(),
            DeliberationError::ElectionTied if zh => "最后一个席位票数相同，请群体协商决定".to_owned(),
            other => other.to_string(),
        }
    }
}
