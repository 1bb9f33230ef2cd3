//! Choosing the store from `--datastore-endpoint`.

use anyhow::{Context, bail};
use std::path::Path;
use std::sync::Arc;
use store::Store;

pub fn open(endpoint: &str, data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if endpoint.is_empty() {
        let dir = data_dir.join("server").join("db");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Arc::new(
            store::sqlite::SqliteStore::open(dir.join("state.db"))
                .context("opening the embedded SQLite store")?,
        )
    } else if let Some(path) = endpoint.strip_prefix("sqlite://") {
        Arc::new(
            store::sqlite::SqliteStore::open(Path::new(path))
                .with_context(|| format!("opening SQLite store {path}"))?,
        )
    } else if endpoint == "memory://" {
        Arc::new(store::memory::MemoryStore::new())
    } else {
        bail!(
            "--datastore-endpoint {endpoint:?}: unsupported scheme (use empty, sqlite:///path or memory://; etcd is not supported yet)"
        );
    };
    store::spawn_compactor(store.clone(), std::time::Duration::from_secs(300), 1000);
    Ok(store)
}
