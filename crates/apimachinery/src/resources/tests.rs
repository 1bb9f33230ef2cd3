//! Tests of the catalogue against upstream's `kubectl api-resources`.

use super::*;

fn builtin(group: &str, version: &str, plural: &str) -> ResourceInfo {
    Catalog::builtin()
        .find(group, version, plural)
        .cloned()
        .unwrap_or_else(|| panic!("{group}/{version} {plural} missing"))
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn pods_match_upstream() {
    let pods = builtin("", "v1", "pods");
    assert_eq!(pods.kind, "Pod");
    assert_eq!(pods.singular, "pod");
    assert!(pods.namespaced);
    assert_eq!(strs(&pods.short_names), ["po"]);
    assert_eq!(strs(&pods.categories), ["all"]);
    for sub in [
        "status",
        "binding",
        "eviction",
        "log",
        "exec",
        "attach",
        "portforward",
        "proxy",
        "ephemeralcontainers",
        "resize",
    ] {
        assert!(pods.has_subresource(sub), "pods/{sub}");
    }
    assert_eq!(pods.verbs.len(), 8);
}

#[test]
fn restricted_verbs() {
    assert_eq!(strs(&builtin("", "v1", "bindings").verbs), ["create"]);
    assert_eq!(
        strs(&builtin("", "v1", "componentstatuses").verbs),
        ["get", "list"]
    );
    let ns = builtin("", "v1", "namespaces");
    assert!(!ns.has_verb("deletecollection"));
    assert!(ns.has_verb("watch"));
    assert!(builtin("", "v1", "nodes").has_verb("deletecollection"));
    for (g, p) in [
        ("authentication.k8s.io", "tokenreviews"),
        ("authentication.k8s.io", "selfsubjectreviews"),
        ("authorization.k8s.io", "subjectaccessreviews"),
        ("authorization.k8s.io", "localsubjectaccessreviews"),
    ] {
        assert_eq!(strs(&builtin(g, "v1", p).verbs), ["create"], "{p}");
    }
    assert!(builtin("authorization.k8s.io", "v1", "localsubjectaccessreviews").namespaced);
}

#[test]
fn short_names_and_categories() {
    let cases = [
        ("", "services", "svc"),
        ("apps", "deployments", "deploy"),
        ("apps", "replicasets", "rs"),
        ("apps", "statefulsets", "sts"),
        ("apps", "daemonsets", "ds"),
        ("", "persistentvolumeclaims", "pvc"),
        ("", "resourcequotas", "quota"),
        ("", "limitranges", "limits"),
        ("policy", "poddisruptionbudgets", "pdb"),
        ("networking.k8s.io", "networkpolicies", "netpol"),
        ("scheduling.k8s.io", "priorityclasses", "pc"),
        ("batch", "cronjobs", "cj"),
        ("certificates.k8s.io", "certificatesigningrequests", "csr"),
    ];
    for (g, p, short) in cases {
        let v = if g == "autoscaling" { "v2" } else { "v1" };
        assert_eq!(strs(&builtin(g, v, p).short_names), [short], "{p}");
    }
    let crd = builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions");
    assert_eq!(strs(&crd.short_names), ["crd", "crds"]);
    assert_eq!(strs(&crd.categories), ["api-extensions"]);
    let all: Vec<_> = Catalog::builtin()
        .in_category("all")
        .iter()
        .map(|r| r.plural.clone())
        .collect();
    for p in [
        "pods",
        "services",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
        "horizontalpodautoscalers",
    ] {
        assert!(all.iter().any(|a| a == p), "{p} in all");
    }
    assert!(!all.iter().any(|a| a == "configmaps"));
}

#[test]
fn shared_storage() {
    let v1 = builtin("autoscaling", "v1", "horizontalpodautoscalers");
    let v2 = builtin("autoscaling", "v2", "horizontalpodautoscalers");
    assert_eq!(v1.storage_group, v2.storage_group);
    assert_eq!(builtin("events.k8s.io", "v1", "events").storage_group, "");
    assert_eq!(builtin("apps", "v1", "deployments").storage_group, "apps");
}

#[test]
fn no_duplicates_and_scale_subresources() {
    let cat = Catalog::builtin();
    let mut keys: Vec<_> = cat
        .resources()
        .iter()
        .map(|r| format!("{}/{}/{}", r.group, r.version, r.plural))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n);
    for (g, p) in [
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("", "replicationcontrollers"),
    ] {
        assert!(
            cat.find_any_version(g, p)
                .is_some_and(|r| r.has_subresource("scale"))
        );
    }
    assert!(!builtin("apps", "v1", "daemonsets").has_subresource("scale"));
}

#[test]
fn catalog_order_and_lookups() {
    let cat = Catalog::builtin();
    let groups = cat.groups();
    assert_eq!(groups[0], "");
    assert_eq!(groups[1], "apiregistration.k8s.io");
    assert_eq!(groups[2], "apps");
    assert_eq!(cat.versions("autoscaling"), ["v2", "v1"]);
    assert_eq!(
        cat.by_kind("apps", "v1", "Deployment")
            .map(|r| r.plural.as_str()),
        Some("deployments")
    );
    assert!(cat.find("apps", "v1beta1", "deployments").is_none());
    let po: Vec<_> = cat
        .resolve_name("po")
        .iter()
        .map(|r| r.kind.clone())
        .collect();
    assert_eq!(po, ["Pod"]);
    // `ev` is served by core and events.k8s.io.
    assert_eq!(cat.resolve_name("ev").len(), 2);
    // Every group in the catalogue has its preferred version served.
    for (g, v) in preferred_group_order() {
        assert!(cat.versions(g).first() == Some(&v), "{g}");
    }
}

#[test]
fn catalog_insert_replaces_and_orders_custom_groups_last() {
    let mut cat = Catalog::builtin();
    let n = cat.resources().len();
    cat.insert(ResourceInfo::new("example.com", "v1", "Foo", "foos", true));
    cat.insert(ResourceInfo::new("example.com", "v1", "Foo", "foos", false));
    assert_eq!(cat.resources().len(), n + 1);
    assert_eq!(cat.groups().last(), Some(&"example.com"));
    assert!(
        !cat.find("example.com", "v1", "foos")
            .is_some_and(|r| r.namespaced)
    );
}

#[test]
fn subresource_discovery() {
    let pods = builtin("", "v1", "pods");
    let ev = subresource_info(&pods, "eviction").expect("eviction");
    assert_eq!(
        (ev.group.as_str(), ev.kind.as_str()),
        ("policy", "Eviction")
    );
    assert_eq!(strs(&ev.verbs), ["create"]);
    let exec = subresource_info(&pods, "exec").expect("exec");
    assert_eq!(exec.kind, "PodExecOptions");
    assert_eq!(strs(&exec.verbs), ["create", "get"]);
    let st = subresource_info(&pods, "status").expect("status");
    assert_eq!((st.name.as_str(), st.kind.as_str()), ("pods/status", "Pod"));
    assert_eq!(strs(&st.verbs), ["get", "patch", "update"]);
    let scale = subresource_info(&builtin("apps", "v1", "deployments"), "scale").expect("scale");
    assert_eq!(
        (scale.group.as_str(), scale.kind.as_str()),
        ("autoscaling", "Scale")
    );
    let token = subresource_info(&builtin("", "v1", "serviceaccounts"), "token").expect("token");
    assert_eq!(token.kind, "TokenRequest");
    assert!(subresource_info(&pods, "scale").is_none());
}
