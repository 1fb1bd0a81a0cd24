//! Verbs that post at once: award, take part of an award back, reverse, expire.
//!
//! Each takes the caller's connection or transaction (DESIGN invariant 6: the domain row and its
//! transfer commit together) and the domain's clock, and derives its transfer id from a domain key, so
//! a retry, a second approval or a second API instance finds the first transfer instead of posting
//! another.

use chrono::{DateTime, NaiveDate, Utc};
use ehome_ledger::{Asset, Transfer, TransferAction, TransferId, TransferKind, TransferRequest};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use super::accounts::{LedgerAccount, Purpose, ensure};
use super::amount::Points;
use super::error::PointsError;
use crate::domain::{CommunityId, UserId};

/// A transfer as the verbs report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    pub id: TransferId,
    pub amount: Points,
    pub at: DateTime<Utc>,
}

impl Posted {
    pub(super) fn from_transfer(transfer: &Transfer) -> Result<Posted, PointsError> {
        Ok(Posted { id: transfer.id, amount: Points::from_minor(transfer.amount)?, at: transfer.created_at })
    }
}

/// The domain object an award belongs to; its transfer id is derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwardKey {
    /// An approved volunteer hour record (its id).
    VolunteerHours(i64),
    /// An adjustment record of volunteer hours (its id) and the award it corrects.
    HoursAdjustment { adjustment: i64, corrects: TransferId },
    /// The community's bonus for a confirmed help post (its id).
    AidBonus(i64),
}

impl AwardKey {
    fn purpose(self) -> Purpose {
        match self {
            AwardKey::VolunteerHours(_) => Purpose::VolunteerAward,
            AwardKey::HoursAdjustment { .. } => Purpose::AwardAdjustment,
            AwardKey::AidBonus(_) => Purpose::AidBonus,
        }
    }

    /// The idempotency key: one per domain object, whatever the amount.
    fn key(self) -> String {
        match self {
            AwardKey::VolunteerHours(record) => format!("points:award:hour_record:{record}"),
            AwardKey::HoursAdjustment { adjustment, .. } => format!("points:award:hour_adjustment:{adjustment}"),
            AwardKey::AidBonus(post) => format!("points:award:help_post_bonus:{post}"),
        }
    }

    fn metadata(self) -> Value {
        match self {
            AwardKey::VolunteerHours(record) => json!({ "hour_record": record }),
            AwardKey::HoursAdjustment { adjustment, corrects } => {
                json!({ "hour_adjustment": adjustment, "corrects": corrects.to_text() })
            }
            AwardKey::AidBonus(post) => json!({ "help_post": post }),
        }
    }
}

/// Points a community gives a resident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Award {
    pub community: CommunityId,
    pub user: UserId,
    pub amount: Points,
    pub key: AwardKey,
}

/// Why a whole transfer is moved back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReversalReason {
    /// A redemption refunded by the merchant or the committee (the redemption's id).
    Refund { redemption: i64 },
    /// An award withdrawn in full by an adjustment record (its id).
    Adjustment { adjustment: i64 },
}

impl ReversalReason {
    fn metadata(self) -> Value {
        match self {
            ReversalReason::Refund { redemption } => json!({ "refund_of_redemption": redemption }),
            ReversalReason::Adjustment { adjustment } => json!({ "hour_adjustment": adjustment }),
        }
    }
}

/// Points that expire unspent on a date (`expire_due` computes the amount, oldest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub community: CommunityId,
    pub user: UserId,
    pub amount: Points,
    pub date: NaiveDate,
}

/// Merges domain links into one metadata object (later keys win).
pub(super) fn merged(parts: &[Value]) -> Value {
    let mut out = serde_json::Map::new();
    for part in parts {
        if let Value::Object(map) = part {
            out.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Value::Object(out)
}

/// A request whose id is derived from `key`, so every retry of it names the same transfer.
pub(super) fn keyed(action: TransferAction, purpose: Purpose, key: &str, metadata: Value) -> TransferRequest {
    TransferRequest::new(action, purpose.code()).with_idempotency_key(key).with_metadata(metadata)
}

/// Posts a linked batch (all or none) in the caller's transaction, at the domain's time.
///
/// On PostgreSQL the rest of the transaction first runs on generic plans (`SET LOCAL plan_cache_mode
/// = force_generic_plan`, see `ehome_ledger::store::prepare_transaction`): the ledger's statements have
/// one text for every batch and plans that suit every batch, and left to choose, PostgreSQL planned
/// them again at every execution — a millisecond of CPU per post, the largest part of a redemption's
/// database time. The domain statements that follow in the transaction are lookups by key.
pub(super) async fn post(
    conn: &impl ConnectionTrait,
    requests: &[TransferRequest],
    now: DateTime<Utc>,
) -> Result<Vec<Transfer>, PointsError> {
    ehome_ledger::store::prepare_transaction(conn).await?;
    Ok(ehome_ledger::store::post_linked_at(conn, requests, now.timestamp_micros()).await?)
}

/// Posts one request and returns the transfer as stored.
pub(super) async fn post_single(
    conn: &impl ConnectionTrait,
    request: TransferRequest,
    now: DateTime<Utc>,
) -> Result<Transfer, PointsError> {
    let posted = post(conn, std::slice::from_ref(&request), now).await?;
    posted.into_iter().next().ok_or(PointsError::UnknownTransfer(request.id))
}

/// Posts one request and reports it.
async fn post_one(
    conn: &impl ConnectionTrait,
    request: TransferRequest,
    now: DateTime<Utc>,
) -> Result<Posted, PointsError> {
    Posted::from_transfer(&post_single(conn, request, now).await?)
}

pub(super) fn positive(amount: Points) -> Result<i64, PointsError> {
    if amount.is_zero() { Err(PointsError::ZeroAmount) } else { Ok(amount.minor()) }
}

/// A stored transfer of points, or `UnknownTransfer`.
pub(super) async fn points_transfer(conn: &impl ConnectionTrait, id: TransferId) -> Result<Transfer, PointsError> {
    let transfer = ehome_ledger::transfer(conn, id).await?;
    if transfer.asset != Asset::Points {
        return Err(PointsError::WrongTransfer(id, "points transfer"));
    }
    Ok(transfer)
}

/// Awards points: `community:{c}:points:issuance` → `user:{u}:points`. Posted once per key: a repeat
/// with the same content returns the first transfer, with other content is `KeyReused`.
pub async fn award(conn: &impl ConnectionTrait, award: &Award, now: DateTime<Utc>) -> Result<Posted, PointsError> {
    let amount = positive(award.amount)?;
    let ids = ensure(conn, &[LedgerAccount::Issuance(award.community), LedgerAccount::User(award.user)]).await?;
    let (issuance, user) = (ids[0], ids[1]);
    let action = TransferAction::Single { debit: issuance, credit: user, asset: Asset::Points, amount };
    let metadata = merged(&[award.key.metadata(), json!({ "community": award.community, "user": award.user })]);
    post_one(conn, keyed(action, award.key.purpose(), &award.key.key(), metadata), now).await
}

/// Takes back part of an award (an adjustment record that lowers the hours): the amount moves back
/// along the award it `corrects`, and the transfer names it. At most that award's amount; the
/// adjustment records decide how much in total. Posted once per adjustment record.
pub async fn reverse_part(
    conn: &impl ConnectionTrait,
    adjustment: i64,
    corrects: TransferId,
    amount: Points,
    now: DateTime<Utc>,
) -> Result<Posted, PointsError> {
    let key = AwardKey::HoursAdjustment { adjustment, corrects };
    let minor = positive(amount)?;
    let original = points_transfer(conn, corrects).await?;
    let is_award = Purpose::parse(&original.code).is_some_and(|p| Purpose::EARNINGS.contains(&p));
    if !original.kind.is_posting() || original.reverses.is_some() || !is_award {
        return Err(PointsError::WrongTransfer(corrects, "award"));
    }
    if minor > original.amount {
        return Err(PointsError::AmountExceedsOriginal {
            transfer: corrects,
            available: Points::from_minor(original.amount)?.to_string(),
            requested: amount.to_string(),
        });
    }
    let action =
        TransferAction::Single { debit: original.credit, credit: original.debit, asset: Asset::Points, amount: minor };
    post_one(conn, keyed(action, Purpose::AwardAdjustment, &key.key(), key.metadata()), now).await
}

/// Reverses a posted transfer in full (a refund of a redemption, an award withdrawn): the ledger's
/// reversal, which names the original and happens at most once.
pub async fn reverse(
    conn: &impl ConnectionTrait,
    original: TransferId,
    reason: ReversalReason,
    now: DateTime<Utc>,
) -> Result<Posted, PointsError> {
    let stored = points_transfer(conn, original).await?;
    if stored.kind != TransferKind::Single && stored.kind != TransferKind::PostPending {
        return Err(PointsError::NotReversible(original));
    }
    let action = TransferAction::Reverse { transfer_id: original };
    let key = format!("points:reversal:{original}");
    let metadata = merged(&[reason.metadata(), json!({ "reverses": original.to_text() })]);
    post_one(conn, keyed(action, Purpose::Reversal, &key, metadata), now).await
}

/// Expires unspent points: `user:{u}:points` → `community:{c}:points:expired`, once per resident,
/// community and date.
pub async fn expire(conn: &impl ConnectionTrait, expiry: &Expiry, now: DateTime<Utc>) -> Result<Posted, PointsError> {
    let amount = positive(expiry.amount)?;
    let ids = ensure(conn, &[LedgerAccount::User(expiry.user), LedgerAccount::Expired(expiry.community)]).await?;
    let (user, expired) = (ids[0], ids[1]);
    let action = TransferAction::Single { debit: user, credit: expired, asset: Asset::Points, amount };
    let key = expiry_key(expiry);
    let metadata =
        json!({ "community": expiry.community, "user": expiry.user, "expiry_date": expiry.date.to_string() });
    post_one(conn, keyed(action, Purpose::Expiry, &key, metadata), now).await
}

/// The key an expiry's transfer id derives from: one per community, resident and day.
pub(super) fn expiry_key(expiry: &Expiry) -> String {
    format!("points:expiry:community:{}:user:{}:date:{}", expiry.community, expiry.user, expiry.date)
}
