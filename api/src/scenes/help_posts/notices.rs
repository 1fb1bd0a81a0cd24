//! What the two sides of a help post are told: the poster when a neighbour claims the post and when
//! the helper marks it done (so they confirm), the helper when the poster confirms (with what was
//! paid). Recorded in the transaction that changed the status, pushed as subscribe messages after it
//! commits, so a rolled-back change tells no one.

use chrono::{DateTime, Utc};
use ehome_entities::help_post;
use sea_orm::ConnectionTrait;

use crate::platform::error::ApiError;
use crate::points::points_text;
use crate::scenes::notifications::{self, Notice};
use crate::state::AppState;

/// The inbox kind of every help-post notice.
pub const KIND: &str = "help_post";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    Claimed,
    Done,
    Confirmed,
}

/// Notices recorded in a transaction, to push once it committed.
#[must_use]
pub struct Notices {
    notices: Vec<Notice>,
    at: DateTime<Utc>,
}

fn notice(user_id: i64, title: String, body: String, phrase: &str) -> Notice {
    Notice { user_id, kind: KIND, title, body, request_id: None, phrase: phrase.to_owned() }
}

impl Notices {
    pub async fn record(
        db: &impl ConnectionTrait,
        what: Told,
        post: &help_post::Model,
        now: DateTime<Utc>,
    ) -> Result<Notices, ApiError> {
        let title = &post.title;
        let told = match (what, post.helper_id) {
            (Told::Claimed, _) => notice(
                post.author_id,
                "您的互助有邻居认领了".to_owned(),
                format!("「{title}」已被邻居认领，可在详情中查看对方的联系电话"),
                "已认领",
            ),
            (Told::Done, _) => notice(
                post.author_id,
                "互助已完成，请确认".to_owned(),
                format!("「{title}」对方已标记完成，请确认并评价"),
                "待确认",
            ),
            (Told::Confirmed, Some(helper)) => {
                let earned = post.paid_minor + post.bonus_minor;
                let body = if earned > 0 {
                    format!("「{title}」发布人已确认完成，您获得积分 {}", points_text(earned))
                } else {
                    format!("「{title}」发布人已确认完成，感谢您的帮助")
                };
                notice(helper, "互助已确认".to_owned(), body, "已确认")
            }
            (Told::Confirmed, None) => return Ok(Notices { notices: vec![], at: now }),
        };
        notifications::record(db, &told, now).await?;
        Ok(Notices { notices: vec![told], at: now })
    }

    pub async fn push(self, state: &AppState) {
        notifications::push_all(state, self.notices, self.at).await;
    }
}
