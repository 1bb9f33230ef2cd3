//! The ReplicationController controller: the same generic replica
//! controller as ReplicaSets ([`crate::replica_common`]) over core/v1
//! ReplicationControllers, whose selector is a plain label map.

use crate::replica_common::{self, ReplicaOwner};
use apimachinery::selectors::LabelSelector;
use informer::Factory;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ReplicationController};

impl ReplicaOwner for ReplicationController {
    const COMPONENT: &'static str = "replication-controller";

    fn label_selector(&self) -> Result<LabelSelector, String> {
        // The API server defaults an absent selector to the template labels.
        let sel = self
            .spec
            .as_ref()
            .and_then(|s| s.selector.clone())
            .or_else(|| {
                self.pod_template()
                    .and_then(|t| t.metadata.as_ref())
                    .and_then(|m| m.labels.clone())
            })
            .unwrap_or_default();
        if sel.is_empty() {
            return Err("empty selector".into());
        }
        Ok(LabelSelector::from_set(&sel))
    }

    fn desired_replicas(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }

    fn min_ready_seconds(&self) -> i32 {
        self.spec
            .as_ref()
            .and_then(|s| s.min_ready_seconds)
            .unwrap_or(0)
    }

    fn pod_template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref()?.template.as_ref()
    }

    fn status_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.status).unwrap_or_default()
    }
}

pub async fn run(factory: Factory) {
    replica_common::run::<ReplicationController>(factory, 5).await;
}
