//! Simulated nodes through the binary: `rkube server --sim-nodes 3` shows
//! three Ready nodes to kubectl, a pod bound to one runs, and `rkube
//! sim-nodes` names a bad flag.

mod common;
use common::{Server, row};
use std::time::Duration;

#[test]
fn server_with_sim_nodes_shows_ready_nodes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = Server::start_in(tmp.path(), 0, &["--sim-nodes", "3"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let table = loop {
        let out = s.kubectl(&["get", "nodes"]).ok();
        let ready = (0..3)
            .filter(|i| {
                row(&out.stdout, &format!("sim-node-{i}"))
                    .is_some_and(|r| r.get(1).map(String::as_str) == Some("Ready"))
            })
            .count();
        if ready == 3 {
            break out.stdout;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nodes not Ready:\n{}\n{}",
            out.stdout,
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(table.lines().count(), 4, "{table}");

    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: sim-node-2\n  containers: [{name: c, image: nginx}]\n";
    s.kubectl_stdin(&["apply", "-f", "-"], Some(pod)).ok();
    let out = s
        .kubectl(&["wait", "--for=condition=Ready", "pod/p", "--timeout=30s"])
        .ok();
    assert!(out.stdout.contains("condition met"), "{}", out.stdout);
}

#[test]
fn sim_nodes_names_a_bad_flag() {
    let out = common::run(
        std::process::Command::new(common::rkube_bin()).args([
            "sim-nodes",
            "--kubeconfig",
            "/nonexistent",
            "--count",
            "many",
        ]),
        None,
        Duration::from_secs(30),
    )
    .fails();
    assert!(out.stderr.contains("--count"), "{}", out.stderr);
}
