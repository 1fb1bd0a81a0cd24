//! Text that other people will read. [`PublicText`] has one constructor, [`screen`], which runs the
//! content check (WeChat `msg_sec_check`), so a field shown to others that is declared as `PublicText`
//! cannot skip it. The text is validated (length, characters) before it is screened, by the domain
//! types of `crate::domain::text`.

use crate::platform::error::ApiError;
use crate::platform::wechat::{TextScene, TextVerdict, WechatClient};

/// Text that passed (or is held by) the content check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicText(String);

impl PublicText {
    /// Text the project itself writes — the demo community's names, system notes — never text a
    /// person typed, which only [`screen`] turns into a `PublicText`.
    pub fn from_project(text: String) -> PublicText {
        PublicText(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What happens to text the check is unsure of ("review") or cannot check (WeChat unreachable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnsure {
    /// Keep it, held from the public until the committee releases it (a new request).
    Hold,
    /// Refuse it: `review` and `risky` are `CONTENT_REJECTED`, an unanswered check is `503` (comments,
    /// notes, names: nothing to hold them in).
    Refuse,
}

/// The check's decision on a set of texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Publish,
    /// Held for the committee, with the reason (for an internal note).
    Hold(&'static str),
}

/// Who wrote the text (WeChat checks text against its author) and where it will be shown.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub openid: &'a str,
    pub scene: TextScene,
}

/// Screens texts that will be published together, in one call of the check: `risky` refuses them all
/// (`CONTENT_REJECTED`), `pass` publishes them, and the rest follows `when_unsure`.
pub async fn screen<const N: usize>(
    wechat: &WechatClient,
    author: Author<'_>,
    texts: [String; N],
    when_unsure: WhenUnsure,
) -> Result<([PublicText; N], Verdict), ApiError> {
    let joined: Vec<&str> = texts.iter().map(String::as_str).filter(|text| !text.is_empty()).collect();
    let verdict = if joined.is_empty() {
        Verdict::Publish
    } else {
        decide(wechat.check_text(author.openid, author.scene, &joined.join("\n")).await, when_unsure)?
    };
    Ok((texts.map(PublicText), verdict))
}

/// Screens a list of texts published together (a poll's question and its options), in one call.
pub async fn screen_many(
    wechat: &WechatClient,
    author: Author<'_>,
    texts: Vec<String>,
    when_unsure: WhenUnsure,
) -> Result<(Vec<PublicText>, Verdict), ApiError> {
    let joined: Vec<&str> = texts.iter().map(String::as_str).filter(|text| !text.is_empty()).collect();
    let verdict = if joined.is_empty() {
        Verdict::Publish
    } else {
        decide(wechat.check_text(author.openid, author.scene, &joined.join("\n")).await, when_unsure)?
    };
    Ok((texts.into_iter().map(PublicText).collect(), verdict))
}

/// Screens one text that is refused when unsure.
pub async fn screen_one(wechat: &WechatClient, author: Author<'_>, text: String) -> Result<PublicText, ApiError> {
    let ([text], _) = screen(wechat, author, [text], WhenUnsure::Refuse).await?;
    Ok(text)
}

fn decide(
    answer: Result<TextVerdict, crate::platform::wechat::WechatError>,
    when_unsure: WhenUnsure,
) -> Result<Verdict, ApiError> {
    match (answer, when_unsure) {
        (Ok(TextVerdict::Pass), _) => Ok(Verdict::Publish),
        (Ok(TextVerdict::Risky), _) => Err(ApiError::ContentRejected),
        (Ok(TextVerdict::Review), WhenUnsure::Hold) => Ok(Verdict::Hold("内容安全检测建议人工审核")),
        (Ok(TextVerdict::Review), WhenUnsure::Refuse) => Err(ApiError::ContentRejected),
        (Err(err), WhenUnsure::Hold) => {
            tracing::warn!(error = %err, "text check unavailable; holding the text for review");
            Ok(Verdict::Hold("内容安全检测暂不可用，待人工审核"))
        }
        (Err(err), WhenUnsure::Refuse) => Err(err.into()),
    }
}
