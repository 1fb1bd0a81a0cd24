//! The one error type of the API: stable codes, the right HTTP status, a message in Chinese (default)
//! or English, and the underlying cause kept for the log only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The language of a response, from `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// English when the first language the client names is English; Chinese otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let first =
            header.and_then(|h| h.split(',').next()).map(|tag| tag.trim().to_ascii_lowercase()).unwrap_or_default();
        if first.starts_with("en") { Lang::En } else { Lang::Zh }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed JSON body: {0}")]
    InvalidJson(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("invalid field {field}: {reason}")]
    Validation { field: String, reason: String },
    #[error("not signed in or token invalid")]
    Unauthenticated,
    #[error("refresh token invalid, expired or revoked")]
    RefreshTokenInvalid,
    #[error("forbidden")]
    Forbidden,
    #[error("the caller is a party to the case and may not decide it")]
    PartyToCase,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("rate limited; retry after {retry_after_seconds}s")]
    RateLimited { retry_after_seconds: u64 },
    #[error(transparent)]
    Community(#[from] crate::scenes::community::error::CommunityError),
    #[error("WeChat code invalid or used")]
    WechatCodeInvalid,
    #[error("WeChat blocked this user")]
    WechatUserBlocked,
    #[error("WeChat quota exceeded")]
    WechatRateLimited,
    #[error("WeChat unavailable")]
    WechatUnavailable,
    #[error("no phone number bound")]
    PhoneNotBound,
    #[error(transparent)]
    Requests(#[from] crate::scenes::requests::error::RequestError),
    #[error(transparent)]
    Notices(#[from] crate::scenes::notices::error::NoticeError),
    #[error(transparent)]
    Deliberations(#[from] crate::scenes::deliberations::error::DeliberationError),
    #[error(transparent)]
    Polls(#[from] crate::scenes::polls::error::PollError),
    #[error(transparent)]
    Activities(#[from] crate::scenes::activities::error::ActivityError),
    #[error(transparent)]
    Care(#[from] crate::scenes::care::error::CareError),
    #[error(transparent)]
    Merchants(#[from] crate::scenes::merchants::error::MerchantError),
    #[error(transparent)]
    Redemptions(#[from] crate::scenes::redemptions::error::RedemptionError),
    #[error(transparent)]
    HelpPosts(#[from] crate::scenes::help_posts::error::HelpPostError),
    #[error(transparent)]
    Settlements(#[from] crate::scenes::settlements::error::SettlementError),
    #[error("the Idempotency-Key was used before with another request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInProgress,
    #[error("the first request with this Idempotency-Key never answered; it may have been applied")]
    IdempotencyKeyInDoubt,
    #[error("content rejected by the text check")]
    ContentRejected,
    #[error("insufficient points")]
    InsufficientPoints,
    #[error("the points hold is already captured, released or expired")]
    HoldAlreadyResolved,
    #[error("the points hold has expired")]
    HoldExpired,
    #[error("the transfer is already reversed")]
    AlreadyReversed,
    #[error(transparent)]
    Hours(#[from] crate::scenes::service_hours::error::HoursError),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("database unavailable")]
    DatabaseUnavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
    pub request_id: String,
    /// Machine-readable detail for the few errors that name something (a used code's redemption).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Validation { field: field.into(), reason: reason.into() }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Internal(err.into())
    }

    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            ApiError::Redemptions(err) => err.details(),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "INVALID_JSON",
            ApiError::InvalidQuery(_) => "INVALID_QUERY",
            ApiError::Validation { .. } => "VALIDATION_FAILED",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::RefreshTokenInvalid => "REFRESH_TOKEN_INVALID",
            ApiError::Forbidden => "FORBIDDEN",
            ApiError::PartyToCase => "PARTY_TO_CASE",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::RouteNotFound => "ROUTE_NOT_FOUND",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Community(err) => err.code(),
            ApiError::WechatCodeInvalid => "WECHAT_CODE_INVALID",
            ApiError::WechatUserBlocked => "WECHAT_USER_BLOCKED",
            ApiError::WechatRateLimited => "WECHAT_RATE_LIMITED",
            ApiError::WechatUnavailable => "WECHAT_UNAVAILABLE",
            ApiError::PhoneNotBound => "PHONE_NOT_BOUND",
            ApiError::Requests(err) => err.code(),
            ApiError::Notices(err) => err.code(),
            ApiError::Deliberations(err) => err.code(),
            ApiError::Polls(err) => err.code(),
            ApiError::Activities(err) => err.code(),
            ApiError::Merchants(err) => err.code(),
            ApiError::Care(err) => err.code(),
            ApiError::Redemptions(err) => err.code(),
            ApiError::HelpPosts(err) => err.code(),
            ApiError::Settlements(err) => err.code(),
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::IdempotencyKeyInProgress => "IDEMPOTENCY_KEY_IN_PROGRESS",
            ApiError::IdempotencyKeyInDoubt => "IDEMPOTENCY_KEY_IN_DOUBT",
            ApiError::ContentRejected => "CONTENT_REJECTED",
            ApiError::InsufficientPoints => "INSUFFICIENT_POINTS",
            ApiError::HoldAlreadyResolved => "HOLD_ALREADY_RESOLVED",
            ApiError::HoldExpired => "HOLD_EXPIRED",
            ApiError::AlreadyReversed => "ALREADY_REVERSED",
            ApiError::Hours(err) => err.code(),
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::DatabaseUnavailable(_) => "DATABASE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let pick = |zh_text: &str, en_text: &str| if zh { zh_text.to_owned() } else { en_text.to_owned() };
        match self {
            ApiError::InvalidJson(detail) => {
                if zh {
                    format!("请求体不是有效的 JSON：{detail}")
                } else {
                    format!("The request body is not valid JSON: {detail}")
                }
            }
            ApiError::InvalidQuery(detail) => {
                if zh {
                    format!("查询参数无效：{detail}")
                } else {
                    format!("Invalid query parameters: {detail}")
                }
            }
            ApiError::Validation { field, reason } => {
                if zh {
                    format!("字段 {field} 无效：{reason}")
                } else {
                    format!("Field {field} is invalid: {reason}")
                }
            }
            ApiError::Unauthenticated => {
                pick("请先登录（令牌缺失、无效或已过期）", "Please sign in: the token is missing, invalid or expired")
            }
            ApiError::RefreshTokenInvalid => {
                pick("登录已失效，请重新登录", "The refresh token is invalid, expired or revoked; please sign in again")
            }
            ApiError::Forbidden => pick("没有权限执行此操作", "You are not allowed to do this"),
            ApiError::PartyToCase => pick(
                "您是此事的当事人，不能自己处理，请由其他负责人处理",
                "You are a party to this case and cannot decide it; another handler will",
            ),
            ApiError::NotFound(what) => {
                if zh {
                    format!("未找到：{what}")
                } else {
                    format!("Not found: {what}")
                }
            }
            ApiError::RouteNotFound => pick("接口不存在", "No such endpoint"),
            ApiError::MethodNotAllowed => pick("该接口不支持此方法", "Method not allowed on this endpoint"),
            ApiError::PayloadTooLarge => pick("请求体过大", "The request body is too large"),
            ApiError::RateLimited { retry_after_seconds } => {
                if zh {
                    format!("操作过于频繁，请 {retry_after_seconds} 秒后再试")
                } else {
                    format!("Too many requests; retry in {retry_after_seconds} s")
                }
            }
            ApiError::Community(err) => err.message(lang),
            ApiError::WechatCodeInvalid => {
                pick("微信登录凭证无效或已使用，请重新登录", "The WeChat code is invalid or used; please sign in again")
            }
            ApiError::WechatUserBlocked => {
                pick("该微信账号存在风险，已被微信限制", "WeChat has blocked this account as high-risk")
            }
            ApiError::WechatRateLimited => {
                pick("微信接口调用过于频繁，请稍后再试", "WeChat's quota is exhausted; please retry later")
            }
            ApiError::WechatUnavailable => {
                pick("微信服务暂时不可用，请稍后再试", "WeChat is unavailable; please retry later")
            }
            ApiError::PhoneNotBound => pick("尚未绑定手机号", "No phone number is bound"),
            ApiError::Requests(err) => err.message(lang),
            ApiError::Notices(err) => err.message(lang),
            ApiError::Deliberations(err) => err.message(lang),
            ApiError::Polls(err) => err.message(lang),
            ApiError::Activities(err) => err.message(lang),
            ApiError::Merchants(err) => err.message(lang),
            ApiError::Care(err) => err.message(lang),
            ApiError::Redemptions(err) => err.message(lang),
            ApiError::HelpPosts(err) => err.message(lang),
            ApiError::Settlements(err) => err.message(lang),
            ApiError::IdempotencyKeyReused => pick(
                "该 Idempotency-Key 已用于另一个请求，请换一个新的",
                "This Idempotency-Key was used with another request; use a new key",
            ),
            ApiError::IdempotencyKeyInProgress => pick(
                "相同 Idempotency-Key 的请求正在处理中，请稍后重试",
                "A request with this Idempotency-Key is still in progress; retry shortly",
            ),
            ApiError::IdempotencyKeyInDoubt => pick(
                "相同 Idempotency-Key 的请求未能答复，可能已经生效；请先查看结果，需要时换一个新的 Key 再提交",
                "The first request with this Idempotency-Key never answered and may have been applied; \
                 check before sending it again under a new key",
            ),
            ApiError::ContentRejected => {
                pick("内容含有违规信息，请修改后再提交", "The content did not pass the content check; please revise it")
            }
            ApiError::InsufficientPoints => pick("积分不足", "Not enough points"),
            ApiError::HoldAlreadyResolved => {
                pick("这笔冻结积分已使用、取消或过期", "These held points were already spent, released or expired")
            }
            ApiError::HoldExpired => pick("冻结积分已过期", "The hold on these points has expired"),
            ApiError::AlreadyReversed => pick("这笔积分已退回", "This transfer has already been reversed"),
            ApiError::Hours(err) => err.message(lang),
            ApiError::Unavailable(_) => pick("服务暂时不可用", "Service temporarily unavailable"),
            ApiError::DatabaseUnavailable(_) => {
                pick("数据库暂时不可用，请稍后重试", "The database is unavailable; please retry shortly")
            }
            ApiError::Internal(_) => pick("服务器内部错误", "Internal server error"),
        }
    }

    pub fn render(&self, lang: Lang, request_id: &str) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after_seconds() {
            builder.insert_header(("Retry-After", seconds.to_string()));
        }
        builder.json(self.body(lang, request_id))
    }

    /// How long a client should wait before trying again, for the errors that pass with time.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_seconds } => Some(*retry_after_seconds),
            ApiError::DatabaseUnavailable(_) | ApiError::Unavailable(_) => {
                Some(crate::platform::db_health::RETRY_AFTER_SECONDS)
            }
            _ => None,
        }
    }

    pub fn body(&self, lang: Lang, request_id: &str) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.message(lang),
                request_id: request_id.to_owned(),
                details: self.details(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::InvalidQuery(_) | ApiError::Validation { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthenticated | ApiError::RefreshTokenInvalid | ApiError::WechatCodeInvalid => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden | ApiError::PartyToCase | ApiError::WechatUserBlocked => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } | ApiError::WechatRateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Community(err) => err.status(),
            ApiError::Requests(err) => err.status(),
            ApiError::Notices(err) => err.status(),
            ApiError::Deliberations(err) => err.status(),
            ApiError::Polls(err) => err.status(),
            ApiError::Activities(err) => err.status(),
            ApiError::Merchants(err) => err.status(),
            ApiError::Care(err) => err.status(),
            ApiError::Redemptions(err) => err.status(),
            ApiError::HelpPosts(err) => err.status(),
            ApiError::Settlements(err) => err.status(),
            ApiError::IdempotencyKeyReused | ApiError::IdempotencyKeyInProgress | ApiError::IdempotencyKeyInDoubt => {
                StatusCode::CONFLICT
            }
            ApiError::InsufficientPoints | ApiError::HoldAlreadyResolved | ApiError::AlreadyReversed => {
                StatusCode::CONFLICT
            }
            ApiError::HoldExpired => StatusCode::GONE,
            ApiError::Hours(err) => err.status(),
            ApiError::ContentRejected => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PhoneNotBound => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::WechatUnavailable | ApiError::Unavailable(_) | ApiError::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Rendered in Chinese without a request id; the request-context middleware re-renders every error
    /// response with the client's language and the request id.
    fn error_response(&self) -> HttpResponse {
        self.render(Lang::Zh, "")
    }
}

impl From<sea_orm::DbErr> for ApiError {
    /// A database that cannot be reached is `503 DATABASE_UNAVAILABLE` (and the request context marks
    /// it down, see `platform::db_health`); any other database error is internal.
    fn from(err: sea_orm::DbErr) -> Self {
        let unavailable = crate::platform::db_health::is_unavailable(&err);
        if unavailable {
            crate::platform::db::suspect_connections();
        }
        let err = anyhow::Error::new(err).context("database");
        if unavailable { ApiError::DatabaseUnavailable(err) } else { ApiError::Internal(err) }
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(err: sea_orm::TransactionError<ApiError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

impl From<crate::platform::cache::CacheError> for ApiError {
    fn from(err: crate::platform::cache::CacheError) -> Self {
        ApiError::Internal(anyhow::Error::new(err).context("shared cache"))
    }
}

/// Writes the cause chain of an error on one line, for logs.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub type ApiResult<T> = Result<T, ApiError>;
