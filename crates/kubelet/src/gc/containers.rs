//! Container garbage collection (upstream's kuberuntime_gc): dead
//! containers of pods this node no longer knows are removed, only the newest
//! dead instance of each container of a live pod is kept, and sandboxes of
//! gone pods that are not ready and hold no container are removed.

use crate::cri::{DynCri, api, labels};
use std::collections::{HashMap, HashSet};

/// What one pass decided to remove.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub containers: Vec<String>,
    pub sandboxes: Vec<String>,
}

/// Decide what to remove given the runtime's containers and sandboxes and
/// the UIDs of the pods that still exist.
pub fn plan(
    containers: &[api::Container],
    sandboxes: &[api::PodSandbox],
    live: &HashSet<String>,
) -> Plan {
    let running = api::ContainerState::ContainerRunning as i32;
    let mut plan = Plan::default();
    // (pod uid, container name) → dead instances.
    let mut dead: HashMap<(String, String), Vec<&api::Container>> = HashMap::new();
    for c in containers.iter().filter(|c| c.state != running) {
        let uid = c.labels.get(labels::POD_UID).cloned().unwrap_or_default();
        let name = c
            .labels
            .get(labels::CONTAINER_NAME)
            .cloned()
            .or_else(|| c.metadata.as_ref().map(|m| m.name.clone()))
            .unwrap_or_default();
        dead.entry((uid, name)).or_default().push(c);
    }
    for ((uid, _), mut list) in dead {
        list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        let keep = usize::from(live.contains(&uid));
        plan.containers
            .extend(list.into_iter().skip(keep).map(|c| c.id.clone()));
    }
    let removed: HashSet<&str> = plan.containers.iter().map(String::as_str).collect();
    let mut holding: HashSet<&str> = HashSet::new();
    for c in containers
        .iter()
        .filter(|c| !removed.contains(c.id.as_str()))
    {
        holding.insert(c.pod_sandbox_id.as_str());
    }
    let ready = api::PodSandboxState::SandboxReady as i32;
    for s in sandboxes {
        let uid = s.labels.get(labels::POD_UID).cloned().unwrap_or_default();
        if !live.contains(&uid) && s.state != ready && !holding.contains(s.id.as_str()) {
            plan.sandboxes.push(s.id.clone());
        }
    }
    plan.containers.sort();
    plan.sandboxes.sort();
    plan
}

/// One pass against the runtime; `live` are the UIDs of pods that exist.
pub async fn collect(cri: &DynCri, live: &HashSet<String>) -> Result<Plan, crate::cri::CriError> {
    let containers = cri.list_containers(None).await?;
    let sandboxes = cri.list_pod_sandbox(None).await?;
    let plan = plan(&containers, &sandboxes, live);
    for id in &plan.containers {
        if let Err(e) = cri.remove_container(id).await
            && !e.is_not_found()
        {
            tracing::warn!(container = %id, "gc: removing container: {e}");
        }
    }
    for id in &plan.sandboxes {
        if let Err(e) = cri.remove_pod_sandbox(id).await
            && !e.is_not_found()
        {
            tracing::warn!(sandbox = %id, "gc: removing sandbox: {e}");
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, uid: &str, name: &str, state: api::ContainerState, at: i64) -> api::Container {
        api::Container {
            id: id.into(),
            pod_sandbox_id: format!("sb-{uid}"),
            state: state as i32,
            created_at: at,
            labels: [
                (labels::POD_UID.to_string(), uid.to_string()),
                (labels::CONTAINER_NAME.to_string(), name.to_string()),
            ]
            .into(),
            ..Default::default()
        }
    }

    fn sb(uid: &str, state: api::PodSandboxState) -> api::PodSandbox {
        api::PodSandbox {
            id: format!("sb-{uid}"),
            state: state as i32,
            labels: [(labels::POD_UID.to_string(), uid.to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn orphans_go_and_live_pods_keep_their_newest_dead() {
        use api::ContainerState::{ContainerExited as X, ContainerRunning as R};
        let cs = vec![
            c("a1", "live", "app", X, 1),
            c("a2", "live", "app", X, 2),
            c("a3", "live", "app", R, 3),
            c("b1", "live", "side", X, 1),
            c("o1", "gone", "app", X, 1),
            c("o2", "gone", "app", X, 2),
            c("r1", "running-orphan", "app", R, 1),
        ];
        let sbs = vec![
            sb("live", api::PodSandboxState::SandboxNotready),
            sb("gone", api::PodSandboxState::SandboxNotready),
            sb("ready-orphan", api::PodSandboxState::SandboxReady),
            sb("running-orphan", api::PodSandboxState::SandboxNotready),
        ];
        let live: HashSet<String> = ["live".to_string()].into();
        let p = plan(&cs, &sbs, &live);
        assert_eq!(p.containers, vec!["a1", "o1", "o2"]);
        // The live pod's, the ready one and the one still holding a container stay.
        assert_eq!(p.sandboxes, vec!["sb-gone"]);
    }
}
