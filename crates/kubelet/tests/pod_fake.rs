//! The pod lifecycle end to end against a real in-process API server and the
//! fake runtime: a pod becomes Running and Ready, a crashing container goes
//! into CrashLoopBackOff with growing back-off, Never pods end Failed or
//! Succeeded, init containers run in order, a deletion stops the containers,
//! removes the sandbox and is confirmed to the API, and a restarted agent
//! adopts running containers and removes orphans.

use k8s_openapi::api::core::v1::{
    Container, ExecAction, Lifecycle, LifecycleHandler, Pod, PodSpec, PodStatus,
};
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use kubelet::KubeletConfig;
use kubelet::cri::fake::FakeCri;
use std::sync::Arc;
use std::time::Duration;

fn tls() -> Arc<rustls::ServerConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], der)
            .unwrap(),
    )
}

struct Agent {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Agent {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

fn start_agent(client: Client, cri: Arc<FakeCri>, node: &str) -> Agent {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = KubeletConfig::new(node, dir.path(), "127.0.0.1".parse().unwrap());
    cfg.port = 0;
    // A cgroup root of our own, so cleanup never touches real pods' cgroups.
    cfg.cgroup_root = format!("/rkube-test-{}", std::process::id());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let r = kubelet::agent::run(cfg, client, cri, tls(), async move {
            let _ = rx.await;
        })
        .await;
        if let Err(e) = r {
            eprintln!("agent: {e}");
        }
    });
    Agent {
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

fn pod(name: &str, node: &str, policy: &str, containers: Vec<Container>) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = Some(name.into());
    p.spec = Some(PodSpec {
        node_name: Some(node.into()),
        restart_policy: Some(policy.into()),
        containers,
        ..Default::default()
    });
    p
}

fn container(name: &str) -> Container {
    Container {
        name: name.into(),
        image: Some("busybox:1".into()),
        ..Default::default()
    }
}

async fn wait_for(
    api: &Api<Pod>,
    name: &str,
    secs: u64,
    what: &str,
    f: impl Fn(&PodStatus) -> bool,
) -> Pod {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let p = api.get(name).await.unwrap();
        if p.status.as_ref().is_some_and(&f) {
            return p;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{name}: {what} not reached; status: {:#?}", p.status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn cond(s: &PodStatus, t: &str) -> Option<String> {
    s.conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| c.status.clone())
}

fn waiting(s: &PodStatus) -> Option<(String, String)> {
    let w = s
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .clone()?;
    Some((w.reason.unwrap_or_default(), w.message.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_runs_crashloops_finishes_and_deletes() {
    let ts = testkit::TestServer::start().await;
    ts.add_pod_prerequisites("default").await;
    let client = ts.client().await;
    let cri = FakeCri::new();
    let agent = start_agent(client.clone(), cri.clone(), "n1");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    // Running and Ready.
    pods.create(
        &PostParams::default(),
        &pod("web", "n1", "Always", vec![container("app")]),
    )
    .await
    .unwrap();
    let p = wait_for(&pods, "web", 15, "Running+Ready", |s| {
        s.phase.as_deref() == Some("Running") && cond(s, "Ready").as_deref() == Some("True")
    })
    .await;
    let uid = p.metadata.uid.clone().unwrap();
    let st = p.status.unwrap();
    assert!(st.pod_ip.is_some());
    assert_eq!(st.host_ip.as_deref(), Some("127.0.0.1"));
    let cs = &st.container_statuses.unwrap()[0];
    assert!(cs.ready);
    assert!(
        cs.container_id
            .as_deref()
            .unwrap()
            .starts_with("containerd://")
    );
    let sb = cri.sandbox_config("web").unwrap();
    assert!(sb.log_directory.ends_with(&format!("default_web_{uid}")));

    // A crashing container: CrashLoopBackOff, back-off growing 10s → 20s.
    cri.set_exit("boom", 1);
    pods.create(
        &PostParams::default(),
        &pod("crash", "n1", "Always", vec![container("boom")]),
    )
    .await
    .unwrap();
    let p = wait_for(&pods, "crash", 15, "CrashLoopBackOff 10s", |s| {
        waiting(s).is_some_and(|(r, m)| r == "CrashLoopBackOff" && m.starts_with("back-off 10s"))
    })
    .await;
    let uid = p.metadata.uid.clone().unwrap();
    let (_, msg) = waiting(p.status.as_ref().unwrap()).unwrap();
    assert_eq!(
        msg,
        format!("back-off 10s restarting failed container=boom pod=crash_default({uid})")
    );
    let cs = &p
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    assert_eq!(cs.restart_count, 1);
    let last = cs.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(last.exit_code, 1);
    assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Running"));
    let p = wait_for(&pods, "crash", 25, "CrashLoopBackOff 20s", |s| {
        waiting(s).is_some_and(|(_, m)| m.starts_with("back-off 20s"))
    })
    .await;
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(cs.restart_count, 2);

    // Never: Failed with the exit code, Succeeded on 0.
    cri.set_exit("fails", 3);
    cri.set_exit("works", 0);
    pods.create(
        &PostParams::default(),
        &pod("once-bad", "n1", "Never", vec![container("fails")]),
    )
    .await
    .unwrap();
    pods.create(
        &PostParams::default(),
        &pod("once-ok", "n1", "Never", vec![container("works")]),
    )
    .await
    .unwrap();
    let p = wait_for(&pods, "once-bad", 15, "Failed", |s| {
        s.phase.as_deref() == Some("Failed")
    })
    .await;
    let t = p.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(t.exit_code, 3);
    assert_eq!(t.reason.as_deref(), Some("Error"));
    wait_for(&pods, "once-ok", 15, "Succeeded", |s| {
        s.phase.as_deref() == Some("Succeeded")
    })
    .await;
    let starts = cri
        .calls()
        .iter()
        .filter(|c| *c == "StartContainer fails")
        .count();
    assert_eq!(starts, 1, "a Never container runs once");

    // Graceful deletion: preStop, stop the container, then the sandbox; the
    // kubelet confirms the deletion.
    let mut g = container("grace");
    g.lifecycle = Some(Lifecycle {
        pre_stop: Some(LifecycleHandler {
            exec: Some(ExecAction {
                command: Some(vec!["/bin/true".into()]),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    pods.create(&PostParams::default(), &pod("bye", "n1", "Always", vec![g]))
        .await
        .unwrap();
    wait_for(&pods, "bye", 15, "Running", |s| {
        s.phase.as_deref() == Some("Running")
    })
    .await;
    pods.delete("bye", &DeleteParams::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while pods.get_opt("bye").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "deletion not confirmed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = cri.calls();
    let pos = |s: &str| calls.iter().position(|c| c.starts_with(s));
    let stop = pos("StopContainer grace").expect("container stopped");
    let sb_stop = pos("StopPodSandbox bye").expect("sandbox stopped");
    let sb_rm = pos("RemovePodSandbox bye").expect("sandbox removed");
    assert!(stop < sb_stop && sb_stop < sb_rm, "{calls:?}");
    if let Some(hook) = pos("ExecSync grace") {
        assert!(hook < stop, "preStop runs before the stop: {calls:?}");
    }
    // The grace period (30 s by default) bounds the stop.
    let secs: i64 = calls[stop].rsplit(' ').next().unwrap().parse().unwrap();
    assert!((2..=30).contains(&secs), "{}", calls[stop]);

    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_containers_run_before_regular_ones() {
    let ts = testkit::TestServer::start().await;
    ts.add_pod_prerequisites("default").await;
    let client = ts.client().await;
    let cri = FakeCri::new();
    cri.set_exit("init1", 0);
    cri.set_exit("init2", 0);
    let agent = start_agent(client.clone(), cri.clone(), "n2");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut p = pod("inits", "n2", "Always", vec![container("main")]);
    p.spec.as_mut().unwrap().init_containers = Some(vec![container("init1"), container("init2")]);
    pods.create(&PostParams::default(), &p).await.unwrap();
    let p = wait_for(&pods, "inits", 15, "Running", |s| {
        s.phase.as_deref() == Some("Running") && cond(s, "Initialized").as_deref() == Some("True")
    })
    .await;
    let calls = cri.calls();
    let starts: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("StartContainer"))
        .collect();
    assert_eq!(
        starts,
        vec![
            "StartContainer init1",
            "StartContainer init2",
            "StartContainer main"
        ]
    );
    let inits = p.status.unwrap().init_container_statuses.unwrap();
    assert!(inits.iter().all(|s| s.ready));
    let t = inits[0]
        .state
        .as_ref()
        .unwrap()
        .terminated
        .as_ref()
        .unwrap();
    assert_eq!(t.reason.as_deref(), Some("Completed"));
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_agent_adopts_running_containers_and_removes_orphans() {
    let ts = testkit::TestServer::start().await;
    ts.add_pod_prerequisites("default").await;
    let client = ts.client().await;
    let cri = FakeCri::new();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let agent = start_agent(client.clone(), cri.clone(), "n3");
    pods.create(
        &PostParams::default(),
        &pod("keep", "n3", "Always", vec![container("k")]),
    )
    .await
    .unwrap();
    pods.create(
        &PostParams::default(),
        &pod("gone", "n3", "Always", vec![container("g")]),
    )
    .await
    .unwrap();
    wait_for(&pods, "keep", 15, "Running", |s| {
        s.phase.as_deref() == Some("Running")
    })
    .await;
    wait_for(&pods, "gone", 15, "Running", |s| {
        s.phase.as_deref() == Some("Running")
    })
    .await;
    agent.stop().await;

    // While the agent is down, "gone" is force-deleted.
    pods.delete(
        "gone",
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let before = cri.calls().len();
    let agent = start_agent(client.clone(), cri.clone(), "n3");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let calls = cri.calls();
        if calls[before..].iter().any(|c| c == "RemovePodSandbox gone") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "orphan not removed: {calls:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = cri.calls();
    let touched: Vec<&String> = calls[before..]
        .iter()
        .filter(|c| c.ends_with(" k") || c.contains("keep"))
        .collect();
    assert!(
        touched.is_empty(),
        "the adopted pod was touched: {touched:?}"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sandbox_creation_backs_off_then_recovers() {
    let ts = testkit::TestServer::start().await;
    ts.add_pod_prerequisites("default").await;
    let client = ts.client().await;
    let cri = FakeCri::new();
    cri.set_sandbox_error("netfail", Some("failed to setup network for sandbox"));
    let agent = start_agent(client.clone(), cri.clone(), "n4");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(
        &PostParams::default(),
        &pod("netfail", "n4", "Always", vec![container("main")]),
    )
    .await
    .unwrap();
    // The relist wakes the pod every second; the sandbox back-off (10 s
    // first) keeps it from retrying at that pace.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let tries = |calls: &[String]| {
        calls
            .iter()
            .filter(|c| c.as_str() == "RunPodSandbox default/netfail failed")
            .count()
    };
    assert_eq!(tries(&cri.calls()), 1, "{:?}", cri.calls());
    cri.set_sandbox_error("netfail", None);
    wait_for(&pods, "netfail", 20, "Running after the back-off", |s| {
        s.phase.as_deref() == Some("Running")
    })
    .await;
    agent.stop().await;
}
