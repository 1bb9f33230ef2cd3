//! Changing objects with kubectl: `label`, `annotate`, `patch` (strategic,
//! merge and JSON patch), `scale`, and `delete` by name, by label and with
//! `--all`.

mod common;
use common::{Server, json};

const SEED: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: one
  labels: {app: shop}
data:
  k: v
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: two
  labels: {app: shop}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: three
  labels: {app: blog}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.26
        env:
        - {name: A, value: "1"}
"#;

fn seeded() -> Server {
    let s = Server::start();
    s.kubectl_stdin(&["apply", "-f", "-"], Some(SEED)).ok();
    s
}

fn jp(s: &Server, what: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    let p = format!("jsonpath={path}");
    args.extend_from_slice(&["-o", &p]);
    s.kubectl(&args).ok().stdout
}

#[test]
fn label_and_annotate() {
    let s = seeded();
    let out = s.kubectl(&["label", "cm", "one", "tier=web"]).ok();
    assert_eq!(out.stdout.trim(), "configmap/one labeled");
    assert_eq!(jp(&s, &["cm", "one"], "{.metadata.labels.tier}"), "web");

    // Changing an existing label needs --overwrite.
    let out = s.kubectl(&["label", "cm", "one", "tier=db"]).fails();
    assert!(
        out.stderr.contains("already has a value (web)"),
        "{}",
        out.stderr
    );
    s.kubectl(&["label", "cm", "one", "tier=db", "--overwrite"])
        .ok();
    assert_eq!(jp(&s, &["cm", "one"], "{.metadata.labels.tier}"), "db");

    let out = s.kubectl(&["label", "cm", "one", "tier-"]).ok();
    assert_eq!(out.stdout.trim(), "configmap/one unlabeled");
    assert_eq!(jp(&s, &["cm", "one"], "{.metadata.labels.tier}"), "");

    // Label many objects at once through a selector.
    let out = s
        .kubectl(&["label", "cm", "-l", "app=shop", "env=prod"])
        .ok();
    assert!(
        out.stdout.contains("configmap/one labeled"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("configmap/two labeled"),
        "{}",
        out.stdout
    );
    let out = s
        .kubectl(&["get", "cm", "-l", "env=prod", "-o", "name"])
        .ok();
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);

    let out = s
        .kubectl(&["annotate", "cm", "one", "owner=team-a", "note=hello world"])
        .ok();
    assert_eq!(out.stdout.trim(), "configmap/one annotated");
    assert_eq!(
        jp(&s, &["cm", "one"], "{.metadata.annotations.note}"),
        "hello world"
    );
    s.kubectl(&["annotate", "cm", "one", "owner-"]).ok();
    assert_eq!(jp(&s, &["cm", "one"], "{.metadata.annotations.owner}"), "");

    // An invalid label value is rejected (kubectl checks it before sending).
    let out = s.kubectl(&["label", "cm", "one", "bad=-x-"]).fails();
    assert!(out.stderr.contains("invalid"), "{}", out.stderr);
}

#[test]
fn patch_types() {
    let s = seeded();
    // Strategic merge: containers merge by name, so the env list is kept.
    let out = s
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "deployment.apps/web patched");
    let d = json(&s.kubectl(&["get", "deploy", "web", "-o", "json"]).ok());
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0]["image"], "nginx:1.27");
    assert_eq!(containers[0]["env"][0]["name"], "A");

    // Strategic merge adds a second container instead of replacing the list.
    s.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--type=strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}"#,
    ])
    .ok();
    let names = jp(
        &s,
        &["deploy", "web"],
        "{.spec.template.spec.containers[*].name}",
    );
    // Upstream's strategic merge puts new list items before the server-only ones.
    assert_eq!(names, "sidecar web");

    // `$patch: delete` removes one element of a merged list.
    s.kubectl(&[
        "patch",
        "deploy",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}"#,
    ])
    .ok();
    assert_eq!(
        jp(
            &s,
            &["deploy", "web"],
            "{.spec.template.spec.containers[*].name}"
        ),
        "web"
    );

    // JSON merge patch: null deletes a key.
    let out = s
        .kubectl(&[
            "patch",
            "cm",
            "one",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"k":null,"k2":"v2"}}"#,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "configmap/one patched");
    assert_eq!(jp(&s, &["cm", "one"], "{.data}"), r#"{"k2":"v2"}"#);

    // JSON patch.
    s.kubectl(&[
        "patch",
        "cm",
        "one",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/data/k3","value":"v3"},{"op":"replace","path":"/data/k2","value":"two"}]"#,
    ])
    .ok();
    assert_eq!(jp(&s, &["cm", "one"], "{.data.k2} {.data.k3}"), "two v3");

    // A failing JSON patch test operation changes nothing.
    let out = s
        .kubectl(&[
            "patch",
            "cm",
            "one",
            "--type",
            "json",
            "-p",
            r#"[{"op":"test","path":"/data/k2","value":"nope"},{"op":"remove","path":"/data/k2"}]"#,
        ])
        .fails();
    assert!(!out.stderr.is_empty());
    assert_eq!(jp(&s, &["cm", "one"], "{.data.k2}"), "two");

    // The same patch twice: kubectl reports no change.
    let out = s
        .kubectl(&[
            "patch",
            "cm",
            "one",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"k3":"v3"}}"#,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "configmap/one patched (no change)");

    // Patching a missing object is NotFound.
    let out = s
        .kubectl(&["patch", "cm", "missing", "--type", "merge", "-p", "{}"])
        .fails();
    assert!(
        out.stderr.contains(r#"configmaps "missing" not found"#),
        "{}",
        out.stderr
    );
}

#[test]
fn scale() {
    let s = seeded();
    let out = s.kubectl(&["scale", "deploy", "web", "--replicas=4"]).ok();
    assert_eq!(out.stdout.trim(), "deployment.apps/web scaled");
    assert_eq!(jp(&s, &["deploy", "web"], "{.spec.replicas}"), "4");

    // The scale subresource itself.
    let out = s
        .kubectl(&[
            "get",
            "--raw",
            "/apis/apps/v1/namespaces/default/deployments/web/scale",
        ])
        .ok();
    let v = json(&out);
    assert_eq!(v["kind"], "Scale");
    assert_eq!(v["apiVersion"], "autoscaling/v1");
    assert_eq!(v["spec"]["replicas"], 4);
    assert_eq!(v["status"]["selector"], "app=web");

    // A precondition on the current count that does not hold fails.
    let out = s
        .kubectl(&[
            "scale",
            "deploy",
            "web",
            "--current-replicas=2",
            "--replicas=1",
        ])
        .fails();
    assert!(
        out.stderr.contains("Expected replicas to be 2, was 4"),
        "{}",
        out.stderr
    );
    assert_eq!(jp(&s, &["deploy", "web"], "{.spec.replicas}"), "4");
}

#[test]
fn delete_by_name_label_and_all() {
    let s = seeded();
    let out = s.kubectl(&["delete", "cm", "one"]).ok();
    assert!(
        out.stdout.contains(r#"configmap "one" deleted"#),
        "{}",
        out.stdout
    );
    let out = s.kubectl(&["get", "cm", "one"]).fails();
    assert!(out.stderr.contains("NotFound"), "{}", out.stderr);

    let out = s.kubectl(&["delete", "cm", "-l", "app=shop"]).ok();
    assert!(
        out.stdout.contains(r#"configmap "two" deleted"#),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("three"), "{}", out.stdout);
    let out = s.kubectl(&["get", "cm", "three", "-o", "name"]).ok();
    assert_eq!(out.stdout.trim(), "configmap/three");

    // A new namespace so --all has a known population.
    s.kubectl(&["create", "namespace", "scratch"]).ok();
    for n in ["a", "b", "c"] {
        s.kubectl_stdin(
            &["apply", "-n", "scratch", "-f", "-"],
            Some(&format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n"
            )),
        )
        .ok();
    }
    let out = s.kubectl(&["delete", "cm", "--all", "-n", "scratch"]).ok();
    for n in ["a", "b", "c"] {
        assert!(
            out.stdout.contains(&format!(r#"configmap "{n}" deleted"#)),
            "{}",
            out.stdout
        );
    }
    let out = s
        .kubectl(&["get", "cm", "-n", "scratch", "-o", "name"])
        .ok();
    assert!(
        !out.stdout
            .lines()
            .any(|l| ["configmap/a", "configmap/b", "configmap/c"].contains(&l)),
        "{}",
        out.stdout
    );
    // The default namespace was untouched.
    s.kubectl(&["get", "cm", "three"]).ok();

    // Deleting a missing object fails unless --ignore-not-found.
    let out = s.kubectl(&["delete", "cm", "ghost"]).fails();
    assert!(
        out.stderr
            .contains(r#"Error from server (NotFound): configmaps "ghost" not found"#),
        "{}",
        out.stderr
    );
    s.kubectl(&["delete", "cm", "ghost", "--ignore-not-found"])
        .ok();

    // Deleting a namespace removes it (possibly after Terminating).
    s.kubectl(&[
        "delete",
        "namespace",
        "scratch",
        "--wait=true",
        "--timeout=60s",
    ])
    .ok();
    let out = s.kubectl(&["get", "ns", "scratch"]).fails();
    assert!(out.stderr.contains("NotFound"), "{}", out.stderr);
}
