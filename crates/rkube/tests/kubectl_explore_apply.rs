//! Exploratory comparison of the write paths kubectl drives from files and
//! editors: client-side `apply` (three-way merge, prune, custom resources),
//! `edit`, `replace --force`, `set`, and the wording of strict decoding
//! errors.

mod common;
use common::{Server, json};

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color: {type: string}
              size: {type: integer}
              tags: {type: array, items: {type: string}}
"#;

/// Re-applying a changed custom resource. kubectl picks the patch type from
/// the OpenAPI document: upstream does not list
/// `application/strategic-merge-patch+json` for custom resources, so kubectl
/// sends a JSON merge patch. Advertising it makes kubectl send a strategic
/// merge patch, which the server then refuses with 415.
#[test]
fn reapply_changed_custom_resource() {
    let s = Server::start();
    s.kubectl_stdin(&["apply", "-f", "-"], Some(WIDGET_CRD))
        .ok();
    s.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/gadgets.example.com",
        "--timeout=20s",
    ])
    .ok();
    let v1 = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n\
              spec: {color: red, size: 2, tags: [a, b]}\n";
    s.kubectl_stdin(&["apply", "-f", "-"], Some(v1)).ok();
    // size removed from the file, tags changed.
    let v2 = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n\
              spec: {color: red, tags: [c]}\n";
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(v2)).ok();
    assert_eq!(out.stdout.trim(), "gadget.example.com/g configured");
    let g = json(&s.kubectl(&["get", "gadget", "g", "-o", "json"]).ok());
    assert_eq!(
        g["spec"],
        serde_json::json!({"color": "red", "tags": ["c"]})
    );

    let doc = json(
        &s.kubectl(&["get", "--raw", "/openapi/v3/apis/example.com/v1"])
            .ok(),
    );
    let content = &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/gadgets/{name}"]["patch"]
        ["requestBody"]["content"];
    assert!(
        content.get("application/merge-patch+json").is_some(),
        "{content}"
    );
    assert!(
        content
            .get("application/strategic-merge-patch+json")
            .is_none(),
        "custom resources do not accept strategic merge patch: {content}"
    );
}

/// Upstream wraps a strict decoding failure in the decoder's message:
/// `<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding
/// error: unknown field "..."`.
#[test]
fn strict_decoding_error_wording() {
    let s = Server::start();
    let deploy = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  foo: 1
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec: {containers: [{name: c, image: nginx}]}
"#;
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(deploy)).fails();
    assert!(
        out.stderr.contains(
            r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo""#
        ),
        "{}",
        out.stderr
    );
}

/// Client-side apply's three-way merge: fields dropped from the file are
/// removed from the object, fields set by others (a label, a scale) survive
/// unless the file owned them; `--prune -l` deletes what left the file set.
#[test]
fn apply_three_way_merge_and_prune() {
    let s = Server::start();
    let v1 = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  labels: {set: p, tier: x}
  annotations: {keep: "1", drop: "2"}
data: {a: "1", b: "2"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, labels: {set: p}}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: c
        image: nginx
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        ports: [{containerPort: 80}]
      - {name: side, image: busybox}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: extra, labels: {set: p}}
"#;
    let f1 = s.file("v1.yaml", v1);
    s.kubectl(&["apply", "-f", f1.to_str().unwrap()]).ok();
    s.kubectl(&["label", "cm", "app", "manual=yes"]).ok();
    let v2 = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  labels: {set: p}
  annotations: {keep: "1"}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, labels: {set: p}}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: c
        image: nginx:2
        env: [{name: B, value: "3"}]
"#;
    let f2 = s.file("v2.yaml", v2);
    let out = s.kubectl(&["diff", "-f", f2.to_str().unwrap()]).fails();
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(out.stdout.contains("-    drop: \"2\""), "{}", out.stdout);

    let out = s
        .kubectl(&[
            "apply",
            "--prune",
            "-l",
            "set=p",
            "-f",
            f2.to_str().unwrap(),
        ])
        .ok();
    assert!(
        out.stdout.contains("configmap/extra pruned"),
        "{}",
        out.stdout
    );
    s.kubectl(&["get", "cm", "extra"]).fails();

    let cm = json(&s.kubectl(&["get", "cm", "app", "-o", "json"]).ok());
    assert_eq!(cm["data"], serde_json::json!({"a": "1"}));
    assert_eq!(
        cm["metadata"]["labels"],
        serde_json::json!({"set": "p", "manual": "yes"})
    );
    assert!(cm["metadata"]["annotations"].get("drop").is_none());
    assert_eq!(cm["metadata"]["annotations"]["keep"], "1");

    let d = json(&s.kubectl(&["get", "deploy", "app", "-o", "json"]).ok());
    let cs = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(cs.len(), 1, "sidecar removed: {cs:?}");
    assert_eq!(cs[0]["image"], "nginx:2");
    assert_eq!(
        cs[0]["env"],
        serde_json::json!([{"name": "B", "value": "3"}])
    );
    assert!(cs[0].get("ports").is_none(), "{cs:?}");
    assert_eq!(d["spec"]["replicas"], 1);

    let out = s
        .kubectl(&["apply", "view-last-applied", "cm/app", "-o", "json"])
        .ok();
    let last = json(&out);
    assert_eq!(last["data"], serde_json::json!({"a": "1"}));
}

/// `kubectl edit` through an editor script, a rejected edit, and
/// `replace --force` (delete then create: a new uid).
#[test]
fn edit_and_replace_force() {
    let s = Server::start();
    s.kubectl(&["create", "cm", "ed", "--from-literal=x=one"])
        .ok();
    let script = s.file("editor.sh", "#!/bin/sh\nsed -i 's/x: one/x: two/' \"$1\"\n");
    let bad = s.file(
        "bad-editor.sh",
        "#!/bin/sh\nsed -i 's/^  name: ed$/  name: ed\\n  labels: {\"bad label\": x}/' \"$1\"\n",
    );
    for p in [&script, &bad] {
        std::process::Command::new("chmod")
            .args(["+x", p.to_str().unwrap()])
            .status()
            .expect("chmod");
    }
    let out = common::run(
        std::process::Command::new("kubectl")
            .args(["edit", "cm", "ed"])
            .env("KUBECONFIG", &s.kubeconfig)
            .env("EDITOR", &script),
        None,
        common::KUBECTL_TIMEOUT,
    );
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "configmap/ed edited");
    let out = s
        .kubectl(&["get", "cm", "ed", "-o", "jsonpath={.data.x}"])
        .ok();
    assert_eq!(out.stdout, "two");

    let out = common::run(
        std::process::Command::new("kubectl")
            .args(["edit", "cm", "ed"])
            .env("KUBECONFIG", &s.kubeconfig)
            .env("EDITOR", &bad),
        None,
        common::KUBECTL_TIMEOUT,
    );
    assert!(!out.success());
    assert!(
        out.stderr.contains(r#"configmaps "ed" is invalid"#),
        "{}",
        out.stderr
    );

    let before = s
        .kubectl(&["get", "cm", "ed", "-o", "jsonpath={.metadata.uid}"])
        .ok()
        .stdout;
    let yaml = s.kubectl(&["get", "cm", "ed", "-o", "yaml"]).ok().stdout;
    let f = s.file("ed.yaml", &yaml.replace("x: two", "x: three"));
    let out = s
        .kubectl(&["replace", "--force", "-f", f.to_str().unwrap()])
        .ok();
    assert!(
        out.stdout.contains("configmap/ed replaced"),
        "{}",
        out.stdout
    );
    let after = s
        .kubectl(&[
            "get",
            "cm",
            "ed",
            "-o",
            "jsonpath={.metadata.uid} {.data.x}",
        ])
        .ok()
        .stdout;
    assert!(after.ends_with(" three"), "{after}");
    assert!(!after.starts_with(&before), "uid kept: {before} {after}");
    // The stale file now conflicts.
    let out = s.kubectl(&["replace", "-f", f.to_str().unwrap()]).fails();
    assert!(out.stderr.contains("Conflict"), "{}", out.stderr);
}

/// `kubectl set image|env|resources` on a Deployment.
#[test]
fn set_image_env_resources() {
    let s = Server::start();
    s.kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.25",
        "--port=80",
    ])
    .ok();
    let out = s
        .kubectl(&["set", "image", "deployment/web", "nginx=nginx:1.26"])
        .ok();
    assert_eq!(out.stdout.trim(), "deployment.apps/web image updated");
    s.kubectl(&["set", "env", "deployment/web", "FOO=bar"]).ok();
    let out = s.kubectl(&["set", "env", "deployment/web", "--list"]).ok();
    assert!(out.stdout.contains("FOO=bar"), "{}", out.stdout);
    s.kubectl(&[
        "set",
        "resources",
        "deployment/web",
        "-c=nginx",
        "--limits=cpu=200m,memory=512Mi",
        "--requests=cpu=100m",
    ])
    .ok();
    let d = json(&s.kubectl(&["get", "deploy", "web", "-o", "json"]).ok());
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.26");
    assert_eq!(
        c["env"],
        serde_json::json!([{"name": "FOO", "value": "bar"}])
    );
    assert_eq!(
        c["resources"],
        serde_json::json!({"limits": {"cpu": "200m", "memory": "512Mi"}, "requests": {"cpu": "100m"}})
    );
    assert_eq!(d["metadata"]["generation"], 4);
}
