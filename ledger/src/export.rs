//! Export of the posted transfers as a plain-text journal that an independent accounting tool
//! (hledger or beancount) can check and re-balance.
//!
//! Residents' and merchants' point balances are liabilities of the community; points come into being
//! as an expense of the community (`…:issuance`) and leave as income when retired or expired. Holds are
//! not exported: only posted amounts move balances in a journal. The journal ends with one balance
//! assertion per account, so the tool itself confirms that it arrives at the ledger's figures.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use ehome_entities::{ledger_account, ledger_transfer};

use crate::error::LedgerError;
use crate::types::{Asset, TransferKind};
use crate::verify::Progress;

const PAGE: u64 = 5000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ExportFormat {
    Hledger,
    Beancount,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hledger" | "ledger" => Ok(ExportFormat::Hledger),
            "beancount" => Ok(ExportFormat::Beancount),
            other => Err(format!("unknown export format {other:?} (hledger or beancount)")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// Only this asset (default: all).
    pub asset: Option<Asset>,
    /// Only transfers created at or before this instant (default: all).
    pub until: Option<DateTime<Utc>>,
    /// End the journal with a balance assertion per account (default true).
    pub balance_assertions: bool,
}

impl ExportOptions {
    pub fn new(format: ExportFormat) -> Self {
        ExportOptions { format, asset: None, until: None, balance_assertions: true }
    }
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub transactions: u64,
    pub accounts: u64,
    /// Per journal account name: its asset code and posted balance (debits minus credits) in minor units.
    pub balances: BTreeMap<String, (String, i64)>,
}

/// The journal root an account code belongs under, by its words.
fn root_of(code: &str) -> &'static str {
    let words: Vec<&str> = code.split(':').collect();
    let has = |w: &str| words.iter().any(|x| x.to_ascii_lowercase().split('_').any(|part| part == w));
    match words.first().copied() {
        Some("user") | Some("merchant") => "Liabilities",
        _ if has("issuance") => "Expenses",
        _ if has("retired") || has("expired") => "Income",
        _ if has("payable") || has("payables") => "Liabilities",
        _ if has("fund") || has("cash") || has("bank") || has("charity") => "Assets",
        _ => "Equity",
    }
}

/// The journal account name of a ledger account code, valid for both hledger and beancount:
/// `user:42:points` → `Liabilities:User:42:Points`.
pub fn journal_account_name(code: &str) -> String {
    let mut name = String::from(root_of(code));
    for word in code.split(':').filter(|w| !w.is_empty()) {
        name.push(':');
        let cleaned: String =
            word.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
        let mut chars = cleaned.chars();
        match chars.next() {
            Some(first) if first.is_ascii_alphanumeric() => {
                name.push(first.to_ascii_uppercase());
                name.push_str(chars.as_str());
            }
            _ => {
                name.push('X');
                name.push_str(&cleaned);
            }
        }
    }
    name
}

/// Each account's journal name (made unique by its id where two codes clean to the same name) and
/// asset, by account id.
fn journal_names(accounts: &[ledger_account::Model]) -> HashMap<i64, (String, String)> {
    let mut names = HashMap::with_capacity(accounts.len());
    let mut used = HashSet::new();
    for a in accounts {
        let mut name = journal_account_name(&a.code);
        if !used.insert(name.clone()) {
            name = format!("{name}-A{}", a.id);
            used.insert(name.clone());
        }
        names.insert(a.id, (name, a.asset.clone()));
    }
    names
}

fn date_of(us: i64) -> NaiveDate {
    DateTime::from_timestamp_micros(us).unwrap_or_default().date_naive()
}

/// Writes the journal. Reads accounts and transfers page by page (by chain order), so memory stays
/// proportional to the number of accounts.
pub async fn export(
    conn: &impl ConnectionTrait,
    options: &ExportOptions,
    out: &mut (impl Write + Send),
    progress: Progress<'_>,
) -> Result<ExportSummary, LedgerError> {
    let io = |e: std::io::Error| LedgerError::Database(format!("writing the journal: {e}"));
    let mut accounts_query = ledger_account::Entity::find().order_by_asc(ledger_account::Column::Id);
    let mut transfers_query = ledger_transfer::Entity::find().filter(
        ledger_transfer::Column::Kind.is_in([TransferKind::Single.as_str(), TransferKind::PostPending.as_str()]),
    );
    if let Some(asset) = options.asset {
        accounts_query = accounts_query.filter(ledger_account::Column::Asset.eq(asset.code()));
        transfers_query = transfers_query.filter(ledger_transfer::Column::Asset.eq(asset.code()));
    }
    if let Some(until) = options.until {
        let until_us = until.timestamp_micros();
        accounts_query = accounts_query.filter(ledger_account::Column::CreatedAtUs.lte(until_us));
        transfers_query = transfers_query.filter(ledger_transfer::Column::CreatedAtUs.lte(until_us));
    }
    let accounts = accounts_query.all(conn).await?;
    let total = transfers_query.clone().count(conn).await?;
    progress(0, total);

    let names = journal_names(&accounts);
    let mut w = JournalWriter { format: options.format, out };
    let first_day = accounts.iter().map(|a| date_of(a.created_at_us)).min();
    w.header(&accounts, &names, first_day).map_err(io)?;

    let mut balances: BTreeMap<String, (String, i64)> =
        names.values().map(|(name, asset)| (name.clone(), (asset.clone(), 0))).collect();
    let mut last_seq = 0i64;
    let mut last_day = first_day;
    let mut done = 0u64;
    loop {
        let page = transfers_query
            .clone()
            .filter(ledger_transfer::Column::Seq.gt(last_seq))
            .order_by_asc(ledger_transfer::Column::Seq)
            .limit(PAGE)
            .all(conn)
            .await?;
        let Some(last) = page.last() else { break };
        last_seq = last.seq;
        for t in &page {
            let (Some((debit, _)), Some((credit, _))) =
                (names.get(&t.debit_account_id), names.get(&t.credit_account_id))
            else {
                return Err(LedgerError::Invariant(format!("transfer #{} names an unknown account", t.seq)));
            };
            let asset: Asset = t.asset.parse()?;
            w.transaction(t, debit, credit, asset).map_err(io)?;
            for (name, delta) in [(debit, t.amount), (credit, -t.amount)] {
                if let Some((_, balance)) = balances.get_mut(name) {
                    *balance = balance.checked_add(delta).ok_or(LedgerError::AmountOverflow)?;
                }
            }
            last_day = last_day.max(Some(date_of(t.created_at_us)));
        }
        done += page.len() as u64;
        progress(done, total.max(done));
    }
    if options.balance_assertions
        && let Some(day) = last_day.and_then(|d| d.checked_add_days(Days::new(1)))
    {
        w.assertions(day, &balances).map_err(io)?;
    }
    Ok(ExportSummary { transactions: done, accounts: accounts.len() as u64, balances })
}

struct JournalWriter<'a, W: Write> {
    format: ExportFormat,
    out: &'a mut W,
}

impl<W: Write> JournalWriter<'_, W> {
    fn header(
        &mut self,
        accounts: &[ledger_account::Model],
        names: &HashMap<i64, (String, String)>,
        first_day: Option<NaiveDate>,
    ) -> std::io::Result<()> {
        let out = &mut *self.out;
        let day = first_day.unwrap_or_default();
        let assets: std::collections::BTreeSet<&str> = accounts.iter().map(|a| a.asset.as_str()).collect();
        match self.format {
            ExportFormat::Hledger => {
                writeln!(out, "; 邻e家 ledger export (hledger journal)")?;
                for asset in &assets {
                    writeln!(out, "commodity 1000.00 {asset}")?;
                }
                for a in accounts {
                    if let Some((name, _)) = names.get(&a.id) {
                        writeln!(out, "account {name}  ; code: {}", a.code)?;
                    }
                }
            }
            ExportFormat::Beancount => {
                writeln!(out, "; 邻e家 ledger export (beancount)")?;
                writeln!(out, "option \"title\" \"ehome ledger\"")?;
                for asset in &assets {
                    writeln!(out, "{day} commodity {asset}")?;
                }
                for a in accounts {
                    if let Some((name, asset)) = names.get(&a.id) {
                        writeln!(out, "{} open {name} {asset}", date_of(a.created_at_us))?;
                        writeln!(out, "  code: {}", quote(&a.code))?;
                    }
                }
            }
        }
        writeln!(out)
    }

    fn transaction(
        &mut self,
        t: &ledger_transfer::Model,
        debit: &str,
        credit: &str,
        asset: Asset,
    ) -> std::io::Result<()> {
        let out = &mut *self.out;
        let day = date_of(t.created_at_us);
        let amount = asset.format_minor(t.amount);
        let negative = asset.format_minor(-t.amount);
        let code = asset.code();
        match self.format {
            ExportFormat::Hledger => {
                writeln!(out, "{day} {}  ; transfer:{}, seq:{}", t.code, t.id, t.seq)?;
                writeln!(out, "    {debit}  {amount} {code}")?;
                writeln!(out, "    {credit}  {negative} {code}")?;
            }
            ExportFormat::Beancount => {
                writeln!(out, "{day} * {} {}", quote(&t.code), quote(&format!("transfer {}", t.id)))?;
                writeln!(out, "  seq: {}", t.seq)?;
                writeln!(out, "  {debit}  {amount} {code}")?;
                writeln!(out, "  {credit}  {negative} {code}")?;
            }
        }
        writeln!(out)
    }

    fn assertions(&mut self, day: NaiveDate, balances: &BTreeMap<String, (String, i64)>) -> std::io::Result<()> {
        let out = &mut *self.out;
        if self.format == ExportFormat::Hledger {
            writeln!(out, "{day} balance assertions from the ledger")?;
        }
        for (name, (asset_code, balance)) in balances {
            let Ok(asset) = asset_code.parse::<Asset>() else {
                continue;
            };
            let amount = asset.format_minor(*balance);
            match self.format {
                ExportFormat::Hledger => writeln!(out, "    {name}  0 {asset_code} = {amount} {asset_code}")?,
                ExportFormat::Beancount => writeln!(out, "{day} balance {name}  {amount} {asset_code}")?,
            }
        }
        Ok(())
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_follow_the_chart() {
        assert_eq!(journal_account_name("user:42:points"), "Liabilities:User:42:Points");
        assert_eq!(journal_account_name("community:7:points:issuance"), "Expenses:Community:7:Points:Issuance");
        assert_eq!(journal_account_name("community:7:points:expired"), "Income:Community:7:Points:Expired");
        assert_eq!(journal_account_name("merchant:3:points"), "Liabilities:Merchant:3:Points");
        assert_eq!(journal_account_name("community:7:cny:charity_fund"), "Assets:Community:7:Cny:Charity-fund");
        assert_eq!(journal_account_name("bench:x:acct_9"), "Equity:Bench:X:Acct-9");
        assert_eq!(journal_account_name("odd:_x"), "Equity:Odd:X-x");
    }
}
