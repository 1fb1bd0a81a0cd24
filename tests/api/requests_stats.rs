//! 邻办事 statistics and the CSV export, end to end: 220 requests submitted and handled through the
//! API over ten Shanghai days (and 12 more after) across a month boundary, the timeout job run, and the figures the
//! endpoint reports compared with figures computed here from the test's own record of what it did.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use ehome_api::scenes::requests::jobs::run_once;
use ehome_tests::{TestApp, error_code, spawn_app_with};
use serde_json::{Value, json};

const REQUESTS: usize = 220;
/// Requests submitted after the timeout job, outside the ten days.
const LATE: usize = 12;
const DAYS: i64 = 10;
const RESIDENTS: [&str; 3] = ["demo-resident-1", "demo-resident-2", "demo-resident-3"];
const OPEN: [&str; 5] = ["submitted", "accepted", "in_progress", "escalated", "reopened"];

/// Shanghai is UTC+8 all year; the test uses a fixed offset, independent of the app's time-zone data.
fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A small deterministic generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct Category {
    id: i64,
    response_hours: i64,
    resolution_hours: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    Accept,
    Start,
    Resolve,
    Reject,
    Escalate,
    Confirm,
    Withdraw,
    Reopen,
    Rate(i32),
}

impl Act {
    fn by_reporter(self) -> bool {
        matches!(self, Act::Confirm | Act::Withdraw | Act::Reopen | Act::Rate(_))
    }
}

/// What the test knows of one request from what it did.
#[derive(Debug, Clone)]
struct Tracked {
    id: i64,
    reporter: usize,
    category: Category,
    created: DateTime<Utc>,
    status: &'static str,
    /// 0 building leader, 1 grid worker, 2 committee, 3 street.
    level: u8,
    response_due: DateTime<Utc>,
    resolution_due: DateTime<Utc>,
    first_response: Option<DateTime<Utc>>,
    resolved: Option<DateTime<Utc>>,
    rating: Option<i32>,
}

impl Tracked {
    /// Request `reporter` is about to submit at `created`, not yet given its id.
    fn new(reporter: usize, category: Category, created: DateTime<Utc>) -> Tracked {
        Tracked {
            id: 0,
            reporter,
            created,
            status: "submitted",
            // Residents 1 and 2 live in 1号楼, which has a leader; resident 3's 2号楼 has none, so the
            // grid worker gets it.
            level: if reporter == 2 { 1 } else { 0 },
            response_due: created + Duration::hours(category.response_hours),
            resolution_due: created + Duration::hours(category.resolution_hours),
            category,
            first_response: None,
            resolved: None,
            rating: None,
        }
    }

    fn is_open(&self) -> bool {
        OPEN.contains(&self.status)
    }

    fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.is_open() && (self.resolution_due < now || (self.first_response.is_none() && self.response_due < now))
    }

    fn fresh_deadlines(&mut self, at: DateTime<Utc>) {
        self.response_due = at + Duration::hours(self.category.response_hours);
        self.resolution_due = at + Duration::hours(self.category.resolution_hours);
    }

    /// The lifecycle rules, as the brief states them.
    fn apply(&mut self, act: Act, at: DateTime<Utc>) {
        if matches!(act, Act::Accept | Act::Start | Act::Resolve | Act::Reject) && self.first_response.is_none() {
            self.first_response = Some(at);
        }
        match act {
            Act::Accept => self.status = "accepted",
            Act::Start => self.status = "in_progress",
            Act::Resolve => {
                self.status = "resolved";
                self.resolved = Some(at);
            }
            Act::Reject => self.status = "rejected",
            Act::Escalate => {
                self.status = "escalated";
                self.level += 1;
                self.fresh_deadlines(at);
            }
            Act::Confirm => self.status = "confirmed",
            Act::Withdraw => self.status = "withdrawn",
            Act::Reopen => {
                self.status = "reopened";
                self.resolved = None;
                self.resolution_due = at + Duration::hours(self.category.resolution_hours);
            }
            Act::Rate(score) => self.rating = Some(score),
        }
    }

    /// What the job does at `at`: escalate what is overdue (below the street), close what was resolved
    /// more than 7 days ago.
    fn job(&mut self, at: DateTime<Utc>) {
        if self.overdue(at) && self.level < 3 {
            self.status = "escalated";
            self.level += 1;
            self.fresh_deadlines(at);
        }
        if self.status == "resolved" && self.resolved.is_some_and(|r| r < at - Duration::days(7)) {
            self.status = "closed_timeout";
        }
    }
}

/// Rounded half up to `places` places.
fn decimal(numerator: u64, denominator: u64, places: u32) -> Value {
    if denominator == 0 {
        return Value::Null;
    }
    let scale = 10u64.pow(places);
    let scaled = (2 * numerator * scale + denominator) / (2 * denominator);
    json!(format!("{}.{:0width$}", scaled / scale, scaled % scale, width = places as usize))
}

fn median(mut values: Vec<i64>) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    values.sort();
    let n = values.len();
    if n % 2 == 1 { json!(values[n / 2]) } else { json!((values[n / 2 - 1] + values[n / 2]) / 2) }
}

/// The expected figures of the requests `reported` in a bucket and the `handled` count in it.
fn figures(reported: &[&Tracked], handled: usize, now: DateTime<Utc>) -> Value {
    let due: Vec<&&Tracked> = reported.iter().filter(|t| t.resolution_due <= now && t.status != "withdrawn").collect();
    let good = due.iter().filter(|t| t.status == "confirmed" || t.status == "closed_timeout").count();
    let ratings: Vec<i32> = reported.iter().filter_map(|t| t.rating).collect();
    json!({
        "reported": reported.len(),
        "handled": handled,
        "open": reported.iter().filter(|t| t.is_open()).count(),
        "overdue": reported.iter().filter(|t| t.overdue(now)).count(),
        "resolution_rate": decimal(good as u64, due.len() as u64, 4),
        "median_response_seconds": median(reported.iter().filter_map(|t| t.first_response.map(|f| (f - t.created).num_seconds())).collect()),
        "median_resolution_seconds": median(reported.iter().filter_map(|t| t.resolved.map(|r| (r - t.created).num_seconds())).collect()),
        "satisfaction": decimal(ratings.iter().map(|r| *r as u64).sum(), ratings.len() as u64, 2),
        "rated": ratings.len(),
    })
}

/// Expected figures for the requests matching `pick` among those created in [from, to], and those
/// resolved in [from, to] within the bucket.
fn expected(
    tracked: &[Tracked],
    now: DateTime<Utc>,
    in_bucket: impl Fn(NaiveDate) -> bool,
    pick: impl Fn(&Tracked) -> bool,
) -> Value {
    let reported: Vec<&Tracked> = tracked.iter().filter(|t| pick(t) && in_bucket(local_date(t.created))).collect();
    let handled = tracked.iter().filter(|t| pick(t) && t.resolved.is_some_and(|r| in_bucket(local_date(r)))).count();
    figures(&reported, handled, now)
}

const PLACES: [&str; 8] =
    ["1号楼楼道", "地下车库", "小区东门", "健身广场", "2号楼电梯", "垃圾分类点", "儿童乐园", "北门岗亭"];
const THINGS: [&str; 7] = ["路灯", "下水管", "监控探头", "休息长椅", "消防栓", "门禁", "绿化带"];
const PROBLEMS: [&str; 6] = ["坏了不亮", "堵塞发臭", "被损坏", "需要更换", "有安全隐患", "夜里很吵"];

fn title(i: usize) -> String {
    if i == 0 {
        return "水管漏水, 请\"尽快\"处理".to_owned();
    }
    format!("{}{}{}（第{}次反映）", PLACES[i % 8], THINGS[(i / 8) % 7], PROBLEMS[(i / 56 + i) % 6], i)
}

/// One planned step: when, which request, what.
struct Step {
    at: DateTime<Utc>,
    request: usize,
    act: Act,
}

fn plan(rng: &mut Rng, index: usize, created: DateTime<Utc>) -> (Vec<Step>, bool) {
    let score = |rng: &mut Rng| 1 + rng.below(5) as i32;
    let mut rate_after_job = false;
    let acts: Vec<Act> = match rng.below(10) {
        0 => vec![],
        1 => vec![Act::Accept],
        2 => vec![Act::Accept, Act::Start],
        3 => vec![Act::Accept, Act::Start, Act::Resolve, Act::Confirm, Act::Rate(score(rng))],
        4 => {
            // Resolved and never confirmed: the job closes it. Rated before or after.
            if rng.below(2) == 0 {
                vec![Act::Resolve, Act::Rate(score(rng))]
            } else {
                rate_after_job = true;
                vec![Act::Accept, Act::Resolve]
            }
        }
        5 => vec![Act::Reject],
        6 if index.is_multiple_of(2) => vec![Act::Withdraw],
        6 => vec![Act::Accept, Act::Withdraw],
        7 => vec![Act::Escalate, Act::Accept, Act::Resolve, Act::Confirm],
        8 => {
            vec![Act::Accept, Act::Resolve, Act::Reopen, Act::Start, Act::Resolve, Act::Confirm, Act::Rate(score(rng))]
        }
        _ => vec![Act::Resolve, Act::Reopen],
    };
    let mut at = created;
    let steps = acts
        .into_iter()
        .map(|act| {
            at += Duration::seconds(120 + rng.below(30 * 3600) as i64);
            Step { at, request: index, act }
        })
        .collect();
    (steps, rate_after_job)
}

async fn take(app: &TestApp, token: &str, id: i64, act: Act) {
    let response = match act {
        Act::Rate(score) => {
            app.post(&format!("/requests/{id}/rating"), Some(token), &json!({"score": score, "text": "谢谢"})).await
        }
        _ => {
            let (action, note) = match act {
                Act::Accept => ("accept", None),
                Act::Start => ("start", None),
                Act::Resolve => ("resolve", Some("已处理")),
                Act::Reject => ("reject", Some("不属于社区受理范围")),
                Act::Escalate => ("escalate", Some("需上级协调")),
                Act::Confirm => ("confirm", None),
                Act::Withdraw => ("withdraw", None),
                _ => ("reopen", Some("问题依旧")),
            };
            app.act(token, id, action, note).await
        }
    };
    let status = response.status();
    assert_eq!(status, 200, "{act:?} on request {id}: {}", response.text().await.unwrap());
}

/// Submits request number `i` as its reporter and checks where it was routed; returns its id.
async fn submit_tracked(app: &TestApp, token: &str, t: &Tracked, i: usize) -> i64 {
    let description = if i == 0 {
        "厨房水管\n一直在漏, 地板都湿了".to_owned()
    } else {
        format!("{}，麻烦尽快处理", title(i))
    };
    let request = app
        .submit_body(token, &json!({"category_id": t.category.id, "title": title(i), "description": description}))
        .await;
    let level = ["building_leader", "grid_worker"][t.level as usize];
    assert_eq!(request["assignee_level"], level, "routing of {i}");
    request["id"].as_i64().unwrap()
}

struct World {
    app: TestApp,
    community: i64,
    committee: String,
    residents: Vec<String>,
    tracked: Vec<Tracked>,
    first_day: NaiveDate,
    now: DateTime<Utc>,
}

/// Sets the app's clock. Access tokens are checked against that clock (they live a day here), so when
/// it leaves the day after the tokens were issued, everyone signs in again at the new instant.
async fn move_clock(
    app: &TestApp,
    at: DateTime<Utc>,
    issued_at: &mut Option<DateTime<Utc>>,
    committee: &mut String,
    residents: &mut [String],
) {
    app.clock.set(at);
    if issued_at.is_some_and(|issued| at >= issued && at < issued + Duration::hours(23)) {
        return;
    }
    *committee = app.dev_login("demo-committee").await.access;
    for (token, openid) in residents.iter_mut().zip(RESIDENTS) {
        *token = app.dev_login(openid).await.access;
    }
    *issued_at = Some(at);
}

/// Seeds the demo community and drives 220 requests through their lives; returns what it did.
async fn world() -> World {
    let app = spawn_app_with(&[("JWT_ACCESS_TTL_SECONDS", "86400")]).await;
    let community = app.seed_demo().await.community;
    let mut committee = app.dev_login("demo-committee").await.access;
    let mut residents = Vec::new();
    for openid in RESIDENTS {
        residents.push(app.dev_login(openid).await.access);
    }
    let mut issued_at = None;
    let listed: Value = app.get_json(&format!("/communities/{community}/categories"), Some(&residents[0])).await;
    let categories: Vec<Category> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Category {
            id: c["id"].as_i64().unwrap(),
            response_hours: c["response_sla_hours"].as_i64().unwrap(),
            resolution_hours: c["resolution_sla_hours"].as_i64().unwrap(),
        })
        .collect();
    assert_eq!(categories.len(), 7);

    // Ten Shanghai days from Saturday 28 March 2026, across the month boundary; some requests a few
    // seconds either side of Shanghai midnight.
    let first_day = date("2026-03-28");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut creations: Vec<DateTime<Utc>> = (0..REQUESTS)
        .map(|i| {
            let day = first_day + Duration::days(i as i64 % DAYS);
            let midnight =
                shanghai().from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc);
            let second = match i % 11 {
                0 => 86_400 - 5,
                1 => 3,
                _ => rng.below(86_400) as i64,
            };
            midnight + Duration::seconds(second)
        })
        .collect();
    creations.sort();

    // Plan every request's life first, then play submissions and steps in time order.
    let mut tracked = Vec::new();
    let mut steps = Vec::new();
    let mut rate_after_job = Vec::new();
    for (i, created) in creations.into_iter().enumerate() {
        let category = categories[rng.below(categories.len() as u64) as usize].clone();
        let (planned, rate_late) = plan(&mut rng, i, created);
        steps.extend(planned);
        if rate_late {
            rate_after_job.push(i);
        }
        let reporter = i % 3;
        tracked.push(Tracked::new(reporter, category, created));
    }
    let mut timeline: Vec<(DateTime<Utc>, usize, Option<Act>)> =
        tracked.iter().enumerate().map(|(i, t)| (t.created, i, None)).collect();
    timeline.extend(steps.iter().map(|s| (s.at, s.request, Some(s.act))));
    timeline.sort_by_key(|(at, request, act)| (*at, act.is_some(), *request));
    for (at, i, act) in timeline {
        move_clock(&app, at, &mut issued_at, &mut committee, &mut residents).await;
        let t = &tracked[i];
        let Some(act) = act else {
            tracked[i].id = submit_tracked(&app, &residents[t.reporter], t, i).await;
            continue;
        };
        let token = if act.by_reporter() { &residents[t.reporter] } else { &committee };
        take(&app, token, t.id, act).await;
        tracked[i].apply(act, at);
    }

    // Eight days after the last step the job escalates what is overdue and closes what was resolved
    // and never confirmed; then some reporters rate what was closed.
    let job_at = steps.iter().map(|s| s.at).max().unwrap() + Duration::days(8);
    move_clock(&app, job_at, &mut issued_at, &mut committee, &mut residents).await;
    loop {
        let outcome = run_once(&app.state).await.unwrap();
        if outcome.escalated == 0 && outcome.closed == 0 {
            break;
        }
    }
    for t in &mut tracked {
        t.job(job_at);
    }
    let rated_at = job_at + Duration::hours(1);
    move_clock(&app, rated_at, &mut issued_at, &mut committee, &mut residents).await;
    for (n, i) in rate_after_job.into_iter().enumerate() {
        let score = 1 + (n % 5) as i32;
        take(&app, &residents[tracked[i].reporter], tracked[i].id, Act::Rate(score)).await;
        tracked[i].apply(Act::Rate(score), rated_at);
    }

    // A few more come in after the job, and are still being handled when the figures are read.
    for k in 0..LATE {
        let i = REQUESTS + k;
        let created = rated_at + Duration::hours(1) + Duration::minutes(10 * k as i64);
        let category = categories[k % categories.len()].clone();
        let reporter = k % 3;
        let mut t = Tracked::new(reporter, category, created);
        move_clock(&app, created, &mut issued_at, &mut committee, &mut residents).await;
        t.id = submit_tracked(&app, &residents[reporter], &t, i).await;
        let acts: &[Act] = [&[][..], &[Act::Accept], &[Act::Accept, Act::Start], &[Act::Resolve, Act::Reopen]][k % 4];
        for (n, act) in acts.iter().enumerate() {
            let at = created + Duration::minutes(5 * (n as i64 + 1));
            move_clock(&app, at, &mut issued_at, &mut committee, &mut residents).await;
            let token = if act.by_reporter() { &residents[reporter] } else { &committee };
            take(&app, token, t.id, *act).await;
            t.apply(*act, at);
        }
        tracked.push(t);
    }

    // The figures are read 30 hours after the job: some of what it escalated is overdue again.
    let now = job_at + Duration::hours(30);
    move_clock(&app, now, &mut issued_at, &mut committee, &mut residents).await;
    World { app, community, committee, residents, tracked, first_day, now }
}

fn by_key<'a>(items: &'a Value, key: &str) -> BTreeMap<i64, &'a Value> {
    items.as_array().unwrap().iter().map(|item| (item[key].as_i64().unwrap(), &item["figures"])).collect()
}

async fn stats(world: &World, query: &str) -> Value {
    let response =
        world.app.get(&format!("/communities/{}/stats?{query}", world.community), Some(&world.committee)).await;
    assert_eq!(response.status(), 200, "stats?{query}");
    response.json().await.unwrap()
}

fn check_categories(world: &World, body: &Value, in_range: impl Fn(NaiveDate) -> bool + Copy) {
    let categories = by_key(&body["by_category"], "category_id");
    assert_eq!(categories.len(), 7, "every category of the community is listed");
    for (id, got) in categories {
        let want = expected(&world.tracked, world.now, in_range, |t| t.category.id == id);
        assert_eq!(*got, want, "category {id}");
    }
}

#[tokio::test]
async fn figures_match_what_happened() {
    let world = world().await;
    let tracked = &world.tracked;
    let now = world.now;
    // The scenario covers every outcome the figures distinguish.
    for status in [
        "submitted",
        "accepted",
        "in_progress",
        "escalated",
        "reopened",
        "confirmed",
        "closed_timeout",
        "rejected",
        "withdrawn",
    ] {
        assert!(tracked.iter().any(|t| t.status == status), "no request ended {status}");
    }
    assert!(tracked.iter().filter(|t| t.overdue(now)).count() >= 5);
    assert!(tracked.iter().any(|t| t.is_open() && !t.overdue(now)));

    // Daily, over the ten days.
    let first = world.first_day;
    let last = first + Duration::days(DAYS - 1);
    let daily = stats(&world, &format!("period=day&from={first}&to={last}")).await;
    assert_eq!(
        (daily["period"].as_str(), daily["from"].as_str(), daily["to"].as_str()),
        (Some("day"), Some("2026-03-28"), Some("2026-04-06"))
    );
    let in_range = |d: NaiveDate| first <= d && d <= last;
    assert_eq!(daily["totals"], expected(tracked, now, in_range, |_| true), "daily totals");
    assert_eq!(daily["totals"]["reported"], REQUESTS);
    let series = daily["series"].as_array().unwrap();
    assert_eq!(series.len(), DAYS as usize);
    for (n, bucket) in series.iter().enumerate() {
        let day = first + Duration::days(n as i64);
        assert_eq!(bucket["start"], day.to_string());
        assert_eq!(bucket["figures"], expected(tracked, now, |d| d == day, |_| true), "day {day}");
    }
    check_categories(&world, &daily, in_range);
    let grids = by_key(&daily["by_grid"], "grid_id");
    assert_eq!(grids.len(), 2);
    let busy: Vec<&&Value> = grids.values().filter(|f| f["reported"] != 0).collect();
    assert_eq!(busy.len(), 1, "every reporter lives in the first grid");
    assert_eq!(**busy[0], daily["totals"]);

    // Monthly: March and April, everything handled after the ten days included.
    let monthly = stats(&world, "period=month&from=2026-03-01&to=2026-04-30").await;
    let march = |d: NaiveDate| d.format("%Y-%m").to_string() == "2026-03";
    let april = |d: NaiveDate| d.format("%Y-%m").to_string() == "2026-04";
    assert_eq!(local_date(now).format("%Y-%m").to_string(), "2026-04");
    assert_eq!(monthly["totals"]["reported"], REQUESTS + LATE);
    let months = monthly["series"].as_array().unwrap();
    assert_eq!(months.len(), 2);
    assert_eq!(months[0]["start"], "2026-03-01");
    assert_eq!(months[0]["figures"], expected(tracked, now, march, |_| true), "March");
    assert_eq!(months[1]["start"], "2026-04-01");
    assert_eq!(months[1]["figures"], expected(tracked, now, april, |_| true), "April");
    let spring = |d: NaiveDate| march(d) || april(d);
    assert_eq!(monthly["totals"], expected(tracked, now, spring, |_| true), "monthly totals");
    check_categories(&world, &monthly, spring);
    assert!(
        monthly["totals"]["handled"].as_u64() > daily["totals"]["handled"].as_u64(),
        "some were resolved after the ten days"
    );

    // Weekly buckets start on Mondays; the default range is the last 30 days up to today.
    let weekly = stats(&world, &format!("period=week&from={first}&to={last}")).await;
    let starts: Vec<&str> = weekly["series"].as_array().unwrap().iter().map(|b| b["start"].as_str().unwrap()).collect();
    assert_eq!(starts, ["2026-03-23", "2026-03-30", "2026-04-06"]);
    assert_eq!(weekly["totals"], daily["totals"]);
    let default = stats(&world, "").await;
    let today = local_date(now);
    assert_eq!(default["to"], today.to_string());
    assert_eq!(default["from"], (today - Duration::days(29)).to_string());
    assert_eq!(default["period"], "day");
    let window = |d: NaiveDate| today - Duration::days(29) <= d && d <= today;
    assert_eq!(default["totals"], expected(tracked, now, window, |_| true), "default range");
}

/// Parses RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "the file ends with a line break");
    records
}

#[tokio::test]
async fn the_csv_export_and_who_may_read() {
    let world = world().await;
    let app = &world.app;
    let community = world.community;
    let first = world.first_day;
    let last = first + Duration::days(DAYS - 1);

    // Residents may not read statistics or the export; an unknown community is 404; bad ranges 400.
    for path in [format!("/communities/{community}/stats"), format!("/communities/{community}/requests.csv")] {
        let response = app.get(&path, Some(&world.residents[0])).await;
        assert_eq!(response.status(), 403, "{path}");
        assert_eq!(error_code(response).await, "FORBIDDEN");
        let unknown = app.get(&path.replace(&format!("/{community}/"), "/999999/"), Some(&world.committee)).await;
        assert_eq!(unknown.status(), 404, "{path} of an unknown community");
        for query in
            ["from=2026-04-02&to=2026-04-01", "from=2025-01-01&to=2026-04-01", "from=2026-04-31", "to=yesterday"]
        {
            let response = app.get(&format!("{path}?{query}"), Some(&world.committee)).await;
            assert_eq!(response.status(), 400, "{path}?{query}");
            assert_eq!(error_code(response).await, "VALIDATION_FAILED");
        }
    }
    let response = app.get(&format!("/communities/{community}/stats?period=year"), Some(&world.committee)).await;
    assert_eq!(error_code(response).await, "VALIDATION_FAILED");

    let response =
        app.get(&format!("/communities/{community}/requests.csv?from={first}&to={last}"), Some(&world.committee)).await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert_eq!(
        header("content-disposition"),
        Some(format!("attachment; filename=\"requests-{community}-2026-03-28-2026-04-06.csv\""))
    );
    let text = response.text().await.unwrap();
    let body = text.strip_prefix('\u{FEFF}').expect("the file starts with a BOM");
    let records = parse_csv(body);
    let columns = &records[0];
    for name in [
        "编号",
        "类别",
        "网格",
        "楼栋",
        "标题",
        "状态",
        "紧急程度",
        "提交时间",
        "首次响应时间",
        "解决时间",
        "评分",
        "是否超时",
    ] {
        assert!(columns.iter().any(|c| c == name), "column {name} in {columns:?}");
    }
    assert_eq!(records.len() - 1, REQUESTS, "one line per request");
    assert!(records.iter().all(|r| r.len() == columns.len()), "every line has every column");
    let column = |name: &str| columns.iter().position(|c| c == name).unwrap();
    let first_request = &world.tracked[0];
    let row = records.iter().find(|r| r[column("编号")] == first_request.id.to_string()).unwrap();
    assert_eq!(row[column("标题")], "水管漏水, 请\"尽快\"处理");
    assert_eq!(row[column("描述")], "厨房水管\n一直在漏, 地板都湿了");
    let shown = first_request.created.with_timezone(&shanghai()).format("%Y-%m-%d %H:%M:%S").to_string();
    assert_eq!(row[column("提交时间")], shown, "times are Shanghai times");
    let in_file: Vec<&Tracked> = world.tracked.iter().filter(|t| local_date(t.created) <= last).collect();
    let overdue = records[1..].iter().filter(|r| r[column("是否超时")] == "是").count();
    assert_eq!(overdue, in_file.iter().filter(|t| t.overdue(world.now)).count());
    let rated = records[1..].iter().filter(|r| !r[column("评分")].is_empty()).count();
    assert_eq!(rated, in_file.iter().filter(|t| t.rating.is_some()).count());
    // The reporter is not in the export: not their nickname, id or openid.
    for nickname in ["resident-1", "resident-2", "resident-3"] {
        assert!(!text.contains(nickname), "{nickname} appears in the export");
    }

    // One day only: the requests created on that Shanghai day.
    let day = first + Duration::days(3);
    let one_day =
        app.get(&format!("/communities/{community}/requests.csv?from={day}&to={day}"), Some(&world.committee)).await;
    let records = parse_csv(one_day.text().await.unwrap().trim_start_matches('\u{FEFF}'));
    let want = world.tracked.iter().filter(|t| local_date(t.created) == day).count();
    assert_eq!(records.len() - 1, want);
    assert!(want > 10);
}
