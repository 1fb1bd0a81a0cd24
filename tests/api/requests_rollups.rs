//! The daily rollups behind `GET /communities/{id}/stats` equal a recount of the requests: a randomised
//! sequence of submissions, transitions (people's and the job's) and ratings through the API, with the
//! clock moving by uneven steps across Shanghai midnights; every so often, and after the job has run
//! ten days later, the endpoint's figures for several ranges and periods are compared with the figures
//! recounted from the request rows (`stats::recount`). At the end the rollups are rebuilt from the
//! requests with the migration's backfill statement and must come out as the ones kept by the writes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ehome_api::scenes::requests::jobs::run_once;
use ehome_api::scenes::requests::{rollup, stats};
use ehome_entities::{request_daily_rollup, request_rollup_shard};
use ehome_tests::{TestApp, error_code, spawn_app_with};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

const STEPS: usize = 360;
const RESIDENTS: [&str; 3] = ["demo-resident-1", "demo-resident-2", "demo-resident-3"];
/// (action, taken by the reporter, note)
const ACTIONS: [(&str, bool, Option<&str>); 8] = [
    ("accept", false, None),
    ("start", false, None),
    ("resolve", false, Some("已处理")),
    ("reject", false, Some("不属于社区受理范围")),
    ("escalate", false, Some("需上级协调")),
    ("confirm", true, None),
    ("withdraw", true, None),
    ("reopen", true, Some("问题依旧")),
];

/// A small deterministic generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Everyone's access tokens, signed in again when the clock leaves the day they were issued in.
struct People {
    committee: String,
    residents: Vec<String>,
    issued_at: DateTime<Utc>,
}

impl People {
    async fn sign_in(app: &TestApp) -> People {
        let committee = app.dev_login("demo-committee").await.access;
        let mut residents = Vec::new();
        for openid in RESIDENTS {
            residents.push(app.dev_login(openid).await.access);
        }
        People { committee, residents, issued_at: now(app) }
    }

    async fn move_to(&mut self, app: &TestApp, at: DateTime<Utc>) {
        app.clock.set(at);
        if at >= self.issued_at + Duration::hours(20) {
            *self = People::sign_in(app).await;
        }
    }
}

fn now(app: &TestApp) -> DateTime<Utc> {
    use ehome_api::platform::clock::Clock;
    app.clock.now()
}

/// The endpoint's figures for `query` equal the recount of the same range at the same instant.
async fn assert_equals_recount(app: &TestApp, people: &People, community: i64, query: &str, label: &str) {
    let response = app.get(&format!("/communities/{community}/stats?{query}"), Some(&people.committee)).await;
    assert_eq!(response.status(), 200, "stats?{query}");
    let mut served: Value = response.json().await.unwrap();
    served.as_object_mut().unwrap().remove("volunteering");
    let at = now(app);
    let today = stats::shanghai_date(at);
    let (period, range) = parsed(query, today);
    let counted = stats::recount(&app.db, community, period, range, at).await.unwrap();
    assert_eq!(served, serde_json::to_value(counted).unwrap(), "{label}: stats?{query} from the rollups");
}

fn parsed(query: &str, today: NaiveDate) -> (stats::Period, stats::DateRange) {
    let field =
        |name: &str| query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).map(str::to_owned);
    let period = stats::Period::parse(field("period").as_deref()).unwrap();
    let range = stats::DateRange::parse(field("from").as_deref(), field("to").as_deref(), today).unwrap();
    (period, range)
}

async fn check(app: &TestApp, people: &People, community: i64, first: NaiveDate, label: &str) {
    let today = stats::shanghai_date(now(app));
    let from = first - Duration::days(1);
    for query in [
        String::new(),
        format!("period=day&from={from}&to={today}"),
        format!("period=week&from={from}&to={today}"),
        format!("period=month&from={from}&to={today}"),
        format!("from={}&to={}", first + Duration::days(2), first + Duration::days(4)),
    ] {
        assert_equals_recount(app, people, community, &query, label).await;
    }
}

/// The rollup rows with their shards added, their duration lists sorted and the rows that hold
/// nothing left out.
async fn rollup_rows(app: &TestApp) -> Vec<rollup::Rollup> {
    rollup::all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| {
            let p = &row.part;
            p.reported != 0 || p.handled != 0 || p.open != 0 || p.not_withdrawn != 0 || p.rated != 0
        })
        .map(|mut row| {
            row.part.response_seconds.sort_unstable();
            row.part.resolution_seconds.sort_unstable();
            row
        })
        .collect()
}

async fn take(app: &TestApp, people: &People, rng: &mut Rng, requests: &[(i64, usize)]) {
    let (id, reporter) = requests[rng.below(requests.len() as u64) as usize];
    let (action, by_reporter, note) = ACTIONS[rng.below(ACTIONS.len() as u64) as usize];
    let token = if by_reporter { &people.residents[reporter] } else { &people.committee };
    let response = app.act(token, id, action, note).await;
    let status = response.status().as_u16();
    if status != 200 {
        let code = error_code(response).await;
        assert!(
            ["INVALID_TRANSITION", "REOPEN_WINDOW_CLOSED"].contains(&code.as_str()),
            "{action} on {id}: {status} {code}"
        );
    }
}

async fn rate(app: &TestApp, people: &People, rng: &mut Rng, requests: &[(i64, usize)]) {
    let (id, reporter) = requests[rng.below(requests.len() as u64) as usize];
    let score = 1 + rng.below(5);
    let body = json!({"score": score});
    let response = app.post(&format!("/requests/{id}/rating"), Some(&people.residents[reporter]), &body).await;
    let status = response.status().as_u16();
    if status != 200 {
        let code = error_code(response).await;
        assert!(["INVALID_TRANSITION", "ALREADY_RATED"].contains(&code.as_str()), "rate {id}: {status} {code}");
    }
}

#[tokio::test]
async fn rollups_equal_a_recount_after_random_submissions_and_transitions() {
    let app = spawn_app_with(&[("JWT_ACCESS_TTL_SECONDS", "86400"), ("REQUEST_SUBMISSIONS_PER_HOUR", "100000")]).await;
    let community = app.seed_demo().await.community;
    // Thursday 26 March 2026, 21:00 in Shanghai: the first days cross a week and a month boundary.
    let start: DateTime<Utc> = "2026-03-26T13:00:00.250Z".parse().unwrap();
    app.clock.set(start);
    let mut people = People::sign_in(&app).await;
    let listed = app.get_json(&format!("/communities/{community}/categories"), Some(&people.residents[0])).await;
    let categories: Vec<i64> = listed["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    let first = stats::shanghai_date(start);
    let mut rng = Rng(0x0dd_ba11_5eed_0013);
    let mut requests: Vec<(i64, usize)> = Vec::new();
    for step in 0..STEPS {
        // Uneven steps with fractions of a second, up to about an hour and a half.
        let micros = rng.below(5_400_000_000) as i64;
        people.move_to(&app, now(&app) + Duration::microseconds(micros)).await;
        match rng.below(10) {
            _ if requests.is_empty() || step % 4 == 0 => {
                let reporter = rng.below(RESIDENTS.len() as u64) as usize;
                let category = categories[rng.below(categories.len() as u64) as usize];
                let title = format!("楼道灯第{step}次不亮了");
                let created = app.submit(&people.residents[reporter], category, &title).await;
                requests.push((created["id"].as_i64().unwrap(), reporter));
            }
            0 => rate(&app, &people, &mut rng, &requests).await,
            1 => {
                run_once(&app.state).await.unwrap();
            }
            _ => take(&app, &people, &mut rng, &requests).await,
        }
        if step % 120 == 119 {
            check(&app, &people, community, first, &format!("step {step}")).await;
        }
    }

    // Ten days later the job escalates what is overdue and closes what was never confirmed.
    people.move_to(&app, now(&app) + Duration::days(10)).await;
    while run_once(&app.state).await.unwrap() != Default::default() {}
    check(&app, &people, community, first, "after the job").await;
    for _ in 0..40 {
        rate(&app, &people, &mut rng, &requests).await;
    }
    check(&app, &people, community, first, "after late ratings").await;

    // The migration's statement, run again over the same requests, writes the same rollups.
    let kept = rollup_rows(&app).await;
    assert!(kept.len() > 20, "{} rollup rows", kept.len());
    let shards = request_rollup_shard::Entity::find().all(&app.db).await.unwrap();
    assert!(shards.len() > 20, "reports and most transitions counted in shards: {}", shards.len());
    rollup::rebuild(&app.db).await.unwrap();
    assert_eq!(rollup_rows(&app).await, kept, "the backfill equals the rollups the writes kept");
    check(&app, &people, community, first, "after the rebuild").await;

    // `ehome stats verify` finds nothing to report, then finds a rollup row changed behind the app's back,
    // and `ehome stats rebuild` repairs it.
    let at = now(&app);
    assert_eq!(ehome_api::cli::stats::differing(&app.db, None, at).await.unwrap(), Vec::<i64>::new());
    // The rebuild wrote every figure into the rollup rows (the shards start again from nothing).
    assert!(request_rollup_shard::Entity::find().all(&app.db).await.unwrap().is_empty());
    let rows = request_daily_rollup::Entity::find().all(&app.db).await.unwrap();
    let mut tampered: request_daily_rollup::ActiveModel = rows[rows.len() / 2].clone().into();
    tampered.reported = Set(rows[rows.len() / 2].reported + 1);
    tampered.update(&app.db).await.unwrap();
    assert_eq!(ehome_api::cli::stats::differing(&app.db, None, at).await.unwrap(), vec![community]);
    rollup::rebuild(&app.db).await.unwrap();
    assert_eq!(ehome_api::cli::stats::differing(&app.db, Some(community), at).await.unwrap(), Vec::<i64>::new());
}
