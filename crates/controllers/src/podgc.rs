//! The pod garbage collector, run every 20 s over the pod cache as
//! upstream's: deletes the oldest terminated pods beyond the threshold
//! (12500), pods bound to nodes that stay gone past a quarantine (40 s,
//! confirmed against the API, marked `DisruptionTarget` / `DeletionByPodGC`
//! first), and terminating pods that were never scheduled. Orphans and
//! unscheduled pods are force-deleted (grace period 0).

use informer::{Factory, ObjectKey};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub period: Duration,
    /// Terminated pods kept before the oldest go; 0 disables.
    pub terminated_threshold: usize,
    pub quarantine: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            period: Duration::from_secs(20),
            terminated_threshold: 12500,
            quarantine: Duration::from_secs(40),
        }
    }
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn terminated(p: &Pod) -> bool {
    matches!(phase(p), "Succeeded" | "Failed")
}

/// The oldest terminated pods beyond `threshold`.
pub fn excess_terminated(pods: &[Arc<Pod>], threshold: usize) -> Vec<Arc<Pod>> {
    if threshold == 0 {
        return Vec::new();
    }
    let mut done: Vec<Arc<Pod>> = pods.iter().filter(|p| terminated(p)).cloned().collect();
    if done.len() <= threshold {
        return Vec::new();
    }
    done.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let n = done.len() - threshold;
    done.truncate(n);
    done
}

pub async fn run(factory: Factory) {
    run_with(factory, Config::default()).await
}

pub async fn run_with(factory: Factory, config: Config) {
    let pods = factory.informer::<Pod>();
    let nodes = factory.informer::<Node>();
    pods.wait_synced().await;
    nodes.wait_synced().await;
    let client = factory.client();
    // Node name → when it was first seen missing.
    let mut quarantine: HashMap<String, Instant> = HashMap::new();
    loop {
        let all = pods.list();
        for p in excess_terminated(&all, config.terminated_threshold) {
            log(delete(&client, &p, None).await);
        }
        let mut missing: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for p in &all {
            let node = p
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .unwrap_or("");
            if node.is_empty() {
                if p.metadata.deletion_timestamp.is_some() {
                    log(delete(&client, p, Some(0)).await);
                }
            } else if nodes.get(&ObjectKey::cluster(node)).is_none() {
                missing.entry(node.to_string()).or_default().push(p.clone());
            }
        }
        quarantine.retain(|n, _| missing.contains_key(n));
        let nodes_api: Api<Node> = Api::all(client.clone());
        for (node, orphans) in missing {
            let since = *quarantine.entry(node.clone()).or_insert_with(Instant::now);
            if since.elapsed() < config.quarantine {
                continue;
            }
            // Confirm with the API: the cache may lag behind a new node.
            match nodes_api.get_opt(&node).await {
                Ok(None) => {}
                Ok(Some(_)) => continue,
                Err(e) => {
                    tracing::debug!("podgc: node {node}: {e}");
                    continue;
                }
            }
            for p in orphans {
                log(orphan(&client, &p).await);
            }
        }
        tokio::time::sleep(config.period).await;
    }
}

fn log(r: Result<(), Error>) {
    if let Err(e) = r {
        tracing::debug!("podgc: {e}");
    }
}

async fn delete(client: &kube::Client, pod: &Pod, grace: Option<u32>) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let dp = DeleteParams {
        grace_period_seconds: grace,
        preconditions: Some(kube::api::Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(&pod.name_any(), &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Mark an orphaned pod failed with the DisruptionTarget condition, then
/// force-delete it.
async fn orphan(client: &kube::Client, pod: &Pod) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let mut status = serde_json::json!({
        "conditions": [{
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "DeletionByPodGC",
            "message": "PodGC: node no longer exists",
            "lastTransitionTime": jiff::Timestamp::now().to_string(),
        }]
    });
    if !terminated(pod) {
        status["phase"] = "Failed".into();
    }
    let patch = serde_json::json!({ "status": status });
    match api
        .patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Strategic(patch),
        )
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    delete(client, pod, Some(0)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(name: &str, phase: &str, age_s: i64) -> Arc<Pod> {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p.metadata.creation_timestamp = Some(Time(
            jiff::Timestamp::from_second(1_700_000_000 - age_s).unwrap(),
        ));
        p.status = Some(PodStatus {
            phase: Some(phase.into()),
            ..Default::default()
        });
        Arc::new(p)
    }

    #[test]
    fn oldest_terminated_beyond_threshold_go() {
        let pods = vec![
            pod("new", "Succeeded", 1),
            pod("old", "Failed", 100),
            pod("mid", "Succeeded", 50),
            pod("run", "Running", 1000),
        ];
        let names: Vec<String> = excess_terminated(&pods, 1)
            .iter()
            .map(|p| p.name_any())
            .collect();
        assert_eq!(names, ["old", "mid"]);
        assert!(excess_terminated(&pods, 3).is_empty());
        assert!(excess_terminated(&pods, 0).is_empty());
    }
}
