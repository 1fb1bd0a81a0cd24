//! The errors of the community scene, each with a stable code; `ApiError` renders them.

use actix_web::http::StatusCode;

use crate::platform::error::Lang;

#[derive(Debug, thiserror::Error)]
pub enum CommunityError {
    #[error("user already belongs to a household in this community")]
    AlreadyMember,
    #[error("join request is not pending")]
    JoinRequestNotPending,
    #[error("a pending join request already exists")]
    JoinRequestExists,
    #[error("invalid role assignment: {0}")]
    InvalidRole(String),
}

impl CommunityError {
    pub fn code(&self) -> &'static str {
        match self {
            CommunityError::AlreadyMember => "ALREADY_MEMBER",
            CommunityError::JoinRequestNotPending => "JOIN_REQUEST_NOT_PENDING",
            CommunityError::JoinRequestExists => "JOIN_REQUEST_EXISTS",
            CommunityError::InvalidRole(_) => "INVALID_ROLE",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            CommunityError::InvalidRole(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::CONFLICT,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let text = match self {
            CommunityError::AlreadyMember if zh => "您在本社区已登记住户",
            CommunityError::AlreadyMember => "You already belong to a household in this community",
            CommunityError::JoinRequestNotPending if zh => "该入户申请已处理",
            CommunityError::JoinRequestNotPending => "This join request has already been decided",
            CommunityError::JoinRequestExists if zh => "您已有待审核的入户申请",
            CommunityError::JoinRequestExists => "You already have a pending join request",
            CommunityError::InvalidRole(detail) if zh => return format!("角色设置无效：{detail}"),
            CommunityError::InvalidRole(detail) => return format!("Invalid role assignment: {detail}"),
        };
        text.to_owned()
    }
}
