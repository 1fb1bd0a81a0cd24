//! The chart of accounts and the transfer codes: the only place in the API that spells a ledger
//! account code. `docs/ledger.md` ("Chart of accounts") lists the same table.

use ehome_ledger::{AccountFlags, AccountId, Asset, LedgerError, NewAccount};
use sea_orm::ConnectionTrait;

use super::error::PointsError;
use crate::domain::{CommunityId, MerchantId, UserId};

/// A ledger account of the chart, by what it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LedgerAccount {
    /// `user:{u}:points`: a resident's balance; never negative.
    User(UserId),
    /// `merchant:{m}:points`: points redeemed at a shop, awaiting settlement; never negative.
    Merchant(MerchantId),
    /// `community:{c}:points:issuance`: points come into being here (debited by every award).
    Issuance(CommunityId),
    /// `community:{c}:points:expired`: points that expired unspent.
    Expired(CommunityId),
    /// `community:{c}:points:rewards_payable`: help-post rewards held from their posters until the
    /// help is confirmed, then paid to the helper; never negative. A hold is placed before anyone has
    /// claimed the post, and a hold cannot change its credit account later, so rewards wait here.
    RewardsPayable(CommunityId),
    /// `community:{c}:points:retired`: points a settlement took out of a merchant's account; they
    /// end here.
    Retired(CommunityId),
    /// `community:{c}:cny:alliance_fund`: the community's money for the alliance, debited by every
    /// approved settlement. No overdraft flag: nothing funds it yet, so its balance (credits less
    /// debits) is negative by what the community has committed to its shops (README, docs/ledger.md).
    AllianceFund(CommunityId),
    /// `community:{c}:cny:bank`: the community's bank account; credited when a settlement is paid.
    Bank(CommunityId),
    /// `merchant:{m}:cny:payable`: CNY an approved settlement owes the shop until it is paid; never
    /// negative.
    MerchantPayable(MerchantId),
}

impl LedgerAccount {
    pub(super) fn code(self) -> String {
        match self {
            LedgerAccount::User(u) => format!("user:{u}:points"),
            LedgerAccount::Merchant(m) => format!("merchant:{m}:points"),
            LedgerAccount::Issuance(c) => format!("community:{c}:points:issuance"),
            LedgerAccount::Expired(c) => format!("community:{c}:points:expired"),
            LedgerAccount::RewardsPayable(c) => format!("community:{c}:points:rewards_payable"),
            LedgerAccount::Retired(c) => format!("community:{c}:points:retired"),
            LedgerAccount::AllianceFund(c) => format!("community:{c}:cny:alliance_fund"),
            LedgerAccount::Bank(c) => format!("community:{c}:cny:bank"),
            LedgerAccount::MerchantPayable(m) => format!("merchant:{m}:cny:payable"),
        }
    }

    fn asset(self) -> Asset {
        match self {
            LedgerAccount::User(_)
            | LedgerAccount::Merchant(_)
            | LedgerAccount::Issuance(_)
            | LedgerAccount::Expired(_)
            | LedgerAccount::RewardsPayable(_)
            | LedgerAccount::Retired(_) => Asset::Points,
            LedgerAccount::AllianceFund(_) | LedgerAccount::Bank(_) | LedgerAccount::MerchantPayable(_) => Asset::Cny,
        }
    }

    fn flags(self) -> AccountFlags {
        match self {
            // Balances somebody owns or is owed must never go negative, whatever the concurrency.
            LedgerAccount::User(_)
            | LedgerAccount::Merchant(_)
            | LedgerAccount::RewardsPayable(_)
            | LedgerAccount::MerchantPayable(_) => AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
            // Issuance is debited without limit; expired and retired only receive; the alliance fund
            // is debited before anything funds it, and the bank receives what is paid out.
            LedgerAccount::Issuance(_)
            | LedgerAccount::Expired(_)
            | LedgerAccount::Retired(_)
            | LedgerAccount::AllianceFund(_)
            | LedgerAccount::Bank(_) => AccountFlags::NONE,
        }
    }

    fn new_account(self) -> NewAccount {
        NewAccount::new(self.code(), self.asset(), self.flags())
    }
}

/// The resident whose balance a `user:{u}:points` code is.
pub(super) fn user_of_code(code: &str) -> Option<UserId> {
    let id = code.strip_prefix("user:")?.strip_suffix(":points")?;
    id.parse().ok().map(UserId)
}

/// The community a `community:{c}:…` code belongs to.
pub(super) fn community_of_code(code: &str) -> Option<CommunityId> {
    let (id, _) = code.strip_prefix("community:")?.split_once(':')?;
    id.parse().ok().map(CommunityId)
}

/// Finds or creates the accounts, returning their ids in the order given.
///
/// One statement finds the accounts that exist (ids only: a transfer needs no balance read here; the
/// ledger locks and checks the accounts when it posts). Runs in the caller's transaction, so an account
/// first used by a transfer that rolls back is rolled back with it. Missing accounts are created in the
/// order of their codes, so two transactions that create the same accounts wait for each other in one
/// order and never in a cycle; the ledger's `create_account` inserts with `ON CONFLICT DO NOTHING` and
/// reads the row back, so a concurrent creation of the same code (another API instance) is waited for
/// and then found, never an error.
pub(super) async fn ensure(
    conn: &impl ConnectionTrait,
    accounts: &[LedgerAccount],
) -> Result<Vec<AccountId>, PointsError> {
    let codes: Vec<String> = accounts.iter().map(|a| a.code()).collect();
    let found = ehome_ledger::account_ids_by_code(conn, &codes).await?;
    let mut missing: Vec<(&String, usize, LedgerAccount)> = codes
        .iter()
        .zip(accounts)
        .enumerate()
        .filter(|(index, _)| found.get(*index).is_some_and(Option::is_none))
        .map(|(index, (code, account))| (code, index, *account))
        .collect();
    missing.sort_by(|x, y| x.0.cmp(y.0));
    let mut ids: Vec<AccountId> = found.into_iter().map(|id| id.unwrap_or(AccountId(0))).collect();
    for (_, index, wanted) in missing {
        let account = ehome_ledger::create_account(conn, &wanted.new_account()).await?;
        if let Some(slot) = ids.get_mut(index) {
            *slot = account.id;
        }
    }
    Ok(ids)
}

/// The account if it exists (reading never creates one).
pub(super) async fn find(
    conn: &impl ConnectionTrait,
    account: LedgerAccount,
) -> Result<Option<ehome_ledger::Account>, PointsError> {
    match ehome_ledger::account_by_code(conn, &account.code()).await {
        Ok(found) => Ok(Some(found)),
        Err(LedgerError::UnknownAccountCode(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Why points moved: the ledger's transfer `code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Approved volunteer hours.
    VolunteerAward,
    /// A correction of an award: the difference awarded, or part of the award taken back.
    AwardAdjustment,
    /// A help-post reward: held from the poster, paid to the helper.
    AidReward,
    /// The community's bonus for confirmed help.
    AidBonus,
    /// Points held for, or spent on, a merchant's offer.
    Redemption,
    /// Points that expired unspent (and the ledger's own release of a hold that timed out).
    Expiry,
    /// A whole transfer moved back (a refund); names the original.
    Reversal,
    /// An approved settlement statement: the merchant's points retired and, for a shop, the CNY owed.
    Settlement,
    /// A settlement paid to the shop (CNY, with the bank's reference).
    SettlementPayment,
}

impl Purpose {
    const ALL: [Purpose; 9] = [
        Purpose::VolunteerAward,
        Purpose::AwardAdjustment,
        Purpose::AidReward,
        Purpose::AidBonus,
        Purpose::Redemption,
        Purpose::Expiry,
        Purpose::Reversal,
        Purpose::Settlement,
        Purpose::SettlementPayment,
    ];

    /// Credits to a resident with these codes are earnings; `lifetime earned` sums them.
    pub(super) const EARNINGS: [Purpose; 4] =
        [Purpose::VolunteerAward, Purpose::AwardAdjustment, Purpose::AidReward, Purpose::AidBonus];

    pub fn code(self) -> &'static str {
        match self {
            Purpose::VolunteerAward => "volunteer_award",
            Purpose::AwardAdjustment => "award_adjustment",
            Purpose::AidReward => "aid_reward",
            Purpose::AidBonus => "aid_bonus",
            Purpose::Redemption => "redemption",
            Purpose::Expiry => "expiry",
            Purpose::Reversal => "reversal",
            Purpose::Settlement => "settlement",
            Purpose::SettlementPayment => "settlement_payment",
        }
    }

    pub fn parse(code: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_chart_in_docs_ledger_md() {
        let (u, m, c) = (UserId(42), MerchantId(5), CommunityId(7));
        assert_eq!(LedgerAccount::User(u).code(), "user:42:points");
        assert_eq!(LedgerAccount::Merchant(m).code(), "merchant:5:points");
        assert_eq!(LedgerAccount::Issuance(c).code(), "community:7:points:issuance");
        assert_eq!(LedgerAccount::Expired(c).code(), "community:7:points:expired");
        assert_eq!(LedgerAccount::RewardsPayable(c).code(), "community:7:points:rewards_payable");
        assert_eq!(LedgerAccount::Retired(c).code(), "community:7:points:retired");
        assert_eq!(LedgerAccount::AllianceFund(c).code(), "community:7:cny:alliance_fund");
        assert_eq!(LedgerAccount::Bank(c).code(), "community:7:cny:bank");
        assert_eq!(LedgerAccount::MerchantPayable(m).code(), "merchant:5:cny:payable");
        assert_eq!(LedgerAccount::MerchantPayable(m).asset(), Asset::Cny);
        assert_eq!(LedgerAccount::Retired(c).asset(), Asset::Points);
        assert!(LedgerAccount::MerchantPayable(m).flags().debits_must_not_exceed_credits());
        assert_eq!(LedgerAccount::AllianceFund(c).flags(), AccountFlags::NONE);
        assert!(LedgerAccount::User(u).flags().debits_must_not_exceed_credits());
        assert_eq!(user_of_code(&LedgerAccount::User(u).code()), Some(u));
        assert_eq!(user_of_code("merchant:5:points"), None);
        assert_eq!(community_of_code(&LedgerAccount::Issuance(c).code()), Some(c));
        assert_eq!(community_of_code(&LedgerAccount::RewardsPayable(c).code()), Some(c));
        assert_eq!(community_of_code(&LedgerAccount::User(u).code()), None);
        assert_eq!(LedgerAccount::Issuance(c).flags(), AccountFlags::NONE);
    }

    /// The chart in docs/ledger.md has one row per account this module writes, with its flags, and no
    /// other row: a merge that drops or garbles a row fails here.
    #[test]
    fn the_chart_in_docs_ledger_md_lists_every_account_with_its_flags() {
        use LedgerAccount::*;
        let doc = include_str!("../../../docs/ledger.md");
        let chart = doc.split("## Chart of accounts").nth(1).and_then(|rest| rest.split("\n## ").next()).unwrap();
        let mut rows: Vec<(String, String)> = chart
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split(" | ").collect();
                (cells[0][3..].split('`').next().unwrap().to_owned(), cells[1].trim().to_owned())
            })
            .collect();
        let (u, m, c) = (UserId(1), MerchantId(2), CommunityId(3));
        let every = [User(u), Merchant(m), Issuance(c), Expired(c), RewardsPayable(c), Retired(c)];
        let every = every.into_iter().chain([AllianceFund(c), Bank(c), MerchantPayable(m)]);
        let mut expected: Vec<(String, String)> = every
            .map(|account| {
                let code = account.code();
                // Naming every variant: a new account does not compile until it is listed above.
                let code = match account {
                    User(_) => code.replace(":1:", ":{u}:"),
                    Merchant(_) | MerchantPayable(_) => code.replace(":2:", ":{m}:"),
                    Issuance(_) | Expired(_) | RewardsPayable(_) | Retired(_) | AllianceFund(_) | Bank(_) => {
                        code.replace(":3:", ":{c}:")
                    }
                };
                let flags =
                    if account.flags().debits_must_not_exceed_credits() { "debits ≤ credits" } else { "none" };
                (code, flags.to_owned())
            })
            .collect();
        rows.sort();
        expected.sort();
        assert_eq!(rows, expected);
    }

    #[test]
    fn every_purpose_parses_back_from_its_code() {
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::parse(purpose.code()), Some(purpose));
        }
        assert_eq!(Purpose::parse("bonus"), None);
    }
}
