//! Tampering with stored history behind the ledger's back (as the database superuser, or with the
//! SQLite file) is reported by `verify`.

use ehome_ledger::prelude::*;
use ehome_ledger::{Fault, VerifyReport};

use crate::support::{Backend, Chart, TestDb, chart};

async fn book() -> (TestDb, Chart) {
    let t = TestDb::new().await;
    let c = chart(&t).await;
    // One linked batch: one transaction, so the four transfers are seq 1..=4 of one chain.
    let award = |amount| TransferRequest::single(c.issuance, c.alice, Asset::Points, amount, "volunteer_award");
    let batch =
        [award(100), award(200), award(300), TransferRequest::single(c.alice, c.bob, Asset::Points, 50, "gift")];
    t.ledger().post_linked(&batch).await.unwrap();
    (t, c)
}

/// Switches the append-only triggers off, as only the database owner can.
async fn disable_guards(t: &TestDb) {
    match t.backend {
        Backend::Postgres => t.raw("ALTER TABLE ledger_transfers DISABLE TRIGGER USER").await,
        Backend::Sqlite => {
            t.raw("DROP TRIGGER ledger_transfers_no_update").await;
            t.raw("DROP TRIGGER ledger_transfers_no_delete").await;
        }
    }
}

async fn report(t: &TestDb) -> VerifyReport {
    t.ledger().verify(&mut |_, _| {}).await.unwrap()
}

#[tokio::test]
async fn an_edited_amount_is_reported() {
    let (t, c) = book().await;
    assert!(report(&t).await.is_clean());
    disable_guards(&t).await;
    t.raw("UPDATE ledger_transfers SET amount = 201 WHERE seq = 2").await;
    let r = report(&t).await;
    assert!(!r.is_clean());
    assert!(
        r.faults.contains(&Fault::HashMismatch {
            seq: 2,
            id: r
                .faults
                .iter()
                .find_map(|f| match f {
                    Fault::HashMismatch { id, .. } => Some(id.clone()),
                    _ => None,
                })
                .unwrap()
        })
    );
    assert!(r.faults.iter().any(|f| matches!(f, Fault::BalanceMismatch { account, field: "credits_posted", stored: 600, recomputed: 601, .. } if *account == c.alice.0)));
    assert!(r.to_string().contains("FAULTS"));
}

#[tokio::test]
async fn a_rehashed_edit_breaks_the_chain() {
    let (t, _) = book().await;
    disable_guards(&t).await;
    // A forged link: whatever the forger writes, the row's own hash no longer covers it.
    t.raw("UPDATE ledger_transfers SET prev_hash = 'ff' WHERE seq = 3").await;
    let r = report(&t).await;
    assert!(r.faults.iter().any(|f| matches!(f, Fault::ChainBroken { seq: 3, .. })), "{r}");
}

#[tokio::test]
async fn a_deleted_transfer_is_reported() {
    let (t, _) = book().await;
    disable_guards(&t).await;
    t.raw("DELETE FROM ledger_transfers WHERE seq = 2").await;
    let r = report(&t).await;
    assert!(r.faults.iter().any(|f| matches!(f, Fault::ChainGap { seq: 3, expected: 2, found: 3, .. })), "{r}");
    assert!(r.faults.iter().any(|f| matches!(f, Fault::ChainBroken { seq: 3, .. })), "{r}");
    assert!(r.faults.iter().any(|f| matches!(f, Fault::BalanceMismatch { .. })), "{r}");
}

#[tokio::test]
async fn a_deleted_last_transfer_and_an_edited_balance_are_reported() {
    let (t, c) = book().await;
    disable_guards(&t).await;
    t.raw("DELETE FROM ledger_transfers WHERE seq = 4").await;
    t.raw(&format!("UPDATE ledger_accounts SET credits_posted = credits_posted + 7 WHERE id = {}", c.bob.0)).await;
    let r = report(&t).await;
    assert!(r.faults.iter().any(|f| matches!(f, Fault::ChainHeadMismatch { head_seq: 4, last_seq: 3, .. })), "{r}");
    assert!(r.faults.iter().any(|f| matches!(f, Fault::Unbalanced { pending: false, stored: true, .. })), "{r}");
}

#[tokio::test]
async fn an_edited_balance_shard_is_reported() {
    let (t, c) = book().await;
    let award = TransferRequest::single(c.issuance, c.bob, Asset::Points, 10, "volunteer_award");
    t.ledger().post(&award).await.unwrap();
    let sql = match t.backend {
        // The issuance account has no limits: the award's debit went to the shard of its chain.
        Backend::Postgres => format!(
            "UPDATE ledger_account_shards SET debits_posted = debits_posted - 5 WHERE account_id = {}",
            c.issuance.0
        ),
        // SQLite writes no shards; a shard row added behind the ledger's back is still counted.
        Backend::Sqlite => format!(
            "INSERT INTO ledger_account_shards (account_id, shard, debits_posted, credits_posted) VALUES ({}, 3, 0, 5)",
            c.issuance.0
        ),
    };
    t.raw(&sql).await;
    let r = report(&t).await;
    let mismatch = |f: &Fault| matches!(f, Fault::BalanceMismatch { account, .. } if *account == c.issuance.0);
    assert!(r.faults.iter().any(mismatch), "{r}");
}

#[tokio::test]
async fn a_transfer_naming_an_unknown_account_is_refused_or_reported() {
    let (t, c) = book().await;
    // On a chain of its own: the book's batch took whichever chain its session drew.
    let sql = format!(
        "INSERT INTO ledger_transfers (chain_id, chain_seq, id, kind, debit_account_id, credit_account_id, asset, \
         amount, code, metadata, created_at_us, prev_hash, hash) SELECT MAX(chain_id) + 1, 1, 'forged', 'single', 999, \
         {}, 'POINTS', 5, 'gift', 'null', 0, 'p', 'h' FROM ledger_transfers",
        c.bob.0
    );
    use sea_orm::ConnectionTrait;
    let inserted = t.db.execute_unprepared(&sql).await;
    match t.backend {
        // SQLite keeps its foreign keys.
        Backend::Sqlite => assert!(inserted.is_err(), "the forged row was accepted"),
        // PostgreSQL has none on transfers (the ledger only inserts beside its accounts' moved balances,
        // and account rows are never deleted): verify names the stranger.
        Backend::Postgres => {
            inserted.unwrap();
            let r = report(&t).await;
            let unknown =
                |f: &Fault| matches!(f, Fault::BadTransfer { reason, .. } if reason.contains("unknown account 999"));
            assert!(r.faults.iter().any(unknown), "{r}");
        }
    }
}
