//! What a shop is told about its settlement statements: its owner, when the committee approves a
//! statement (the points retired and the yuan owed) and when it records the payment (the amount and
//! the bank's reference). Recorded in the transaction that changed the statement, pushed as subscribe
//! messages after it commits, so a rolled-back change tells no one. A shop without an owner on record
//! (one the community runs itself) is told nothing.

use chrono::{DateTime, Utc};
use ehome_entities::{merchant, settlement};
use sea_orm::ConnectionTrait;

use crate::platform::error::ApiError;
use crate::points::points_text;
use crate::scenes::notifications::{self, Notice};
use crate::state::AppState;

/// The inbox kind of every settlement notice.
pub const KIND: &str = "settlement";

/// What happened to the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    Approved,
    Paid,
}

/// Fen as yuan text ("12.50").
fn yuan(fen: i64) -> String {
    ehome_ledger::Asset::Cny.format_minor(fen)
}

/// The notice for the shop's owner, if it has one.
pub fn compose(what: Told, statement: &settlement::Model, shop: &merchant::Model) -> Option<Notice> {
    let owner = shop.owner_id?;
    let period = format!("{} 至 {}", statement.period_first_day, statement.period_last_day);
    let points = points_text(statement.points_minor);
    let (title, body, phrase) = match what {
        Told::Approved if statement.rate.is_some() && statement.cny_minor > 0 => (
            "结算单已审核",
            format!(
                "「{}」{period} 的结算单（编号 {}）已审核：积分 {points}，应付 ¥{}，付款后另行通知",
                shop.name,
                statement.id,
                yuan(statement.cny_minor)
            ),
            "已审核",
        ),
        Told::Approved => (
            "结算单已审核",
            format!("「{}」{period} 的结算单（编号 {}）已审核：积分 {points} 已结算", shop.name, statement.id),
            "已审核",
        ),
        Told::Paid => (
            "结算款已支付",
            format!(
                "「{}」{period} 的结算单（编号 {}）已付款 ¥{}，银行流水号 {}",
                shop.name,
                statement.id,
                yuan(statement.cny_minor),
                statement.bank_reference.as_deref().unwrap_or("-")
            ),
            "已付款",
        ),
    };
    Some(Notice {
        user_id: owner,
        kind: KIND,
        title: title.to_owned(),
        body,
        request_id: None,
        phrase: phrase.to_owned(),
    })
}

/// A notice recorded in a transaction, to push once it committed.
#[must_use]
pub struct Recorded {
    notice: Option<Notice>,
    at: DateTime<Utc>,
}

impl Recorded {
    /// Records the shop's notice (if it has an owner) in the caller's transaction.
    pub async fn record(
        db: &impl ConnectionTrait,
        what: Told,
        statement: &settlement::Model,
        shop: &merchant::Model,
        now: DateTime<Utc>,
    ) -> Result<Recorded, ApiError> {
        let notice = compose(what, statement, shop);
        if let Some(notice) = &notice {
            notifications::record(db, notice, now).await?;
        }
        Ok(Recorded { notice, at: now })
    }

    /// Sends the subscribe message, after the commit.
    pub async fn push(self, state: &AppState) {
        if let Some(notice) = self.notice {
            notifications::push(state, notice, self.at).await;
        }
    }
}
