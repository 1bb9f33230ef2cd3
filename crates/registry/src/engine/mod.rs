//! The generic resource engine: every verb over every resource, built on the
//! store (writes, with compare-and-swap) and the watch cache (reads), calling
//! the resource's strategy in a fixed order.

mod admission;
mod catalog;
mod convert;
mod crd;
mod custom;
mod delete;
mod fields;
mod list;
mod meta;
mod patch;
mod persist;
pub mod sa_admission;
mod schema;
mod select;
mod services;
mod subresources;
mod watch;
mod write;

pub use catalog::{Catalog, CustomInfo};
pub use delete::DeleteOutcome;
pub use list::ListResult;
pub use patch::PatchKind;
pub use watch::{WatchEventOut, WatchStream};

use crate::cache::WatchCache;
use crate::keys;
use apimachinery::{ApiError, ResourceInfo};
use serde_json::Value;
use std::sync::{Arc, RwLock};
use store::{Store, StoreError};

pub struct Registry {
    pub store: Arc<dyn Store>,
    pub cache: Arc<WatchCache>,
    catalog: RwLock<Arc<Catalog>>,
    /// Held across a Service's address allocation and its write.
    alloc_lock: tokio::sync::Mutex<()>,
}

impl Registry {
    /// Start the watch cache over `store` and load the catalog (built-in
    /// resources plus every CustomResourceDefinition stored).
    pub async fn new(store: Arc<dyn Store>) -> Result<Arc<Self>, StoreError> {
        let cache = WatchCache::start(store.clone()).await?;
        let reg = Arc::new(Registry {
            store,
            cache,
            catalog: RwLock::new(Arc::new(Catalog::builtin())),
            alloc_lock: tokio::sync::Mutex::new(()),
        });
        reg.refresh_catalog();
        crd::spawn_catalog_follower(&reg);
        Ok(reg)
    }

    /// The catalog as it is now (cheap clone of an Arc).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.read().expect("catalog lock").clone()
    }

    /// Rebuild the catalog from the CRDs in the cache.
    pub fn refresh_catalog(&self) {
        let crds = self
            .cache
            .list(&keys::resource_prefix(&crd::crd_resource()), |_| true);
        let cat = Catalog::with_crds(crds.items.iter().map(|o| o.value()).collect());
        *self.catalog.write().expect("catalog lock") = Arc::new(cat);
    }

    /// Read one object. `resource_version` "" reads the latest state from the
    /// store (consistent); anything else may be served from the cache.
    pub(crate) async fn get_stored(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        resource_version: &str,
    ) -> Result<Value, ApiError> {
        let key = keys::object_key(res, ns, name);
        if !resource_version.is_empty() {
            // "0" is any version; an exact one means "not older than".
            let rv = list::parse_rv(resource_version)?;
            self.wait_fresh(resource_version, rv).await?;
            return self
                .cache
                .get(&key)
                .map(|o| o.value())
                .ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name));
        }
        let (kv, _) = self.store.get(&key).await.map_err(store_error)?;
        let kv = kv.ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name))?;
        decode_kv(&kv)
    }
}

/// Decode a stored value, stamping its resourceVersion.
pub(crate) fn decode_kv(kv: &store::KeyValue) -> Result<Value, ApiError> {
    let mut v: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("decoding stored object: {e}")))?;
    apimachinery::meta::metadata_mut(&mut v)
        .insert("resourceVersion".into(), kv.mod_revision.to_string().into());
    Ok(v)
}

/// Map store errors that reach a client.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Compacted { .. } => {
            ApiError::expired("The resourceVersion for the provided list is too old.")
        }
        StoreError::FutureRevision { requested, current } => {
            let mut e = ApiError::timeout(format!(
                "Too large resource version: {requested}, current: {current}"
            ));
            e.retry_after_seconds = Some(1);
            e
        }
        other => ApiError::internal(other.to_string()),
    }
}
