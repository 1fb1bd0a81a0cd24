//! Holds: points set aside from a resident's balance (a pending ledger transfer) and later captured,
//! paid, released, or expired by the ledger's expiry job.
//!
//! A redemption holds `user:{u}:points` → `merchant:{m}:points` with a timeout; the shop's capture
//! posts it (in full or in part), a cancel releases it. A help-post reward holds
//! `user:{poster}:points` → `community:{c}:points:rewards_payable` without a timeout (the post's own
//! lifecycle ends it); confirming the help posts the hold and pays the helper in one linked batch, in
//! full or in part (the committee's split), and a cancel releases it.

use chrono::{DateTime, Utc};
use ehome_ledger::{Asset, Transfer, TransferAction, TransferId, TransferKind};
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::accounts::{LedgerAccount, Purpose, ensure};
use super::amount::Points;
use super::error::PointsError;
use super::verbs::{Posted, keyed, merged, points_transfer, positive, post, post_single};
use crate::domain::{CommunityId, MerchantId, UserId};

/// A hold as placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub id: TransferId,
    pub amount: Points,
    pub at: DateTime<Utc>,
    /// When the ledger's expiry job may release it; `None` for holds that never time out.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Hold {
    fn from_transfer(transfer: &Transfer) -> Result<Hold, PointsError> {
        Ok(Hold {
            id: transfer.id,
            amount: Points::from_minor(transfer.amount)?,
            at: transfer.created_at,
            expires_at: transfer.timeout_at,
        })
    }
}

/// Points held for a merchant's offer until the shop captures them at the counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedemptionHold {
    pub user: UserId,
    pub merchant: MerchantId,
    pub amount: Points,
    /// The one-time redemption code's id: the hold's id is derived from it.
    pub redemption_code: i64,
    pub timeout_seconds: u32,
}

/// A help-post reward held from the poster's balance when the post is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RewardHold {
    pub community: CommunityId,
    pub poster: UserId,
    pub amount: Points,
    /// The help post's id: the hold's id is derived from it.
    pub help_post: i64,
}

fn redemption_hold_key(redemption_code: i64) -> String {
    format!("points:hold:redemption_code:{redemption_code}")
}

/// The id the hold of redemption code `redemption_code` has once placed: derived from the code, so the
/// redemption row can name its hold before the hold is posted (the hold then comes last in the
/// transaction, and the accounts it locks are held for the commit only).
pub fn redemption_hold_id(redemption_code: i64) -> TransferId {
    TransferId::from_idempotency_key(&redemption_hold_key(redemption_code))
}

/// Places a redemption hold. Refused with `InsufficientPoints` (and nothing written) when the
/// resident's available balance does not cover it.
pub async fn hold_for_redemption(
    conn: &impl ConnectionTrait,
    hold: &RedemptionHold,
    now: DateTime<Utc>,
) -> Result<Hold, PointsError> {
    let placement = Placement {
        from: LedgerAccount::User(hold.user),
        to: LedgerAccount::Merchant(hold.merchant),
        amount: hold.amount,
        timeout_seconds: Some(hold.timeout_seconds),
        purpose: Purpose::Redemption,
        key: redemption_hold_key(hold.redemption_code),
        metadata: json!({ "redemption_code": hold.redemption_code, "user": hold.user, "merchant": hold.merchant }),
    };
    place(conn, placement, now).await
}

/// Places a help-post reward hold; refused with `InsufficientPoints` like a redemption.
pub async fn hold_reward(
    conn: &impl ConnectionTrait,
    hold: &RewardHold,
    now: DateTime<Utc>,
) -> Result<Hold, PointsError> {
    let placement = Placement {
        from: LedgerAccount::User(hold.poster),
        to: LedgerAccount::RewardsPayable(hold.community),
        amount: hold.amount,
        timeout_seconds: None,
        purpose: Purpose::AidReward,
        key: format!("points:hold:help_post:{}", hold.help_post),
        metadata: json!({ "help_post": hold.help_post, "user": hold.poster, "community": hold.community }),
    };
    place(conn, placement, now).await
}

/// A hold to place: from whose balance, towards which account, why, and the key its id derives from.
struct Placement {
    from: LedgerAccount,
    to: LedgerAccount,
    amount: Points,
    timeout_seconds: Option<u32>,
    purpose: Purpose,
    key: String,
    metadata: serde_json::Value,
}

async fn place(conn: &impl ConnectionTrait, placement: Placement, now: DateTime<Utc>) -> Result<Hold, PointsError> {
    let amount = positive(placement.amount)?;
    let ids = ensure(conn, &[placement.from, placement.to]).await?;
    let action = TransferAction::Pending {
        debit: ids[0],
        credit: ids[1],
        asset: Asset::Points,
        amount,
        timeout_seconds: placement.timeout_seconds,
    };
    let request = keyed(action, placement.purpose, &placement.key, placement.metadata);
    Hold::from_transfer(&post_single(conn, request, now).await?)
}

/// The stored hold `id`, which must be a hold of points placed for `purpose`.
async fn stored_hold(conn: &impl ConnectionTrait, id: TransferId, purpose: Purpose) -> Result<Transfer, PointsError> {
    let hold = points_transfer(conn, id).await?;
    if hold.kind != TransferKind::Pending || Purpose::parse(&hold.code) != Some(purpose) {
        let what = match purpose {
            Purpose::AidReward => "reward hold",
            _ => "redemption hold",
        };
        return Err(PointsError::WrongTransfer(id, what));
    }
    Ok(hold)
}

/// The part of a hold to post: all of it, or a positive part no larger than the hold.
fn part_of(hold: &Transfer, amount: Option<Points>) -> Result<i64, PointsError> {
    let Some(amount) = amount else { return Ok(hold.amount) };
    let minor = positive(amount)?;
    if minor > hold.amount {
        return Err(PointsError::AmountExceedsOriginal {
            transfer: hold.id,
            available: Points::from_minor(hold.amount)?.to_string(),
            requested: amount.to_string(),
        });
    }
    Ok(minor)
}

/// The id the capture of `hold` has once posted (derived from the hold, as [`redemption_hold_id`]).
pub fn capture_id(hold: TransferId) -> TransferId {
    TransferId::from_idempotency_key(&format!("points:capture:{hold}"))
}

/// Captures a redemption hold at the counter, in full (`None`) or in part (the rest is released).
/// Once per hold: a repeat with the same amount returns the first capture.
pub async fn capture(
    conn: &impl ConnectionTrait,
    hold: TransferId,
    amount: Option<Points>,
    now: DateTime<Utc>,
) -> Result<Posted, PointsError> {
    let stored = stored_hold(conn, hold, Purpose::Redemption).await?;
    let minor = part_of(&stored, amount)?;
    let action = TransferAction::PostPending { pending_id: hold, amount: Some(minor) };
    let metadata = merged(&[stored.metadata.clone(), json!({ "hold": hold.to_text() })]);
    let request = keyed(action, Purpose::Redemption, &format!("points:capture:{hold}"), metadata);
    Posted::from_transfer(&post_single(conn, request, now).await?)
}

/// Pays a help-post reward to the helper: the hold is posted (in full, or in part when the committee
/// splits it; the rest goes back to the poster) and the same amount moves on to the helper, both in
/// one linked batch. Returns the payment to the helper.
pub async fn pay_reward(
    conn: &impl ConnectionTrait,
    hold: TransferId,
    helper: UserId,
    amount: Option<Points>,
    now: DateTime<Utc>,
) -> Result<Posted, PointsError> {
    let stored = stored_hold(conn, hold, Purpose::AidReward).await?;
    let minor = part_of(&stored, amount)?;
    let helper_account = ensure(conn, &[LedgerAccount::User(helper)]).await?[0];
    let metadata = merged(&[stored.metadata.clone(), json!({ "hold": hold.to_text(), "helper": helper })]);
    let post_hold = TransferAction::PostPending { pending_id: hold, amount: Some(minor) };
    let pay =
        TransferAction::Single { debit: stored.credit, credit: helper_account, asset: Asset::Points, amount: minor };
    let requests = [
        keyed(post_hold, Purpose::AidReward, &format!("points:capture:{hold}"), metadata.clone()),
        keyed(pay, Purpose::AidReward, &format!("points:reward_payment:{hold}"), metadata),
    ];
    let posted = post(conn, &requests, now).await?;
    Posted::from_transfer(posted.last().ok_or(PointsError::UnknownTransfer(hold))?)
}

/// Releases a hold of either kind (a cancelled code, a withdrawn post, a suspended merchant): nothing
/// moves and the points are available again. Once per hold.
pub async fn release(conn: &impl ConnectionTrait, hold: TransferId, now: DateTime<Utc>) -> Result<Posted, PointsError> {
    let stored = points_transfer(conn, hold).await?;
    let purpose = Purpose::parse(&stored.code).filter(|p| matches!(p, Purpose::Redemption | Purpose::AidReward));
    let Some(purpose) = purpose.filter(|_| stored.kind == TransferKind::Pending) else {
        return Err(PointsError::WrongTransfer(hold, "hold"));
    };
    let action = TransferAction::VoidPending { pending_id: hold };
    let metadata = merged(&[stored.metadata.clone(), json!({ "hold": hold.to_text() })]);
    let request = keyed(action, purpose, &format!("points:release:{hold}"), metadata);
    Posted::from_transfer(&post_single(conn, request, now).await?)
}

/// Expires a redemption hold whose timeout has passed (a code nobody used in time), as the ledger's
/// own expiry job does and with the same transfer id, so that the job and a scene racing on one
/// hold post one expiry between them. Before the timeout the ledger refuses it.
pub async fn expire_hold(
    conn: &impl ConnectionTrait,
    hold: TransferId,
    now: DateTime<Utc>,
) -> Result<Posted, PointsError> {
    let stored = stored_hold(conn, hold, Purpose::Redemption).await?;
    let request = ehome_ledger::store::expiry_request(&stored);
    Posted::from_transfer(&post_single(conn, request, now).await?)
}
