//! The API side of preemption: mark each victim with the DisruptionTarget
//! condition, delete it and record "Preempted"; drop the nominations of
//! lower-priority pods on the chosen node; nominate the preemptor there.

use super::{Candidate, DefaultPreemption, PreemptionError};
use crate::framework::PodInfo;
use informer::EventType;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl DefaultPreemption {
    pub(super) async fn prepare_candidate(
        &self,
        pod: &PodInfo,
        c: &Candidate,
    ) -> Result<(), PreemptionError> {
        let scheduler_name = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or("default-scheduler");
        for v in &c.victims {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), v.namespace());
            let patch = json!({"status": {"conditions": [{
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "PreemptionByScheduler",
                "message": format!("{scheduler_name}: preempting to accommodate a higher priority pod"),
                "lastTransitionTime": Timestamp::now().to_string(),
            }]}});
            let evict = |source| PreemptionError::Evict {
                victim: format!("{}/{}", v.namespace(), v.name()),
                source,
            };
            match api
                .patch_status(v.name(), &PatchParams::default(), &Patch::Strategic(&patch))
                .await
            {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(evict(e)),
            }
            match api.delete(v.name(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(evict(e)),
            }
            self.recorder.event(
                v.pod.as_ref(),
                EventType::Normal,
                "Preempted",
                format!("Preempted by pod {} on node {}", pod.uid(), c.node),
            );
        }
        self.clear_lower_nominations(pod, &c.node).await;
        self.nominate(pod, &c.node).await
    }

    /// Lower-priority pods nominated to `node` may no longer fit there.
    async fn clear_lower_nominations(&self, pod: &PodInfo, node: &str) {
        let prio = pod.priority();
        let lower: Vec<_> = self
            .pods
            .list()
            .into_iter()
            .filter(|p| {
                let st = p.status.as_ref();
                st.and_then(|s| s.nominated_node_name.as_deref()) == Some(node)
                    && p.spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_deref())
                        .is_none_or(str::is_empty)
                    && p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0) < prio
                    && p.metadata.uid.as_deref() != Some(pod.uid())
            })
            .collect();
        for p in lower {
            let ns = p.metadata.namespace.as_deref().unwrap_or("");
            let name = p.metadata.name.as_deref().unwrap_or("");
            let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
            let patch = json!({"status": {"nominatedNodeName": null}});
            if let Err(e) = api
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                && !is_not_found(&e)
            {
                tracing::warn!(pod = name, error = %e, "clearing nominated node failed");
            }
        }
    }

    async fn nominate(&self, pod: &PodInfo, node: &str) -> Result<(), PreemptionError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), pod.namespace());
        let patch = json!({"status": {"nominatedNodeName": node}});
        api.patch_status(pod.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|source| PreemptionError::Nominate {
                pod: format!("{}/{}", pod.namespace(), pod.name()),
                node: node.to_string(),
                source,
            })
    }
}
