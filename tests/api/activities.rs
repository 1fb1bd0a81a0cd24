//! 邻互助 volunteering through HTTP: registration and approval, teams, the activity lifecycle and its
//! jobs, sign-ups with capacity and a waitlist (raced on two instances), and check-in on site.

mod checkin;
mod for_hours;
mod lifecycle;
mod signups;
mod teams;
mod volunteers;

use std::collections::HashMap;

use ehome_tests::{Demo, Session, TestApp, spawn_app};

/// The demo community with a session per demo user named.
async fn demo(names: &[&str]) -> (TestApp, Demo, HashMap<String, Session>) {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let mut sessions = HashMap::new();
    for name in names {
        sessions.insert((*name).to_owned(), app.dev_login(name).await);
    }
    (app, demo, sessions)
}
