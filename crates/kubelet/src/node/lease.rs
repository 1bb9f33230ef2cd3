//! The node's Lease `kube-node-lease/<node>`: the cheap heartbeat the node
//! lifecycle controller watches. Held by the node, 40 s long, owned by the
//! Node object (so deleting the Node deletes its Lease), renewed every
//! `lease_interval`.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

pub const NAMESPACE: &str = "kube-node-lease";
/// Upstream's nodeLeaseDurationSeconds.
pub const DURATION_SECONDS: i32 = 40;

fn lease_object(node: &str, node_uid: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(node.into()),
            namespace: Some(NAMESPACE.into()),
            owner_references: (!node_uid.is_empty()).then(|| {
                vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Node".into(),
                    name: node.into(),
                    uid: node_uid.into(),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node.into()),
            lease_duration_seconds: Some(DURATION_SECONDS),
            renew_time: Some(MicroTime(jiff::Timestamp::now())),
            ..Default::default()
        }),
    }
}

/// Clusters made by rkube have the namespace; a bare API server (tests) may not.
async fn ensure_namespace(client: &kube::Client) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(NAMESPACE.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    if let Err(e) = api.create(&PostParams::default(), &ns).await
        && !matches!(&e, kube::Error::Api(s) if s.code == 409)
    {
        tracing::debug!("creating namespace {NAMESPACE}: {e}");
    }
}

/// Renew the Lease (create it when missing), pointing its owner at the
/// Node with uid `node_uid`.
pub async fn renew(client: &kube::Client, node: &str, node_uid: &str) -> Result<(), kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), NAMESPACE);
    let mut patch = json!({"spec": {
        "holderIdentity": node,
        "leaseDurationSeconds": DURATION_SECONDS,
        "renewTime": MicroTime(jiff::Timestamp::now()),
    }});
    if !node_uid.is_empty() {
        // A Lease left by an earlier Node of this name points at the new one.
        patch["metadata"] = json!({"ownerReferences": [{
            "apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid,
        }]});
    }
    match api
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => {
            let obj = lease_object(node, node_uid);
            match api.create(&PostParams::default(), &obj).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    ensure_namespace(client).await;
                    api.create(&PostParams::default(), &obj).await.map(|_| ())
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}
