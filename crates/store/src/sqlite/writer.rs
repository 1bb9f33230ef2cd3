//! The single writer thread with group commit.
//!
//! It owns the only write connection. It takes every request queued at the
//! moment, applies them all in one transaction (each compare-and-swap checked
//! inside it, so later requests see earlier ones), commits once (one fsync for
//! the whole group), publishes the events in revision order and answers each
//! request through its own oneshot. Compaction runs in transactions of its own.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::{broadcast, oneshot};

use super::Shared;
use super::schema::{self, db};
use crate::row::Row;
use crate::{KeyValue, Result, StoreError, WatchEvent};

/// Most requests folded into one transaction.
const MAX_BATCH: usize = 512;

pub(super) enum Op {
    Create {
        key: String,
        value: Vec<u8>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: i64,
    },
    Delete {
        key: String,
        expected: Option<i64>,
    },
    /// Compact up to this revision (one chunk; the caller splits big ones).
    Compact {
        revision: i64,
    },
}

pub(super) enum Done {
    Written(i64),
    Deleted(KeyValue, i64),
    Compacted,
}

pub(super) struct Request {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Done>>,
}

pub(super) struct Writer {
    pub conn: Connection,
    pub rev: i64,
    pub shared: Arc<Shared>,
    pub events: broadcast::Sender<Arc<WatchEvent>>,
}

impl Writer {
    /// Serves requests until every sender is gone.
    pub fn run(mut self, rx: mpsc::Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(req) => batch.push(req),
                    Err(_) => break,
                }
            }
            let (compactions, writes): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .partition(|r| matches!(r.op, Op::Compact { .. }));
            if !writes.is_empty() {
                self.commit_group(writes);
            }
            for req in compactions {
                if let Op::Compact { revision } = req.op {
                    let result = self.compact(revision).map(|()| Done::Compacted);
                    let _ = req.reply.send(result);
                }
            }
        }
    }

    fn commit_group(&mut self, batch: Vec<Request>) {
        let start = self.rev;
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().map(|r| (r.op, r.reply)).unzip();
        let mut rows = Vec::with_capacity(ops.len());
        let outcome = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let mut results = Vec::with_capacity(ops.len());
            // The values move into the rows, then into the events: no copy.
            for op in ops {
                results.push(apply(&tx, &mut self.rev, op, &mut rows)?);
            }
            tx.commit().map_err(db)?;
            Ok::<_, StoreError>(results)
        })();
        match outcome {
            Ok(results) => {
                // Current first, then publish: watchers rely on every event
                // above the current revision they read arriving afterwards.
                self.shared.current.store(self.rev, Ordering::SeqCst);
                for row in rows {
                    let _ = self.events.send(Arc::new(row.into_event()));
                }
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store write transaction failed");
                self.rev = start;
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Backend(e.to_string())));
                }
            }
        }
    }

    /// Compacts `(compacted, revision]` in one transaction. A row is dropped
    /// when a later row of its key at or below `revision` points back at it
    /// (it is superseded), or when it is a tombstone at or below `revision`.
    fn compact(&mut self, revision: i64) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let compacted = schema::compacted_revision(&tx)?;
        if revision <= compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted,
            });
        }
        if revision > self.rev {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: self.rev,
            });
        }
        tx.execute(
            "DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv \
             WHERE id > ?1 AND id <= ?2 AND prev_revision > 0)",
            params![compacted, revision],
        )
        .map_err(db)?;
        tx.execute(
            "DELETE FROM kv WHERE id > ?1 AND id <= ?2 AND deleted = 1",
            params![compacted, revision],
        )
        .map_err(db)?;
        schema::set_compacted_revision(&tx, revision)?;
        tx.commit().map_err(db)?;
        self.shared.compacted.store(revision, Ordering::SeqCst);
        Ok(())
    }
}

/// Applies one write inside the group's transaction. The outer `Result` is a
/// backend failure (it aborts the group); the inner one is this request's
/// own answer (a failed compare-and-swap writes nothing).
fn apply(tx: &Transaction<'_>, rev: &mut i64, op: Op, rows: &mut Vec<Row>) -> Result<Result<Done>> {
    let row = match op {
        Op::Create { key, value } => {
            if let Some(kv) = latest(tx, &key)? {
                return Ok(Err(StoreError::AlreadyExists(Box::new(kv))));
            }
            Row::create(*rev + 1, key, value)
        }
        Op::Update {
            key,
            value,
            expected,
        } => {
            let Some(kv) = latest(tx, &key)? else {
                return Ok(Err(StoreError::NotFound(key)));
            };
            if kv.mod_revision != expected {
                return Ok(Err(conflict(key, kv)));
            }
            Row::update(*rev + 1, kv, value)
        }
        Op::Delete { key, expected } => {
            let Some(kv) = latest(tx, &key)? else {
                return Ok(Err(StoreError::NotFound(key)));
            };
            if expected.is_some_and(|e| e != kv.mod_revision) {
                return Ok(Err(conflict(key, kv)));
            }
            Row::delete(*rev + 1, kv)
        }
        Op::Compact { .. } => {
            return Err(StoreError::Backend(
                "compaction inside a write group".into(),
            ));
        }
    };
    tx.prepare_cached(
        "INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value, \
         old_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.rev,
            row.key.as_bytes(),
            row.created,
            row.deleted,
            row.create_revision,
            row.prev_revision,
            row.value,
            row.old_value,
        ])
    })
    .map_err(db)?;
    *rev = row.rev;
    let done = if row.deleted {
        let kv = KeyValue {
            key: row.key.clone(),
            value: row.value.clone(),
            create_revision: row.create_revision,
            mod_revision: row.prev_revision,
        };
        Done::Deleted(kv, row.rev)
    } else {
        Done::Written(row.rev)
    };
    rows.push(row);
    Ok(Ok(done))
}

fn conflict(key: String, kv: KeyValue) -> StoreError {
    StoreError::Conflict {
        key,
        current: Some(Box::new(kv)),
    }
}

/// The live value of `key`, if any.
fn latest(tx: &Transaction<'_>, key: &str) -> Result<Option<KeyValue>> {
    let found = tx
        .prepare_cached(
            "SELECT id, create_revision, deleted, value FROM kv WHERE name = ?1 \
             ORDER BY id DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row([key.as_bytes()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .optional()
        })
        .map_err(db)?;
    Ok(match found {
        Some((mod_revision, create_revision, false, value)) => Some(KeyValue {
            key: key.to_owned(),
            value,
            create_revision,
            mod_revision,
        }),
        _ => None,
    })
}
