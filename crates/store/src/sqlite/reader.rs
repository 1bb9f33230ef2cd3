//! Reads: a small pool of read connections (WAL lets them run beside the
//! writer) used on tokio's blocking threads, and the read queries. Each read
//! runs in one read transaction, so the rows, the current revision and the
//! compacted revision it reports all come from the same snapshot.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params_from_iter};
use tokio::sync::Semaphore;

use super::schema::{self, ROW_COLUMNS, db, decode_row, row_columns};
use crate::row::{Row, prefix_end, range_start};
use crate::{KeyValue, RangeRequest, RangeResponse, Result, StoreError, WatchEvent};

/// Read connections kept open (and the most reads running at once).
const POOL_SIZE: usize = 4;

#[derive(Clone)]
pub(super) struct ReadPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl ReadPool {
    pub fn new(path: PathBuf) -> Self {
        ReadPool {
            inner: Arc::new(PoolInner {
                path,
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(POOL_SIZE),
            }),
        }
    }

    /// Runs `f` in a read transaction on a pooled connection, off the async
    /// threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let pool = self.inner.clone();
        let result = tokio::task::spawn_blocking(move || {
            let popped = pool.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut conn = match popped {
                Some(conn) => conn,
                None => schema::connect(&pool.path, true)?,
            };
            let result = conn.transaction().map_err(db).and_then(|tx| f(&tx));
            pool.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?;
        drop(permit);
        result
    }
}

pub(super) fn get(tx: &Transaction<'_>, key: &str) -> Result<(Option<KeyValue>, i64)> {
    let row = tx
        .prepare_cached(concat!(
            "SELECT ",
            row_columns!(),
            " FROM kv WHERE name = ?1 ORDER BY id DESC LIMIT 1"
        ))
        .and_then(|mut s| s.query_row([key.as_bytes()], decode_row).optional())
        .map_err(db)?;
    let current = schema::current_revision(tx)?;
    Ok((row.and_then(|r| r.to_kv()), current))
}

/// The SQL selecting the latest row (at or below a revision) of every key in
/// a name range, and its parameters. `tail` follows the WHERE clause.
fn latest_rows(
    lo: &str,
    hi: Option<Vec<u8>>,
    at: i64,
    select: &str,
    tail: &str,
) -> (String, Vec<Value>) {
    let mut params = vec![Value::Blob(lo.as_bytes().to_vec())];
    let upper = match hi {
        Some(hi) => {
            params.push(Value::Blob(hi));
            "AND name < ?2"
        }
        None => {
            params.push(Value::Null);
            "AND ?2 IS NULL"
        }
    };
    params.push(Value::Integer(at));
    let sql = format!(
        "SELECT {select} FROM kv JOIN (SELECT MAX(id) AS mid FROM kv \
         WHERE name >= ?1 {upper} AND id <= ?3 GROUP BY name) AS m ON kv.id = m.mid \
         WHERE kv.deleted = 0 {tail}"
    );
    (sql, params)
}

pub(super) fn range(tx: &Transaction<'_>, req: &RangeRequest) -> Result<RangeResponse> {
    let current = schema::current_revision(tx)?;
    let at = if req.revision <= 0 {
        current
    } else {
        let compacted = schema::compacted_revision(tx)?;
        if req.revision < compacted {
            return Err(StoreError::Compacted {
                requested: req.revision,
                compacted,
            });
        }
        if req.revision > current {
            return Err(StoreError::FutureRevision {
                requested: req.revision,
                current,
            });
        }
        req.revision
    };
    let start = range_start(&req.prefix, req.start_key.as_deref());
    let columns = ROW_COLUMNS
        .split(", ")
        .map(|c| format!("kv.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // One row more than asked tells whether there is more.
    let limit = if req.limit == 0 {
        -1
    } else {
        i64::try_from(req.limit).unwrap_or(i64::MAX - 1) + 1
    };
    let (sql, mut params) = latest_rows(
        start,
        prefix_end(req.prefix.as_bytes()),
        at,
        &columns,
        "ORDER BY kv.name LIMIT ?4",
    );
    params.push(Value::Integer(limit));
    let mut stmt = tx.prepare_cached(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params_from_iter(params), decode_row)
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<Row>>>()
        .map_err(db)?;
    let mut kvs: Vec<KeyValue> = rows.iter().filter_map(Row::to_kv).collect();
    let more = req.limit > 0 && kvs.len() > req.limit;
    kvs.truncate(if req.limit == 0 { kvs.len() } else { req.limit });
    Ok(RangeResponse {
        kvs,
        more,
        revision: at,
    })
}

pub(super) fn count(tx: &Transaction<'_>, prefix: &str) -> Result<i64> {
    let current = schema::current_revision(tx)?;
    let (sql, params) = latest_rows(
        prefix,
        prefix_end(prefix.as_bytes()),
        current,
        "COUNT(*)",
        "",
    );
    tx.prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params_from_iter(params), |r| r.get(0)))
        .map_err(db)
}

/// Watch history: events under `prefix` in `from..=until`, at most `limit`.
pub(super) fn events(
    tx: &Transaction<'_>,
    prefix: &str,
    from: i64,
    until: i64,
    limit: usize,
) -> Result<Vec<WatchEvent>> {
    let compacted = schema::compacted_revision(tx)?;
    if from <= compacted {
        return Err(StoreError::Compacted {
            requested: from,
            compacted,
        });
    }
    let mut params = vec![
        Value::Integer(from),
        Value::Integer(until),
        Value::Blob(prefix.as_bytes().to_vec()),
        Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
    ];
    let upper = match prefix_end(prefix.as_bytes()) {
        Some(hi) => {
            params.push(Value::Blob(hi));
            "AND +name < ?5"
        }
        None => {
            params.push(Value::Null);
            "AND ?5 IS NULL"
        }
    };
    // `+name` keeps the planner on the revision (primary key) range: a
    // watcher resumes near the head, so that range is the narrow one.
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM kv WHERE id >= ?1 AND id <= ?2 AND +name >= ?3 {upper} \
         ORDER BY id LIMIT ?4"
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(db)?;
    let rows = stmt
        .query_map(params_from_iter(params), decode_row)
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<Row>>>()
        .map_err(db)?;
    Ok(rows.iter().map(Row::to_event).collect())
}
