//! `ehome_api::points` against the real database of a test app: every verb inside the caller's
//! transaction, exactly once under retries and two instances, and what a resident's balance shows.
//! A notification row stands in for the domain row (no scene uses points yet).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ehome_api::domain::{CommunityId, MerchantId, UserId};
use ehome_api::platform::error::ApiError;
use ehome_api::points::{
    self, Award, AwardKey, Change, Expiry, HistoryCursor, Points, PointsError, Purpose, RedemptionHold, ReversalReason,
    RewardHold, TransferId,
};
use ehome_entities::notification;
use ehome_tests::{TestApp, spawn_app};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    Set, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

mod races;

const COMMUNITY: CommunityId = CommunityId(1);
const SHOP: MerchantId = MerchantId(3);

fn pts(text: &str) -> Points {
    Points::parse(text).unwrap()
}

/// A write transaction as a scene begins one (`BEGIN IMMEDIATE` on SQLite).
async fn begin(db: &DatabaseConnection) -> DatabaseTransaction {
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    db.begin_with_options(options).await.unwrap()
}

/// Runs verbs in one transaction of their own: committed when they succeed, rolled back otherwise.
async fn atomically<T>(
    db: &DatabaseConnection,
    verbs: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, PointsError>,
) -> Result<T, PointsError> {
    let txn = begin(db).await;
    let outcome = verbs(&txn).await;
    if outcome.is_ok() {
        txn.commit().await.unwrap();
    } else {
        txn.rollback().await.unwrap();
    }
    outcome
}

async fn resident(app: &TestApp, openid: &str) -> UserId {
    UserId(app.dev_login(openid).await.user_id)
}

/// The domain row: a notification titled `title`.
async fn insert_note(txn: &DatabaseTransaction, user: UserId, title: &str) {
    notification::ActiveModel {
        user_id: Set(user.0),
        kind: Set("points".to_owned()),
        title: Set(title.to_owned()),
        body: Set(String::new()),
        request_id: Set(None),
        created_at: Set(Utc::now()),
        read_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await
    .unwrap();
}

async fn notes_titled(db: &DatabaseConnection, title: &str) -> u64 {
    notification::Entity::find().filter(notification::Column::Title.eq(title)).count(db).await.unwrap()
}

fn hours(user: UserId, record: i64, amount: &str) -> Award {
    Award { community: COMMUNITY, user, amount: pts(amount), key: AwardKey::VolunteerHours(record) }
}

/// Awards in a transaction of its own.
async fn give(db: &DatabaseConnection, award: &Award, now: DateTime<Utc>) -> points::Posted {
    let txn = begin(db).await;
    let posted = points::award(&txn, award, now).await.unwrap();
    txn.commit().await.unwrap();
    posted
}

/// (available, on hold, lifetime earned) as decimal strings.
async fn balance(db: &DatabaseConnection, user: UserId) -> (String, String, String) {
    let b = points::balance_of(db, user).await.unwrap();
    (b.available.to_string(), b.on_hold.to_string(), b.lifetime_earned.to_string())
}

fn shown(available: &str, on_hold: &str, earned: &str) -> (String, String, String) {
    (available.to_owned(), on_hold.to_owned(), earned.to_owned())
}

async fn account_posted(db: &DatabaseConnection, code: &str) -> Option<i64> {
    ehome_ledger::account_by_code(db, code).await.ok().map(|a| a.balance().posted)
}

async fn assert_books_verify(db: &DatabaseConnection) {
    let report = ehome_ledger::verify(db, &mut |_, _| {}).await.unwrap();
    assert!(report.faults.is_empty(), "ledger verify: {:?}", report.faults);
}

/// A scene's use case: approve hours (the domain row) and award their points in one transaction;
/// `fail_after_award` makes a domain check fail after the award, as a later step of a real use case can.
async fn approve_hours(
    db: &DatabaseConnection,
    award: &Award,
    title: &str,
    fail_after_award: bool,
) -> Result<points::Posted, ApiError> {
    let txn = begin(db).await;
    insert_note(&txn, award.user, title).await;
    let posted = points::award(&txn, award, Utc::now()).await?;
    if fail_after_award {
        return Err(ApiError::validation("hours", "forced failure after the award"));
    }
    txn.commit().await?;
    Ok(posted)
}

#[tokio::test]
async fn an_award_and_its_domain_row_commit_together() {
    let app = spawn_app().await;
    let user = resident(&app, "award-commit").await;
    let posted = approve_hours(&app.db, &hours(user, 1, "12.50"), "hours approved", false).await.unwrap();
    assert_eq!(notes_titled(&app.db, "hours approved").await, 1);
    let stored = ehome_ledger::transfer(&app.db, posted.id).await.unwrap();
    assert_eq!((stored.code.as_str(), stored.amount), ("volunteer_award", 1250));
    assert_eq!(stored.metadata["hour_record"], 1);
    assert_eq!(balance(&app.db, user).await, shown("12.50", "0.00", "12.50"));
    assert_eq!(account_posted(&app.db, &format!("user:{}:points", user.0)).await, Some(1250));
    assert_eq!(account_posted(&app.db, "community:1:points:issuance").await, Some(-1250));
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn an_error_after_the_award_leaves_neither_the_domain_row_nor_the_transfer() {
    let app = spawn_app().await;
    let user = resident(&app, "award-rollback").await;
    let award = hours(user, 7, "5.00");
    let failed = approve_hours(&app.db, &award, "rolled back", true).await;
    assert!(matches!(failed, Err(ApiError::Validation { .. })), "{failed:?}");
    assert_eq!(notes_titled(&app.db, "rolled back").await, 0, "the domain row rolled back");
    assert_eq!(balance(&app.db, user).await, shown("0.00", "0.00", "0.00"));
    assert!(points::history_of(&app.db, user, None, 10).await.unwrap().entries.is_empty());
    // The resident's account, created on first use inside the transaction, rolled back with it.
    assert_eq!(account_posted(&app.db, &format!("user:{}:points", user.0)).await, None);
    let trial = ehome_ledger::trial_balance(&app.db).await.unwrap();
    assert!(trial.iter().all(|line| line.debits_posted == 0), "no transfer anywhere: {trial:?}");

    // The same approval run again succeeds, under the same transfer id.
    let posted = approve_hours(&app.db, &award, "committed", false).await.unwrap();
    assert_eq!(notes_titled(&app.db, "committed").await, 1);
    assert_eq!(balance(&app.db, user).await, shown("5.00", "0.00", "5.00"));
    let again = approve_hours(&app.db, &award, "committed twice", false).await.unwrap();
    assert_eq!(again.id, posted.id);
    assert_eq!(balance(&app.db, user).await, shown("5.00", "0.00", "5.00"), "one award for one record");
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn the_same_award_key_posts_once_and_refuses_other_content() {
    let app = spawn_app().await;
    let user = resident(&app, "award-twice").await;
    let now = Utc::now();
    let first = give(&app.db, &hours(user, 3, "8.00"), now).await;
    let second = give(&app.db, &hours(user, 3, "8.00"), now + Duration::minutes(5)).await;
    assert_eq!(first, second, "the repeat returns the first transfer");
    assert_eq!(points::history_of(&app.db, user, None, 10).await.unwrap().entries.len(), 1);
    assert_eq!(balance(&app.db, user).await, shown("8.00", "0.00", "8.00"));

    let txn = begin(&app.db).await;
    let changed = points::award(&txn, &hours(user, 3, "9.00"), now).await;
    assert!(matches!(changed, Err(PointsError::KeyReused(id)) if id == first.id), "{changed:?}");
    drop(txn);
    let other = give(&app.db, &hours(user, 4, "8.00"), now).await;
    assert_ne!(other.id, first.id, "another record is another transfer");
    assert_eq!(balance(&app.db, user).await, shown("16.00", "0.00", "16.00"));
}

fn redemption(user: UserId, code: i64, amount: &str) -> RedemptionHold {
    RedemptionHold { user, merchant: SHOP, amount: pts(amount), redemption_code: code, timeout_seconds: 300 }
}

async fn hold(db: &DatabaseConnection, hold: &RedemptionHold, now: DateTime<Utc>) -> points::Hold {
    let txn = begin(db).await;
    let placed = points::hold_for_redemption(&txn, hold, now).await.unwrap();
    txn.commit().await.unwrap();
    placed
}

#[tokio::test]
async fn a_redemption_hold_is_captured_in_full_or_in_part() {
    let app = spawn_app().await;
    let user = resident(&app, "capture").await;
    let now = Utc::now();
    give(&app.db, &hours(user, 1, "100.00"), now).await;
    let held = hold(&app.db, &redemption(user, 1, "30.00"), now).await;
    assert_eq!(held.expires_at, Some(held.at + Duration::seconds(300)));
    assert_eq!(balance(&app.db, user).await, shown("70.00", "30.00", "100.00"));

    let txn = begin(&app.db).await;
    let captured = points::capture(&txn, held.id, Some(pts("20.00")), now).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(captured.amount, pts("20.00"));
    assert_eq!(balance(&app.db, user).await, shown("80.00", "0.00", "100.00"), "the rest of the hold came back");
    assert_eq!(account_posted(&app.db, &format!("merchant:{}:points", SHOP.0)).await, Some(2000));
    let again =
        atomically(&app.db, async |t| points::capture(t, held.id, Some(pts("20.00")), now).await).await.unwrap();
    assert_eq!(again.id, captured.id, "a repeated capture returns the first");

    let whole = hold(&app.db, &redemption(user, 2, "25.00"), now).await;
    let txn = begin(&app.db).await;
    assert!(matches!(
        points::capture(&txn, whole.id, Some(pts("25.01")), now).await,
        Err(PointsError::AmountExceedsOriginal { .. })
    ));
    let captured = points::capture(&txn, whole.id, None, now).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(captured.amount, pts("25.00"));
    assert_eq!(balance(&app.db, user).await, shown("55.00", "0.00", "100.00"));
    assert_eq!(account_posted(&app.db, &format!("merchant:{}:points", SHOP.0)).await, Some(4500));

    // A hold whose timeout passed can no longer be captured: the expiry job releases it.
    let late = hold(&app.db, &redemption(user, 3, "5.00"), now).await;
    let expired = atomically(&app.db, async |t| points::capture(t, late.id, None, now + Duration::seconds(301)).await)
        .await
        .unwrap_err();
    assert!(matches!(expired, PointsError::HoldExpired(id) if id == late.id));
    assert_eq!(ApiError::from(expired).code(), "HOLD_EXPIRED");
    let txn = begin(&app.db).await;
    let expiries = ehome_ledger::expire_holds(&txn, (now + Duration::seconds(301)).timestamp_micros(), 10).await;
    txn.commit().await.unwrap();
    assert_eq!(expiries.unwrap().len(), 1, "the ledger's expiry job released the hold");
    assert_eq!(balance(&app.db, user).await, shown("55.00", "0.00", "100.00"));
    let last = points::history_of(&app.db, user, None, 1).await.unwrap().entries.remove(0);
    assert_eq!((last.purpose, last.change, last.hold), (Purpose::Expiry, Change::HoldExpired, Some(late.id)));
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn a_released_hold_gives_the_points_back() {
    let app = spawn_app().await;
    let user = resident(&app, "release").await;
    let now = Utc::now();
    give(&app.db, &hours(user, 1, "50.00"), now).await;
    let held = hold(&app.db, &redemption(user, 1, "40.00"), now).await;
    assert_eq!(balance(&app.db, user).await, shown("10.00", "40.00", "50.00"));

    let txn = begin(&app.db).await;
    let released = points::release(&txn, held.id, now).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(released.amount, pts("40.00"));
    assert_eq!(balance(&app.db, user).await, shown("50.00", "0.00", "50.00"));
    assert_eq!(
        atomically(&app.db, async |t| points::release(t, held.id, now).await).await.unwrap().id,
        released.id,
        "released once"
    );
    assert_eq!(account_posted(&app.db, &format!("merchant:{}:points", SHOP.0)).await, Some(0));

    let late = atomically(&app.db, async |t| points::capture(t, held.id, None, now).await).await.unwrap_err();
    assert!(matches!(late, PointsError::HoldAlreadyResolved(id) if id == held.id), "{late:?}");
    let api = ApiError::from(late);
    assert_eq!((api.code(), actix_web::ResponseError::status_code(&api).as_u16()), ("HOLD_ALREADY_RESOLVED", 409));
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn insufficient_points_are_refused_and_leave_nothing() {
    let app = spawn_app().await;
    let user = resident(&app, "insufficient").await;
    let now = Utc::now();
    give(&app.db, &hours(user, 1, "5.00"), now).await;

    let txn = begin(&app.db).await;
    insert_note(&txn, user, "code issued").await;
    let refused = points::hold_for_redemption(&txn, &redemption(user, 1, "5.01"), now).await.unwrap_err();
    assert!(matches!(refused, PointsError::InsufficientPoints), "{refused:?}");
    drop(txn); // the use case returns the error; its transaction rolls back
    let api = ApiError::from(refused);
    assert_eq!((api.code(), actix_web::ResponseError::status_code(&api).as_u16()), ("INSUFFICIENT_POINTS", 409));
    assert_eq!(notes_titled(&app.db, "code issued").await, 0);
    assert_eq!(balance(&app.db, user).await, shown("5.00", "0.00", "5.00"));
    assert_eq!(points::history_of(&app.db, user, None, 10).await.unwrap().entries.len(), 1, "only the award");
    assert_eq!(account_posted(&app.db, &format!("merchant:{}:points", SHOP.0)).await, None);

    // Holds count against the balance: two holds cannot spend the same points.
    hold(&app.db, &redemption(user, 2, "3.00"), now).await;
    let second =
        atomically(&app.db, async |t| points::hold_for_redemption(t, &redemption(user, 3, "3.00"), now).await).await;
    assert!(matches!(second, Err(PointsError::InsufficientPoints)));
    let reward = RewardHold { community: COMMUNITY, poster: user, amount: pts("2.01"), help_post: 1 };
    assert!(matches!(
        atomically(&app.db, async |t| points::hold_reward(t, &reward, now).await).await,
        Err(PointsError::InsufficientPoints)
    ));
    assert_eq!(balance(&app.db, user).await, shown("2.00", "3.00", "5.00"));
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn a_reversal_names_the_original_and_happens_once() {
    let app = spawn_app().await;
    let user = resident(&app, "reverse").await;
    let now = Utc::now();
    let award = give(&app.db, &hours(user, 1, "30.00"), now).await;
    let held = hold(&app.db, &redemption(user, 1, "10.00"), now).await;
    let captured = atomically(&app.db, async |t| points::capture(t, held.id, None, now).await).await.unwrap();
    assert_eq!(balance(&app.db, user).await, shown("20.00", "0.00", "30.00"));

    let txn = begin(&app.db).await;
    let refund = points::reverse(&txn, captured.id, ReversalReason::Refund { redemption: 9 }, now).await.unwrap();
    txn.commit().await.unwrap();
    let stored = ehome_ledger::transfer(&app.db, refund.id).await.unwrap();
    assert_eq!(stored.reverses, Some(captured.id), "the reversal names the original");
    assert_eq!(stored.metadata["refund_of_redemption"], 9);
    assert_eq!(balance(&app.db, user).await, shown("30.00", "0.00", "30.00"), "a refund is not an earning");
    assert_eq!(account_posted(&app.db, &format!("merchant:{}:points", SHOP.0)).await, Some(0));

    let twice = atomically(&app.db, async |t| {
        points::reverse(t, captured.id, ReversalReason::Refund { redemption: 9 }, now).await
    })
    .await
    .unwrap();
    assert_eq!(twice.id, refund.id, "a repeated refund returns the first");
    let other_reason = atomically(&app.db, async |t| {
        points::reverse(t, captured.id, ReversalReason::Adjustment { adjustment: 1 }, now).await
    })
    .await;
    assert!(matches!(other_reason, Err(PointsError::AlreadyReversed(_)) | Err(PointsError::KeyReused(_))));
    assert!(matches!(
        atomically(&app.db, async |t| points::reverse(t, refund.id, ReversalReason::Refund { redemption: 9 }, now)
            .await)
        .await,
        Err(PointsError::NotReversible(_))
    ));

    let withdrawn = atomically(&app.db, async |t| {
        points::reverse(t, award.id, ReversalReason::Adjustment { adjustment: 2 }, now).await
    })
    .await
    .unwrap();
    assert_eq!(ehome_ledger::transfer(&app.db, withdrawn.id).await.unwrap().reverses, Some(award.id));
    assert_eq!(balance(&app.db, user).await, shown("0.00", "0.00", "0.00"), "a withdrawn award is not earned");
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn reversing_spent_points_is_refused() {
    let app = spawn_app().await;
    let user = resident(&app, "reverse-spent").await;
    let now = Utc::now();
    let award = give(&app.db, &hours(user, 1, "10.00"), now).await;
    let held = hold(&app.db, &redemption(user, 1, "8.00"), now).await;
    atomically(&app.db, async |t| points::capture(t, held.id, None, now).await).await.unwrap();
    let refused = atomically(&app.db, async |t| {
        points::reverse(t, award.id, ReversalReason::Adjustment { adjustment: 1 }, now).await
    })
    .await;
    assert!(matches!(refused, Err(PointsError::InsufficientPoints)), "{refused:?}");
    let refused = atomically(&app.db, async |t| points::reverse_part(t, 2, award.id, pts("2.01"), now).await).await;
    assert!(matches!(refused, Err(PointsError::InsufficientPoints)), "{refused:?}");
    assert_eq!(balance(&app.db, user).await, shown("2.00", "0.00", "10.00"));
}

#[tokio::test]
async fn an_adjustment_awards_the_difference_or_takes_part_back_naming_the_original() {
    let app = spawn_app().await;
    let user = resident(&app, "adjust").await;
    let now = Utc::now();
    let award = give(&app.db, &hours(user, 5, "10.00"), now).await;

    let txn = begin(&app.db).await;
    let down = points::reverse_part(&txn, 1, award.id, pts("4.00"), now).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(balance(&app.db, user).await, shown("6.00", "0.00", "6.00"));
    let up_key = AwardKey::HoursAdjustment { adjustment: 2, corrects: award.id };
    let up = give(&app.db, &Award { community: COMMUNITY, user, amount: pts("3.00"), key: up_key }, now).await;
    assert_eq!(balance(&app.db, user).await, shown("9.00", "0.00", "9.00"));
    assert_eq!(
        atomically(&app.db, async |t| points::reverse_part(t, 1, award.id, pts("4.00"), now).await).await.unwrap().id,
        down.id,
        "once"
    );

    let history = points::history_of(&app.db, user, None, 10).await.unwrap().entries;
    let line = |id: TransferId| history.iter().find(|e| e.id == id).unwrap().clone();
    let (down_line, up_line) = (line(down.id), line(up.id));
    assert_eq!((down_line.purpose, down_line.change), (Purpose::AwardAdjustment, Change::Debited));
    assert_eq!((up_line.purpose, up_line.change), (Purpose::AwardAdjustment, Change::Credited));
    for entry in [&down_line, &up_line] {
        assert_eq!(entry.metadata["corrects"], award.id.to_text(), "names the award it corrects");
    }

    let too_much = atomically(&app.db, async |t| points::reverse_part(t, 3, award.id, pts("10.01"), now).await).await;
    assert!(matches!(too_much, Err(PointsError::AmountExceedsOriginal { .. })), "{too_much:?}");
    let held = hold(&app.db, &redemption(user, 1, "1.00"), now).await;
    let not_an_award = atomically(&app.db, async |t| points::reverse_part(t, 4, held.id, pts("1.00"), now).await).await;
    assert!(matches!(not_an_award, Err(PointsError::WrongTransfer(..))), "{not_an_award:?}");
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn expiry_posts_once_per_resident_community_and_date() {
    let app = spawn_app().await;
    let user = resident(&app, "expire").await;
    let now = Utc::now();
    give(&app.db, &hours(user, 1, "10.00"), now).await;
    let date = NaiveDate::from_ymd_opt(2029, 11, 27).unwrap();
    let expiry = Expiry { community: COMMUNITY, user, amount: pts("3.00"), date };
    let txn = begin(&app.db).await;
    let first = points::expire(&txn, &expiry, now).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(
        atomically(&app.db, async |t| points::expire(t, &expiry, now).await).await.unwrap().id,
        first.id,
        "the job ran twice: once"
    );
    assert_eq!(balance(&app.db, user).await, shown("7.00", "0.00", "10.00"), "expiry does not lower earnings");
    assert_eq!(account_posted(&app.db, "community:1:points:expired").await, Some(300));
    let too_much = Expiry { amount: pts("7.01"), date: date.succ_opt().unwrap(), ..expiry };
    assert!(matches!(
        atomically(&app.db, async |t| points::expire(t, &too_much, now).await).await,
        Err(PointsError::InsufficientPoints)
    ));
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn a_help_post_reward_is_held_then_paid_in_part_or_released() {
    let app = spawn_app().await;
    let poster = resident(&app, "poster").await;
    let helper = resident(&app, "helper").await;
    let now = Utc::now();
    give(&app.db, &hours(poster, 1, "20.00"), now).await;
    let reward = RewardHold { community: COMMUNITY, poster, amount: pts("8.00"), help_post: 1 };
    let held = atomically(&app.db, async |t| points::hold_reward(t, &reward, now).await).await.unwrap();
    assert_eq!(held.expires_at, None);
    assert_eq!(balance(&app.db, poster).await, shown("12.00", "8.00", "20.00"));
    assert!(matches!(
        atomically(&app.db, async |t| points::capture(t, held.id, None, now).await).await,
        Err(PointsError::WrongTransfer(..))
    ));

    let txn = begin(&app.db).await;
    let paid = points::pay_reward(&txn, held.id, helper, Some(pts("5.00")), now).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(paid.amount, pts("5.00"));
    assert_eq!(balance(&app.db, poster).await, shown("15.00", "0.00", "20.00"), "the unpaid part came back");
    assert_eq!(balance(&app.db, helper).await, shown("5.00", "0.00", "5.00"), "a reward received is earned");
    assert_eq!(account_posted(&app.db, "community:1:points:rewards_payable").await, Some(0));
    assert_eq!(
        atomically(&app.db, async |t| points::pay_reward(t, held.id, helper, Some(pts("5.00")), now).await)
            .await
            .unwrap()
            .id,
        paid.id
    );

    let cancelled =
        atomically(&app.db, async |t| points::hold_reward(t, &RewardHold { help_post: 2, ..reward }, now).await)
            .await
            .unwrap();
    atomically(&app.db, async |t| points::release(t, cancelled.id, now).await).await.unwrap();
    assert_eq!(balance(&app.db, poster).await, shown("15.00", "0.00", "20.00"));
    assert_books_verify(&app.db).await;
}

#[tokio::test]
async fn history_is_newest_first_in_pages() {
    let app = spawn_app().await;
    let user = resident(&app, "history").await;
    let now = Utc::now();
    let award = give(&app.db, &hours(user, 1, "10.00"), now).await;
    let kept = hold(&app.db, &redemption(user, 1, "2.00"), now).await;
    let captured =
        atomically(&app.db, async |t| points::capture(t, kept.id, Some(pts("1.50")), now).await).await.unwrap();
    let dropped = hold(&app.db, &redemption(user, 2, "3.00"), now).await;
    let released = atomically(&app.db, async |t| points::release(t, dropped.id, now).await).await.unwrap();

    let mut seen = vec![];
    let mut cursor: Option<HistoryCursor> = None;
    loop {
        let page = points::history_of(&app.db, user, cursor, 2).await.unwrap();
        assert!(page.entries.len() <= 2);
        seen.extend(page.entries.into_iter().map(|e| (e.id, e.change, e.amount.to_string(), e.hold)));
        // The cursor travels as text through a client.
        cursor = page.next_cursor.map(|c| HistoryCursor::parse(&c.to_text()).unwrap());
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        vec![
            (released.id, Change::HoldReleased, "3.00".to_owned(), Some(dropped.id)),
            (dropped.id, Change::Held, "3.00".to_owned(), None),
            (captured.id, Change::HoldCaptured, "1.50".to_owned(), Some(kept.id)),
            (kept.id, Change::Held, "2.00".to_owned(), None),
            (award.id, Change::Credited, "10.00".to_owned(), None),
        ]
    );
    assert_eq!(HistoryCursor::parse("not a cursor"), None);
    assert!(points::history_of(&app.db, UserId(user.0 + 1000), None, 10).await.unwrap().entries.is_empty());
}
