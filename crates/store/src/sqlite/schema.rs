//! The SQLite file: connection settings, the kine-style table, and decoding
//! of its rows.
//!
//! One table `kv` holds every write; its row id is the revision. `name` is a
//! BLOB so prefix ranges compare bytes (`name >= prefix AND name < end`) and use
//! the `(name, id)` index. AUTOINCREMENT keeps the revision counter in
//! `sqlite_sequence`, so it never goes back, even when compaction removes the
//! newest rows.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::row::Row;
use crate::{Result, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name BLOB NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value BLOB NOT NULL,
    old_value BLOB
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The columns [`decode_row`] expects, in order, as a literal (so queries
/// can be built with `concat!` at compile time).
macro_rules! row_columns {
    () => {
        "id, name, created, deleted, create_revision, prev_revision, value, old_value"
    };
}
pub(super) use row_columns;

/// The columns [`decode_row`] expects, in order.
pub(super) const ROW_COLUMNS: &str = row_columns!();

const COMPACT_KEY: &str = "compact_rev";

pub(super) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {e}"))
}

/// Opens a connection with the settings every connection needs. Readers are
/// opened read-write but `query_only`: a truly read-only handle cannot create
/// the WAL index it needs.
pub(super) fn connect(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(db)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
    conn.set_prepared_statement_cache_capacity(32);
    // Without the query planner stability guarantee, SQLite (built with
    // STAT4) re-plans a cached statement whenever a bound value it may plan
    // on changes, e.g. `LIMIT ?`: a full re-prepare on every range.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db)?;
    if read_only {
        conn.pragma_update(None, "query_only", true).map_err(db)?;
    } else {
        // WAL lets readers run beside the writer; FULL syncs the WAL on every
        // commit, so an acknowledged write survives power loss.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
    }
    Ok(conn)
}

/// Decodes a row selected with [`ROW_COLUMNS`].
pub(super) fn decode_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let name: Vec<u8> = r.get(1)?;
    let key = String::from_utf8(name).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, Box::new(e))
    })?;
    Ok(Row {
        rev: r.get(0)?,
        key,
        created: r.get(2)?,
        deleted: r.get(3)?,
        create_revision: r.get(4)?,
        prev_revision: r.get(5)?,
        value: r.get(6)?,
        old_value: r.get(7)?,
    })
}

/// The revision counter: the highest revision ever written.
pub(super) fn current_revision(conn: &Connection) -> Result<i64> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'kv'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .map_err(db)?;
    Ok(seq.unwrap_or(0))
}

pub(super) fn compacted_revision(conn: &Connection) -> Result<i64> {
    let rev: Option<i64> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut s| s.query_row([COMPACT_KEY], |r| r.get(0)).optional())
        .map_err(db)?;
    Ok(rev.unwrap_or(0))
}

pub(super) fn set_compacted_revision(tx: &Transaction<'_>, rev: i64) -> Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![COMPACT_KEY, rev]))
        .map_err(db)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_connection_is_wal_and_fully_synced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = connect(&dir.path().join("db"), false).expect("open");
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal_mode");
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("synchronous");
        assert_eq!(sync, 2, "synchronous must be FULL");
        assert!(
            conn.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)
                .expect("qpsg"),
            "plans must not depend on bound values"
        );
        let reader = connect(&dir.path().join("db"), true).expect("open reader");
        assert!(
            reader.execute("DELETE FROM kv", []).is_err(),
            "readers are query-only"
        );
    }
}
