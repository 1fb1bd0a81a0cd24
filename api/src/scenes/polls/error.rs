//! The errors of polls, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("the caller belongs to no household of this community")]
    NoHousehold,
    #[error("the caller is not a resident of this community")]
    NotInCommunity,
    #[error("the caller's household is outside the poll's scope")]
    OutOfScope,
    #[error("the caller is not named on this poll")]
    NotAnElector,
    #[error("the household has a representative who casts its ballot")]
    NotRepresentative,
    #[error("the poll is not open")]
    PollNotOpen,
    #[error("already voted and the poll does not allow changes")]
    AlreadyVoted,
    #[error("a proxy ballot and a phone ballot of one household: the first counts")]
    ProxyConflict,
    #[error("results are hidden until the poll closes")]
    ResultsHidden,
    #[error("a concurrent ballot of the same voter won; retry")]
    BallotRace,
}

impl PollError {
    pub fn code(&self) -> &'static str {
        match self {
            PollError::NoHousehold => "NO_HOUSEHOLD",
            PollError::NotInCommunity => "NOT_IN_COMMUNITY",
            PollError::OutOfScope => "OUT_OF_SCOPE",
            PollError::NotAnElector => "NOT_AN_ELECTOR",
            PollError::NotRepresentative => "NOT_REPRESENTATIVE",
            PollError::PollNotOpen => "POLL_NOT_OPEN",
            PollError::AlreadyVoted => "ALREADY_VOTED",
            PollError::ProxyConflict => "PROXY_CONFLICT",
            PollError::ResultsHidden => "RESULTS_HIDDEN",
            PollError::BallotRace => "BALLOT_RACE",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            PollError::NoHousehold
            | PollError::NotInCommunity
            | PollError::OutOfScope
            | PollError::NotAnElector
            | PollError::NotRepresentative
            | PollError::ResultsHidden => StatusCode::FORBIDDEN,
            PollError::PollNotOpen | PollError::AlreadyVoted | PollError::ProxyConflict | PollError::BallotRace => {
                StatusCode::CONFLICT
            }
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let text = match self {
            PollError::NoHousehold if zh => "您尚未登记为本社区住户，不能投票",
            PollError::NoHousehold => "You belong to no household of this community, so you cannot vote",
            PollError::NotInCommunity if zh => "您不是本社区居民",
            PollError::NotInCommunity => "You are not a resident of this community",
            PollError::OutOfScope if zh => "您的住户不在本次投票范围内",
            PollError::OutOfScope => "Your household is outside this poll's scope",
            PollError::NotAnElector if zh => "您不在本次投票的投票人名单中",
            PollError::NotAnElector => "You are not named on this poll",
            PollError::NotRepresentative if zh => "本户已指定居住户代表，由代表投票",
            PollError::NotRepresentative => "Your household has a representative, who casts its ballot",
            PollError::PollNotOpen if zh => "投票未开始或已结束",
            PollError::PollNotOpen => "The poll is not open",
            PollError::AlreadyVoted if zh => "已投票，本次投票不允许改票",
            PollError::AlreadyVoted => "Already voted; this poll does not allow changing a vote",
            PollError::ProxyConflict if zh => "本户已有代投（纸质）或手机选票，以先投者为准",
            PollError::ProxyConflict => "This household already has a paper (proxy) or phone ballot; the first counts",
            PollError::ResultsHidden if zh => "投票结束后公布结果",
            PollError::ResultsHidden => "Results are published when the poll closes",
            PollError::BallotRace if zh => "同一投票人的另一张选票刚刚提交，请重试",
            PollError::BallotRace => "Another ballot of the same voter was just cast; please retry",
        };
        text.to_owned()
    }
}
