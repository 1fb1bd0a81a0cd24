//! Issue 12, points expiry through HTTP: the clock moves across years while a resident earns (hours
//! the committee approves, and awards) and spends at a shop's counter (with a refund), the daily job expires points oldest first, and every
//! figure is checked against a naive queue of lots kept here; `GET /me/points` forecasts what
//! expires within 90 days; the job on two instances expires and reminds once; the books verify.

use chrono::{DateTime, Duration, Months, NaiveDate, TimeZone, Utc};
use ehome_api::domain::UserId;
use ehome_api::points::{self, Change, Purpose};
use ehome_api::scenes::wallet::jobs::{self, ExpiryOutcome};
use ehome_entities::notification;
use ehome_tests::{Demo, TestApp, spawn_app, spawn_app_sharing};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::service_hours::setup::{approve, ended_activity, sign_up};

/// The reference: lots earned, each with what left it; spending takes the oldest first, a refund gives
/// back what the undone spending took (the most recently taken first), expiry takes every lot past
/// its day.
#[derive(Default, Debug)]
struct Lots {
    lots: Vec<(NaiveDate, i64, i64)>,
    expired: i64,
}

impl Lots {
    fn earn(&mut self, on: NaiveDate, minor: i64) {
        self.lots.push((on, minor, 0));
    }

    fn available(&self) -> i64 {
        self.lots.iter().map(|(_, amount, used)| amount - used).sum()
    }

    fn spend(&mut self, mut minor: i64) {
        for (_, amount, used) in &mut self.lots {
            let take = (*amount - *used).min(minor);
            *used += take;
            minor -= take;
        }
        assert_eq!(minor, 0, "the test spends only what is there");
    }

    fn refund(&mut self, mut minor: i64) {
        for (_, _, used) in self.lots.iter_mut().rev() {
            let give = (*used).min(minor);
            *used -= give;
            minor -= give;
        }
    }

    fn expires_on(earned: NaiveDate, months: u32) -> NaiveDate {
        earned.checked_add_months(Months::new(months)).unwrap()
    }

    fn expire(&mut self, today: NaiveDate, months: u32) {
        for (on, amount, used) in &mut self.lots {
            if Self::expires_on(*on, months) <= today {
                self.expired += *amount - *used;
                *used = *amount;
            }
        }
    }

    /// What expires by day from `today` to `today + 90`, as the wallet shows it.
    fn forecast(&self, today: NaiveDate, months: u32) -> Vec<Value> {
        let until = today + Duration::days(90);
        let mut days: Vec<(NaiveDate, i64)> = vec![];
        for (on, amount, used) in &self.lots {
            let day = Self::expires_on(*on, months).max(today);
            if amount > used && day <= until {
                match days.iter_mut().find(|(d, _)| *d == day) {
                    Some((_, total)) => *total += amount - used,
                    None => days.push((day, amount - used)),
                }
            }
        }
        days.sort();
        days.into_iter().map(|(date, minor)| json!({"date": date.to_string(), "amount": text(minor)})).collect()
    }
}

fn text(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

fn shanghai_day(at: DateTime<Utc>) -> NaiveDate {
    (at + Duration::hours(8)).date_naive()
}

struct Counter {
    app: TestApp,
    demo: Demo,
    resident_id: i64,
    offer: i64,
}

impl Counter {
    /// The demo with a shop selling a 7-point haircut; the clock frozen at `start`.
    async fn open(app: TestApp, start: DateTime<Utc>) -> Counter {
        app.clock.set(start);
        let demo = app.seed_demo().await;
        let [committee, owner, resident] =
            app.dev_logins(["demo-committee", "demo-resident-2", "demo-resident-1"]).await;
        let shop = app.open_shop(&owner.access, &committee.access, demo.community, "community", "阿芳理发").await;
        let forever = json!({"valid_until": "2099-01-01T00:00:00Z"});
        let offer = app.add_offer(&owner.access, shop, "洗剪吹", "7", forever).await;
        Counter { app, demo, resident_id: resident.user_id, offer }
    }

    /// Fresh tokens (the clock jumps past their lifetime): (resident, shop owner).
    async fn tokens(&self) -> (String, String) {
        let [resident, owner] = self.app.dev_logins(["demo-resident-1", "demo-resident-2"]).await;
        (resident.access, owner.access)
    }

    /// A haircut redeemed at the counter: the code issued, then captured. Returns the redemption.
    async fn redeem(&self) -> i64 {
        let (resident, owner) = self.tokens().await;
        let (id, code) = self.app.code_for(&resident, self.offer).await;
        assert_eq!(self.app.redeem(&owner, &code).await.status(), 200);
        id
    }

    /// Everything expired from the resident, read from their ledger history.
    async fn expired_minor(&self) -> i64 {
        let history = points::history_of(&self.app.db, UserId(self.resident_id), None, 500).await.unwrap();
        history
            .entries
            .iter()
            .filter(|e| e.purpose == Purpose::Expiry && e.change == Change::Debited)
            .map(|e| e.amount.minor())
            .sum()
    }

    async fn lifetime_earned(&self) -> i64 {
        points::balance_of(&self.app.db, UserId(self.resident_id)).await.unwrap().lifetime_earned.minor()
    }

    /// Two hours of volunteering that ended two hours ago, approved by the committee through the hours
    /// scene's route (which awards the points at the rate of the activity).
    async fn serve_two_hours(&self, step: i64, now: DateTime<Utc>) {
        let (starts, ends) = ((now - Duration::hours(4)).to_rfc3339(), (now - Duration::hours(2)).to_rfc3339());
        let title = format!("第{step}次巡楼");
        let activity = ended_activity(&self.app, &self.demo, &title, &starts, &ends, 400 + step * 10).await;
        sign_up(&self.app, activity, self.resident_id, Some(&starts), Some(&ends)).await;
        let committee = self.app.dev_login("demo-committee").await.access;
        assert_eq!(approve(&self.app, &committee, activity, None).await.0, 200);
    }

    async fn wallet(&self) -> Value {
        let (resident, _) = self.tokens().await;
        self.app.get_json("/me/points", Some(&resident)).await
    }

    async fn reminders(&self) -> u64 {
        notification::Entity::find()
            .filter(notification::Column::UserId.eq(self.resident_id))
            .filter(notification::Column::Kind.eq("points_expiry"))
            .count(&self.app.db)
            .await
            .unwrap()
    }

    async fn verify_through_http(&self) {
        let admin = self.app.dev_login("demo-admin").await.access;
        let report = self.app.post_json("/ledger/verify", Some(&admin), &json!({})).await;
        assert_eq!(report["clean"], true, "ledger verify: {report}");
        assert_eq!(report["report"]["faults"], json!([]));
    }
}

#[tokio::test]
async fn points_expire_oldest_first_across_years_as_a_queue_of_lots_says() {
    const MONTHS: u32 = 36;
    let start = Utc.with_ymd_and_hms(2026, 1, 10, 2, 0, 0).unwrap();
    let w = Counter::open(spawn_app().await, start).await;
    let mut reference = Lots::default();
    let mut last_redemption = None;
    // Half-monthly steps over six and a half years: earnings every third step, a haircut every fourth
    // (and a second one now and then), one refund, the job every step.
    for step in 0..156i64 {
        let now = start + Duration::days(15 * step) + Duration::hours(step % 5);
        w.app.clock.set(now);
        let today = shanghai_day(now);
        if step % 3 == 0 && step < 110 {
            let earned_before = w.lifetime_earned().await;
            if step % 6 == 0 {
                w.serve_two_hours(step, now).await;
            } else {
                w.app.award_points(w.demo.community, w.resident_id, &text(1000 + (step % 7) * 350)).await;
            }
            let earned = w.lifetime_earned().await - earned_before;
            assert!(earned > 0, "step {step} earned");
            reference.earn(today, earned);
        }
        let haircuts = if step % 4 == 1 { 1 + i64::from(step % 12 == 5) } else { 0 };
        for _ in 0..haircuts {
            if reference.available() >= 700 {
                last_redemption = Some(w.redeem().await);
                reference.spend(700);
            }
        }
        if step == 43 {
            // The committee refunds the last haircut, weeks later (the shop may only within 7 days).
            let committee = w.app.dev_login("demo-committee").await.access;
            let id = last_redemption.expect("a haircut before");
            let refund = json!({"reason": "服务未完成"});
            assert_eq!(w.app.post(&format!("/redemptions/{id}/refund"), Some(&committee), &refund).await.status(), 200);
            reference.refund(700);
        }
        jobs::run_once(&w.app.state).await.unwrap();
        reference.expire(today, MONTHS);
        assert_eq!(w.expired_minor().await, reference.expired, "expired by {today} (step {step})");
        let balance = points::balance_of(&w.app.db, UserId(w.resident_id)).await.unwrap();
        assert_eq!(balance.available.minor(), reference.available(), "available on {today}");
        if step % 6 == 0 {
            let wallet = w.wallet().await;
            let forecast = reference.forecast(today, MONTHS);
            assert_eq!(wallet["expiring"], json!(forecast), "forecast on {today}: {wallet}");
            let total: i64 = reference.forecast(today, MONTHS).iter().map(|d| minor_of(&d["amount"])).sum();
            assert_eq!(wallet["expiring_90_days"], text(total));
        }
    }
    assert!(reference.expired > 0, "the test reached expiries: {reference:?}");
    assert!(w.reminders().await > 0, "the resident was told ahead");
    w.verify_through_http().await;
}

fn minor_of(amount: &Value) -> i64 {
    let (whole, cents) = amount.as_str().unwrap().split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
}

#[tokio::test]
async fn the_job_on_two_instances_reminds_once_expires_once_and_never_takes_a_hold() {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 4, 0, 0).unwrap();
    let w = Counter::open(spawn_app().await, start).await;
    let other = spawn_app_sharing(&w.app).await;
    w.app.award_points(w.demo.community, w.resident_id, "10").await;
    w.app.clock.set(start + Duration::days(200));
    w.app.award_points(w.demo.community, w.resident_id, "20").await;
    let expires_on = NaiveDate::from_ymd_opt(2029, 3, 1).unwrap();

    // Thirty days ahead, on both instances at once: one reminder.
    w.app.clock.set(Utc.with_ymd_and_hms(2029, 1, 30, 4, 0, 0).unwrap());
    let (a, b) = tokio::join!(jobs::run_once(&w.app.state), jobs::run_once(&other.state));
    assert_eq!(a.unwrap().reminders + b.unwrap().reminders, 1, "one reminder across instances");
    assert_eq!(jobs::run_once(&w.app.state).await.unwrap(), ExpiryOutcome::default(), "nothing more that day");
    assert_eq!(w.reminders().await, 1);
    let inbox = w.app.get_json("/me/notifications", Some(&w.tokens().await.0)).await;
    assert!(inbox.to_string().contains("10.00 积分将于 2029-03-01 过期"), "{inbox}");
    let wallet = w.wallet().await;
    assert_eq!(wallet["expiring"], json!([{"date": "2029-03-01", "amount": "10.00"}]), "{wallet}");
    assert_eq!(wallet["expiring_90_days"], "10.00");

    // On the day, a code holds 7 of the 30: only what is available beyond the young points expires,
    // and the hold counts as spent from the oldest, so 3 expire now.
    w.app.clock.set(Utc.with_ymd_and_hms(2029, 3, 1, 1, 0, 0).unwrap());
    let (resident, _) = w.tokens().await;
    let (code_id, _) = w.app.code_for(&resident, w.offer).await;
    let (a, b) = tokio::join!(jobs::run_once(&w.app.state), jobs::run_once(&other.state));
    assert_eq!(a.unwrap().transfers + b.unwrap().transfers, 1, "one expiry across instances");
    assert_eq!(w.expired_minor().await, 300);
    assert_eq!(w.app.points_of(w.resident_id).await, ("20.00".to_owned(), "7.00".to_owned()), "the hold stands");

    // The resident cancels: the 7 held were the oldest and are past their day. The same day's
    // expiry is posted already; the next day's run takes them.
    let cancelled = w.app.post(&format!("/redemptions/{code_id}/cancel"), Some(&resident), &json!({})).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(jobs::run_once(&other.state).await.unwrap().transfers, 0, "one expiry per day");
    w.app.clock.set(Utc.with_ymd_and_hms(2029, 3, 2, 1, 0, 0).unwrap());
    let (a, b) = tokio::join!(jobs::run_once(&w.app.state), jobs::run_once(&other.state));
    assert_eq!(a.unwrap().transfers + b.unwrap().transfers, 1);
    assert_eq!(w.expired_minor().await, 1000, "all of the first 10, none of the 20");
    assert_eq!(w.app.points_of(w.resident_id).await, ("20.00".to_owned(), "0.00".to_owned()));
    let history = w.app.get_json("/me/points/history", Some(&w.tokens().await.0)).await;
    assert_eq!(history["items"][0]["title"], "过期", "{history}");
    assert_eq!(history["items"][0]["amount"], "-7.00");
    assert_eq!(expires_on, NaiveDate::from_ymd_opt(2029, 3, 1).unwrap());
    w.verify_through_http().await;
}

/// Runs verbs in a write transaction of their own and commits.
async fn committed<T>(
    app: &TestApp,
    verbs: impl AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<T, points::PointsError>,
) -> T {
    let txn = ehome_api::platform::db::begin_write(&app.db).await.unwrap();
    let out = verbs(&txn).await.unwrap();
    txn.commit().await.unwrap();
    out
}

async fn expired_in(app: &TestApp, community: i64) -> i64 {
    let code = format!("community:{community}:points:expired");
    ehome_ledger::account_by_code(&app.db, &code).await.map(|a| a.balance().posted).unwrap_or(0)
}

#[tokio::test]
async fn a_take_back_lowers_the_award_it_corrects_and_expiry_goes_to_the_community_that_paid() {
    use ehome_api::domain::{CommunityId, MerchantId};
    use ehome_api::points::{Award, AwardKey, Points, RedemptionHold, ReversalReason};
    let app = spawn_app().await;
    let session = app.dev_login("expiry-take-back").await;
    let user = UserId(session.user_id);
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 3, 0, 0).unwrap();
    let award = |community: i64, record: i64, amount: &str| Award {
        community: CommunityId(community),
        user,
        amount: Points::parse(amount).unwrap(),
        key: AwardKey::VolunteerHours(record),
    };
    let a = committed(&app, async |t| points::award(t, &award(1, 1, "10.00"), at(2026, 1, 5)).await).await;
    committed(&app, async |t| points::award(t, &award(2, 2, "6.00"), at(2026, 2, 5)).await).await;
    let c = committed(&app, async |t| points::award(t, &award(1, 3, "5.00"), at(2026, 3, 5)).await).await;
    // Months later: 4 of the first award taken back, the third withdrawn, 3 spent at a shop.
    let later = at(2026, 6, 1);
    committed(&app, async |t| points::reverse_part(t, 1, a.id, Points::parse("4.00").unwrap(), later).await).await;
    committed(&app, async |t| points::reverse(t, c.id, ReversalReason::Adjustment { adjustment: 2 }, later).await)
        .await;
    let hold = RedemptionHold {
        user,
        merchant: MerchantId(9),
        amount: Points::parse("3.00").unwrap(),
        redemption_code: 1,
        timeout_seconds: 300,
    };
    let held = committed(&app, async |t| points::hold_for_redemption(t, &hold, later).await).await;
    committed(&app, async |t| points::capture(t, held.id, None, later).await).await;

    app.clock.set(at(2028, 12, 20));
    let wallet = app.get_json("/me/points", Some(&app.dev_login("expiry-take-back").await.access)).await;
    assert_eq!(
        wallet["expiring"],
        json!([{"date": "2029-01-05", "amount": "3.00"}, {"date": "2029-02-05", "amount": "6.00"}]),
        "6 left of the first award, 3 of them spent; the withdrawn award expires nothing: {wallet}"
    );
    assert_eq!((wallet["available"].as_str(), wallet["expiring_90_days"].as_str()), (Some("9.00"), Some("9.00")));

    for (day, community_1, community_2) in [((2029, 1, 4), 0, 0), ((2029, 1, 5), 300, 0), ((2029, 2, 5), 300, 600)] {
        app.clock.set(at(day.0, day.1, day.2));
        jobs::run_once(&app.state).await.unwrap();
        assert_eq!((expired_in(&app, 1).await, expired_in(&app, 2).await), (community_1, community_2), "{day:?}");
    }
    app.clock.set(at(2029, 3, 5));
    assert_eq!(jobs::run_once(&app.state).await.unwrap().transfers, 0, "nothing of the withdrawn award is left");
    let balance = points::balance_of(&app.db, user).await.unwrap();
    assert_eq!((balance.available.minor(), balance.lifetime_earned.minor()), (0, 1200));
    let report = ehome_ledger::verify(&app.db, &mut |_, _| {}).await.unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults);
}
