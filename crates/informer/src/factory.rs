//! The informer factory: one informer per resource type per process, so a
//! dozen controllers reading Pods share one watch and one cache.

use crate::informer::Informer;
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

/// Hands out shared informers, started on first use.
#[derive(Clone)]
pub struct Factory {
    client: Client,
    informers: Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>,
    page_size: u32,
}

impl Factory {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            informers: Arc::default(),
            page_size: 500,
        }
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The shared informer of `K` across all namespaces, started if new.
    pub fn informer<K>(&self) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        self.informer_with(|_| {})
    }

    /// Like `informer`, but `setup` runs once on a new informer before it
    /// starts (to add indexes, so they are built as the list arrives).
    pub fn informer_with<K>(&self, setup: impl FnOnce(&Informer<K>)) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    {
        let mut map = self.informers.lock().expect("factory lock");
        if let Some(existing) = map.get(&TypeId::of::<K>()) {
            let inf = existing
                .downcast_ref::<Informer<K>>()
                .expect("informer of the type it is keyed by")
                .clone();
            setup(&inf);
            return inf;
        }
        let inf = Informer::<K>::new();
        setup(&inf);
        let api: Api<K> = Api::all(self.client.clone());
        inf.start(api, watcher::Config::default().page_size(self.page_size));
        map.insert(TypeId::of::<K>(), Box::new(inf.clone()));
        inf
    }
}
