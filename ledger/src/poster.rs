//! The batching poster: TigerBeetle's batching idea on top of a SQL database.
//!
//! Posting transfers one transaction each pays a commit (a WAL flush) and a handful of round trips per
//! transfer. The poster lets many tasks submit transfers concurrently; a worker takes everything that is
//! waiting (up to `max_batch`), posts it in one database transaction with independent results, and
//! answers each caller with its own result. While one batch commits, the next one gathers, so the batch
//! size adapts to the load: one transfer at a time when idle, hundreds under pressure. Each worker has
//! its own lane, and a transfer's lane follows from its pair of accounts, so two workers' batches seldom
//! lock the same resident's row (with one shared queue they did, and waited for each other's commits:
//! routing by account pair measured a sixth faster).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::Transfer;
use crate::types::{TransferAction, TransferRequest};

#[derive(Clone, Copy, Debug)]
pub struct PosterConfig {
    /// Most transfers per database transaction.
    pub max_batch: usize,
    /// Concurrent workers (lanes), each committing its own batches on its own chain head.
    pub workers: usize,
    /// Submissions that may wait, over all lanes, before `submit` itself waits (back-pressure).
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
    /// One lane per worker; a transfer's lane follows from its two accounts (see [`lane`]).
    lanes: std::sync::Arc<[mpsc::Sender<Job>]>,
}

impl BatchingPoster {
    /// Starts the workers on the current tokio runtime.
    pub fn spawn(ledger: Ledger, config: PosterConfig) -> Self {
        let workers = config.workers.max(1);
        let max_batch = config.max_batch.max(1);
        let mut lanes = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (sender, mut receiver) = mpsc::channel::<Job>((config.queue / workers).max(1));
            lanes.push(sender);
            let ledger = ledger.clone();
            tokio::spawn(async move {
                while let Some(first) = receiver.recv().await {
                    let mut batch = vec![first];
                    while batch.len() < max_batch {
                        match receiver.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    post_batch(&ledger, batch).await;
                }
            });
        }
        BatchingPoster { lanes: lanes.into() }
    }

    /// Submits one transfer and waits for its own result.
    pub async fn submit(&self, request: TransferRequest) -> Result<Transfer, LedgerError> {
        let (reply, answer) = oneshot::channel();
        let sender = &self.lanes[lane(&request, self.lanes.len())];
        sender.send(Job { request, reply }).await.map_err(|_| LedgerError::PosterClosed)?;
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

/// The lane (worker) of a transfer: the same pair of accounts always goes to the same worker, so two
/// workers' batches seldom lock the same resident's row and wait for each other's commit. A transfer
/// that names another one (a hold's resolution, a reversal) goes by that transfer's id.
fn lane(request: &TransferRequest, lanes: usize) -> usize {
    let key = match &request.action {
        TransferAction::Single { debit, credit, .. } | TransferAction::Pending { debit, credit, .. } => {
            (debit.0 as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (credit.0 as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
        }
        TransferAction::PostPending { pending_id: id, .. }
        | TransferAction::VoidPending { pending_id: id }
        | TransferAction::ExpirePending { pending_id: id }
        | TransferAction::Reverse { transfer_id: id } => id.0.as_u64_pair().0,
    };
    (key.rotate_right(17) % lanes.max(1) as u64) as usize
}
