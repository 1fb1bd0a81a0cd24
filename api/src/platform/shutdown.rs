//! Background work that stops at a safe point when the process is asked to stop.
//!
//! Every periodic job of an instance runs through [`Shutdown::every`]: between two runs it waits for
//! the next tick or for the stop signal, whichever comes first, and a run that has started is never
//! cut off (each run is one or more whole transactions, so stopping between runs leaves nothing
//! half-done). On SIGTERM the server first stops accepting and drains its requests; then
//! [`Shutdown::stop`] signals the jobs and waits for the runs in progress to finish.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running jobs, by name.
type Jobs = Arc<Mutex<Vec<(&'static str, JoinHandle<()>)>>>;

#[derive(Clone)]
pub struct Shutdown {
    signal: watch::Sender<bool>,
    jobs: Jobs,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown { signal: watch::Sender::new(false), jobs: Arc::new(Mutex::new(Vec::new())) }
    }

    /// Runs `run` every `interval` (the first run at once) until [`Shutdown::stop`]; a late run waits
    /// for the next tick rather than catching up.
    pub fn every<F, Fut>(&self, name: &'static str, interval: Duration, mut run: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut stopping = self.signal.subscribe();
        let handle = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    _ = stopping.wait_for(|stop| *stop) => break,
                    _ = ticker.tick() => {}
                }
                // A run is never cut off: the stop signal is looked at again only once it is done.
                run().await;
            }
            tracing::debug!(job = name, "background job stopped");
        });
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.push((name, handle));
        }
    }

    /// Whether the stop signal was given.
    pub fn is_stopping(&self) -> bool {
        *self.signal.borrow()
    }

    /// Signals every job to stop and waits up to `within` for the runs in progress to finish; a job
    /// still running then is abandoned (its transaction, never committed, rolls back).
    pub async fn stop(&self, within: Duration) {
        self.signal.send_replace(true);
        let jobs: Vec<_> = match self.jobs.lock() {
            Ok(mut jobs) => jobs.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let count = jobs.len();
        let waiting = futures::future::join_all(jobs.into_iter().map(|(_, handle)| handle));
        match tokio::time::timeout(within, waiting).await {
            Ok(_) => tracing::info!(jobs = count, "background jobs stopped at a safe point"),
            Err(_) => tracing::warn!(jobs = count, "background jobs still running at the shutdown deadline"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_run_in_progress_finishes_and_no_run_starts_after_the_stop() {
        let shutdown = Shutdown::new();
        let (started, finished) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let (s, f) = (started.clone(), finished.clone());
        shutdown.every("slow", Duration::from_millis(10), move || {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                f.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(started.load(Ordering::SeqCst), 1, "the first run is under way");
        shutdown.stop(Duration::from_secs(5)).await;
        assert!(shutdown.is_stopping());
        assert_eq!(finished.load(Ordering::SeqCst), 1, "the run in progress was not cut off");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(started.load(Ordering::SeqCst), 1, "no run starts after the stop");
    }
}
