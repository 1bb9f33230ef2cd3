//! Exploratory comparison of subresources and lifecycle commands: ephemeral
//! containers (`kubectl debug`), custom resources with printer columns,
//! status and scale, Deployment status and scale, Node cordon/taint/drain,
//! the delete modes, `wait`, and events for an object.

mod common;
use common::{Server, header, json, row};

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: boolean, jsonPath: .status.ready}
    - {name: Size, type: number, jsonPath: .spec.size, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [color]
            properties:
              color: {type: string, enum: [red, blue]}
              replicas: {type: integer, minimum: 0, maximum: 10, default: 1}
              size: {type: number}
          status:
            type: object
            properties:
              ready: {type: boolean}
              replicas: {type: integer}
              selector: {type: string}
"#;

/// `kubectl debug` adds an ephemeral container through the
/// pods/ephemeralcontainers subresource (no kubelet is needed for the API
/// part; kubectl returns once the spec is written).
#[test]
fn debug_adds_an_ephemeral_container() {
    let s = Server::start();
    s.kubectl(&["run", "target", "--image=nginx"]).ok();
    s.kubectl(&[
        "debug",
        "target",
        "--image=busybox",
        "--container=dbg",
        "--profile=general",
        "--",
        "sleep",
        "1",
    ])
    .ok();
    let out = s
        .kubectl(&[
            "get",
            "pod",
            "target",
            "-o",
            "jsonpath={.spec.ephemeralContainers[0].name} {.spec.ephemeralContainers[0].image}",
        ])
        .ok();
    assert_eq!(out.stdout, "dbg busybox");
}

/// Custom resources: printer columns (priority>0 only with -o wide), the
/// `all` category, schema validation, defaulting, status and scale.
#[test]
fn custom_resource_columns_status_and_scale() {
    let s = Server::start();
    s.kubectl_stdin(&["apply", "-f", "-"], Some(CRD)).ok();
    s.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=20s",
    ])
    .ok();
    let w = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\n\
             spec: {color: red, size: 1.5}\n";
    s.kubectl_stdin(&["apply", "-f", "-"], Some(w)).ok();
    let out = s.kubectl(&["get", "wg"]).ok();
    assert_eq!(
        header(&out.stdout),
        ["NAME", "COLOR", "REPLICAS", "READY", "AGE"]
    );
    assert_eq!(row(&out.stdout, "w1").expect("w1")[1..3], ["red", "1"]);
    let out = s.kubectl(&["get", "wg", "-o", "wide"]).ok();
    assert_eq!(header(&out.stdout)[4], "SIZE");
    let out = s.kubectl(&["get", "all"]).ok();
    assert!(
        out.stdout.contains("widget.example.com/w1"),
        "{}",
        out.stdout
    );

    let bad = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\n\
               spec: {color: purple, replicas: 20}\n";
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(bad)).fails();
    assert!(
        out.stderr.contains(
            r#"spec.color: Unsupported value: "purple": supported values: "red", "blue""#
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10"
        ),
        "{}",
        out.stderr
    );

    let out = s.kubectl(&["scale", "widget", "w1", "--replicas=3"]).ok();
    assert_eq!(out.stdout.trim(), "widget.example.com/w1 scaled");
    s.kubectl(&[
        "patch",
        "wg",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"ready":true,"replicas":3,"selector":"app=w"}}"#,
    ])
    .ok();
    // Writes to the main resource ignore status.
    s.kubectl(&[
        "patch",
        "wg",
        "w1",
        "--type=merge",
        "-p",
        r#"{"status":{"ready":false}}"#,
    ])
    .ok();
    let out = s.kubectl(&["get", "wg", "w1"]).ok();
    assert_eq!(
        row(&out.stdout, "w1").expect("w1")[1..4],
        ["red", "3", "true"]
    );
    let scale = json(
        &s.kubectl(&["get", "wg", "w1", "--subresource=scale", "-o", "json"])
            .ok(),
    );
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"]["selector"], "app=w");
    let out = s
        .kubectl(&["scale", "wg", "w1", "--current-replicas=2", "--replicas=4"])
        .fails();
    assert!(
        out.stderr.contains("Expected replicas to be 2, was 3"),
        "{}",
        out.stderr
    );
}

/// Deployment status through the status subresource (spec ignored there),
/// and the scale subresource.
#[test]
fn deployment_status_and_scale_subresources() {
    let s = Server::start();
    s.kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ])
    .ok();
    s.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":2,"readyReplicas":1},"spec":{"replicas":7}}"#,
    ])
    .ok();
    // The status subresource ignores spec changes.
    let out = s
        .kubectl(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
        .ok();
    assert_eq!(out.stdout, "2");
    // With no nodes nothing becomes ready: the deployment controller says so.
    let out = s.kubectl(&["get", "deploy", "web"]).ok();
    assert_eq!(
        row(&out.stdout, "web").expect("web")[1].split('/').nth(1),
        Some("2")
    );
    let out = s
        .kubectl(&["get", "deploy", "web", "--subresource=scale", "-o", "json"])
        .ok();
    let scale = json(&out);
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 2);
    assert_eq!(scale["status"]["selector"], "app=web");
    s.kubectl(&["scale", "deploy", "web", "--replicas=3"]).ok();
    let out = s
        .kubectl(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
        .ok();
    assert_eq!(out.stdout, "3");
}

/// cordon/uncordon/taint/drain on a Node created by hand (no kubelet).
#[test]
fn node_cordon_taint_and_drain() {
    let s = Server::start();
    s.kubectl_stdin(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"),
    )
    .ok();
    let out = s.kubectl(&["get", "nodes"]).ok();
    assert_eq!(row(&out.stdout, "n1").expect("n1")[1], "Unknown");
    assert_eq!(
        s.kubectl(&["cordon", "n1"]).ok().stdout.trim(),
        "node/n1 cordoned"
    );
    let out = s.kubectl(&["get", "nodes"]).ok();
    assert_eq!(
        row(&out.stdout, "n1").expect("n1")[1],
        "Unknown,SchedulingDisabled"
    );
    s.kubectl(&["uncordon", "n1"]).ok();
    let out = s
        .kubectl(&["taint", "nodes", "n1", "key1=value1:NoSchedule"])
        .ok();
    assert_eq!(out.stdout.trim(), "node/n1 tainted");
    let out = s
        .kubectl(&["taint", "nodes", "n1", "key1=value1:NoSchedule"])
        .fails();
    assert!(
        out.stderr.contains("already has key1 taint"),
        "{}",
        out.stderr
    );
    let out = s
        .kubectl(&["get", "node", "n1", "-o", "jsonpath={.spec.taints}"])
        .ok();
    // The node lifecycle controller may also have tainted this kubelet-less
    // node unreachable; ours is there as given.
    let taints = serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap_or_default();
    assert!(
        taints.as_array().is_some_and(|t| t.contains(
            &serde_json::json!({"effect": "NoSchedule", "key": "key1", "value": "value1"})
        )),
        "{taints}"
    );
    s.kubectl(&["taint", "nodes", "n1", "key1:NoSchedule-"])
        .ok();

    // Drain evicts the pods bound to the node.
    s.kubectl(&[
        "run",
        "bound",
        "--image=nginx",
        r#"--overrides={"spec":{"nodeName":"n1"}}"#,
    ])
    .ok();
    let out = s
        .kubectl(&[
            "drain",
            "n1",
            "--force",
            "--grace-period=0",
            "--timeout=20s",
        ])
        .ok();
    assert!(out.stdout.contains("pod/bound evicted"), "{}", out.stdout);
    assert!(out.stdout.contains("node/n1 drained"), "{}", out.stdout);
}

/// The delete modes: unscheduled pods go at once, bound pods wait for their
/// grace period (no kubelet here, so they stay Terminating) unless forced;
/// `--cascade=orphan|foreground` put their finalizer on the object; `wait
/// --for=delete` returns when the object goes.
#[test]
fn delete_modes_and_wait() {
    let s = Server::start();
    s.kubectl(&["run", "free", "--image=nginx"]).ok();
    s.kubectl(&["delete", "pod", "free"]).ok();
    s.kubectl(&["get", "pod", "free"]).fails();

    s.kubectl(&[
        "run",
        "bound",
        "--image=nginx",
        r#"--overrides={"spec":{"nodeName":"n1"}}"#,
    ])
    .ok();
    s.kubectl(&[
        "delete",
        "pod",
        "bound",
        "--wait=false",
        "--grace-period=100",
    ])
    .ok();
    let out = s.kubectl(&["get", "pod", "bound"]).ok();
    assert_eq!(row(&out.stdout, "bound").expect("bound")[2], "Terminating");
    let out = s
        .kubectl(&[
            "get",
            "pod",
            "bound",
            "-o",
            "jsonpath={.metadata.deletionGracePeriodSeconds}",
        ])
        .ok();
    assert_eq!(out.stdout, "100");
    let out = s
        .kubectl(&["delete", "pod", "bound", "--grace-period=0", "--force"])
        .ok();
    assert_eq!(out.stdout.trim(), r#"pod "bound" force deleted"#);
    s.kubectl(&["get", "pod", "bound"]).fails();

    // With no garbage collector yet, the finalizer stays (upstream's GC
    // would remove it and the object would go): accept either.
    for (name, cascade, finalizer) in [
        ("orph", "orphan", "orphan"),
        ("fore", "foreground", "foregroundDeletion"),
    ] {
        s.kubectl(&["create", "deployment", name, "--image=nginx"])
            .ok();
        s.kubectl(&[
            "delete",
            "deploy",
            name,
            &format!("--cascade={cascade}"),
            "--wait=false",
        ])
        .ok();
        let out = s.kubectl(&[
            "get",
            "deploy",
            name,
            "-o",
            "jsonpath={.metadata.finalizers} {.metadata.deletionTimestamp}",
        ]);
        if out.success() {
            assert!(
                out.stdout.contains(finalizer) && out.stdout.len() > finalizer.len() + 6,
                "{}",
                out.stdout
            );
        }
    }

    s.kubectl(&["create", "cm", "w"]).ok();
    let waiter = s.kubectl_bg(&["wait", "--for=delete", "cm/w", "--timeout=20s"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    s.kubectl(&["delete", "cm", "w"]).ok();
    assert!(
        waiter.wait_for(std::time::Duration::from_secs(10), |o| o
            .contains("configmap/w condition met")),
        "{}{}",
        waiter.stdout(),
        waiter.stderr()
    );
    let out = s
        .kubectl(&["wait", "--for=delete", "cm/never-existed", "--timeout=2s"])
        .ok();
    assert_eq!(out.stdout.trim(), "");
}

/// A core/v1 Event about a pod shows in `kubectl events --for`, in
/// `describe`, and through events.k8s.io/v1.
#[test]
fn events_for_an_object() {
    let s = Server::start();
    s.kubectl(&["run", "p", "--image=nginx"]).ok();
    let uid = s
        .kubectl(&["get", "pod", "p", "-o", "jsonpath={.metadata.uid}"])
        .ok()
        .stdout;
    let ev = format!(
        "apiVersion: v1\nkind: Event\nmetadata: {{name: ev1}}\n\
         involvedObject: {{kind: Pod, name: p, namespace: default, apiVersion: v1, uid: {uid}}}\n\
         reason: Pulled\nmessage: all good\ntype: Normal\ncount: 3\n\
         firstTimestamp: \"2026-01-01T00:00:00Z\"\nlastTimestamp: \"2026-01-01T00:01:00Z\"\n\
         source: {{component: tester}}\n"
    );
    s.kubectl_stdin(&["create", "-f", "-"], Some(&ev)).ok();
    let out = s.kubectl(&["events", "--for", "pod/p"]).ok();
    assert_eq!(
        header(&out.stdout),
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    assert!(out.stdout.contains("Pod/p"), "{}", out.stdout);
    assert!(out.stdout.contains("(x3 over"), "{}", out.stdout);
    let out = s.kubectl(&["describe", "pod", "p"]).ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("Normal") && l.contains("Pulled")),
        "{}",
        out.stdout
    );
    let out = s
        .kubectl(&[
            "get",
            "events",
            "--field-selector",
            "reason=Pulled,type=Normal",
            "-o",
            "name",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "event/ev1");
    let e = json(
        &s.kubectl(&["get", "events.events.k8s.io", "ev1", "-o", "json"])
            .ok(),
    );
    assert_eq!(e["note"], "all good");
    assert_eq!(e["regarding"]["name"], "p");
    assert_eq!(e["deprecatedCount"], 3);
}
