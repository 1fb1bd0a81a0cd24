//! A shop's account (no overdraft) receiving the holds of many residents at once, as at a counter:
//! on PostgreSQL the credits of those holds go to the account's shards, so they do not queue on its
//! row; refunds and settlements, which debit it, must still see every credit — the shards are folded
//! into the row first — and the totals must add up to the point.

use ehome_ledger::prelude::*;
use ehome_ledger::{Transfer, store};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, Statement};

use crate::support::{Backend, TestDb};

const FUNDING: i64 = 10_000;
const NO_OVERDRAFT: AccountFlags = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;

struct Counter {
    issuance: AccountId,
    residents: Vec<AccountId>,
    shop: AccountId,
    retired: AccountId,
}

async fn counter(t: &TestDb, residents: usize) -> Counter {
    let issuance = t.account("community:1:points:issuance", Asset::Points, AccountFlags::NONE).await.id;
    let mut ids = vec![];
    for i in 0..residents {
        ids.push(t.account(&format!("user:{i}:points"), Asset::Points, NO_OVERDRAFT).await.id);
    }
    let funding: Vec<TransferRequest> =
        ids.iter().map(|a| TransferRequest::single(issuance, *a, Asset::Points, FUNDING, "funding")).collect();
    t.ledger().post_linked(&funding).await.unwrap();
    Counter {
        issuance,
        residents: ids,
        shop: t.account("merchant:1:points", Asset::Points, NO_OVERDRAFT).await.id,
        retired: t.account("community:1:points:retired", Asset::Points, AccountFlags::NONE).await.id,
    }
}

fn hold(resident: AccountId, shop: AccountId, amount: i64) -> TransferRequest {
    let action = TransferAction::Pending {
        debit: resident,
        credit: shop,
        asset: Asset::Points,
        amount,
        timeout_seconds: Some(300),
    };
    TransferRequest::new(action, "redemption")
}

fn capture(hold: &Transfer, amount: Option<i64>) -> TransferRequest {
    TransferRequest::new(TransferAction::PostPending { pending_id: hold.id, amount }, "redemption")
}

fn void(hold: &Transfer) -> TransferRequest {
    TransferRequest::new(TransferAction::VoidPending { pending_id: hold.id }, "redemption_cancel")
}

fn refund(capture: &Transfer) -> TransferRequest {
    TransferRequest::new(TransferAction::Reverse { transfer_id: capture.id }, "reversal")
}

async fn count(t: &TestDb, sql: String) -> i64 {
    let row = t.db.query_one_raw(Statement::from_string(t.db.get_database_backend(), sql)).await.unwrap();
    row.unwrap().try_get_by_index(0).unwrap()
}

/// Tasks on two pools place holds from random residents towards one shop, then capture (in full or
/// in part) or void each; another task refunds captures while they go on. No refund of a captured
/// amount is ever refused, the shop's balance is the captures less the refunds, every resident's is
/// their funding less what they spent, and the shop can settle exactly what it holds — not a point more.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shops_counter_on_two_pools_adds_up_and_refunds_see_every_credit() {
    let postgres = Backend::from_env() == Backend::Postgres;
    let (tasks_n, per_task) = if postgres { (16, 60) } else { (4, 20) };
    let t = TestDb::with_pool(16).await;
    let c = counter(&t, 24).await;
    let ledgers = t.two_instances(16).await;
    let (captured_tx, mut captured_rx) = tokio::sync::mpsc::unbounded_channel::<Transfer>();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..tasks_n {
        let ledger = ledgers[task % 2].clone();
        let (residents, shop, captured_tx) = (c.residents.clone(), c.shop, captured_tx.clone());
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(task as u64);
            for _ in 0..per_task {
                let resident = residents[rng.random_range(0..residents.len())];
                let held = ledger.post(&hold(resident, shop, rng.random_range(1..=30))).await.unwrap();
                match rng.random_range(0..4) {
                    0 => {
                        ledger.post(&void(&held)).await.unwrap();
                    }
                    1 => {
                        let part = rng.random_range(1..=held.amount);
                        captured_tx.send(ledger.post(&capture(&held, Some(part))).await.unwrap()).unwrap();
                    }
                    _ => captured_tx.send(ledger.post(&capture(&held, None)).await.unwrap()).unwrap(),
                }
            }
        });
    }
    drop(captured_tx);
    // Refunds debit the shop while holds keep crediting it: each must see the credit it takes back.
    let refunder = ledgers[1].clone();
    let refunds = tokio::spawn(async move {
        let (mut captures, mut refunded) = (vec![], vec![]);
        while let Some(capture) = captured_rx.recv().await {
            if captures.len() % 3 == 0 {
                let reversal = refunder.post(&refund(&capture)).await.expect("a refund of a captured amount");
                refunded.push((capture.clone(), reversal));
            }
            captures.push(capture);
        }
        (captures, refunded)
    });
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let (captures, refunded) = refunds.await.unwrap();
    assert!(!refunded.is_empty());
    let captured: i64 = captures.iter().map(|t| t.amount).sum();
    let taken_back: i64 = refunded.iter().map(|(_, r)| r.amount).sum();
    let shop = store::balance(&t.db, c.shop).await.unwrap();
    assert_eq!((shop.posted, shop.pending), (captured - taken_back, 0), "{shop:?}");
    let mut residents_hold = 0;
    for r in &c.residents {
        let b = store::balance(&t.db, *r).await.unwrap();
        assert_eq!(b.pending, 0, "a resident's hold was left open");
        residents_hold += b.posted;
    }
    assert_eq!(residents_hold + shop.posted, FUNDING * c.residents.len() as i64, "points were created or lost");
    if postgres {
        let sql = format!("SELECT count(*) FROM ledger_account_shards WHERE account_id = {}", c.shop.0);
        assert!(count(&t, sql).await > 1, "the shop's holds all queued on its row");
    }
    // A settlement retires exactly what the shop holds, and not a point more.
    let settle = |amount| TransferRequest::single(c.shop, c.retired, Asset::Points, amount, "settlement");
    let over = t.ledger().post(&settle(shop.posted + 1)).await.unwrap_err();
    assert!(matches!(over, LedgerError::InsufficientFunds(a) if a == c.shop), "{over:?}");
    t.ledger().post(&settle(shop.posted)).await.unwrap();
    assert_eq!(store::balance(&t.db, c.shop).await.unwrap().posted, 0);
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(store::trial_balance(&t.db).await.unwrap().iter().all(|line| line.balanced()));
    let _ = c.issuance;
}

/// A refund finds the credit of a capture wherever it was kept; a closed shop takes no new hold and
/// no capture, but the holds already placed towards it can still be voided.
#[tokio::test]
async fn a_closed_shop_takes_no_new_hold_but_its_open_holds_still_end() {
    let t = TestDb::new().await;
    let c = counter(&t, 2).await;
    let ledger = t.ledger();
    let first = ledger.post(&hold(c.residents[0], c.shop, 40)).await.unwrap();
    let spent = ledger.post(&capture(&first, None)).await.unwrap();
    let open = ledger.post(&hold(c.residents[1], c.shop, 25)).await.unwrap();
    let other = ledger.post(&hold(c.residents[1], c.shop, 5)).await.unwrap();
    assert_eq!(store::balance(&t.db, c.shop).await.unwrap().credits_pending, 30);
    ledger.post(&refund(&spent)).await.unwrap();
    ledger.close_account(c.shop).await.unwrap();

    let refused = ledger.post(&hold(c.residents[0], c.shop, 1)).await.unwrap_err();
    assert!(matches!(refused, LedgerError::AccountClosed(a) if a == c.shop), "{refused:?}");
    let refused = ledger.post(&capture(&other, None)).await.unwrap_err();
    assert!(matches!(refused, LedgerError::AccountClosed(a) if a == c.shop), "{refused:?}");
    ledger.post(&void(&open)).await.unwrap();
    ledger.post(&void(&other)).await.unwrap();

    let shop = store::balance(&t.db, c.shop).await.unwrap();
    assert_eq!((shop.posted, shop.credits_pending), (0, 0), "{shop:?}");
    for r in &c.residents {
        assert_eq!(store::balance(&t.db, *r).await.unwrap().available, FUNDING);
    }
    let report = ledger.verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
}

/// Holds placed and resolved in one batch of independent transfers, one of which is refused: the
/// transfer-by-transfer path that finds it still releases holds whose credits sit in the shards.
#[tokio::test]
async fn a_refused_transfer_in_a_batch_does_not_stop_the_releases_beside_it() {
    let t = TestDb::new().await;
    let c = counter(&t, 3).await;
    let ledger = t.ledger();
    let mut holds = vec![];
    for r in &c.residents {
        holds.push(ledger.post(&hold(*r, c.shop, 100)).await.unwrap());
    }
    let mut batch: Vec<TransferRequest> = holds.iter().map(void).collect();
    batch.push(hold(c.residents[0], c.shop, FUNDING + 1));
    let results = ledger.post_independent(&batch).await.unwrap();
    assert!(results[..3].iter().all(Result::is_ok), "{results:?}");
    assert!(matches!(results[3], Err(LedgerError::InsufficientFunds(a)) if a == c.residents[0]), "{results:?}");
    let shop = store::balance(&t.db, c.shop).await.unwrap();
    assert_eq!((shop.posted, shop.credits_pending), (0, 0), "{shop:?}");
    let report = ledger.verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
}

/// Undoing the migrations that let a shop's holds live in shards (and count an offer's stock in one
/// column) folds the shards' pending credits back into the rows: the holds placed before are all there,
/// and the ledger verifies after the migrations are applied again.
#[tokio::test]
async fn undoing_the_shard_migrations_keeps_every_hold() {
    use ehome_migrations::{Migrator, MigratorTrait};
    let t = TestDb::with_pool(16).await;
    let c = counter(&t, 8).await;
    let ledgers = t.two_instances(16).await;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, resident) in c.residents.iter().enumerate() {
        let (ledger, resident, shop) = (ledgers[i % 2].clone(), *resident, c.shop);
        tasks.spawn(async move {
            let first = ledger.post(&hold(resident, shop, 10)).await.unwrap();
            ledger.post(&hold(resident, shop, 7)).await.unwrap();
            ledger.post(&capture(&first, Some(4))).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let before = store::balance(&t.db, c.shop).await.unwrap();
    assert_eq!((before.credits_posted, before.credits_pending), (4 * 8, 7 * 8), "{before:?}");
    ehome_test_harness::undo_migrations_from(&t.db, "m20261128_000024").await;
    let sql = format!("SELECT credits_pending FROM ledger_accounts WHERE id = {}", c.shop.0);
    assert_eq!(count(&t, sql).await, 7 * 8, "a hold's credit was lost with the shards' column");
    Migrator::up(&t.db, None).await.expect("and apply again");
    let after = store::balance(&t.db, c.shop).await.unwrap();
    assert_eq!((after.credits_posted, after.credits_pending), (4 * 8, 7 * 8), "{after:?}");
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
}
