//! Many tasks on two separate connection pools (two API instances) posting random transfers among
//! no-overdraft accounts: no lost update, no negative balance, totals conserved, every acknowledged
//! transfer stored exactly once and every rejected one absent, and no deadlock or serialization failure
//! reaching the caller. 64 tasks × 500 transfers on PostgreSQL; a reduced scale on SQLite.

use std::collections::{HashMap, HashSet};

use ehome_entities::ledger_transfer;
use ehome_ledger::prelude::*;
use ehome_ledger::{BatchingPoster, PosterConfig, Transfer, store};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sea_orm::EntityTrait;

use crate::support::{Backend, TestDb};

const FUNDING: i64 = 20_000;

struct Scale {
    tasks: usize,
    transfers: usize,
    accounts: usize,
}

fn scale() -> Scale {
    match Backend::from_env() {
        Backend::Postgres => Scale { tasks: 64, transfers: 500, accounts: 50 },
        Backend::Sqlite => Scale { tasks: 8, transfers: 60, accounts: 50 },
    }
}

async fn funded_accounts(t: &TestDb, n: usize) -> (AccountId, Vec<AccountId>) {
    let issuance = t.account("community:1:points:issuance", Asset::Points, AccountFlags::NONE).await.id;
    let mut accounts = vec![];
    for i in 0..n {
        let code = format!("user:{i}:points");
        accounts.push(t.account(&code, Asset::Points, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS).await.id);
    }
    let funding: Vec<TransferRequest> =
        accounts.iter().map(|a| TransferRequest::single(issuance, *a, Asset::Points, FUNDING, "funding")).collect();
    t.ledger().post_linked(&funding).await.unwrap();
    (issuance, accounts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_many_tasks_no_lost_update_no_overdraft() {
    let s = scale();
    let t = TestDb::with_pool(16).await;
    let (_, accounts) = funded_accounts(&t, s.accounts).await;
    let ledgers = t.two_instances(16).await;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..s.tasks {
        let ledger = ledgers[task % 2].clone();
        let accounts = accounts.clone();
        let transfers = s.transfers;
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(task as u64);
            let mut acknowledged = vec![];
            let mut rejected = vec![];
            for i in 0..transfers {
                let debit = accounts[rng.random_range(0..accounts.len())];
                let mut credit = debit;
                while credit == debit {
                    credit = accounts[rng.random_range(0..accounts.len())];
                }
                let amount = rng.random_range(1..=3_000);
                let request = TransferRequest::single(debit, credit, Asset::Points, amount, "gift");
                match ledger.post(&request).await {
                    Ok(posted) => {
                        assert_eq!(posted.id, request.id);
                        if i % 10 == 0 {
                            // A retry from the other instance's point of view: the same answer.
                            assert_eq!(ledger.post(&request).await.unwrap(), posted);
                        }
                        acknowledged.push(request.id);
                    }
                    Err(LedgerError::InsufficientFunds(a)) => {
                        assert_eq!(a, debit);
                        rejected.push(request.id);
                    }
                    Err(other) => panic!("unexpected error reached the caller: {other:?}"),
                }
            }
            (acknowledged, rejected)
        });
    }
    let mut acknowledged = HashSet::new();
    let mut rejected = HashSet::new();
    while let Some(done) = tasks.join_next().await {
        let (a, r) = done.unwrap();
        acknowledged.extend(a);
        rejected.extend(r);
    }
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let mut total = 0;
    for a in &accounts {
        let b = store::balance(&t.db, *a).await.unwrap();
        assert!(b.posted >= 0 && b.available >= 0, "account {a} went negative: {b:?}");
        total += b.posted;
    }
    assert_eq!(total, FUNDING * s.accounts as i64, "points were created or lost");
    let stored: Vec<ledger_transfer::Model> = ledger_transfer::Entity::find().all(&t.db).await.unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for row in &stored {
        *counts.entry(row.id.clone()).or_default() += 1;
    }
    for id in &acknowledged {
        assert_eq!(counts.get(&id.to_text()), Some(&1), "acknowledged {id} not stored exactly once");
    }
    for id in &rejected {
        assert!(!counts.contains_key(&id.to_text()), "rejected {id} was stored");
    }
    assert_eq!(stored.len(), acknowledged.len() + s.accounts, "unexpected extra transfers");
    eprintln!("{} acknowledged, {} rejected", acknowledged.len(), rejected.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_batching_poster_answers_each_caller_on_a_hot_account() {
    let t = TestDb::with_pool(8).await;
    let second = t.second_pool(8).await;
    let (issuance, accounts) = funded_accounts(&t, 20).await;
    let posters = [
        BatchingPoster::spawn(t.ledger(), PosterConfig::default()),
        BatchingPoster::spawn(Ledger::new(second), PosterConfig { max_batch: 16, workers: 1, queue: 64 }),
    ];
    let tasks_n = if t.backend == Backend::Postgres { 64 } else { 16 };
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..tasks_n {
        let poster = posters[task % 2].clone();
        let accounts = accounts.clone();
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(1000 + task as u64);
            let mut awarded = 0;
            for i in 0..40 {
                let k = rng.random_range(0..accounts.len());
                let credit = accounts[k];
                let request = if i % 7 == 3 {
                    // A resident who tries to spend more than anyone holds is refused alone.
                    let other = accounts[(k + 1) % accounts.len()];
                    TransferRequest::single(credit, other, Asset::Points, 1_000_000, "gift")
                } else {
                    TransferRequest::single(issuance, credit, Asset::Points, 10, "volunteer_award")
                };
                match poster.submit(request.clone()).await {
                    Ok(posted) => {
                        assert_eq!((posted.id, posted.amount), (request.id, 10));
                        awarded += 10;
                    }
                    Err(LedgerError::InsufficientFunds(a)) => assert_eq!(a, credit),
                    Err(other) => panic!("unexpected: {other:?}"),
                }
            }
            awarded
        });
    }
    let mut awarded = 0;
    while let Some(done) = tasks.join_next().await {
        awarded += done.unwrap();
    }
    let issued = -store::balance(&t.db, issuance).await.unwrap().posted;
    assert_eq!(issued, FUNDING * 20 + awarded);
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
}

/// Counts the stored transfers that credit `account`.
async fn credits_of(t: &TestDb, account: AccountId) -> usize {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let count = ledger_transfer::Entity::find()
        .filter(ledger_transfer::Column::CreditAccountId.eq(account.0))
        .count(&t.db)
        .await
        .unwrap();
    usize::try_from(count).unwrap()
}

/// Single transfers (no poster) that all debit the one issuance account, from many tasks on two pools,
/// with reversals (which credit it) and holds on it (whose pending amounts stay on its row) among them:
/// every point is accounted for. On PostgreSQL the issuance account's posted amounts are spread over
/// the shards of the chains its writers held, so the balance read must add them all up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_account_single_transfers_on_two_pools_add_up() {
    let t = TestDb::with_pool(16).await;
    let (issuance, accounts) = funded_accounts(&t, 20).await;
    let ledgers = t.two_instances(16).await;
    let tasks_n = if t.backend == Backend::Postgres { 32 } else { 8 };
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..tasks_n {
        let ledger = ledgers[task % 2].clone();
        let accounts = accounts.clone();
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(2000 + task as u64);
            let mut issued = 0i64;
            for i in 0..30 {
                let credit = accounts[rng.random_range(0..accounts.len())];
                let award = ledger.post(&TransferRequest::single(issuance, credit, Asset::Points, 10, "award")).await;
                issued += award.as_ref().unwrap().amount;
                match i % 10 {
                    4 => {
                        let reversal = TransferRequest::new(
                            TransferAction::Reverse { transfer_id: award.unwrap().id },
                            "award_reversal",
                        );
                        issued -= ledger.post(&reversal).await.unwrap().amount;
                    }
                    7 => {
                        let pledge = TransferAction::Pending {
                            debit: issuance,
                            credit,
                            asset: Asset::Points,
                            amount: 50,
                            timeout_seconds: Some(60),
                        };
                        let hold = ledger.post(&TransferRequest::new(pledge, "pledge")).await.unwrap();
                        let post = TransferAction::PostPending { pending_id: hold.id, amount: Some(20) };
                        issued += ledger.post(&TransferRequest::new(post, "pledge_paid")).await.unwrap().amount;
                    }
                    _ => {}
                }
            }
            issued
        });
    }
    let mut issued = FUNDING * accounts.len() as i64;
    while let Some(done) = tasks.join_next().await {
        issued += done.unwrap();
    }
    let balance = store::balance(&t.db, issuance).await.unwrap();
    assert_eq!((balance.posted, balance.pending), (-issued, 0), "{balance:?}");
    let mut held = 0;
    for a in &accounts {
        held += store::balance(&t.db, *a).await.unwrap().posted;
    }
    assert_eq!(held, issued, "points were created or lost");
    assert!(store::trial_balance(&t.db).await.unwrap().iter().all(|line| line.balanced()));
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
    if t.backend == Backend::Postgres {
        use sea_orm::{ConnectionTrait, Statement};
        let sql = format!("SELECT count(*) FROM ledger_account_shards WHERE account_id = {}", issuance.0);
        let row = t.db.query_one_raw(Statement::from_string(t.db.get_database_backend(), sql)).await.unwrap();
        let shards: i64 = row.unwrap().try_get_by_index(0).unwrap();
        assert!(shards > 1, "the hot account's writers all queued on one row ({shards} shards)");
    }
}

/// An account closed while many tasks on two pools keep paying into it: once `close_account` has
/// returned, no further transfer to it is stored (a writer adding to an unlimited account's shard does
/// not lock its row, so closing must wait for the writers that saw it open).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_transfer_reaches_an_account_after_it_is_closed() {
    let t = TestDb::with_pool(16).await;
    let (issuance, _) = funded_accounts(&t, 1).await;
    let shop = t.account("merchant:1:points", Asset::Points, AccountFlags::NONE).await.id;
    let ledgers = t.two_instances(16).await;
    let tasks_n = if t.backend == Backend::Postgres { 16 } else { 4 };
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..tasks_n {
        let ledger = ledgers[task % 2].clone();
        tasks.spawn(async move {
            let mut paid = 0usize;
            loop {
                match ledger.post(&TransferRequest::single(issuance, shop, Asset::Points, 1, "settlement")).await {
                    Ok(_) => paid += 1,
                    Err(LedgerError::AccountClosed(a)) => {
                        assert_eq!(a, shop);
                        return paid;
                    }
                    Err(other) => panic!("unexpected: {other:?}"),
                }
            }
        });
    }
    while credits_of(&t, shop).await < 50 * tasks_n {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let closed = t.ledger().close_account(shop).await.unwrap();
    assert!(closed.flags.closed());
    let at_close = credits_of(&t, shop).await;
    let mut paid = 0;
    while let Some(done) = tasks.join_next().await {
        paid += done.unwrap();
    }
    assert_eq!(credits_of(&t, shop).await, at_close, "a transfer reached the account after it was closed");
    assert_eq!(paid, at_close);
    assert_eq!(store::balance(&t.db, shop).await.unwrap().posted, i64::try_from(paid).unwrap());
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
}

/// The same requests (same ids) sent at once by many tasks on two pools, as retries from two API
/// instances racing each other: each is stored once and every caller gets the same transfer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_retries_of_the_same_ids_post_once() {
    let t = TestDb::with_pool(16).await;
    let (issuance, accounts) = funded_accounts(&t, 10).await;
    let requests: Vec<TransferRequest> = (0..40)
        .map(|i| {
            let (debit, credit) =
                if i % 2 == 0 { (issuance, accounts[i % 10]) } else { (accounts[i % 10], accounts[(i + 1) % 10]) };
            TransferRequest::single(debit, credit, Asset::Points, 7, "race")
        })
        .collect();
    let ledgers = t.two_instances(16).await;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..16 {
        let ledger = ledgers[task % 2].clone();
        let mut mine = requests.clone();
        mine.rotate_left(task * 5 % requests.len());
        tasks.spawn(async move {
            let mut answers = vec![];
            for request in &mine {
                let posted = ledger.post(request).await.unwrap_or_else(|e| panic!("{e:?}"));
                answers.push((request.id, posted));
            }
            answers
        });
    }
    let mut first: HashMap<TransferId, Transfer> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        for (id, posted) in done.unwrap() {
            assert_eq!(&posted, first.entry(id).or_insert_with(|| posted.clone()), "two answers for {id}");
        }
    }
    assert_eq!(first.len(), requests.len());
    let stored = ledger_transfer::Entity::find().all(&t.db).await.unwrap();
    assert_eq!(stored.len(), requests.len() + accounts.len(), "a retried id was stored twice");
    let report = t.ledger().verify(&mut |_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report}");
}
