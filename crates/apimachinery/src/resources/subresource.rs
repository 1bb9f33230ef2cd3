//! What discovery says about a subresource: its kind (possibly in another
//! group, like `pods/eviction` → policy/v1 Eviction) and its verbs.

use super::ResourceInfo;

/// One subresource as discovery lists it (`pods/status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubresourceInfo {
    /// `pods/status`.
    pub name: String,
    /// The group of the kind, when it is not the parent's (empty otherwise).
    pub group: String,
    /// The version of the kind, when it is not the parent's (empty otherwise).
    pub version: String,
    pub kind: String,
    pub verbs: Vec<String>,
}

const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];
const CONNECT_VERBS: &[&str] = &["create", "get"];

/// Discovery facts for a subresource of a resource, or `None` when the
/// resource does not serve it.
pub fn subresource_info(parent: &ResourceInfo, sub: &str) -> Option<SubresourceInfo> {
    if !parent.has_subresource(sub) {
        return None;
    }
    fn own(kind: &str, verbs: &'static [&'static str]) -> Row {
        ("", "", kind.to_string(), verbs)
    }
    type Row = (&'static str, &'static str, String, &'static [&'static str]);
    let (group, version, kind, verbs): Row = match (parent.plural.as_str(), sub) {
        (_, "status") | (_, "approval") => own(&parent.kind, GET_PATCH_UPDATE),
        (_, "scale") => ("autoscaling", "v1", "Scale".to_string(), GET_PATCH_UPDATE),
        ("pods", "binding") => own("Binding", &["create"]),
        ("pods", "eviction") => ("policy", "v1", "Eviction".to_string(), &["create"][..]),
        ("pods", "log") => own("Pod", &["get"]),
        ("pods", "exec") => own("PodExecOptions", CONNECT_VERBS),
        ("pods", "attach") => own("PodAttachOptions", CONNECT_VERBS),
        ("pods", "portforward") => own("PodPortForwardOptions", CONNECT_VERBS),
        ("pods", "proxy") => own("PodProxyOptions", PROXY_VERBS),
        ("pods", "ephemeralcontainers") | ("pods", "resize") => own("Pod", GET_PATCH_UPDATE),
        ("services", "proxy") => own("ServiceProxyOptions", PROXY_VERBS),
        ("nodes", "proxy") => own("NodeProxyOptions", PROXY_VERBS),
        ("namespaces", "finalize") => own("Namespace", &["update"]),
        ("serviceaccounts", "token") => (
            "authentication.k8s.io",
            "v1",
            "TokenRequest".to_string(),
            &["create"][..],
        ),
        _ => own(&parent.kind, GET_PATCH_UPDATE),
    };
    Some(SubresourceInfo {
        name: format!("{}/{}", parent.plural, sub),
        group: group.into(),
        version: version.into(),
        kind,
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
    })
}
