//! The time the domain sees. Production reads the system clock; tests install a `TestClock` and move
//! it, so SLA deadlines, escalation and statistics can be tested without waiting.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub type SharedClock = Arc<dyn Clock>;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Real time shifted by an offset, or a fixed instant once `set` is called.
#[derive(Default)]
pub struct TestClock {
    state: Mutex<(Duration, Option<DateTime<Utc>>)>,
}

impl TestClock {
    pub fn new() -> Arc<TestClock> {
        Arc::new(TestClock { state: Mutex::new((Duration::zero(), None)) })
    }

    fn with<T>(&self, f: impl FnOnce(&mut (Duration, Option<DateTime<Utc>>)) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Moves the clock forward (a fixed clock stays fixed, at the later instant).
    pub fn advance(&self, by: Duration) {
        self.with(|(offset, fixed)| match fixed {
            Some(at) => *at += by,
            None => *offset += by,
        });
    }

    /// Freezes the clock at an instant.
    pub fn set(&self, at: DateTime<Utc>) {
        self.with(|(_, fixed)| *fixed = Some(at));
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.with(|(offset, fixed)| fixed.unwrap_or_else(|| Utc::now() + *offset))
    }
}
