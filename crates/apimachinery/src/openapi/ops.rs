//! The REST operations of served resources, described once and rendered by
//! both the Swagger 2.0 and the OpenAPI 3.0 writers: paths, methods,
//! upstream-style operation ids (`listAppsV1NamespacedDeployment`),
//! `x-kubernetes-action`, the group-version-kind and the body and response
//! definitions. Parameters are a compact subset of upstream's.

use crate::resources::ResourceInfo;

/// A query or path parameter.
pub(super) struct Param {
    pub name: &'static str,
    pub location: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
}

const fn q(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        location: "query",
        kind,
        description,
    }
}

pub(super) const LIST_PARAMS: &[Param] = &[
    q(
        "allowWatchBookmarks",
        "boolean",
        "Requests watch events with type \"BOOKMARK\".",
    ),
    q(
        "continue",
        "string",
        "The continue token of the previous page of a paginated list.",
    ),
    q(
        "fieldSelector",
        "string",
        "A selector to restrict the list of returned objects by their fields.",
    ),
    q(
        "labelSelector",
        "string",
        "A selector to restrict the list of returned objects by their labels.",
    ),
    q(
        "limit",
        "integer",
        "The maximum number of responses to return for a list call.",
    ),
    q(
        "resourceVersion",
        "string",
        "Constrains which resource versions the request may be served from.",
    ),
    q(
        "resourceVersionMatch",
        "string",
        "How resourceVersion is applied to list calls.",
    ),
    q(
        "sendInitialEvents",
        "boolean",
        "Sends synthetic ADDED events for the current state before the watch stream.",
    ),
    q(
        "timeoutSeconds",
        "integer",
        "Timeout for the list/watch call.",
    ),
    q(
        "watch",
        "boolean",
        "Watch for changes to the described resources.",
    ),
];
pub(super) const WRITE_PARAMS: &[Param] = &[
    q(
        "dryRun",
        "string",
        "When present (value All), modifications are not persisted.",
    ),
    q(
        "fieldManager",
        "string",
        "A name associated with the actor or entity making these changes.",
    ),
    q(
        "fieldValidation",
        "string",
        "How to handle unknown and duplicate fields: Ignore, Warn or Strict.",
    ),
];
pub(super) const PATCH_PARAMS: &[Param] = &[
    q(
        "dryRun",
        "string",
        "When present (value All), modifications are not persisted.",
    ),
    q(
        "fieldManager",
        "string",
        "A name associated with the actor or entity making these changes. Required for apply patches.",
    ),
    q(
        "fieldValidation",
        "string",
        "How to handle unknown and duplicate fields: Ignore, Warn or Strict.",
    ),
    q(
        "force",
        "boolean",
        "Force apply requests to take ownership of conflicting fields.",
    ),
];
pub(super) const DELETE_PARAMS: &[Param] = &[
    q(
        "dryRun",
        "string",
        "When present (value All), modifications are not persisted.",
    ),
    q(
        "gracePeriodSeconds",
        "integer",
        "The duration in seconds before the object should be deleted.",
    ),
    q(
        "propagationPolicy",
        "string",
        "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
    ),
];
pub(super) const PRETTY: Param = q(
    "pretty",
    "string",
    "If 'true', then the output is pretty printed.",
);
pub(super) const NAME: Param = Param {
    name: "name",
    location: "path",
    kind: "string",
    description: "name of the object",
};
pub(super) const NAMESPACE: Param = Param {
    name: "namespace",
    location: "path",
    kind: "string",
    description: "object name and auth scope, such as for teams and projects",
};

/// What a request carries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Body {
    None,
    /// The object itself (create, replace).
    Object,
    /// A patch document (`io.k8s.apimachinery.pkg.apis.meta.v1.Patch`).
    Patch,
    /// `DeleteOptions`.
    Delete,
}

/// One operation on one path.
pub(super) struct Op {
    pub path: String,
    pub method: &'static str,
    pub operation_id: String,
    pub action: &'static str,
    pub description: String,
    pub params: &'static [Param],
    pub body: Body,
    /// The group, version and kind of the object the operation carries.
    pub gvk: (String, String, String),
    /// Definition name of the request body (for `Body::Object`).
    pub body_def: Option<String>,
    /// Definition name of the successful response.
    pub response_def: Option<String>,
    /// HTTP status codes of successful responses.
    pub codes: &'static [&'static str],
    pub namespaced_path: bool,
    pub named: bool,
}

/// `rbac.authorization.k8s.io` → `RbacAuthorization`, `` → `Core`.
pub(super) fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed.split(['.', '-']).map(upper_first).collect()
}

/// The tag upstream gives a group-version's operations: `apps_v1`,
/// `rbacAuthorization_v1`, `core_v1`.
pub(super) fn tag(group: &str, version: &str) -> String {
    let camel = group_camel(group);
    let mut chars = camel.chars();
    let lower: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default();
    format!("{lower}_{version}")
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// `/api/v1` or `/apis/apps/v1`.
pub(super) fn gv_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// Operations of one resource; `kind_def` and `list_def` are its definition
/// names when a schema is known.
pub(super) fn resource_ops(
    r: &ResourceInfo,
    kind_def: Option<&str>,
    list_def: Option<&str>,
) -> Vec<Op> {
    let prefix = gv_prefix(&r.group, &r.version);
    let gvp = format!("{}{}", group_camel(&r.group), upper_first(&r.version));
    let ns = if r.namespaced { "Namespaced" } else { "" };
    let coll = if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{prefix}/{}", r.plural)
    };
    let item = format!("{coll}/{{name}}");
    let gvk = (r.group.clone(), r.version.clone(), r.kind.clone());
    let kind = &r.kind;
    let mut ops = Vec::new();
    let mut op = |path: &str,
                  method,
                  verb: &str,
                  suffix: &str,
                  action,
                  params,
                  body,
                  resp: Option<&str>,
                  codes,
                  named| {
        ops.push(Op {
            path: path.to_string(),
            method,
            operation_id: format!("{verb}{gvp}{suffix}"),
            action,
            description: format!("{action} {kind}"),
            params,
            body,
            gvk: gvk.clone(),
            body_def: kind_def.map(String::from),
            response_def: resp.map(String::from),
            codes,
            namespaced_path: r.namespaced,
            named,
        });
    };
    const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
    let has = |v: &str| r.has_verb(v);
    if has("list") {
        op(
            &coll,
            "get",
            "list",
            &format!("{ns}{kind}"),
            "list",
            LIST_PARAMS,
            Body::None,
            list_def,
            &["200"],
            false,
        );
    }
    if has("create") {
        op(
            &coll,
            "post",
            "create",
            &format!("{ns}{kind}"),
            "post",
            WRITE_PARAMS,
            Body::Object,
            kind_def,
            &["200", "201", "202"],
            false,
        );
    }
    if has("deletecollection") {
        op(
            &coll,
            "delete",
            "delete",
            &format!("Collection{ns}{kind}"),
            "deletecollection",
            LIST_PARAMS,
            Body::Delete,
            Some(STATUS),
            &["200"],
            false,
        );
    }
    if has("get") {
        op(
            &item,
            "get",
            "read",
            &format!("{ns}{kind}"),
            "get",
            &[],
            Body::None,
            kind_def,
            &["200"],
            true,
        );
    }
    if has("update") {
        op(
            &item,
            "put",
            "replace",
            &format!("{ns}{kind}"),
            "put",
            WRITE_PARAMS,
            Body::Object,
            kind_def,
            &["200", "201"],
            true,
        );
    }
    if has("patch") {
        op(
            &item,
            "patch",
            "patch",
            &format!("{ns}{kind}"),
            "patch",
            PATCH_PARAMS,
            Body::Patch,
            kind_def,
            &["200", "201"],
            true,
        );
    }
    if has("delete") {
        op(
            &item,
            "delete",
            "delete",
            &format!("{ns}{kind}"),
            "delete",
            DELETE_PARAMS,
            Body::Delete,
            Some(STATUS),
            &["200", "202"],
            true,
        );
    }
    if r.namespaced && has("list") {
        let all = format!("{prefix}/{}", r.plural);
        ops.push(Op {
            path: all,
            method: "get",
            operation_id: format!("list{gvp}{kind}ForAllNamespaces"),
            action: "list",
            description: format!("list objects of kind {kind} in all namespaces"),
            params: LIST_PARAMS,
            body: Body::None,
            gvk: gvk.clone(),
            body_def: None,
            response_def: list_def.map(String::from),
            codes: &["200"],
            namespaced_path: false,
            named: false,
        });
    }
    for sub in ["status", "scale"] {
        if !r.has_subresource(sub) {
            continue;
        }
        let path = format!("{item}/{sub}");
        let (def, sgvk) = if sub == "scale" {
            (
                Some("io.k8s.api.autoscaling.v1.Scale".to_string()),
                (
                    "autoscaling".to_string(),
                    "v1".to_string(),
                    "Scale".to_string(),
                ),
            )
        } else {
            (kind_def.map(String::from), gvk.clone())
        };
        let sfx = format!("{ns}{kind}{}", upper_first(sub));
        for (method, verb, action, params, body, codes) in [
            (
                "get",
                "read",
                "get",
                &[] as &'static [Param],
                Body::None,
                &["200"] as &'static [&'static str],
            ),
            (
                "put",
                "replace",
                "put",
                WRITE_PARAMS,
                Body::Object,
                &["200", "201"],
            ),
            (
                "patch",
                "patch",
                "patch",
                PATCH_PARAMS,
                Body::Patch,
                &["200", "201"],
            ),
        ] {
            ops.push(Op {
                path: path.clone(),
                method,
                operation_id: format!("{verb}{gvp}{sfx}"),
                action,
                description: format!("{action} {sub} of the specified {kind}"),
                params,
                body,
                gvk: sgvk.clone(),
                body_def: def.clone(),
                response_def: def.clone(),
                codes,
                namespaced_path: r.namespaced,
                named: true,
            });
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_upstream() {
        assert_eq!(
            group_camel("rbac.authorization.k8s.io"),
            "RbacAuthorization"
        );
        assert_eq!(group_camel(""), "Core");
        assert_eq!(group_camel("stable.example.com"), "StableExampleCom");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
        assert_eq!(tag("", "v1"), "core_v1");
        let r = ResourceInfo::new("apps", "v1", "Deployment", "deployments", true)
            .with_subresources(&["status", "scale"]);
        let ops = resource_ops(
            &r,
            Some("io.k8s.api.apps.v1.Deployment"),
            Some("io.k8s.api.apps.v1.DeploymentList"),
        );
        let ids: Vec<&str> = ops.iter().map(|o| o.operation_id.as_str()).collect();
        assert!(ids.contains(&"listAppsV1NamespacedDeployment"));
        assert!(ids.contains(&"deleteAppsV1CollectionNamespacedDeployment"));
        assert!(ids.contains(&"listAppsV1DeploymentForAllNamespaces"));
        assert!(ids.contains(&"readAppsV1NamespacedDeploymentScale"));
        assert!(ids.contains(&"patchAppsV1NamespacedDeploymentStatus"));
        let read = ops
            .iter()
            .find(|o| o.operation_id == "readAppsV1NamespacedDeployment");
        assert_eq!(
            read.map(|o| o.path.as_str()),
            Some("/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
        );
    }
}
