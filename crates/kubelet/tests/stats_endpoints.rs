//! `/stats/summary` and `/metrics/resource` served by the stats routes over
//! the fake runtime: pods and containers grouped from CRI, cumulative CPU
//! and working set passed through, pod totals summed, `usageNanoCores` as
//! the rate between two requests, exited containers left out, and the
//! Prometheus text in upstream's shape.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kubelet::cri::fake::FakeCri;
use kubelet::cri::{Cri, DynCri, api};
use kubelet::server::ServerState;
use kubelet::server::stats::types::Summary;
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

async fn pod(cri: &FakeCri, name: &str, containers: &[&str]) {
    let labels: HashMap<String, String> = [
        ("io.kubernetes.pod.name", name),
        ("io.kubernetes.pod.namespace", "default"),
        ("io.kubernetes.pod.uid", &format!("uid-{name}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let sb = cri
        .run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(api::PodSandboxConfig {
                metadata: Some(api::PodSandboxMetadata {
                    name: name.into(),
                    namespace: "default".into(),
                    uid: format!("uid-{name}"),
                    attempt: 0,
                }),
                labels: labels.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .pod_sandbox_id;
    for c in containers {
        let mut l = labels.clone();
        l.insert("io.kubernetes.container.name".into(), c.to_string());
        let id = cri
            .create_container(api::CreateContainerRequest {
                pod_sandbox_id: sb.clone(),
                config: Some(api::ContainerConfig {
                    metadata: Some(api::ContainerMetadata {
                        name: c.to_string(),
                        attempt: 0,
                    }),
                    labels: l,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .container_id;
        cri.start_container(&id).await.unwrap();
    }
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let r = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let code = r.status();
    let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (code, String::from_utf8(b.to_vec()).unwrap())
}

fn app(cri: Arc<FakeCri>) -> axum::Router {
    let cri: DynCri = cri;
    kubelet::server::stats::routes().with_state(ServerState {
        cri,
        pod_log_dir: std::env::temp_dir(),
        node_name: "node-a".into(),
    })
}

#[tokio::test]
async fn summary_groups_containers_into_pods_with_totals_and_rates() {
    let cri = FakeCri::new();
    pod(&cri, "web", &["app", "sidecar"]).await;
    pod(&cri, "db", &["pg"]).await;
    cri.set_container_stats("app", 2_000_000_000, 10_000_000);
    cri.set_container_stats("sidecar", 1_000_000_000, 5_000_000);
    cri.set_container_stats("pg", 500_000_000, 1_000);
    cri.exit_container("pg", 0);
    let app = app(cri.clone());

    let (code, body) = get(&app, "/stats/summary").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let raw: serde_json::Value = serde_json::from_str(&body).unwrap();
    let s: Summary = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(s.node.node_name, "node-a");
    assert!(
        s.node
            .cpu
            .as_ref()
            .unwrap()
            .usage_core_nano_seconds
            .unwrap()
            > 0
    );
    let mem = s.node.memory.as_ref().unwrap();
    assert!(mem.working_set_bytes.unwrap() > 0);
    assert!(mem.available_bytes.is_some());
    assert!(raw["node"]["startTime"].as_str().unwrap().ends_with('Z'));
    // The exited db container has no stats, so the db pod is absent.
    assert_eq!(s.pods.len(), 1, "{body}");
    let web = &s.pods[0];
    assert_eq!(
        (
            web.pod_ref.name.as_str(),
            web.pod_ref.namespace.as_str(),
            web.pod_ref.uid.as_str()
        ),
        ("web", "default", "uid-web")
    );
    let names: Vec<&str> = web.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app", "sidecar"]);
    assert_eq!(
        web.cpu.as_ref().unwrap().usage_core_nano_seconds,
        Some(3_000_000_000)
    );
    assert_eq!(
        web.memory.as_ref().unwrap().working_set_bytes,
        Some(15_000_000)
    );
    // One sample only: no rate yet.
    assert_eq!(web.cpu.as_ref().unwrap().usage_nano_cores, None);
    assert!(
        raw["pods"][0]["containers"][0]["cpu"]
            .get("usageNanoCores")
            .is_none()
    );

    // A second sample more than a second later gives a rate.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    cri.set_container_stats("app", 2_500_000_000, 10_000_000);
    let (_, body) = get(&app, "/stats/summary").await;
    let s: Summary = serde_json::from_str(&body).unwrap();
    let app_c = &s.pods[0].containers[0];
    let nc = app_c.cpu.as_ref().unwrap().usage_nano_cores.unwrap();
    // 0.5 s of CPU over a little more than 1.1 s.
    assert!((300_000_000..=460_000_000).contains(&nc), "{nc}");
    assert_eq!(
        s.pods[0].containers[1]
            .cpu
            .as_ref()
            .unwrap()
            .usage_nano_cores,
        Some(0)
    );
    assert!(s.node.cpu.unwrap().usage_nano_cores.is_some());
}

#[tokio::test]
async fn resource_metrics_are_prometheus_text_in_upstream_shape() {
    let cri = FakeCri::new();
    pod(&cri, "web", &["app"]).await;
    cri.set_container_stats("app", 1_500_000_000, 4096);
    let (code, body) = get(&app(cri), "/metrics/resource").await;
    assert_eq!(code, StatusCode::OK);
    let lines: Vec<&str> = body.lines().collect();
    let sample = |prefix: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.starts_with(prefix))
            .map(|l| l.to_string())
            .collect()
    };
    assert!(lines.contains(&"# TYPE container_cpu_usage_seconds_total counter"));
    assert!(lines.contains(
        &"# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes"
    ));
    let c = sample("container_cpu_usage_seconds_total{");
    assert_eq!(c.len(), 1);
    let f: Vec<&str> = c[0].split(' ').collect();
    assert_eq!(
        f[0],
        r#"container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"}"#
    );
    assert_eq!(f[1], "1.5");
    // A millisecond timestamp of now.
    let ts: i64 = f[2].parse().unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    assert!((now - ts).abs() < 10_000, "{ts} vs {now}");
    assert_eq!(
        sample("container_memory_working_set_bytes{")[0]
            .split(' ')
            .nth(1),
        Some("4096")
    );
    assert_eq!(
        sample(r#"pod_memory_working_set_bytes{namespace="default",pod="web"}"#)[0]
            .split(' ')
            .nth(1),
        Some("4096")
    );
    assert_eq!(sample("container_start_time_seconds{").len(), 1);
    assert_eq!(sample("node_cpu_usage_seconds_total ").len(), 1);
    assert_eq!(sample("node_memory_working_set_bytes ").len(), 1);
    assert_eq!(
        sample("resource_scrape_error "),
        ["resource_scrape_error 0"]
    );
    // Families come sorted by name, as the Prometheus registry writes them.
    let fams: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = fams.clone();
    sorted.sort();
    assert_eq!(fams, sorted);
    assert_eq!(fams.len(), 8);
}
