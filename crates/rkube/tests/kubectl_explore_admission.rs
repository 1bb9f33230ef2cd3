//! Exploratory comparison of what upstream's apiserver does on its own:
//! admission plugins that change or refuse objects (ServiceAccount,
//! LimitRanger), the objects it creates at start-up (system priority
//! classes, the `kubernetes` EndpointSlice, APIServices, flow-control
//! configuration, the default ServiceCIDR), per-namespace objects the
//! controller manager adds, and which kinds carry `metadata.generation`.

mod common;
use common::{Server, json, row};
use std::time::{Duration, Instant};

/// Polls `kubectl get <args>` until it succeeds or `timeout` passes.
fn eventually_ok(s: &Server, args: &[&str], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if s.kubectl(args).success() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The ServiceAccount admission plugin refuses pods naming a missing service
/// account, and mounts the API token volume into pods that name one.
#[test]
fn service_account_admission() {
    let s = Server::start();
    let out = s
        .kubectl(&[
            "run",
            "ghost",
            "--image=nginx",
            r#"--overrides={"spec":{"serviceAccountName":"nosuch"}}"#,
        ])
        .fails();
    assert!(
        out.stderr.contains(
            r#"pods "ghost" is forbidden: error looking up service account default/nosuch: serviceaccount "nosuch" not found"#
        ),
        "{}",
        out.stderr
    );

    s.kubectl(&["create", "serviceaccount", "robot"]).ok();
    s.kubectl(&[
        "run",
        "p",
        "--image=nginx",
        r#"--overrides={"spec":{"serviceAccountName":"robot"}}"#,
    ])
    .ok();
    let pod = json(&s.kubectl(&["get", "pod", "p", "-o", "json"]).ok());
    let vols = pod["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let vol = vols
        .iter()
        .find(|v| {
            v["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("kube-api-access-"))
        })
        .unwrap_or_else(|| panic!("no kube-api-access volume: {}", pod["spec"]));
    assert!(vol["projected"]["sources"].is_array(), "{vol}");
    let mounts = &pod["spec"]["containers"][0]["volumeMounts"];
    assert!(
        mounts.as_array().is_some_and(|m| m.iter().any(|m| {
            m["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount"
                && m["readOnly"] == true
        })),
        "{mounts}"
    );
}

/// The LimitRanger admission plugin fills in defaults and enforces maxima.
#[test]
fn limit_ranger_defaults_and_maximum() {
    let s = Server::start();
    let lr = r#"apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "1"}
"#;
    s.kubectl_stdin(&["apply", "-f", "-"], Some(lr)).ok();
    s.kubectl(&["run", "p", "--image=nginx"]).ok();
    let out = s
        .kubectl(&[
            "get",
            "pod",
            "p",
            "-o",
            "jsonpath={.spec.containers[0].resources}",
        ])
        .ok();
    let res: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    assert_eq!(
        res,
        serde_json::json!({"limits": {"cpu": "500m", "memory": "128Mi"},
                           "requests": {"cpu": "100m", "memory": "64Mi"}}),
        "{}",
        out.stdout
    );
    let out = s
        .kubectl(&[
            "run",
            "big",
            "--image=nginx",
            r#"--overrides={"spec":{"containers":[{"name":"big","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}"#,
        ])
        .fails();
    assert!(
        out.stderr
            .contains("maximum cpu usage per Container is 1, but limit is 2"),
        "{}",
        out.stderr
    );
}

/// Every namespace gets a `default` ServiceAccount and the
/// `kube-root-ca.crt` ConfigMap (controller manager's serviceaccount and
/// root-ca-cert-publisher controllers) within moments.
#[test]
fn new_namespace_gets_default_service_account_and_root_ca() {
    let s = Server::start();
    s.kubectl(&["create", "namespace", "team"]).ok();
    assert!(
        eventually_ok(
            &s,
            &["get", "sa", "default", "-n", "team"],
            Duration::from_secs(5)
        ),
        "no default ServiceAccount in a new namespace"
    );
    assert!(
        eventually_ok(
            &s,
            &["get", "cm", "kube-root-ca.crt", "-n", "team"],
            Duration::from_secs(5)
        ),
        "no kube-root-ca.crt in a new namespace"
    );
    s.kubectl(&["get", "sa", "default", "-n", "default"]).ok();
}

/// Objects the apiserver itself creates at start-up: the two system priority
/// classes and the `kubernetes` EndpointSlice beside its Endpoints.
#[test]
fn apiserver_bootstrap_priority_classes_and_endpointslice() {
    let s = Server::start();
    let out = s.kubectl(&["get", "priorityclasses"]).ok();
    let r = row(&out.stdout, "system-cluster-critical").expect("system-cluster-critical");
    assert_eq!(r[1], "2000000000");
    let r = row(&out.stdout, "system-node-critical").expect("system-node-critical");
    assert_eq!(r[1], "2000001000");

    assert!(
        eventually_ok(
            &s,
            &["get", "endpointslice", "kubernetes", "-n", "default"],
            Duration::from_secs(5)
        ),
        "no kubernetes EndpointSlice"
    );
    let out = s
        .kubectl(&[
            "get",
            "endpointslice",
            "kubernetes",
            "-o",
            "jsonpath={.metadata.labels.kubernetes\\.io/service-name} {.ports[0].name}",
        ])
        .ok();
    assert_eq!(out.stdout, "kubernetes https");
}

/// More start-up objects: one APIService per served group version (`Local`,
/// available), the default flow-control configuration, and the default
/// ServiceCIDR with an IPAddress for every allocated ClusterIP.
#[test]
fn apiserver_bootstrap_apiservices_flowcontrol_servicecidr() {
    let s = Server::start();
    let out = s.kubectl(&["get", "apiservices"]).ok();
    let r = row(&out.stdout, "v1.apps").unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(r[1..3], ["Local", "True"], "{}", out.stdout);
    assert!(row(&out.stdout, "v1.").is_some(), "{}", out.stdout);

    let out = s
        .kubectl(&["get", "prioritylevelconfigurations", "-o", "name"])
        .ok();
    for p in ["exempt", "catch-all", "workload-low", "global-default"] {
        assert!(
            out.stdout.contains(&format!("/{p}\n")),
            "{p}: {}",
            out.stdout
        );
    }
    let out = s.kubectl(&["get", "flowschemas", "-o", "name"]).ok();
    assert!(out.stdout.contains("/exempt\n"), "{}", out.stdout);

    s.kubectl(&["get", "servicecidr", "kubernetes"]).ok();
    let ip = s
        .kubectl(&[
            "get",
            "svc",
            "kubernetes",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ])
        .ok()
        .stdout;
    s.kubectl(&["get", "ipaddress", &ip]).ok();
}

/// Upstream sets and bumps `metadata.generation` only where a strategy does
/// (workloads, custom resources, …); Services, Namespaces, Nodes and
/// ConfigMaps never carry it.
#[test]
fn generation_only_where_upstream_tracks_it() {
    let s = Server::start();
    s.kubectl(&["create", "service", "clusterip", "svc", "--tcp=80"])
        .ok();
    s.kubectl(&["create", "namespace", "gen"]).ok();
    s.kubectl_stdin(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"),
    )
    .ok();
    s.kubectl(&["cordon", "n1"]).ok();
    for what in [
        ["svc", "svc"],
        ["ns", "gen"],
        ["node", "n1"],
        ["ns", "default"],
    ] {
        let out = s
            .kubectl(&[
                "get",
                what[0],
                what[1],
                "-o",
                "jsonpath={.metadata.generation}",
            ])
            .ok();
        assert_eq!(out.stdout, "", "{what:?} has a generation");
    }
    s.kubectl(&["create", "deployment", "d", "--image=nginx"])
        .ok();
    let out = s
        .kubectl(&[
            "get",
            "deploy",
            "d",
            "-o",
            "jsonpath={.metadata.generation}",
        ])
        .ok();
    assert_eq!(out.stdout, "1");
}
