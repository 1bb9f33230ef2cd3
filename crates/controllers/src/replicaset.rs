//! The ReplicaSet controller: keeps each ReplicaSet's pods at
//! `spec.replicas` with the generic replica controller of
//! [`crate::replica_common`] (5 workers, as upstream).

use crate::replica_common::{self, ReplicaOwner};
use apimachinery::selectors::LabelSelector;
use informer::Factory;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::PodTemplateSpec;

impl ReplicaOwner for ReplicaSet {
    const COMPONENT: &'static str = "replicaset-controller";

    fn label_selector(&self) -> Result<LabelSelector, String> {
        let v = serde_json::to_value(&self.spec.selector).map_err(|e| e.to_string())?;
        LabelSelector::from_json(&v).map_err(|e| e.to_string())
    }

    fn desired_replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }

    fn min_ready_seconds(&self) -> i32 {
        self.spec.min_ready_seconds.unwrap_or(0)
    }

    fn pod_template(&self) -> Option<&PodTemplateSpec> {
        self.spec.template.as_ref()
    }

    fn status_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.status).unwrap_or_default()
    }
}

pub async fn run(factory: Factory) {
    replica_common::run::<ReplicaSet>(factory, 5).await;
}
