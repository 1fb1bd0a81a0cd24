//! The one owner of points: the only code in the API that names ledger accounts and posts transfers.
//!
//! Scenes call domain verbs with typed ids and [`Points`], inside their own database transaction, so
//! that a domain row and its transfer commit together or not at all (DESIGN invariant 6):
//!
//! ```text
//! let txn = begin_write(&db).await?;
//! hour_record::insert(&txn, …).await?;
//! points::award(&txn, &Award { community, user, amount, key: AwardKey::VolunteerHours(record) }, now).await?;
//! txn.commit().await?;
//! ```
//!
//! - [`award`], [`reverse_part`], [`reverse`], [`expire`] post at once;
//! - [`hold_for_redemption`] / [`hold_reward`] set points aside; [`capture`], [`pay_reward`], [`expire_hold`] and
//!   [`release`] resolve a hold (the ledger's expiry job releases timed-out redemption holds);
//! - [`expire_due`] expires a resident's points past their day, oldest first (FIFO), and
//!   [`expiring_between`] forecasts what expires soon (`expiry_rule.rs` is the pure arithmetic);
//! - [`settle`] posts an approved settlement statement (points retired, CNY owed, one linked batch) and
//!   [`pay_settlement`] pays it;
//! - [`balance_of`], [`history_of`], [`merchant_outstanding`] and [`community_points_at`] read the ledger.
//!
//! Every posting verb derives its transfer id from a domain key (the hour record, the redemption code,
//! the help post, the hold it resolves, the transfer it reverses), so a retry, a double click or a second
//! API instance finds the first transfer instead of posting another. Accounts are created on first use,
//! in the caller's transaction. A [`PointsError::Busy`] means a concurrent transaction wrote the same
//! thing first: roll back and run the transaction again. Verbs take the domain clock's `now`, which
//! dates the transfer (expiry counts from the dates of awards).
//!
//! The chart of accounts is in `accounts.rs` and `docs/ledger.md`.

mod accounts;
mod amount;
mod error;
mod expiry;
mod expiry_rule;
mod holds;
mod reading;
mod settlement;
mod verbs;

pub use accounts::Purpose;
pub use amount::{Points, points_text};
pub use ehome_ledger::TransferId;
pub use error::PointsError;
pub use expiry::{Expiring, ExpiryForecast, ExpiryRun, expire_due, expiring_between, residents_with_expiring_points};
pub use expiry_rule::{EXPIRY_MONTHS_RANGE, ExpiryRule, days_after, shanghai_day, start_of_day};
pub use holds::{
    Hold, RedemptionHold, RewardHold, capture, capture_id, expire_hold, hold_for_redemption, hold_reward, pay_reward,
    redemption_hold_id, release,
};
pub use reading::{Change, HistoryCursor, HistoryEntry, HistoryPage, PointsBalance, balance_of, history_of};
pub use settlement::{
    Cny, CommunityPoints, SettlementBatch, SettlementPayment, SettlementPosted, community_points_at,
    merchant_outstanding, pay_settlement, settle,
};
pub use verbs::{Award, AwardKey, Expiry, Posted, ReversalReason, award, expire, reverse, reverse_part};
