//! The committee's alliance report, and the per-merchant check `ehome ledger verify` adds to the
//! ledger's own.
//!
//! The report covers a period of a community: redemptions per merchant and offer, and the points
//! issued, redeemed and expired in the period, with what is outstanding at its end — the liability
//! to residents: issued less redeemed less expired. Issued and expired are read from the ledger's
//! per-community accounts; redeemed from the redemptions at the community's merchants (captured less
//! refunded), which the per-merchant check reconciles with the ledger.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use ehome_entities::redemption;
use sea_orm::ConnectionTrait;
use serde::Serialize;

use super::service::Period;
use super::store;
use crate::authz::{self, Actor};
use crate::domain::{CommunityId, MerchantId};
use crate::platform::error::ApiResult;
use crate::points::{self, points_text};
use crate::scenes::merchants::service as merchants;
use crate::scenes::redemptions::service as redemptions;
use crate::state::AppState;

/// Redemptions of one offer (or, with `offer_id` `None`, one merchant in all) captured in the period.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    pub merchant_id: i64,
    pub merchant: String,
    pub offer_id: Option<i64>,
    pub offer: Option<String>,
    pub redemptions: i64,
    pub quantity: i64,
    pub points: String,
    /// Of those, refunded since.
    pub refunds: i64,
    pub refunded_points: String,
    #[serde(skip)]
    points_minor: i64,
    #[serde(skip)]
    refunded_minor: i64,
}

impl Tally {
    fn add(&mut self, row: &redemption::Model) {
        self.redemptions += 1;
        self.quantity += row.quantity;
        self.points_minor += row.amount_minor;
        if row.refunded_at.is_some() {
            self.refunds += 1;
            self.refunded_minor += row.amount_minor;
        }
        self.points = points_text(self.points_minor);
        self.refunded_points = points_text(self.refunded_minor);
    }
}

/// Points of a community, in decimal text.
#[derive(Clone, Debug, Serialize)]
pub struct Flow {
    pub issued: String,
    pub redeemed: String,
    pub expired: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AtEnd {
    pub issued: String,
    pub redeemed: String,
    pub expired: String,
    /// Settled with shops (retired).
    pub settled: String,
    /// Issued less redeemed less expired: what residents hold or have on hold — the liability.
    pub outstanding: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AllianceReport {
    pub community_id: i64,
    pub from: String,
    pub to: String,
    pub merchants: Vec<Tally>,
    pub offers: Vec<Tally>,
    /// Moved in the period.
    pub period: Flow,
    /// As the period ends.
    pub at_end: AtEnd,
}

/// Issued, redeemed, expired and retired points in minor units as of `at`.
async fn figures_at(db: &impl ConnectionTrait, community: CommunityId, at: DateTime<Utc>) -> ApiResult<[i64; 4]> {
    // The ledger counts transfers created at or before an instant; the period's end is exclusive.
    let ledger = points::community_points_at(db, community, at - Duration::microseconds(1)).await?;
    let redeemed = redemptions::redeemed_before(db, community, at).await?;
    Ok([ledger.issued, redeemed, ledger.expired, ledger.retired])
}

pub async fn alliance_report(
    state: &AppState,
    actor: &Actor,
    community: CommunityId,
    period: Period,
) -> ApiResult<AllianceReport> {
    authz::read_alliance_report(actor, community)?;
    let (start, end) = period.bounds()?;
    let db = &state.db;
    let names: BTreeMap<i64, String> =
        merchants::of_community(db, Some(community)).await?.into_iter().map(|m| (m.id, m.name)).collect();
    let rows = redemptions::captured_in(db, community, start, end).await?;
    let mut offer_ids: Vec<i64> = rows.iter().map(|r| r.offer_id).collect();
    offer_ids.sort_unstable();
    offer_ids.dedup();
    let titles = merchants::offer_titles(db, &offer_ids).await?;
    let mut by_merchant: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut by_offer: BTreeMap<(i64, i64), Tally> = BTreeMap::new();
    for row in &rows {
        let name = names.get(&row.merchant_id).cloned().unwrap_or_default();
        let merchant = by_merchant.entry(row.merchant_id).or_insert_with(|| Tally {
            merchant_id: row.merchant_id,
            merchant: name.clone(),
            ..Tally::default()
        });
        merchant.add(row);
        let offer = by_offer.entry((row.merchant_id, row.offer_id)).or_insert_with(|| Tally {
            merchant_id: row.merchant_id,
            merchant: name,
            offer_id: Some(row.offer_id),
            offer: titles.get(&row.offer_id).cloned(),
            ..Tally::default()
        });
        offer.add(row);
    }
    let before = figures_at(db, community, start).await?;
    let after = figures_at(db, community, end).await?;
    let moved = |i: usize| points_text(after[i] - before[i]);
    Ok(AllianceReport {
        community_id: community.0,
        from: period.first_day.to_string(),
        to: period.last_day.to_string(),
        merchants: by_merchant.into_values().collect(),
        offers: by_offer.into_values().collect(),
        period: Flow { issued: moved(0), redeemed: moved(1), expired: moved(2) },
        at_end: AtEnd {
            issued: points_text(after[0]),
            redeemed: points_text(after[1]),
            expired: points_text(after[2]),
            settled: points_text(after[3]),
            outstanding: points_text(after[0] - after[1] - after[2]),
        },
    })
}

/// A merchant whose redemptions and statements disagree with its ledger account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MerchantFault {
    pub merchant_id: i64,
    /// Captured and not refunded, from the redemptions.
    pub captured: String,
    /// On approved or paid statements.
    pub settled: String,
    /// Still in `merchant:{m}:points`, from the ledger.
    pub outstanding: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MerchantsCheck {
    pub merchants_checked: usize,
    pub faults: Vec<MerchantFault>,
}

impl MerchantsCheck {
    pub fn is_clean(&self) -> bool {
        self.faults.is_empty()
    }
}

/// Per merchant: points captured (and not refunded) = settled + outstanding. Run it in one read
/// transaction, so that the three sides are read as of one instant.
pub async fn check_merchants(db: &impl ConnectionTrait) -> ApiResult<MerchantsCheck> {
    let captured: BTreeMap<i64, i64> = redemptions::captured_by_merchant(db).await?.into_iter().collect();
    let settled: BTreeMap<i64, i64> = store::settled_by_merchant(db).await?.into_iter().collect();
    let mut check = MerchantsCheck::default();
    for merchant in merchants::of_community(db, None).await? {
        let outstanding = points::merchant_outstanding(db, MerchantId(merchant.id)).await?;
        let (captured, settled) =
            (captured.get(&merchant.id).copied().unwrap_or(0), settled.get(&merchant.id).copied().unwrap_or(0));
        check.merchants_checked += 1;
        if captured != settled + outstanding {
            check.faults.push(MerchantFault {
                merchant_id: merchant.id,
                captured: points_text(captured),
                settled: points_text(settled),
                outstanding: points_text(outstanding),
            });
        }
    }
    Ok(check)
}

impl std::fmt::Display for MerchantsCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "merchants checked: {} (captured = settled + outstanding)", self.merchants_checked)?;
        for fault in &self.faults {
            writeln!(
                f,
                "FAULT merchant {}: captured {} != settled {} + outstanding {}",
                fault.merchant_id, fault.captured, fault.settled, fault.outstanding
            )?;
        }
        Ok(())
    }
}
