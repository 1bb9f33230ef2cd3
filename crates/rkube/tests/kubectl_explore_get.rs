//! Exploratory comparison of `kubectl get` against upstream: sorting on
//! fields outside metadata (which needs the full object embedded in Table
//! rows), the status field selectors upstream registers, and the output
//! formats and paging that already behave like upstream.

mod common;
use common::{Server, header, row};

fn names(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        // Published into every namespace by upstream's root-CA controller.
        .filter(|n| n != "kube-root-ca.crt")
        .collect()
}

/// `--sort-by` on a field outside metadata: kubectl asks for a Table with
/// `includeObject=Object` and sorts rows by the embedded object. Upstream
/// embeds the whole object; embedding only PartialObjectMetadata makes
/// kubectl print "No resources found".
#[test]
fn sort_by_a_field_outside_metadata() {
    let s = Server::start();
    for (name, k) in [("third", "c"), ("first", "a"), ("second", "b")] {
        s.kubectl(&["create", "cm", name, &format!("--from-literal=k={k}")])
            .ok();
    }
    let out = s.kubectl(&["get", "cm", "--sort-by=.data.k"]).ok();
    assert!(
        !out.stderr.contains("No resources found"),
        "sorted table is empty:\n{}",
        out.stderr
    );
    assert_eq!(
        header(&out.stdout),
        ["NAME", "DATA", "AGE"],
        "{}",
        out.stdout
    );
    assert_eq!(
        names(&out.stdout),
        ["first", "second", "third"],
        "{}",
        out.stdout
    );

    // The idiom every Kubernetes troubleshooting guide uses.
    for (name, last) in [
        ("late", "2026-01-01T10:00:00Z"),
        ("early", "2026-01-01T09:00:00Z"),
    ] {
        let ev = format!(
            "apiVersion: v1\nkind: Event\nmetadata: {{name: {name}}}\n\
             involvedObject: {{kind: ConfigMap, name: first, namespace: default, apiVersion: v1}}\n\
             reason: Test\nmessage: {name}\ntype: Normal\ncount: 1\n\
             firstTimestamp: \"{last}\"\nlastTimestamp: \"{last}\"\nsource: {{component: test}}\n"
        );
        s.kubectl_stdin(&["create", "-f", "-"], Some(&ev)).ok();
    }
    let out = s
        .kubectl(&["get", "events", "--sort-by=.lastTimestamp", "-o", "wide"])
        .ok();
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        rows[0].contains("early") && rows[1].contains("late"),
        "{}",
        out.stdout
    );
}

/// Field selectors upstream registers beyond metadata.name/namespace for
/// ReplicaSets and ReplicationControllers (`status.replicas`) and
/// CertificateSigningRequests (`spec.signerName`).
#[test]
fn status_and_signer_field_selectors() {
    let s = Server::start();
    let rs = r#"apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs1}
spec:
  replicas: 0
  selector: {matchLabels: {a: rs1}}
  template:
    metadata: {labels: {a: rs1}}
    spec: {containers: [{name: c, image: nginx}]}
"#;
    s.kubectl_stdin(&["apply", "-f", "-"], Some(rs)).ok();
    let out = s
        .kubectl(&[
            "get",
            "rs",
            "--field-selector",
            "status.replicas=0",
            "-o",
            "name",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "replicaset.apps/rs1");
    let out = s
        .kubectl(&[
            "get",
            "rs",
            "--field-selector",
            "status.replicas=3",
            "-o",
            "name",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "");

    s.kubectl(&["get", "rc", "--field-selector", "status.replicas=0"])
        .ok();
    s.kubectl(&[
        "get",
        "csr",
        "--field-selector",
        "spec.signerName=kubernetes.io/kube-apiserver-client",
    ])
    .ok();
    s.kubectl(&["get", "jobs", "--field-selector", "status.successful=0"])
        .ok();
}

/// Output formats and paging that already match upstream.
#[test]
fn output_formats_labels_kinds_and_paging() {
    let s = Server::start();
    for i in 1..=3 {
        s.kubectl(&[
            "create",
            "cm",
            &format!("d{i}"),
            &format!("--from-literal=x=v{i}"),
        ])
        .ok();
        s.kubectl(&["create", "cm", &format!("p{i}"), "-n", "kube-public"])
            .ok();
    }
    s.kubectl(&["label", "cm", "d1", "tier=web"]).ok();

    let out = s
        .kubectl(&[
            "get",
            "cm",
            "-o",
            "custom-columns=NAME:.metadata.name,X:.data.x,NS:.metadata.namespace",
        ])
        .ok();
    assert_eq!(header(&out.stdout), ["NAME", "X", "NS"]);
    assert_eq!(row(&out.stdout, "d2").expect("d2"), ["d2", "v2", "default"]);

    let out = s
        .kubectl(&[
            "get",
            "cm",
            "-o",
            "go-template={{range .items}}{{if .data.x}}{{.metadata.name}}={{.data.x}} {{end}}{{end}}",
        ])
        .ok();
    assert_eq!(out.stdout, "d1=v1 d2=v2 d3=v3 ");

    let out = s.kubectl(&["get", "cm", "-L", "tier"]).ok();
    assert_eq!(header(&out.stdout), ["NAME", "DATA", "AGE", "TIER"]);
    assert_eq!(row(&out.stdout, "d1").expect("d1")[3], "web");

    let out = s
        .kubectl(&["get", "cm", "--show-kind", "--no-headers"])
        .ok();
    assert!(
        out.stdout.lines().all(|l| l.starts_with("configmap/")),
        "{}",
        out.stdout
    );

    // Paging with a continue token across namespaces returns every object,
    // each exactly once.
    let paged = s
        .kubectl(&["get", "cm", "-A", "--chunk-size=2", "-o", "name"])
        .ok();
    let whole = s.kubectl(&["get", "cm", "-A", "-o", "name"]).ok();
    let mut a: Vec<&str> = paged.stdout.lines().collect();
    let mut b: Vec<&str> = whole.stdout.lines().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(a.len() >= 6, "{a:?}");
    let out = s
        .kubectl(&["get", "cm", "-A", "--chunk-size=2", "-v=6"])
        .ok();
    assert!(out.stderr.contains("continue="), "no second page requested");
}
