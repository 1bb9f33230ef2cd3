//! Simulated nodes against a real in-process API server: registration with
//! Ready status, Lease renewal and heartbeats, the life of pods bound to the
//! nodes (Running, Succeeded, Failed, graceful deletion), and stopping.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;
use simnodes::SimConfig;
use std::time::Duration;
use testkit::TestServer;

/// Poll `f` until it returns `Some`, or panic naming `what`.
async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fast(count: usize) -> SimConfig {
    SimConfig {
        count,
        lease_interval: Duration::from_millis(300),
        job_run_time: Duration::from_millis(200),
        ..SimConfig::default()
    }
}

async fn start(ts: &TestServer, cfg: SimConfig) -> (kube::Client, simnodes::SimHandle) {
    let client = ts.client().await;
    let factory = informer::Factory::new(client.clone());
    let handle = simnodes::start(factory, cfg).await.expect("sim starts");
    (client, handle)
}

fn pod(name: &str, node: &str, extra: serde_json::Value) -> Pod {
    let mut v = json!({
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "nginx:1.27"}]},
    });
    if let (Some(a), Some(b)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in b {
            if let (Some(ao), Some(bo)) =
                (a.get_mut(k).and_then(|o| o.as_object_mut()), x.as_object())
            {
                ao.extend(bo.clone());
            } else {
                a.insert(k.clone(), x.clone());
            }
        }
    }
    serde_json::from_value(v).expect("pod")
}

fn condition<'a>(p: &'a Pod, t: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    p.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
}

#[tokio::test]
async fn nodes_register_ready_and_leases_renew() {
    let ts = TestServer::start().await;
    let cfg = SimConfig {
        zones: 2,
        status_report_interval: Duration::from_millis(1200),
        ..fast(3)
    };
    let (client, sim) = start(&ts, cfg).await;
    assert_eq!(sim.node_names(), ["sim-node-0", "sim-node-1", "sim-node-2"]);
    let nodes: Api<Node> = Api::all(client.clone());
    let n = nodes.get("sim-node-1").await.expect("node");
    let labels = n.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("kubernetes.io/hostname").map(String::as_str),
        Some("sim-node-1")
    );
    assert_eq!(
        labels
            .get("topology.kubernetes.io/zone")
            .map(String::as_str),
        Some("zone-1")
    );
    assert_eq!(labels.get("type").map(String::as_str), Some("sim"));
    let status = n.status.clone().expect("status");
    let ready = status
        .conditions
        .as_ref()
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .cloned()
        .expect("Ready condition");
    assert_eq!(ready.status, "True");
    assert_eq!(ready.reason.as_deref(), Some("KubeletReady"));
    assert_eq!(
        status
            .allocatable
            .as_ref()
            .and_then(|a| a.get("cpu"))
            .map(|q| q.0.as_str()),
        Some("32")
    );
    assert_eq!(
        status
            .node_info
            .as_ref()
            .map(|i| i.kubelet_version.as_str()),
        Some("v1.33.0")
    );
    assert_eq!(
        n.spec.as_ref().and_then(|s| s.pod_cidr.as_deref()),
        Some("10.0.1.0/24")
    );

    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let first = leases.get("sim-node-1").await.expect("lease");
    let spec = first.spec.clone().expect("lease spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("sim-node-1"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    let t0 = spec.renew_time.expect("renewTime").0;
    eventually("the lease to be renewed", || async {
        let l = leases.get("sim-node-1").await.ok()?;
        let t = l.spec?.renew_time?.0;
        (t > t0).then_some(())
    })
    .await;

    // The status heartbeat moves lastHeartbeatTime, not lastTransitionTime.
    let hb0 = ready.last_heartbeat_time.expect("heartbeat").0;
    let later = eventually("a node status heartbeat", || async {
        let n = nodes.get("sim-node-1").await.ok()?;
        let r = n
            .status?
            .conditions?
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        (r.last_heartbeat_time.as_ref()?.0 > hb0).then_some(r)
    })
    .await;
    assert_eq!(later.status, "True");
    assert_eq!(later.last_transition_time, ready.last_transition_time);
    sim.stop().await;
}

#[tokio::test]
async fn bound_pod_runs_and_becomes_ready() {
    let ts = TestServer::start().await;
    let (client, sim) = start(&ts, fast(2)).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    pods.create(&PostParams::default(), &pod("web", "sim-node-1", json!({})))
        .await
        .expect("create pod");
    // A pod bound to a node that is not ours is left alone.
    pods.create(
        &PostParams::default(),
        &pod("elsewhere", "real-node", json!({})),
    )
    .await
    .expect("create pod");
    let p = eventually("the pod to run", || async {
        let p = pods.get("web").await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await;
    let st = p.status.clone().expect("status");
    assert!(
        st.pod_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.0.1.")),
        "{:?}",
        st.pod_ip
    );
    assert_eq!(st.host_ip.as_deref(), Some("172.16.0.2"));
    assert!(st.start_time.is_some());
    for t in [
        "PodReadyToStartContainers",
        "Initialized",
        "ContainersReady",
        "Ready",
        "PodScheduled",
    ] {
        assert_eq!(
            condition(&p, t).map(|c| c.status.as_str()),
            Some("True"),
            "{t}"
        );
    }
    let cs = &st.container_statuses.expect("container statuses")[0];
    assert!(cs.ready);
    assert_eq!(cs.started, Some(true));
    assert!(cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
    assert!(
        cs.container_id
            .as_deref()
            .is_some_and(|id| id.starts_with("sim://"))
    );

    tokio::time::sleep(Duration::from_millis(500)).await;
    let other = pods.get("elsewhere").await.expect("pod");
    assert_ne!(
        other.status.and_then(|s| s.phase).as_deref(),
        Some("Running")
    );
    sim.stop().await;
}

#[tokio::test]
async fn run_to_completion_pods_succeed_or_fail() {
    let ts = TestServer::start().await;
    let (client, sim) = start(&ts, fast(1)).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    pods.create(
        &PostParams::default(),
        &pod(
            "job-ok",
            "sim-node-0",
            json!({"spec": {"restartPolicy": "Never"}}),
        ),
    )
    .await
    .expect("create");
    pods.create(
        &PostParams::default(),
        &pod(
            "job-bad",
            "sim-node-0",
            json!({"metadata": {"annotations": {"sim.rkube.io/exit-code": "2"}},
                   "spec": {"restartPolicy": "Never"}}),
        ),
    )
    .await
    .expect("create");
    for (name, phase, reason, code) in [
        ("job-ok", "Succeeded", "Completed", 0),
        ("job-bad", "Failed", "Error", 2),
    ] {
        let p = eventually(&format!("{name} to finish"), || async {
            let p = pods.get(name).await.ok()?;
            matches!(
                p.status.as_ref()?.phase.as_deref(),
                Some("Succeeded" | "Failed")
            )
            .then_some(p)
        })
        .await;
        let st = p.status.clone().expect("status");
        assert_eq!(st.phase.as_deref(), Some(phase), "{name}");
        let term = st.container_statuses.expect("statuses")[0]
            .state
            .clone()
            .and_then(|s| s.terminated)
            .expect("terminated");
        assert_eq!(term.reason.as_deref(), Some(reason));
        assert_eq!(term.exit_code, code);
        assert_eq!(
            condition(&p, "Ready").map(|c| c.status.as_str()),
            Some("False")
        );
    }
    sim.stop().await;
}

#[tokio::test]
async fn deleted_pod_disappears() {
    let ts = TestServer::start().await;
    let (client, sim) = start(&ts, fast(1)).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "test");
    pods.create(
        &PostParams::default(),
        &pod("doomed", "sim-node-0", json!({})),
    )
    .await
    .expect("create");
    eventually("the pod to run", || async {
        let p = pods.get("doomed").await.ok()?;
        (p.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    // A graceful delete (30 s default) only marks the pod; the node confirms.
    pods.delete("doomed", &DeleteParams::default())
        .await
        .expect("delete");
    eventually("the pod to be gone", || async {
        match pods.get("doomed").await {
            Err(kube::Error::Api(s)) if s.code == 404 => Some(()),
            _ => None,
        }
    })
    .await;
    sim.stop().await;
}

#[tokio::test]
async fn stopped_sim_stops_renewing_leases() {
    let ts = TestServer::start().await;
    let (client, sim) = start(&ts, fast(2)).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let renew_time = |l: Lease| l.spec.and_then(|s| s.renew_time).map(|t| t.0);
    // Renewing while running...
    let t0 = renew_time(leases.get("sim-node-0").await.expect("lease"));
    eventually("a renewal", || async {
        let t = renew_time(leases.get("sim-node-0").await.ok()?);
        (t > t0).then_some(())
    })
    .await;
    sim.stop().await;
    let stopped_at = renew_time(leases.get("sim-node-0").await.expect("lease"));
    // ...and not after: three intervals pass without a renewal.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let later = renew_time(leases.get("sim-node-0").await.expect("lease"));
    assert_eq!(later, stopped_at);
}
