//! Taint-based eviction (upstream's taint eviction controller) and marking
//! pods NotReady on a NotReady node (upstream's `MarkPodsNotReady`): one
//! reconcile per pod, driven by node and pod changes and by its own
//! requeue at the moment a toleration runs out.

use super::health::{no_execute_taints, ready_status};
use super::{Ctx, Error};
use informer::{EventType, ObjectKey};
use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use std::time::Duration;

/// Whether `tol` tolerates `taint` (upstream's `ToleratesTaint`).
pub fn tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if let Some(e) = tol.effect.as_deref()
        && !e.is_empty()
        && e != taint.effect
    {
        return false;
    }
    let key = tol.key.as_deref().unwrap_or_default();
    match tol.operator.as_deref().unwrap_or("Equal") {
        "Exists" => key.is_empty() || key == taint.key,
        "Equal" | "" => {
            key == taint.key
                && tol.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    }
}

/// What to do with a pod on a node with these NoExecute taints.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every taint is tolerated forever (or there are none).
    Keep,
    /// Some taint is not tolerated at all.
    EvictNow,
    /// Tolerated for this long from when the taints were added.
    EvictAfter(Duration),
}

/// Upstream's rule: any untolerated taint evicts at once; otherwise the
/// shortest `tolerationSeconds` among the tolerations used decides.
pub fn verdict(tolerations: &[Toleration], taints: &[&Taint]) -> Verdict {
    if taints.is_empty() {
        return Verdict::Keep;
    }
    let mut min: Option<i64> = None;
    for taint in taints {
        let used: Vec<&Toleration> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if used.is_empty() {
            return Verdict::EvictNow;
        }
        for t in used {
            if let Some(s) = t.toleration_seconds {
                min = Some(min.map_or(s, |m| m.min(s)));
            }
        }
    }
    match min {
        None => Verdict::Keep,
        Some(s) => Verdict::EvictAfter(Duration::from_secs(s.max(0) as u64)),
    }
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

fn terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

/// Whether a pod on `node` may need this reconcile (cheap; handlers call it).
pub fn node_needs_pod_work(node: &Node) -> bool {
    ready_status(node) != "True" || no_execute_taints(node).next().is_some()
}

/// Reconcile one pod: mark it NotReady, evict it, or wait.
pub async fn reconcile_pod(ctx: &Ctx, key: ObjectKey) -> Result<Option<Duration>, Error> {
    let Some(pod) = ctx.pods.get(&key) else {
        ctx.first_seen.lock().expect("lock").remove(&key);
        return Ok(None);
    };
    let Some(node_name) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
        return Ok(None);
    };
    let Some(node) = ctx.nodes.get_named(None, node_name) else {
        return Ok(None);
    };
    if pod.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &key.namespace);
    let now = jiff::Timestamp::now();

    if ready_status(&node) != "True" && pod_ready(&pod) && !terminal(&pod) {
        let patch = serde_json::json!({"status": {"conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": now.to_string()}
        ]}});
        api.patch_status(
            &key.name,
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await?;
        ctx.recorder.event(
            pod.as_ref(),
            EventType::Warning,
            "NodeNotReady",
            "Node is not ready",
        );
    }

    let taints: Vec<&Taint> = no_execute_taints(&node).collect();
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let wait = match verdict(tolerations, &taints) {
        Verdict::Keep => {
            ctx.first_seen.lock().expect("lock").remove(&key);
            return Ok(None);
        }
        Verdict::EvictNow => Duration::ZERO,
        Verdict::EvictAfter(d) => {
            // Count from when the newest taint was added; a taint without
            // `timeAdded` counts from when this controller first saw it.
            let added = taints
                .iter()
                .filter_map(|t| t.time_added.as_ref())
                .map(|t| t.0)
                .max();
            let start = match added {
                Some(t) => t,
                None => *ctx
                    .first_seen
                    .lock()
                    .expect("lock")
                    .entry(key.clone())
                    .or_insert(now),
            };
            let elapsed = now.duration_since(start);
            let elapsed = Duration::try_from(elapsed).unwrap_or(Duration::ZERO);
            d.saturating_sub(elapsed)
        }
    };
    if !wait.is_zero() {
        return Ok(Some(wait));
    }
    evict(ctx, &api, &pod).await?;
    ctx.first_seen.lock().expect("lock").remove(&key);
    Ok(None)
}

async fn evict(ctx: &Ctx, api: &Api<Pod>, pod: &Pod) -> Result<(), Error> {
    let name = pod.name_any();
    ctx.recorder.event(
        pod,
        EventType::Normal,
        "TaintManagerEviction",
        format!(
            "Marking for deletion Pod {}/{}",
            pod.namespace().unwrap_or_default(),
            name
        ),
    );
    if !terminal(pod) {
        let patch = serde_json::json!({"status": {"conditions": [{
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint",
            "lastTransitionTime": jiff::Timestamp::now().to_string(),
        }]}});
        match api
            .patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tol(key: &str, op: &str, effect: &str, secs: Option<i64>) -> Toleration {
        Toleration {
            key: (!key.is_empty()).then(|| key.into()),
            operator: Some(op.into()),
            effect: (!effect.is_empty()).then(|| effect.into()),
            toleration_seconds: secs,
            value: None,
        }
    }

    fn taint(key: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: "NoExecute".into(),
            ..Default::default()
        }
    }

    #[test]
    fn untolerated_taint_evicts_now() {
        let t = taint("node.kubernetes.io/unreachable");
        let tols = [tol(
            "node.kubernetes.io/not-ready",
            "Exists",
            "NoExecute",
            Some(300),
        )];
        assert_eq!(verdict(&tols, &[&t]), Verdict::EvictNow);
    }

    #[test]
    fn shortest_toleration_wins() {
        let t = taint("node.kubernetes.io/unreachable");
        let tols = [
            tol(
                "node.kubernetes.io/unreachable",
                "Exists",
                "NoExecute",
                Some(300),
            ),
            tol("", "Exists", "", Some(30)),
        ];
        assert_eq!(
            verdict(&tols, &[&t]),
            Verdict::EvictAfter(Duration::from_secs(30))
        );
    }

    #[test]
    fn forever_toleration_keeps() {
        let t = taint("node.kubernetes.io/unreachable");
        let tols = [tol("", "Exists", "", None)];
        assert_eq!(verdict(&tols, &[&t]), Verdict::Keep);
        assert_eq!(verdict(&[], &[]), Verdict::Keep);
    }

    #[test]
    fn equal_operator_compares_values() {
        let mut t = taint("k");
        t.value = Some("v".into());
        let mut good = tol("k", "Equal", "NoExecute", None);
        good.value = Some("v".into());
        let mut bad = good.clone();
        bad.value = Some("w".into());
        assert!(tolerates(&good, &t));
        assert!(!tolerates(&bad, &t));
        assert!(!tolerates(&tol("k", "Exists", "NoSchedule", None), &t));
    }
}
