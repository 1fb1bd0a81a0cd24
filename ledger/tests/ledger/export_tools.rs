//! A book of 10,000 random transfers exported to hledger and beancount journals: both tools accept
//! them (`hledger check`, `bean-check`), and every account balance each tool computes equals the
//! ledger's. `scripts/ensure-ledger-tools.sh` installs the tools.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use ehome_entities::ledger_account;
use ehome_ledger::export::journal_account_name;
use ehome_ledger::prelude::*;
use ehome_ledger::{ExportFormat, ExportOptions, Transfer, TransferKind, export, store};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::EntityTrait;

use crate::support::TestDb;

const TRANSFERS: usize = 10_000;

/// Builds a book with awards, gifts, redemptions (holds posted in part or voided) and reversals.
async fn random_book(t: &TestDb) {
    let ledger = t.ledger();
    let mut rng = StdRng::seed_from_u64(42);
    let no_overdraft = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
    let issuance = t.account("community:1:points:issuance", Asset::Points, AccountFlags::NONE).await.id;
    let expired = t.account("community:1:points:expired", Asset::Points, AccountFlags::NONE).await.id;
    let fund = t.account("community:1:cny:charity_fund", Asset::Cny, AccountFlags::NONE).await.id;
    let donors = t.account("community:1:cny:donations", Asset::Cny, AccountFlags::NONE).await.id;
    let mut users = vec![];
    for u in 0..40 {
        users.push(t.account(&format!("user:{u}:points"), Asset::Points, no_overdraft).await.id);
    }
    let mut merchants = vec![];
    for m in 0..5 {
        merchants.push(t.account(&format!("merchant:{m}:points"), Asset::Points, no_overdraft).await.id);
    }
    let mut posted: Vec<Transfer> = vec![];
    let mut count = 0;
    while count < TRANSFERS {
        let mut batch = vec![];
        for _ in 0..500 {
            let user = users[rng.random_range(0..users.len())];
            let roll = rng.random_range(0..100);
            let request = if roll < 45 {
                TransferRequest::single(issuance, user, Asset::Points, rng.random_range(1..5_000), "volunteer_award")
            } else if roll < 70 {
                let other = users[rng.random_range(0..users.len())];
                TransferRequest::single(user, other, Asset::Points, rng.random_range(1..2_000), "gift")
            } else if roll < 85 {
                let merchant = merchants[rng.random_range(0..merchants.len())];
                TransferRequest::single(user, merchant, Asset::Points, rng.random_range(1..3_000), "redemption")
            } else if roll < 90 {
                TransferRequest::single(user, expired, Asset::Points, rng.random_range(1..500), "expiry")
            } else if roll < 95 {
                TransferRequest::single(donors, fund, Asset::Cny, rng.random_range(100..500_000), "donation")
            } else {
                TransferRequest::new(
                    TransferAction::Pending {
                        debit: user,
                        credit: merchants[0],
                        asset: Asset::Points,
                        amount: rng.random_range(1..1_000),
                        timeout_seconds: Some(3600),
                    },
                    "redemption",
                )
            };
            batch.push(request);
        }
        let results = ledger.post_independent(&batch).await.unwrap();
        let mut follow_up = vec![];
        for result in results.into_iter().flatten() {
            count += 1;
            match result.kind {
                TransferKind::Pending if rng.random_bool(0.5) => follow_up.push(TransferRequest::new(
                    TransferAction::PostPending {
                        pending_id: result.id,
                        amount: Some(rng.random_range(1..=result.amount)),
                    },
                    "redemption",
                )),
                TransferKind::Pending => follow_up
                    .push(TransferRequest::new(TransferAction::VoidPending { pending_id: result.id }, "cancel")),
                _ => posted.push(result),
            }
        }
        for _ in 0..10 {
            let target = posted[rng.random_range(0..posted.len())].id;
            follow_up.push(TransferRequest::new(TransferAction::Reverse { transfer_id: target }, "reversal"));
        }
        count += ledger.post_independent(&follow_up).await.unwrap().into_iter().flatten().count();
    }
}

fn tool(program: &str) -> Command {
    let mut command = Command::new(program);
    command.env("LC_ALL", "C.UTF-8");
    command
}

fn require(program: &str) {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {program}")).output();
    assert!(
        found.map(|o| o.status.success()).unwrap_or(false),
        "{program} is not installed: run scripts/ensure-ledger-tools.sh"
    );
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run tool");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// hledger's flat balance report as CSV: account → amount text ("-12.50 POINTS").
fn hledger_balances(path: &Path) -> BTreeMap<String, String> {
    let csv =
        run(tool("hledger").arg("-f").arg(path).args(["balance", "--flat", "--empty", "--no-total", "-O", "csv"]));
    csv.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split("\",\"").map(|f| f.trim_matches('"')).collect();
            (fields.len() == 2).then(|| (fields[0].to_owned(), fields[1].to_owned()))
        })
        .collect()
}

/// Beancount's balances, summed by its own loader over the postings it booked.
fn beancount_balances(path: &Path) -> BTreeMap<String, String> {
    let script = r#"
import sys
from beancount import loader
from beancount.core import data
entries, errors, _ = loader.load_file(sys.argv[1])
if errors:
    for e in errors: print(e, file=sys.stderr)
    sys.exit(1)
totals = {}
for entry in entries:
    if isinstance(entry, data.Transaction):
        for p in entry.postings:
            key = (p.account, p.units.currency)
            totals[key] = totals.get(key, 0) + p.units.number
    if isinstance(entry, data.Open):
        for c in entry.currencies or []:
            totals.setdefault((entry.account, c), 0)
for (account, currency), number in sorted(totals.items()):
    print(f"{account}\t{number:.2f} {currency}")
"#;
    let out = run(tool("python3").arg("-c").arg(script).arg(path));
    out.lines().filter_map(|l| l.split_once('\t')).map(|(a, b)| (a.to_owned(), b.to_owned())).collect()
}

fn normalise(amount: &str) -> String {
    // "0 POINTS", "-0.00 POINTS" and "0.00 POINTS" are the same zero.
    let (number, commodity) = amount.trim().split_once(' ').unwrap_or((amount.trim(), ""));
    let value: rust_decimal::Decimal = number.replace(',', "").parse().unwrap_or_default();
    let value = if value.is_zero() { rust_decimal::Decimal::ZERO } else { value.normalize() };
    format!("{value} {commodity}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_journals_pass_hledger_and_beancount_and_rebalance_to_the_ledger() {
    require("hledger");
    require("bean-check");
    let t = TestDb::new().await;
    random_book(&t).await;
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(report.transfers as usize >= TRANSFERS);

    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for row in ledger_account::Entity::find().all(&t.db).await.unwrap() {
        // The ledger's running balances (the account row plus its shards), not the bare row.
        let a = store::account(&t.db, AccountId(row.id)).await.unwrap();
        let amount = format!("{} {}", a.asset.format_minor(a.debits_posted - a.credits_posted), a.asset.code());
        expected.insert(journal_account_name(&a.code), normalise(&amount));
    }

    let dir = std::env::temp_dir().join(format!("ehome_export_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for format in [ExportFormat::Hledger, ExportFormat::Beancount] {
        let path = dir.join(match format {
            ExportFormat::Hledger => "books.journal",
            ExportFormat::Beancount => "books.beancount",
        });
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut calls = 0;
        let summary = export(&t.db, &ExportOptions::new(format), &mut file, &mut |_, _| calls += 1).await.unwrap();
        std::io::Write::flush(&mut file).unwrap();
        drop(file);
        assert!(calls > 1, "progress was reported");
        assert_eq!(summary.balances.len(), expected.len());
        let computed = match format {
            ExportFormat::Hledger => {
                run(tool("hledger").arg("-f").arg(&path).arg("check"));
                hledger_balances(&path)
            }
            ExportFormat::Beancount => {
                run(tool("bean-check").arg(&path));
                beancount_balances(&path)
            }
        };
        let computed: BTreeMap<String, String> = computed.into_iter().map(|(k, v)| (k, normalise(&v))).collect();
        for (account, amount) in &expected {
            let zero = amount.starts_with("0 ");
            match computed.get(account) {
                Some(found) => assert_eq!(found, amount, "{format:?}: balance of {account}"),
                None => assert!(zero, "{format:?}: {account} missing (expected {amount})"),
            }
        }
        assert!(computed.keys().all(|k| expected.contains_key(k)), "{format:?}: unknown accounts in {computed:?}");
    }
    // Export of one asset up to a time keeps the journal valid.
    let mut options = ExportOptions::new(ExportFormat::Beancount);
    options.asset = Some(Asset::Cny);
    options.until = Some(chrono::Utc::now());
    let path = dir.join("cny.beancount");
    let mut file = std::fs::File::create(&path).unwrap();
    let summary = export(&t.db, &options, &mut file, &mut |_, _| {}).await.unwrap();
    assert!(summary.balances.values().all(|(asset, _)| asset == "CNY"));
    run(tool("bean-check").arg(&path));
    let _ = store::trial_balance(&t.db).await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
