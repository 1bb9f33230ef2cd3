//! `kubectl get` as a user reads it: table columns for configmaps and
//! deployments, `-o wide|yaml|json|jsonpath|name`, label selectors, and
//! `-w` streaming changes.

mod common;
use common::{Server, header, json, row};
use std::time::Duration;

const OBJECTS: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: alpha
  labels: {app: shop, tier: front}
data:
  a: "1"
  b: "2"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: beta
  labels: {app: shop, tier: back}
data:
  a: "1"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: gamma
  labels: {app: blog}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
"#;

fn seeded() -> Server {
    let s = Server::start();
    s.kubectl_stdin(&["apply", "-f", "-"], Some(OBJECTS)).ok();
    s
}

#[test]
fn get_tables() {
    let s = seeded();
    let out = s.kubectl(&["get", "configmaps"]).ok();
    assert_eq!(
        header(&out.stdout),
        ["NAME", "DATA", "AGE"],
        "{}",
        out.stdout
    );
    let alpha = row(&out.stdout, "alpha").expect("alpha row");
    assert_eq!(alpha[1], "2", "{}", out.stdout);
    let gamma = row(&out.stdout, "gamma").expect("gamma row");
    assert_eq!(gamma[1], "0", "{}", out.stdout);
    // Every namespace has the root CA configmap upstream; we only insist on ours.
    assert!(row(&out.stdout, "beta").is_some());

    let out = s.kubectl(&["get", "deployments"]).ok();
    assert_eq!(
        header(&out.stdout),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{}",
        out.stdout
    );
    let web = row(&out.stdout, "web").expect("web row");
    assert!(web[1].ends_with("/3"), "{}", out.stdout);

    let out = s.kubectl(&["get", "deploy", "-o", "wide"]).ok();
    assert_eq!(
        header(&out.stdout),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ],
        "{}",
        out.stdout
    );
    let web = row(&out.stdout, "web").expect("web row");
    assert_eq!(
        &web[5..],
        ["nginx", "nginx:1.27", "app=web"],
        "{}",
        out.stdout
    );

    let out = s.kubectl(&["get", "namespaces"]).ok();
    assert_eq!(
        header(&out.stdout),
        ["NAME", "STATUS", "AGE"],
        "{}",
        out.stdout
    );
    assert_eq!(row(&out.stdout, "default").expect("default")[1], "Active");
    assert!(row(&out.stdout, "kube-system").is_some(), "{}", out.stdout);

    let out = s.kubectl(&["get", "cm", "--show-labels"]).ok();
    assert_eq!(
        header(&out.stdout),
        ["NAME", "DATA", "AGE", "LABELS"],
        "{}",
        out.stdout
    );
    let alpha = row(&out.stdout, "alpha").expect("alpha");
    assert_eq!(alpha[3], "app=shop,tier=front", "{}", out.stdout);

    // One resource, no header on --no-headers.
    let out = s.kubectl(&["get", "cm", "alpha", "--no-headers"]).ok();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.starts_with("alpha "), "{}", out.stdout);
}

#[test]
fn get_output_formats() {
    let s = seeded();
    let out = s.kubectl(&["get", "cm", "alpha", "-o", "yaml"]).ok();
    for needle in [
        "apiVersion: v1",
        "kind: ConfigMap",
        "name: alpha",
        "a: \"1\"",
        "resourceVersion:",
        "uid:",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing {needle:?}:\n{}",
            out.stdout
        );
    }

    let out = s.kubectl(&["get", "cm", "alpha", "-o", "json"]).ok();
    let v = json(&out);
    assert_eq!(v["kind"], "ConfigMap");
    assert_eq!(v["data"]["b"], "2");
    assert_eq!(v["metadata"]["namespace"], "default");
    assert!(v["metadata"]["creationTimestamp"].is_string());

    let out = s.kubectl(&["get", "cm", "-o", "json"]).ok();
    let v = json(&out);
    assert_eq!(v["kind"], "List");
    let names: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    for n in ["alpha", "beta", "gamma"] {
        assert!(names.contains(&n), "{names:?}");
    }

    let out = s
        .kubectl(&[
            "get",
            "cm",
            "alpha",
            "-o",
            "jsonpath={.metadata.labels.tier}",
        ])
        .ok();
    assert_eq!(out.stdout, "front");
    let out = s
        .kubectl(&[
            "get",
            "cm",
            "-l",
            "app=shop",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}",
        ])
        .ok();
    assert_eq!(out.stdout, "alpha\nbeta\n");

    let out = s
        .kubectl(&[
            "get",
            "deploy",
            "web",
            "-o",
            "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas",
        ])
        .ok();
    assert_eq!(header(&out.stdout), ["NAME", "REPLICAS"]);
    assert_eq!(row(&out.stdout, "web").expect("web")[1], "3");

    let out = s.kubectl(&["get", "deploy", "web", "-o", "name"]).ok();
    assert_eq!(out.stdout.trim(), "deployment.apps/web");
}

#[test]
fn get_label_selectors() {
    let s = seeded();
    let names = |sel: &str| {
        let out = s.kubectl(&["get", "cm", "-l", sel, "-o", "name"]).ok();
        let mut v: Vec<String> = out.stdout.lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(names("app=shop"), ["configmap/alpha", "configmap/beta"]);
    assert_eq!(names("app=shop,tier!=front"), ["configmap/beta"]);
    assert_eq!(names("app in (blog)"), ["configmap/gamma"]);
    assert_eq!(names("tier"), ["configmap/alpha", "configmap/beta"]);
    assert_eq!(names("!tier,app"), ["configmap/gamma"]);
    // No match is not an error: kubectl says so on stderr.
    let out = s.kubectl(&["get", "cm", "-l", "app=none"]).ok();
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("No resources found in default namespace."),
        "{}",
        out.stderr
    );
    // A malformed selector is rejected.
    let out = s.kubectl(&["get", "cm", "-l", "app in (x"]).fails();
    assert!(!out.stderr.is_empty());
}

#[test]
fn get_watch_streams_changes() {
    let s = seeded();
    let w = s.kubectl_bg(&["get", "cm", "-w"]);
    assert!(
        w.wait_for(Duration::from_secs(30), |o| o.contains("alpha")
            && o.contains("gamma")),
        "initial list not shown:\nstdout:\n{}\nstderr:\n{}",
        w.stdout(),
        w.stderr()
    );
    assert_eq!(header(&w.stdout()), ["NAME", "DATA", "AGE"]);

    s.kubectl_stdin(
        &["apply", "-f", "-"],
        // (A bare `y` would be a YAML 1.1 boolean, which the server refuses.)
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: delta\ndata:\n  x: z\n"),
    )
    .ok();
    assert!(
        w.wait_for(Duration::from_secs(30), |o| o
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["delta", "1"]))),
        "creation not seen:\n{}\n{}",
        w.stdout(),
        w.stderr()
    );

    // An update shows the object again with its new data count.
    s.kubectl(&[
        "patch",
        "cm",
        "delta",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"z":"w"}}"#,
    ])
    .ok();
    assert!(
        w.wait_for(Duration::from_secs(30), |o| o
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["delta", "2"]))),
        "update not seen:\n{}\n{}",
        w.stdout(),
        w.stderr()
    );

    // A watch with --output-watch-events names the event types.
    let w2 = s.kubectl_bg(&["get", "cm", "-w", "--output-watch-events", "--watch-only"]);
    std::thread::sleep(Duration::from_secs(2));
    s.kubectl(&["delete", "cm", "delta"]).ok();
    assert!(
        w2.wait_for(Duration::from_secs(30), |o| o
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["DELETED", "delta"]))),
        "delete event not seen:\n{}\n{}",
        w2.stdout(),
        w2.stderr()
    );
}
