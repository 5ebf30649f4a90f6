//! Group commit for status changes. Each change is a handful of statements, but a transaction
//! of its own costs a commit (and the WAL pages it writes) per change. Changes queue here instead;
//! one task applies all that are waiting in one transaction, each inside its own savepoint (so a
//! failing one undoes only itself), commits once, and only then answers each caller.

use super::writes::SqliteWrites;
use crate::storage::{StatusUpdate, StorageError, StorageResult, Vault, WriteWork};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// The most changes one transaction takes.
const MAX_BATCH: usize = 64;

/// One status change waiting for the writer, and who waits for its outcome.
pub(super) struct StatusJob {
    pub work: WriteWork<StatusUpdate>,
    pub reply: oneshot::Sender<StorageResult<StatusUpdate>>,
}

/// Starts the task that applies queued changes through `writer`; it ends when every sender is gone.
pub(super) fn spawn(writer: SqlitePool, vault: Vault) -> mpsc::Sender<StatusJob> {
    let (sender, mut receiver) = mpsc::channel::<StatusJob>(4 * MAX_BATCH);
    tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            apply(&writer, &vault, jobs).await;
        }
    });
    sender
}

fn failed(error: &impl std::fmt::Display) -> StorageError {
    StorageError::Batch(error.to_string())
}

async fn apply(writer: &SqlitePool, vault: &Vault, jobs: Vec<StatusJob>) {
    let mut tx = match writer.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(error) => {
            for job in jobs {
                let _ = job.reply.send(Err(failed(&error)));
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(jobs.len());
    let mut broken: Option<String> = None;
    for job in jobs {
        if broken.is_some() {
            done.push((job.reply, Err(StorageError::Batch("an earlier change broke the transaction".into()))));
            continue;
        }
        if let Err(error) = sqlx::query("SAVEPOINT change").execute(&mut *tx).await {
            broken = Some(error.to_string());
            done.push((job.reply, Err(failed(&error))));
            continue;
        }
        let outcome = (job.work)(&mut SqliteWrites::new(&mut tx, vault)).await;
        let undone = match outcome {
            Ok(_) => Ok(()),
            Err(_) => sqlx::query("ROLLBACK TO change").execute(&mut *tx).await.map(drop),
        };
        let released = match undone {
            Ok(()) => sqlx::query("RELEASE change").execute(&mut *tx).await.map(drop),
            Err(error) => Err(error),
        };
        if let Err(error) = released {
            broken = Some(error.to_string());
        }
        done.push((job.reply, outcome));
    }
    let committed = match broken {
        Some(reason) => Err(StorageError::Batch(reason)),
        None => tx.commit().await.map_err(|error| failed(&error)),
    };
    for (reply, outcome) in done {
        let answer = match &committed {
            Ok(()) => outcome,
            // Nothing of the batch was written.
            Err(error) => Err(StorageError::Batch(error.to_string())),
        };
        let _ = reply.send(answer);
    }
}
