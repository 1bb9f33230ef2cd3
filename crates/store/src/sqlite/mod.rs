//! Embedded SQLite backend, the default: kine's layout (one table, row id =
//! revision) in a WAL-mode file, written by one group-committing writer
//! thread (`writer`) and read through a small connection pool (`reader`).
//! A write is acknowledged only after its transaction is synced to disk.

mod reader;
mod schema;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use async_trait::async_trait;
use tokio::sync::{broadcast, oneshot};

use crate::watch::{BROADCAST_CAPACITY, History, spawn_watcher};
use crate::{
    KeyValue, RangeRequest, RangeResponse, Result, Store, StoreError, WatchEvent, WatchStream,
};
use reader::ReadPool;
use writer::{Done, Op, Request, Writer};

/// Revisions compacted per writer transaction, so a large compaction does not
/// hold writers up for long.
const COMPACT_CHUNK: i64 = 1000;

/// A [`Store`] in one SQLite file.
pub struct SqliteStore {
    shared: Arc<Shared>,
    /// None only while dropping.
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    events: broadcast::Sender<Arc<WatchEvent>>,
}

/// What readers, watchers and the writer share.
struct Shared {
    /// Latest committed revision; stored before its events are published.
    current: AtomicI64,
    compacted: AtomicI64,
    reads: ReadPool,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::connect(&path, false)?;
        let rev = schema::current_revision(&conn)?;
        let compacted = schema::compacted_revision(&conn)?;
        let shared = Arc::new(Shared {
            current: AtomicI64::new(rev),
            compacted: AtomicI64::new(compacted),
            reads: ReadPool::new(path),
        });
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (requests, rx) = mpsc::channel();
        let writer = Writer {
            conn,
            rev,
            shared: shared.clone(),
            events: events.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::Backend(format!("cannot start writer thread: {e}")))?;
        Ok(SqliteStore {
            shared,
            requests: Some(requests),
            writer: Some(handle),
            events,
        })
    }

    async fn write(&self, op: Op) -> Result<Done> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(Request { op, reply })
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue stops the writer once it has answered what is
        // queued; waiting for it means the file is quiet when drop returns,
        // so a reopen sees everything.
        self.requests.take();
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

#[async_trait]
impl History for Shared {
    async fn events(
        &self,
        prefix: &str,
        from: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<WatchEvent>> {
        let prefix = prefix.to_owned();
        self.reads
            .read(move |tx| reader::events(tx, &prefix, from, until, limit))
            .await
    }

    async fn current(&self) -> Result<i64> {
        Ok(self.current.load(Ordering::SeqCst))
    }
}

fn unexpected() -> StoreError {
    StoreError::Backend("writer gave an unexpected answer".into())
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, i64)> {
        let key = key.to_owned();
        self.shared
            .reads
            .read(move |tx| reader::get(tx, &key))
            .await
    }

    async fn range(&self, req: RangeRequest) -> Result<RangeResponse> {
        self.shared
            .reads
            .read(move |tx| reader::range(tx, &req))
            .await
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let prefix = prefix.to_owned();
        self.shared
            .reads
            .read(move |tx| reader::count(tx, &prefix))
            .await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<i64> {
        let op = Op::Create {
            key: key.to_owned(),
            value,
        };
        match self.write(op).await? {
            Done::Written(rev) => Ok(rev),
            _ => Err(unexpected()),
        }
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected_mod_revision: i64) -> Result<i64> {
        let op = Op::Update {
            key: key.to_owned(),
            value,
            expected: expected_mod_revision,
        };
        match self.write(op).await? {
            Done::Written(rev) => Ok(rev),
            _ => Err(unexpected()),
        }
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(KeyValue, i64)> {
        let op = Op::Delete {
            key: key.to_owned(),
            expected: expected_mod_revision,
        };
        match self.write(op).await? {
            Done::Deleted(kv, rev) => Ok((kv, rev)),
            _ => Err(unexpected()),
        }
    }

    async fn watch(&self, prefix: &str, start_revision: i64) -> Result<WatchStream> {
        // Subscribe before deciding where replay ends (see `History`).
        let rx = self.events.subscribe();
        let compacted = self.shared.compacted.load(Ordering::SeqCst);
        if start_revision > 0 && start_revision <= compacted {
            return Err(StoreError::Compacted {
                requested: start_revision,
                compacted,
            });
        }
        let start = if start_revision > 0 {
            start_revision
        } else {
            self.shared.current.load(Ordering::SeqCst) + 1
        };
        let history: Arc<dyn History> = self.shared.clone();
        Ok(spawn_watcher(history, prefix.to_owned(), start, rx))
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.shared.current.load(Ordering::SeqCst))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        let compacted = self.shared.compacted.load(Ordering::SeqCst);
        if revision <= compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted,
            });
        }
        let current = self.shared.current.load(Ordering::SeqCst);
        if revision > current {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current,
            });
        }
        // In chunks, so writes queued meanwhile go in between.
        let mut upto = compacted;
        while upto < revision {
            upto = (upto + COMPACT_CHUNK).min(revision);
            match self.write(Op::Compact { revision: upto }).await? {
                Done::Compacted => {}
                _ => return Err(unexpected()),
            }
        }
        Ok(())
    }

    async fn compacted_revision(&self) -> Result<i64> {
        Ok(self.shared.compacted.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(path: &Path) -> Vec<(i64, String, bool)> {
        let conn = rusqlite::Connection::open(path).expect("open");
        let mut stmt = conn
            .prepare("SELECT id, CAST(name AS TEXT), deleted FROM kv ORDER BY id")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    #[tokio::test]
    async fn compaction_removes_superseded_rows_and_tombstones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        let store = SqliteStore::open(&path).expect("open");
        let a1 = store.create("/a", b"1".to_vec()).await.expect("create"); // 1
        let a2 = store.update("/a", b"2".to_vec(), a1).await.expect("update"); // 2
        store.create("/b", vec![]).await.expect("create"); // 3
        store.delete("/b", None).await.expect("delete"); // 4
        let a5 = store.update("/a", b"3".to_vec(), a2).await.expect("update"); // 5
        store.create("/c", vec![]).await.expect("create"); // 6
        store.delete("/c", None).await.expect("delete"); // 7 (after the compaction)

        // Chunked like a big compaction would be: (0, 2] then (2, 6].
        store
            .write(Op::Compact { revision: 2 })
            .await
            .expect("chunk 1");
        assert_eq!(
            rows(&path).iter().map(|r| r.0).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6, 7]
        );
        store.compact(6).await.expect("compact");
        assert_eq!(
            rows(&path),
            [
                (a5, "/a".into(), false),
                (6, "/c".into(), false),
                (7, "/c".into(), true)
            ]
        );
        let (kv, _) = store.get("/a").await.expect("get");
        assert_eq!(kv.expect("a").create_revision, a1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits_but_not_revisions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(dir.path().join("db")).expect("open"));
        let mut tasks = Vec::new();
        for i in 0..64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.create(&format!("/k/{i}"), vec![]).await
            }));
        }
        let mut revs = Vec::new();
        for task in tasks {
            revs.push(task.await.expect("task").expect("create"));
        }
        revs.sort();
        assert_eq!(revs, (1..=64).collect::<Vec<i64>>());
    }
}
