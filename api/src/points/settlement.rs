//! Settling with shops: an approved statement retires the merchant's redeemed points and, for a
//! shop, records the CNY the community owes it, in one linked batch; paying it moves that CNY to the
//! community's bank account. The amounts are the statement's, decided by the settlements scene; this
//! module only names the accounts and posts.
//!
//! ```text
//! approve  POINTS merchant:{m}:points          → community:{c}:points:retired
//!          CNY    community:{c}:cny:alliance_fund → merchant:{m}:cny:payable   (shops only)
//! pay      CNY    merchant:{m}:cny:payable      → community:{c}:cny:bank
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use ehome_ledger::{Asset, TransferAction, TransferId};
use sea_orm::ConnectionTrait;
use serde::{Serialize, Serializer};
use serde_json::json;

use super::accounts::{LedgerAccount, Purpose, ensure, find};
use super::amount::Points;
use super::error::PointsError;
use super::verbs::{keyed, positive, post, post_single};
use crate::domain::{CommunityId, MerchantId};

/// An amount of yuan in fen (the ledger's `CNY` scale), never negative, never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cny(i64);

impl Cny {
    pub const ZERO: Cny = Cny(0);

    pub fn from_minor(fen: i64) -> Result<Cny, PointsError> {
        if !(0..=ehome_ledger::types::MAX_BALANCE).contains(&fen) {
            return Err(PointsError::InvalidAmount(fen.to_string()));
        }
        Ok(Cny(fen))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Cny) -> Result<Cny, PointsError> {
        Cny::from_minor(self.0.checked_add(other.0).ok_or(PointsError::AmountOverflow)?)
    }
}

impl fmt::Display for Cny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Asset::Cny.format_minor(self.0))
    }
}

impl Serialize for Cny {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// An approved statement to post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettlementBatch {
    /// The statement's id: the transfers' ids derive from it.
    pub statement: i64,
    pub community: CommunityId,
    pub merchant: MerchantId,
    pub points: Points,
    /// `None` for a welfare supermarket run by the community: its points are retired without CNY.
    pub cny: Option<Cny>,
}

/// The transfers of an approved statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettlementPosted {
    pub points: TransferId,
    pub cny: Option<TransferId>,
}

/// Posts an approved statement as one linked batch (all or none): the points retired and the CNY
/// owed. Once per statement; refused with `InsufficientPoints` when the merchant's account holds
/// less than the statement (which the statement's lines make impossible short of a bug).
pub async fn settle(
    conn: &impl ConnectionTrait,
    batch: &SettlementBatch,
    now: DateTime<Utc>,
) -> Result<SettlementPosted, PointsError> {
    let points = positive(batch.points)?;
    let (community, merchant, statement) = (batch.community, batch.merchant, batch.statement);
    let ids = ensure(conn, &[LedgerAccount::Merchant(merchant), LedgerAccount::Retired(community)]).await?;
    let metadata = json!({ "settlement": statement, "merchant": merchant, "community": community });
    let retire = TransferAction::Single { debit: ids[0], credit: ids[1], asset: Asset::Points, amount: points };
    let mut requests =
        vec![keyed(retire, Purpose::Settlement, &format!("points:settlement:{statement}:points"), metadata.clone())];
    if let Some(cny) = batch.cny.filter(|c| c.minor() > 0) {
        let accounts = [LedgerAccount::AllianceFund(community), LedgerAccount::MerchantPayable(merchant)];
        let cny_ids = ensure(conn, &accounts).await?;
        let owe = TransferAction::Single { debit: cny_ids[0], credit: cny_ids[1], asset: Asset::Cny, amount: cny.0 };
        requests.push(keyed(owe, Purpose::Settlement, &format!("points:settlement:{statement}:cny"), metadata));
    }
    let posted = post(conn, &requests, now).await?;
    let points = posted.first().map(|t| t.id).ok_or(PointsError::UnknownTransfer(requests[0].id))?;
    Ok(SettlementPosted { points, cny: posted.get(1).map(|t| t.id) })
}

/// A settlement paid to the shop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementPayment {
    pub statement: i64,
    pub community: CommunityId,
    pub merchant: MerchantId,
    pub cny: Cny,
    pub bank_reference: String,
}

/// Pays an approved statement: `merchant:{m}:cny:payable` → `community:{c}:cny:bank`, once per
/// statement, the bank's reference in the transfer's metadata.
pub async fn pay_settlement(
    conn: &impl ConnectionTrait,
    payment: &SettlementPayment,
    now: DateTime<Utc>,
) -> Result<TransferId, PointsError> {
    if payment.cny.minor() <= 0 {
        return Err(PointsError::ZeroAmount);
    }
    let accounts = [LedgerAccount::MerchantPayable(payment.merchant), LedgerAccount::Bank(payment.community)];
    let ids = ensure(conn, &accounts).await?;
    let action = TransferAction::Single { debit: ids[0], credit: ids[1], asset: Asset::Cny, amount: payment.cny.0 };
    let metadata = json!({ "settlement": payment.statement, "merchant": payment.merchant,
        "community": payment.community, "bank_reference": payment.bank_reference });
    let key = format!("points:settlement:{}:payment", payment.statement);
    Ok(post_single(conn, keyed(action, Purpose::SettlementPayment, &key, metadata), now).await?.id)
}

/// Points redeemed at the merchant and not yet settled, as the ledger holds them: the posted balance
/// of `merchant:{m}:points` (captures less refunds less settlements); zero when it has no account.
pub async fn merchant_outstanding(conn: &impl ConnectionTrait, merchant: MerchantId) -> Result<i64, PointsError> {
    let Some(account) = find(conn, LedgerAccount::Merchant(merchant)).await? else { return Ok(0) };
    let balance = ehome_ledger::balance(conn, account.id).await?;
    Ok(balance.credits_posted - balance.debits_posted)
}

/// A community's points as the ledger shows them at an instant, in hundredths of a point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommunityPoints {
    /// Awarded less taken back: the posted debits of `community:{c}:points:issuance` less its credits.
    pub issued: i64,
    /// The posted balance of `community:{c}:points:expired` (zero when nothing expired yet).
    pub expired: i64,
    /// The posted balance of `community:{c}:points:retired`: settled with shops.
    pub retired: i64,
}

/// What `community`'s issuance, expired and retired accounts hold as of `at` (transfers created at or
/// before it).
pub async fn community_points_at(
    conn: &impl ConnectionTrait,
    community: CommunityId,
    at: DateTime<Utc>,
) -> Result<CommunityPoints, PointsError> {
    let mut figures = CommunityPoints::default();
    let accounts =
        [LedgerAccount::Issuance(community), LedgerAccount::Expired(community), LedgerAccount::Retired(community)];
    for account in accounts {
        let Some(found) = find(conn, account).await? else { continue };
        let balance = ehome_ledger::balance_as_of(conn, found.id, at).await?;
        let received = balance.credits_posted - balance.debits_posted;
        match account {
            LedgerAccount::Issuance(_) => figures.issued = -received,
            LedgerAccount::Expired(_) => figures.expired = received,
            _ => figures.retired = received,
        }
    }
    Ok(figures)
}
