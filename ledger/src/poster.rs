//! The batching poster: TigerBeetle's batching idea on top of a SQL database.
//!
//! Posting transfers one transaction each pays a commit (a WAL flush) and a handful of round trips per
//! transfer. The poster lets many tasks submit transfers concurrently; a worker takes everything that is
//! waiting (up to `max_batch`), posts it in one database transaction with independent results, and
//! answers each caller with its own result. While one batch commits, the next one gathers, so the batch
//! size adapts to the load: one transfer at a time when idle, hundreds under pressure.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::Transfer;
use crate::types::TransferRequest;

#[derive(Clone, Copy, Debug)]
pub struct PosterConfig {
    /// Most transfers per database transaction.
    pub max_batch: usize,
    /// Concurrent workers, each committing its own batches on its own chain head. Two batches that
    /// move the same limited account (a resident's) wait for each other's row lock, so more workers
    /// mostly overlap one batch's statements with another's commit; two measured best.
    pub workers: usize,
    /// Submissions that may wait before `submit` itself waits (back-pressure).
    pub queue: usize,
}

impl Default for PosterConfig {
    fn default() -> Self {
        PosterConfig { max_batch: 512, workers: 2, queue: 8192 }
    }
}

struct Job {
    request: TransferRequest,
    reply: oneshot::Sender<Result<Transfer, LedgerError>>,
}

/// Handle for submitting transfers; cheap to clone. The workers stop when every handle is dropped.
#[derive(Clone)]
pub struct BatchingPoster {
    sender: mpsc::Sender<Job>,
}

impl BatchingPoster {
    /// Starts the workers on the current tokio runtime.
    pub fn spawn(ledger: Ledger, config: PosterConfig) -> Self {
        let (sender, receiver) = mpsc::channel::<Job>(config.queue.max(1));
        let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..config.workers.max(1) {
            let ledger = ledger.clone();
            let receiver = receiver.clone();
            let max_batch = config.max_batch.max(1);
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut rx = receiver.lock().await;
                        let Some(first) = rx.recv().await else { break };
                        let mut batch = vec![first];
                        while batch.len() < max_batch {
                            match rx.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    post_batch(&ledger, batch).await;
                }
            });
        }
        BatchingPoster { sender }
    }

    /// Submits one transfer and waits for its own result.
    pub async fn submit(&self, request: TransferRequest) -> Result<Transfer, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Job { request, reply }).await.map_err(|_| LedgerError::PosterClosed)?;
        answer.await.map_err(|_| LedgerError::PosterClosed)?
    }
}

async fn post_batch(ledger: &Ledger, batch: Vec<Job>) {
    let requests: Vec<TransferRequest> = batch.iter().map(|j| j.request.clone()).collect();
    let mut outcome = ledger.post_independent(&requests).await;
    if let Err(LedgerError::Busy) = outcome {
        // The ledger already retried; one more pause before telling the callers.
        tokio::time::sleep(Duration::from_millis(5)).await;
        outcome = ledger.post_independent(&requests).await;
    }
    match outcome {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                // A caller that stopped waiting does not stop the others.
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            for job in batch {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}
