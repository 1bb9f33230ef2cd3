//! The ProbeManager end to end over a local fake CRI (exec) and local TCP
//! listeners, the Unhealthy event against a real in-process API server, and
//! the lifecycle handlers.

use k8s_openapi::api::core::v1::{
    Container, Event, ExecAction, HTTPGetAction, LifecycleHandler, Pod, PodSpec, Probe,
    SleepAction, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubelet::cri::DynCri;
use kubelet::probes::{ProbeManager, RunningContainer, run_handler};
use probes_support::FakeCri;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;

mod probes_support;

fn exec_probe(cmd: &str, failure: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(vec![cmd.into()]),
        }),
        period_seconds: Some(1),
        failure_threshold: Some(failure),
        ..Default::default()
    }
}

fn tcp_probe(port: u16) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(port.into()),
            host: None,
        }),
        period_seconds: Some(1),
        failure_threshold: Some(2),
        ..Default::default()
    }
}

fn pod(ns: &str, containers: Vec<Container>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("p".into()),
            namespace: Some(ns.into()),
            uid: Some("u1".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn running(names: &[(&str, &str)]) -> Vec<RunningContainer> {
    names
        .iter()
        .map(|(n, id)| RunningContainer {
            name: n.to_string(),
            container_id: id.to_string(),
            started_at: jiff::Timestamp::now(),
        })
        .collect()
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..120 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn manager_reports_readiness_liveness_and_startup() {
    let fake = Arc::new(FakeCri::default());
    fake.healthy.store(true, Ordering::SeqCst);
    let cri: DynCri = fake.clone();
    let (pm, mut changes) = ProbeManager::new(cri);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = Arc::new(pod(
        "default",
        vec![
            Container {
                name: "app".into(),
                readiness_probe: Some(exec_probe("check", 1)),
                liveness_probe: Some(tcp_probe(port)),
                ..Default::default()
            },
            Container {
                name: "plain".into(),
                ..Default::default()
            },
            Container {
                name: "boot".into(),
                startup_probe: Some(exec_probe("false", 2)),
                readiness_probe: Some(exec_probe("true", 1)),
                ..Default::default()
            },
        ],
    ));
    let all = [("app", "a1"), ("plain", "p1"), ("boot", "b1")];
    pm.sync_pod(&p, Some("127.0.0.1"), &running(&all));
    assert_eq!(pm.readiness("u1", "plain"), Some(true));
    assert_eq!(pm.started("u1", "plain"), Some(true));
    assert_eq!(pm.readiness("u1", "app"), None);
    assert_eq!(pm.readiness("nope", "app"), None);

    eventually("app ready", || pm.readiness("u1", "app") == Some(true)).await;
    eventually("app live", || pm.liveness("u1", "app") == Some(true)).await;
    assert_eq!(changes.recv().await.as_deref(), Some("u1"));
    eventually("boot failed startup", || {
        pm.should_restart("u1", "boot").as_deref() == Some("Container boot failed startup probe")
    })
    .await;
    assert_eq!(pm.started("u1", "boot"), Some(false));
    // Readiness waits for startup.
    assert_eq!(pm.readiness("u1", "boot"), None);

    fake.healthy.store(false, Ordering::SeqCst);
    eventually("app unready", || pm.readiness("u1", "app") == Some(false)).await;
    drop(listener);
    eventually("app dead", || pm.liveness("u1", "app") == Some(false)).await;
    assert_eq!(
        pm.should_restart("u1", "app").as_deref(),
        Some("Container app failed liveness probe")
    );

    // A new instance starts over; a stopped one is not ready.
    pm.sync_pod(
        &p,
        Some("127.0.0.1"),
        &running(&[("app", "a2"), ("plain", "p1")]),
    );
    assert_eq!(pm.liveness("u1", "app"), None);
    assert_eq!(pm.should_restart("u1", "app"), None);
    assert_eq!(pm.readiness("u1", "boot"), Some(false));
    pm.remove_pod("u1");
    assert_eq!(pm.readiness("u1", "app"), None);
}

#[tokio::test]
async fn failed_probes_record_unhealthy_events() {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let cri: DynCri = Arc::new(FakeCri::default());
    let (pm, _changes) = ProbeManager::new(cri);
    let pm = pm.with_recorder(informer::Recorder::new(client.clone(), "kubelet"));
    let p = Arc::new(pod(
        "test",
        vec![Container {
            name: "app".into(),
            liveness_probe: Some(exec_probe("false", 1)),
            ..Default::default()
        }],
    ));
    pm.sync_pod(&p, Some("127.0.0.1"), &running(&[("app", "a1")]));
    eventually("liveness failure", || {
        pm.liveness("u1", "app") == Some(false)
    })
    .await;
    let events: kube::Api<Event> = kube::Api::namespaced(client, "test");
    let mut found = None;
    for _ in 0..50 {
        let list = events.list(&Default::default()).await.unwrap();
        found = list
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("Unhealthy"));
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let e = found.expect("an Unhealthy event");
    assert_eq!(e.message.as_deref(), Some("Liveness probe failed: outerr"));
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(
        e.involved_object.field_path.as_deref(),
        Some("spec.containers{app}")
    );
}

#[tokio::test]
async fn lifecycle_handlers_run_and_report_upstream_messages() {
    let cri: DynCri = Arc::new(FakeCri::default());
    let exec = |cmd: &str| LifecycleHandler {
        exec: Some(ExecAction {
            command: Some(vec![cmd.into()]),
        }),
        ..Default::default()
    };
    let mut p = pod("default", vec![]);
    p.spec.as_mut().unwrap().containers.push(Container {
        name: "app".into(),
        lifecycle: Some(k8s_openapi::api::core::v1::Lifecycle {
            pre_stop: Some(exec("false")),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(
        run_handler(&cri, &p, None, "a1", &exec("true")).await,
        Ok(())
    );
    assert_eq!(
        run_handler(&cri, &p, None, "a1", &exec("false"))
            .await
            .unwrap_err(),
        "Exec lifecycle hook ([false]) for Container \"app\" in Pod \"p_default(u1)\" failed - error: command 'false' exited with 1: err, message: \"outerr\""
    );

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let http = LifecycleHandler {
        http_get: Some(HTTPGetAction {
            path: Some("/hook".into()),
            port: IntOrString::Int(port.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = run_handler(&cri, &p, Some("127.0.0.1"), "a1", &http)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("HTTP lifecycle hook (/hook) for Container \"\" in Pod \"p_default(u1)\" failed - error: Get \"http://127.0.0.1:"),
        "{err}"
    );

    let sleep = LifecycleHandler {
        sleep: Some(SleepAction { seconds: 1 }),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    assert_eq!(run_handler(&cri, &p, None, "a1", &sleep).await, Ok(()));
    assert!(t.elapsed() >= Duration::from_secs(1));

    let tcp = LifecycleHandler {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(80),
            host: None,
        }),
        ..Default::default()
    };
    let err = run_handler(&cri, &p, None, "a1", &tcp).await.unwrap_err();
    assert!(
        err.starts_with("Cannot run handler: invalid handler"),
        "{err}"
    );
}

#[tokio::test]
async fn exec_probe_outcomes() {
    use kubelet::probes::{Outcome, exec};
    let cri: DynCri = Arc::new(FakeCri::default());
    let t = Duration::from_secs(1);
    let run = |c: &str| vec![c.to_string()];
    assert_eq!(
        exec::probe(&cri, "a1", &run("true"), t).await.unwrap(),
        Outcome::Success("outerr".into())
    );
    assert_eq!(
        exec::probe(&cri, "a1", &run("false"), t).await.unwrap(),
        Outcome::Failure("outerr".into())
    );
    assert_eq!(
        exec::probe(&cri, "a1", &run("timeout"), t).await.unwrap(),
        Outcome::Failure("command \"timeout\" timed out".into())
    );
    assert!(exec::probe(&cri, "a1", &run("missing"), t).await.is_err());
}
