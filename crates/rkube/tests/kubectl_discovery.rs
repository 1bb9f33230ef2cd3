//! Discovery-driven kubectl commands: `api-resources`, `api-versions`,
//! `explain`, `version`, the `create namespace|configmap` generators, and
//! `kubectl wait` on conditions and JSONPath values.

mod common;
use common::{Server, header, row};

#[test]
fn api_resources_rows() {
    let s = Server::start();
    let out = s.kubectl(&["api-resources"]).ok();
    assert_eq!(
        header(&out.stdout),
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
        "{}",
        out.stdout
    );
    let expect: &[&[&str]] = &[
        &["pods", "po", "v1", "true", "Pod"],
        &["deployments", "deploy", "apps/v1", "true", "Deployment"],
        &["configmaps", "cm", "v1", "true", "ConfigMap"],
        &["namespaces", "ns", "v1", "false", "Namespace"],
        &["services", "svc", "v1", "true", "Service"],
        &[
            "customresourcedefinitions",
            "crd,crds",
            "apiextensions.k8s.io/v1",
            "false",
            "CustomResourceDefinition",
        ],
        &["secrets", "v1", "true", "Secret"],
        &["nodes", "no", "v1", "false", "Node"],
    ];
    for want in expect {
        let got = row(&out.stdout, want[0]).unwrap_or_default();
        assert_eq!(got, *want, "row {:?} in:\n{}", want[0], out.stdout);
    }

    let out = s
        .kubectl(&["api-resources", "--api-group=apps", "-o", "name"])
        .ok();
    let names: Vec<&str> = out.stdout.lines().collect();
    for n in [
        "deployments.apps",
        "replicasets.apps",
        "statefulsets.apps",
        "daemonsets.apps",
    ] {
        assert!(names.contains(&n), "{n} missing: {names:?}");
    }
    let out = s
        .kubectl(&["api-resources", "--namespaced=false", "-o", "name"])
        .ok();
    assert!(
        out.stdout.lines().any(|l| l == "namespaces"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.lines().any(|l| l == "pods"), "{}", out.stdout);

    let out = s.kubectl(&["api-versions"]).ok();
    for v in [
        "v1",
        "apps/v1",
        "apiextensions.k8s.io/v1",
        "batch/v1",
        "rbac.authorization.k8s.io/v1",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == v),
            "{v} missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn explain_fields() {
    let s = Server::start();
    let out = s.kubectl(&["explain", "deployment.spec.replicas"]).ok();
    assert!(out.stdout.contains("GROUP:      apps"), "{}", out.stdout);
    assert!(
        out.stdout.contains("KIND:       Deployment"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("VERSION:    v1"), "{}", out.stdout);
    assert!(
        out.stdout.contains("FIELD: replicas <integer>"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("DESCRIPTION:"), "{}", out.stdout);
    assert!(
        out.stdout.to_lowercase().contains("number of desired pods"),
        "{}",
        out.stdout
    );

    let out = s.kubectl(&["explain", "configmap"]).ok();
    assert!(out.stdout.contains("FIELDS:"), "{}", out.stdout);
    assert!(
        out.stdout.contains("data\t<map[string]string>"),
        "{}",
        out.stdout
    );

    let out = s
        .kubectl(&["explain", "deployment.spec.nosuchfield"])
        .fails();
    assert!(
        out.stderr.contains(r#"field "nosuchfield" does not exist"#),
        "{}",
        out.stderr
    );
}

#[test]
fn version_reports_server() {
    let s = Server::start();
    let out = s.kubectl(&["version", "-o", "json"]).ok();
    let v = common::json(&out);
    assert_eq!(v["serverVersion"]["major"], "1");
    assert!(
        v["serverVersion"]["gitVersion"]
            .as_str()
            .is_some_and(|g| g.starts_with("v1.")),
        "{v}"
    );
}

#[test]
fn create_generators() {
    let s = Server::start();
    let out = s.kubectl(&["create", "namespace", "team-a"]).ok();
    assert_eq!(out.stdout.trim(), "namespace/team-a created");
    let out = s.kubectl(&["get", "ns", "team-a"]).ok();
    assert_eq!(row(&out.stdout, "team-a").expect("row")[1], "Active");

    let out = s.kubectl(&["create", "namespace", "team-a"]).fails();
    assert!(
        out.stderr
            .contains(r#"Error from server (AlreadyExists): namespaces "team-a" already exists"#),
        "{}",
        out.stderr
    );

    let out = s
        .kubectl(&[
            "create",
            "configmap",
            "settings",
            "-n",
            "team-a",
            "--from-literal=color=blue",
            "--from-literal=size=3",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "configmap/settings created");
    let out = s
        .kubectl(&[
            "get",
            "cm",
            "settings",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.color},{.data.size}",
        ])
        .ok();
    assert_eq!(out.stdout, "blue,3");

    // A client-side dry run prints the object without creating it.
    let out = s
        .kubectl(&[
            "create",
            "configmap",
            "dry",
            "--from-literal=a=b",
            "--dry-run=client",
            "-o",
            "yaml",
        ])
        .ok();
    assert!(out.stdout.contains("name: dry"), "{}", out.stdout);
    // A server-side dry run goes through the server, which stores nothing.
    let out = s
        .kubectl(&[
            "create",
            "configmap",
            "dry",
            "--from-literal=a=b",
            "--dry-run=server",
        ])
        .ok();
    assert!(
        out.stdout
            .contains("configmap/dry created (server dry run)"),
        "{}",
        out.stdout
    );
    s.kubectl(&["get", "cm", "dry"]).fails();

    // A namespace that does not exist is refused.
    let out = s
        .kubectl(&[
            "create",
            "configmap",
            "x",
            "-n",
            "nowhere",
            "--from-literal=a=b",
        ])
        .fails();
    assert!(
        out.stderr.contains(r#"namespaces "nowhere" not found"#),
        "{}",
        out.stderr
    );
}

#[test]
fn wait_for_conditions_and_jsonpath() {
    let s = Server::start();
    let crd = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.org
spec:
  group: example.org
  names: {kind: Gadget, plural: gadgets, singular: gadget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;
    s.kubectl_stdin(&["apply", "-f", "-"], Some(crd)).ok();
    let out = s
        .kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=30s",
            "crd/gadgets.example.org",
        ])
        .ok();
    assert_eq!(
        out.stdout.trim(),
        "customresourcedefinition.apiextensions.k8s.io/gadgets.example.org condition met"
    );
    s.kubectl(&[
        "wait",
        "--for=condition=NamesAccepted",
        "--timeout=30s",
        "crd/gadgets.example.org",
    ])
    .ok();

    s.kubectl(&["create", "namespace", "waiting"]).ok();
    let out = s
        .kubectl(&[
            "wait",
            "--for=jsonpath={.status.phase}=Active",
            "--timeout=30s",
            "namespace/waiting",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "namespace/waiting condition met");

    // A condition that never comes times out with a non-zero exit.
    s.kubectl_stdin(
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\ndata:\n  state: pending\n"),
    )
    .ok();
    let bg = wait_in_background(&s, "--for=jsonpath={.data.state}=done", "cm/slow");
    std::thread::sleep(std::time::Duration::from_secs(2));
    s.kubectl(&[
        "patch",
        "cm",
        "slow",
        "--type=merge",
        "-p",
        r#"{"data":{"state":"done"}}"#,
    ])
    .ok();
    let out = bg.join().expect("wait thread").ok();
    assert_eq!(out.stdout.trim(), "configmap/slow condition met");

    let out = s
        .kubectl(&[
            "wait",
            "--for=jsonpath={.data.state}=never",
            "--timeout=2s",
            "cm/slow",
        ])
        .fails();
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);

    // --for=delete returns once the object is gone.
    let bg = wait_in_background(&s, "--for=delete", "cm/slow");
    std::thread::sleep(std::time::Duration::from_secs(2));
    s.kubectl(&["delete", "cm", "slow", "--wait=false"]).ok();
    bg.join().expect("wait thread").ok();
}

/// `kubectl wait FOR OBJECT --timeout=30s` on a thread, to change the object
/// while it waits.
fn wait_in_background(
    s: &Server,
    what: &str,
    object: &str,
) -> std::thread::JoinHandle<common::Output> {
    let kc = s.kubeconfig.clone();
    let args = [
        "wait".to_string(),
        what.to_string(),
        "--timeout=30s".into(),
        object.to_string(),
    ];
    std::thread::spawn(move || {
        common::run(
            std::process::Command::new("kubectl")
                .args(&args)
                .env("KUBECONFIG", kc),
            None,
            std::time::Duration::from_secs(60),
        )
    })
}
