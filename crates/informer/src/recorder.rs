//! The event recorder: core/v1 Events about objects, written in the
//! background. Like upstream's broadcaster it never blocks the caller (when
//! more than 1000 events wait, new ones are dropped) and it folds repeats of
//! one event into a count on the first one.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use std::collections::HashMap;
use tokio::sync::mpsc;

const QUEUE: usize = 1000;
/// Repeats remembered for aggregation; the memory is cleared when full.
const REMEMBERED: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

struct Pending {
    object: ObjectReference,
    type_: EventType,
    reason: String,
    message: String,
}

/// Records events for one component (`deployment-controller`, `default-scheduler`, …).
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Pending>,
}

impl Recorder {
    pub fn new(client: Client, component: &str) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_events(client, component.to_string(), rx));
        Self { tx }
    }

    /// Record an event about `obj`.
    pub fn event<K>(&self, obj: &K, type_: EventType, reason: &str, message: impl Into<String>)
    where
        K: Resource<DynamicType = ()>,
    {
        self.event_ref(object_ref(obj), type_, reason, message);
    }

    pub fn event_ref(
        &self,
        object: ObjectReference,
        type_: EventType,
        reason: &str,
        message: impl Into<String>,
    ) {
        let p = Pending {
            object,
            type_,
            reason: reason.to_string(),
            message: message.into(),
        };
        if self.tx.try_send(p).is_err() {
            tracing::debug!(reason, "event queue full; event dropped");
        }
    }
}

/// A reference to `obj` for an event or an owner.
pub fn object_ref<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    let m = obj.meta();
    ObjectReference {
        api_version: Some(K::api_version(&()).to_string()),
        kind: Some(K::kind(&()).to_string()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        field_path: None,
    }
}

type Fingerprint = (String, String, String, String, String);

async fn write_events(client: Client, component: String, mut rx: mpsc::Receiver<Pending>) {
    // fingerprint → (namespace, event name, count)
    let mut seen: HashMap<Fingerprint, (String, String, i32)> = HashMap::new();
    while let Some(p) = rx.recv().await {
        let ns = p
            .object
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into());
        let now = jiff::Timestamp::now();
        let fp: Fingerprint = (
            p.object.uid.clone().unwrap_or_default(),
            p.object.name.clone().unwrap_or_default(),
            p.reason.clone(),
            p.message.clone(),
            p.type_.as_str().into(),
        );
        let api: Api<Event> = Api::namespaced(client.clone(), &ns);
        if let Some((ens, name, count)) = seen.get_mut(&fp) {
            *count += 1;
            let patch = serde_json::json!({"count": *count, "lastTimestamp": Time(now)});
            let api: Api<Event> = Api::namespaced(client.clone(), ens);
            if api
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .is_ok()
            {
                continue;
            }
        }
        let base = p.object.name.clone().unwrap_or_else(|| "event".into());
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(format!("{base}.{:x}", now.as_nanosecond())),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: p.object,
            reason: Some(p.reason),
            message: Some(p.message),
            type_: Some(p.type_.as_str().into()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None::<MicroTime>,
            source: Some(EventSource {
                component: Some(component.clone()),
                host: None,
            }),
            reporting_component: Some(component.clone()),
            reporting_instance: Some(component.clone()),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &ev).await {
            Ok(created) => {
                if seen.len() >= REMEMBERED {
                    seen.clear();
                }
                seen.insert(fp, (ns, created.name_any(), 1));
            }
            Err(e) => tracing::debug!("writing event: {e}"),
        }
    }
}
