//! The verbs raced from two API instances on four threads: each runs as a scene's use case does, in a
//! transaction run again after `Busy`, and the books show one outcome.

use chrono::Utc;
use ehome_api::domain::CommunityId;
use ehome_api::points::{self, Award, AwardKey, PointsError};
use ehome_tests::{spawn_app, spawn_app_sharing};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::{
    account_posted, assert_books_verify, atomically, balance, begin, give, hold, hours, insert_note, notes_titled, pts,
    redemption, resident, shown,
};

/// Runs `award` with its domain row in a transaction, again after `Busy` (a concurrent transaction
/// stored the same transfer first), as a scene's use case does. Returns the transfer and the attempts.
async fn award_retrying(db: &DatabaseConnection, award: &Award, title: &str) -> (points::Posted, u32) {
    for attempt in 1..=30 {
        let txn = begin(db).await;
        insert_note(&txn, award.user, title).await;
        match points::award(&txn, award, Utc::now()).await {
            Ok(posted) => {
                txn.commit().await.unwrap();
                return (posted, attempt);
            }
            Err(err) if err.is_retryable() => {
                txn.rollback().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt))).await;
            }
            Err(err) => panic!("award failed: {err:?}"),
        }
    }
    panic!("award still busy after 30 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_award_raced_on_two_instances_posts_once() {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let user = resident(&app, "award-race").await;
    // An earlier award opened the accounts, so the racers meet on the transfer itself.
    give(&app.db, &hours(user, 10, "1.00"), Utc::now()).await;
    let award = hours(user, 11, "20.00");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let db = if i % 2 == 0 { app.db.clone() } else { other.db.clone() };
            tokio::spawn(async move { award_retrying(&db, &award, "raced approval").await })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    let first = results[0].0.id;
    assert!(results.iter().all(|(posted, _)| posted.id == first), "every racer got the one transfer");
    assert_eq!(notes_titled(&app.db, "raced approval").await, 16, "every racer's domain row committed");
    assert_eq!(points::history_of(&app.db, user, None, 100).await.unwrap().entries.len(), 2);
    assert_eq!(balance(&app.db, user).await, shown("21.00", "0.00", "21.00"));
    assert_books_verify(&app.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accounts_are_created_once_when_first_used_concurrently() {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let user = resident(&app, "first-use").await;
    let fresh = CommunityId(77);
    // Twelve different awards, all the first use of the same resident and community accounts.
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let db = if i % 2 == 0 { app.db.clone() } else { other.db.clone() };
            let award = Award { community: fresh, user, amount: pts("1.50"), key: AwardKey::VolunteerHours(100 + i) };
            tokio::spawn(async move { award_retrying(&db, &award, "first use").await })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    let attempts: Vec<u32> = results.iter().map(|(_, attempts)| *attempts).collect();
    assert!(attempts.iter().all(|a| *a == 1), "creating an account concurrently never fails: attempts {attempts:?}");
    assert_eq!(balance(&app.db, user).await, shown("18.00", "0.00", "18.00"));
    assert_eq!(account_posted(&app.db, "community:77:points:issuance").await, Some(-1800));
    assert_books_verify(&app.db).await;
}

/// Runs verbs in a transaction of their own, again while the ledger answers `Busy`.
async fn retrying<T>(
    db: &DatabaseConnection,
    verbs: impl AsyncFn(&DatabaseTransaction) -> Result<T, PointsError>,
) -> Result<T, PointsError> {
    for attempt in 1..=30u64 {
        match atomically(db, async |txn| verbs(txn).await).await {
            Err(err) if err.is_retryable() => tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await,
            outcome => return outcome,
        }
    }
    panic!("still busy after 30 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_capture_racing_a_release_of_the_same_hold_has_one_outcome() {
    let app = spawn_app().await;
    let other = spawn_app_sharing(&app).await;
    let user = resident(&app, "hold-race").await;
    let now = Utc::now();
    give(&app.db, &hours(user, 1, "40.00"), now).await;
    let mut captures = 0;
    for code in 1..=6 {
        let held = hold(&app.db, &redemption(user, code, "4.00"), now).await;
        // Both in flight at once, on two instances' pools: the shop captures as the resident cancels.
        let outcomes = tokio::join!(
            retrying(&app.db, async |t| points::capture(t, held.id, None, now).await),
            retrying(&other.db, async |t| points::release(t, held.id, now).await),
        );
        match outcomes {
            (Ok(_), Err(PointsError::HoldAlreadyResolved(_))) => captures += 1,
            (Err(PointsError::HoldAlreadyResolved(_)), Ok(_)) => {}
            outcomes => panic!("a hold resolved twice or not at all: {outcomes:?}"),
        }
    }
    let spent = 400 * captures;
    let left = points::Points::from_minor(4000 - spent).unwrap().to_string();
    assert_eq!(balance(&app.db, user).await, shown(&left, "0.00", "40.00"));
    assert_eq!(account_posted(&app.db, "merchant:3:points").await, Some(spent));
    assert_books_verify(&app.db).await;
}
