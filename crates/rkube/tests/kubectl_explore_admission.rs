//! What upstream's API server does on its own, compared: the objects it
//! creates at start-up (system priority classes, the `kubernetes`
//! EndpointSlice, APIServices) and which kinds carry `metadata.generation`.

mod common;
use common::{Server, row};
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
/// available).
#[test]
fn apiserver_bootstrap_apiservices() {
    let s = Server::start();
    let out = s.kubectl(&["get", "apiservices"]).ok();
    let r = row(&out.stdout, "v1.apps").unwrap_or_else(|| panic!("{}", out.stdout));
    assert_eq!(r[1..3], ["Local", "True"], "{}", out.stdout);
    assert!(row(&out.stdout, "v1.").is_some(), "{}", out.stdout);
    // (Upstream also bootstraps flow-control objects, the default ServiceCIDR
    // and IPAddresses: not yet in rkube.)
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
