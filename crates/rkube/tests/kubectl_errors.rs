//! The errors kubectl shows for bad input, as upstream words them: invalid
//! names, unknown fields under `--validate=strict`, missing objects, stale
//! updates (optimistic concurrency) and malformed YAML.

mod common;
use common::{Server, json};

fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
}

#[test]
fn invalid_name_is_invalid() {
    let s = Server::start();
    let out = s
        .kubectl_stdin(&["apply", "-f", "-"], Some(&cm("Bad_Name")))
        .fails();
    assert!(
        out.stderr
            .contains(r#"The ConfigMap "Bad_Name" is invalid"#),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(r#"metadata.name: Invalid value: "Bad_Name""#),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("RFC 1123"), "{}", out.stderr);

    // Same through `kubectl create`.
    let out = s
        .kubectl_stdin(&["create", "-f", "-"], Some(&cm("also..bad")))
        .fails();
    assert!(out.stderr.contains("is invalid"), "{}", out.stderr);

    // A Deployment whose selector does not match its template labels.
    let bad = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: mismatch
spec:
  selector:
    matchLabels: {app: a}
  template:
    metadata:
      labels: {app: b}
    spec:
      containers:
      - name: c
        image: busybox
"#;
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(bad)).fails();
    assert!(
        out.stderr
            .contains(r#"The Deployment "mismatch" is invalid"#)
            && out.stderr.contains("spec.template.metadata.labels"),
        "{}",
        out.stderr
    );
    s.kubectl(&["get", "deploy", "mismatch"]).fails();
}

#[test]
fn unknown_field_strict_validation() {
    let s = Server::start();
    let doc =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  k: v\nbogus: 1\n";
    let out = s
        .kubectl_stdin(&["apply", "--validate=strict", "-f", "-"], Some(doc))
        .fails();
    assert!(
        out.stderr.contains(r#"unknown field "bogus""#),
        "{}",
        out.stderr
    );
    s.kubectl(&["get", "cm", "strict"]).fails();

    // Nested unknown fields are named by their path.
    let deploy = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  replica: 2
  selector:
    matchLabels: {app: t}
  template:
    metadata:
      labels: {app: t}
    spec:
      containers:
      - name: c
        image: busybox
"#;
    let out = s
        .kubectl_stdin(&["create", "--validate=strict", "-f", "-"], Some(deploy))
        .fails();
    assert!(
        out.stderr.contains(r#"unknown field "spec.replica""#),
        "{}",
        out.stderr
    );

    // --validate=warn lets it through with a warning; --validate=false silently.
    let out = s
        .kubectl_stdin(&["apply", "--validate=warn", "-f", "-"], Some(doc))
        .ok();
    assert!(
        out.stderr.contains(r#"unknown field "bogus""#),
        "{}",
        out.stderr
    );
    // The unknown field is dropped from the stored object (kubectl's
    // last-applied annotation still records what was sent, as upstream).
    let out = s.kubectl(&["get", "cm", "strict", "-o", "json"]).ok();
    assert!(json(&out).get("bogus").is_none(), "{}", out.stdout);
}

#[test]
fn missing_objects_are_not_found() {
    let s = Server::start();
    let out = s.kubectl(&["get", "cm", "nope"]).fails();
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr.trim(),
        r#"Error from server (NotFound): configmaps "nope" not found"#
    );
    let out = s
        .kubectl(&["get", "deploy", "nope", "-n", "kube-system"])
        .fails();
    assert_eq!(
        out.stderr.trim(),
        r#"Error from server (NotFound): deployments.apps "nope" not found"#
    );
    let out = s.kubectl(&["get", "cm", "-n", "no-such-ns"]).ok();
    assert!(
        out.stderr
            .contains("No resources found in no-such-ns namespace."),
        "{}",
        out.stderr
    );
    let out = s.kubectl(&["get", "nosuchkind"]).fails();
    assert!(
        out.stderr
            .contains(r#"the server doesn't have a resource type "nosuchkind""#),
        "{}",
        out.stderr
    );
}

#[test]
fn stale_replace_is_conflict() {
    let s = Server::start();
    s.kubectl_stdin(&["create", "-f", "-"], Some(&cm("race")))
        .ok();
    let stale = s.kubectl(&["get", "cm", "race", "-o", "yaml"]).ok().stdout;
    assert!(stale.contains("resourceVersion:"), "{stale}");

    // Someone else changes it.
    s.kubectl(&["label", "cm", "race", "changed=yes"]).ok();

    let edited = stale.replace("k: v", "k: mine");
    let out = s
        .kubectl_stdin(&["replace", "-f", "-"], Some(&edited))
        .fails();
    assert!(
        out.stderr.contains("Error from server (Conflict)")
            && out.stderr.contains(
                r#"Operation cannot be fulfilled on configmaps "race": the object has been modified; please apply your changes to the latest version and try again"#
            ),
        "{}",
        out.stderr
    );
    let out = s
        .kubectl(&["get", "cm", "race", "-o", "jsonpath={.data.k}"])
        .ok();
    assert_eq!(out.stdout, "v");

    // Without a resourceVersion, replace is unconditional and wins.
    let fresh = cm("race").replace("k: v", "k: mine");
    let out = s.kubectl_stdin(&["replace", "-f", "-"], Some(&fresh)).ok();
    assert_eq!(out.stdout.trim(), "configmap/race replaced");
    let out = s
        .kubectl(&["get", "cm", "race", "-o", "jsonpath={.data.k}"])
        .ok();
    assert_eq!(out.stdout, "mine");

    // Creating it again is AlreadyExists.
    let out = s
        .kubectl_stdin(&["create", "-f", "-"], Some(&cm("race")))
        .fails();
    assert!(
        out.stderr
            .contains(r#"Error from server (AlreadyExists): error when creating "STDIN": configmaps "race" already exists"#),
        "{}",
        out.stderr
    );
}

#[test]
fn malformed_yaml_is_rejected() {
    let s = Server::start();
    let out = s
        .kubectl_stdin(
            &["apply", "-f", "-"],
            Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"),
        )
        .fails();
    assert!(out.stderr.contains("error"), "{}", out.stderr);
    assert!(out.stderr.contains("yaml"), "{}", out.stderr);

    let out = s
        .kubectl_stdin(&["apply", "-f", "-"], Some("metadata:\n  name: nokind\n"))
        .fails();
    assert!(out.stderr.contains("kind not set"), "{}", out.stderr);

    // A kind the server does not know.
    let out = s
        .kubectl_stdin(
            &["apply", "-f", "-"],
            Some("apiVersion: example.com/v1\nkind: Nope\nmetadata:\n  name: x\n"),
        )
        .fails();
    assert!(
        out.stderr
            .contains(r#"no matches for kind "Nope" in version "example.com/v1""#),
        "{}",
        out.stderr
    );

    // A raw request with a body that is not JSON is a 400 from the server.
    let bad = s.file("bad.json", "{not json");
    let out = s
        .kubectl(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            bad.to_str().unwrap(),
        ])
        .fails();
    assert!(
        out.stderr.contains("BadRequest") || out.stderr.contains("400"),
        "{}",
        out.stderr
    );
}
