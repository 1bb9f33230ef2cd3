//! What a kubelet does when the node lifecycle controller marked its node
//! Unknown (say after a pause): it notices its posted conditions differ
//! from what it would post, and posts them again, Ready=True with a new
//! transition time. Only nodes of this simulation, only when not Ready.

use informer::{Change, ObjectKey, WorkQueue};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

fn ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Re-post healthy conditions for our nodes that someone marked not Ready,
/// until `stop` turns true.
pub async fn run(
    factory: informer::Factory,
    names: Arc<Vec<String>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let ours: Arc<HashSet<String>> = Arc::new(names.iter().cloned().collect());
    let queue: WorkQueue<ObjectKey> = WorkQueue::new();
    let nodes = factory.informer::<Node>();
    {
        let (q, ours) = (queue.clone(), ours.clone());
        nodes.on_change(move |c: &Change<Node>| {
            let n = c.object();
            if !matches!(c, Change::Deleted(_))
                && n.metadata.name.as_ref().is_some_and(|m| ours.contains(m))
                && !ready(n)
            {
                q.add(ObjectKey::of(n.as_ref()));
            }
        });
    }
    let client = factory.client();
    let work = queue.run(4, move |key: ObjectKey| {
        let api: Api<Node> = Api::all(client.clone());
        async move {
            let now = crate::time::now();
            let body = json!({"status": {"conditions": crate::node::conditions(&now, &now)}});
            api.patch_status(&key.name, &PatchParams::default(), &Patch::Strategic(body))
                .await
                .map(|_| None)
        }
    });
    tokio::select! {
        _ = work => {}
        _ = crate::stopped(&mut stop) => {}
    }
}
