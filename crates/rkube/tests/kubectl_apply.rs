//! `kubectl apply` (client-side and server-side) and `kubectl diff` against a
//! real `rkube server`: multi-document manifests including a CRD and an
//! instance of it, field-manager conflicts after `kubectl scale`, and diff's
//! exit codes.

mod common;
use common::{Server, row};

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    listKind: WidgetList
    plural: widgets
    singular: widget
    shortNames: [wg]
  scope: Namespaced
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
              size:
                type: integer
              color:
                type: string
"#;

const APP: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
  mode: production
"#;

const WIDGET: &str = r#"apiVersion: example.com/v1
kind: Widget
metadata:
  name: blue-widget
spec:
  size: 3
  color: blue
"#;

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
spec:
  replicas: 2
  selector:
    matchLabels: {app: ssa}
  template:
    metadata:
      labels: {app: ssa}
    spec:
      containers:
      - name: app
        image: busybox:1.36
        command: ["sleep", "3600"]
"#;

#[test]
fn apply_multi_document_with_crd_and_instance() {
    let s = Server::start();
    let all = format!("{APP}---\n{CRD}");
    let f = s.file("app.yaml", &all);
    let out = s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    for line in [
        "deployment.apps/web created",
        "service/web created",
        "configmap/web-config created",
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing {line:?} in:\n{}",
            out.stdout
        );
    }

    s.kubectl(&[
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        "crd/widgets.example.com",
    ])
    .ok();
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(WIDGET)).ok();
    assert!(
        out.stdout
            .contains("widget.example.com/blue-widget created"),
        "{}",
        out.stdout
    );

    // Everything is there, as a user would check it.
    let out = s
        .kubectl(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])
        .ok();
    assert_eq!(out.stdout, "2");
    let out = s
        .kubectl(&["get", "cm", "web-config", "-o", "jsonpath={.data.greeting}"])
        .ok();
    assert_eq!(out.stdout, "hello");
    let out = s
        .kubectl(&["get", "svc", "web", "-o", "jsonpath={.spec.ports[0].port}"])
        .ok();
    assert_eq!(out.stdout, "80");
    let out = s.kubectl(&["get", "widgets"]).ok();
    assert!(row(&out.stdout, "blue-widget").is_some(), "{}", out.stdout);
    let out = s
        .kubectl(&["get", "wg", "blue-widget", "-o", "jsonpath={.spec.color}"])
        .ok();
    assert_eq!(out.stdout, "blue");

    // Re-applying the same files changes nothing.
    let out = s.kubectl(&["apply", "-f", f.to_str().unwrap()]).ok();
    assert!(
        out.stdout.contains("deployment.apps/web unchanged")
            && out.stdout.contains("configmap/web-config unchanged"),
        "{}",
        out.stdout
    );

    // Client-side apply records the last applied configuration.
    let out = s
        .kubectl(&["apply", "view-last-applied", "configmap/web-config"])
        .ok();
    assert!(out.stdout.contains("greeting: hello"), "{}", out.stdout);

    // Dropping a key from the manifest removes it from the live object.
    let changed = APP.replace("  mode: production\n", "");
    let f2 = s.file("app2.yaml", &changed);
    let out = s.kubectl(&["apply", "-f", f2.to_str().unwrap()]).ok();
    assert!(
        out.stdout.contains("configmap/web-config configured"),
        "{}",
        out.stdout
    );
    let out = s
        .kubectl(&["get", "cm", "web-config", "-o", "jsonpath={.data}"])
        .ok();
    assert!(!out.stdout.contains("mode"), "{}", out.stdout);
}

#[test]
fn server_side_apply_conflicts_after_scale() {
    let s = Server::start();
    let out = s
        .kubectl_stdin(&["apply", "--server-side", "-f", "-"], Some(DEPLOY))
        .ok();
    assert!(
        out.stdout
            .contains("deployment.apps/ssa serverside-applied"),
        "{}",
        out.stdout
    );
    let out = s
        .kubectl(&[
            "get",
            "deploy",
            "ssa",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ])
        .ok();
    assert!(out.stdout.contains("kubectl"), "{}", out.stdout);

    s.kubectl(&["scale", "deploy/ssa", "--replicas=5"]).ok();

    // Re-applying the old replica count now conflicts with the scale.
    let out = s
        .kubectl_stdin(&["apply", "--server-side", "-f", "-"], Some(DEPLOY))
        .fails();
    assert!(
        out.stderr.contains("conflict") && out.stderr.contains(".spec.replicas"),
        "{}",
        out.stderr
    );
    let out = s
        .kubectl(&["get", "deploy", "ssa", "-o", "jsonpath={.spec.replicas}"])
        .ok();
    assert_eq!(out.stdout, "5");

    // --force-conflicts takes the field back.
    let out = s
        .kubectl_stdin(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(DEPLOY),
        )
        .ok();
    assert!(out.stdout.contains("serverside-applied"), "{}", out.stdout);
    let out = s
        .kubectl(&["get", "deploy", "ssa", "-o", "jsonpath={.spec.replicas}"])
        .ok();
    assert_eq!(out.stdout, "2");
}

#[test]
fn diff_exit_codes() {
    let s = Server::start();
    let f = s.file("ssa.yaml", DEPLOY);
    let path = f.to_str().unwrap();

    // Nothing on the server yet: everything is new, so there is a difference.
    let out = s.kubectl(&["diff", "-f", path]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stdout.contains("+  name: ssa"), "{}", out.stdout);

    s.kubectl(&["apply", "-f", path]).ok();
    let out = s.kubectl(&["diff", "-f", path]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    let f2 = s.file("ssa2.yaml", &DEPLOY.replace("replicas: 2", "replicas: 7"));
    let out = s.kubectl(&["diff", "-f", f2.to_str().unwrap()]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stdout.contains("-  replicas: 2") && out.stdout.contains("+  replicas: 7"),
        "{}",
        out.stdout
    );
    // diff is a dry run: the live object did not change.
    let out = s
        .kubectl(&["get", "deploy", "ssa", "-o", "jsonpath={.spec.replicas}"])
        .ok();
    assert_eq!(out.stdout, "2");

    // Server-side diff agrees.
    let out = s.kubectl(&["diff", "--server-side", "-f", path]);
    assert_eq!(out.code(), Some(0), "{out:?}");
}

#[test]
fn deleting_a_crd_deletes_its_objects() {
    let s = Server::start();
    let crd = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets, singular: gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;
    s.kubectl_stdin(&["apply", "-f", "-"], Some(crd)).ok();
    let gadget =
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 1}\n";
    s.kubectl_stdin(&["apply", "-f", "-"], Some(gadget)).ok();
    s.kubectl(&["delete", "crd", "gadgets.example.com", "--timeout=30s"])
        .ok();
    s.kubectl(&["get", "crd", "gadgets.example.com"]).fails();
    // Recreated, the CRD starts empty: the old object went with it.
    s.kubectl_stdin(&["apply", "-f", "-"], Some(crd)).ok();
    let out = s.kubectl(&["get", "gadgets", "-o", "name"]).ok();
    assert_eq!(out.stdout.trim(), "", "{}", out.stdout);
}
