//! Decoding a request's path and query into upstream's request attributes:
//! verb, API group/version, resource, subresource, namespace and name.

use std::collections::HashMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// False for non-resource paths (`/healthz`, `/version`, discovery).
    pub is_resource: bool,
    /// get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// Anything after the subresource (proxy paths).
    pub rest: Vec<String>,
}

pub type Query = HashMap<String, String>;

pub fn parse_query(q: Option<&str>) -> Query {
    q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub fn query_bool(q: &Query, key: &str) -> bool {
    matches!(q.get(key).map(String::as_str), Some("true") | Some("1"))
}

/// Parse an API path. Returns None for paths that are not API resource paths.
pub fn parse(method: &str, path: &str, query: &Query) -> Option<RequestInfo> {
    let parts: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let mut info = RequestInfo::default();
    let rest: &[String] = match parts.first().map(String::as_str) {
        Some("api") if parts.len() >= 3 => {
            info.version = parts[1].clone();
            &parts[2..]
        }
        Some("apis") if parts.len() >= 4 => {
            info.group = parts[1].clone();
            info.version = parts[2].clone();
            &parts[3..]
        }
        _ => return None,
    };
    let mut rest = rest.to_vec();
    let mut watch_prefix = false;
    if rest.first().map(String::as_str) == Some("watch") {
        watch_prefix = true;
        rest.remove(0);
    }
    if rest.first().map(String::as_str) == Some("namespaces") && rest.len() > 1 {
        info.namespace = rest[1].clone();
        if rest.len() > 2 && !matches!(rest[2].as_str(), "status" | "finalize") {
            rest.drain(..2);
        } else {
            // The namespace object itself (and its status/finalize).
            info.namespace.clear();
        }
    }
    let resource = rest.first()?.clone();
    info.resource = resource;
    info.name = rest.get(1).cloned().unwrap_or_default();
    info.subresource = rest.get(2).cloned().unwrap_or_default();
    info.rest = rest.iter().skip(3).cloned().collect();
    if info.resource == "namespaces" && !info.name.is_empty() {
        info.namespace.clear();
    }
    info.is_resource = true;
    let watch = watch_prefix || query_bool(query, "watch");
    info.verb = match method {
        "GET" | "HEAD" if info.name.is_empty() && watch => "watch",
        "GET" | "HEAD" if info.name.is_empty() => "list",
        "GET" | "HEAD" if watch_prefix => "watch",
        "GET" | "HEAD" => "get",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" if info.name.is_empty() => "deletecollection",
        "DELETE" => "delete",
        _ => "unknown",
    }
    .to_string();
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(method: &str, path: &str) -> RequestInfo {
        parse(method, path, &Query::new()).unwrap()
    }

    #[test]
    fn parses_namespaced_and_cluster_paths() {
        let r = p(
            "GET",
            "/apis/apps/v1/namespaces/default/deployments/web/scale",
        );
        assert_eq!(
            (r.group.as_str(), r.version.as_str(), r.resource.as_str()),
            ("apps", "v1", "deployments")
        );
        assert_eq!(
            (
                r.namespace.as_str(),
                r.name.as_str(),
                r.subresource.as_str()
            ),
            ("default", "web", "scale")
        );
        assert_eq!(r.verb, "get");
        let r = p("GET", "/api/v1/namespaces");
        assert_eq!(
            (r.resource.as_str(), r.verb.as_str()),
            ("namespaces", "list")
        );
        let r = p("PUT", "/api/v1/namespaces/foo/finalize");
        assert_eq!(
            (
                r.resource.as_str(),
                r.name.as_str(),
                r.subresource.as_str(),
                r.namespace.as_str()
            ),
            ("namespaces", "foo", "finalize", "")
        );
        let r = p("GET", "/api/v1/namespaces/foo");
        assert_eq!(
            (r.resource.as_str(), r.name.as_str(), r.verb.as_str()),
            ("namespaces", "foo", "get")
        );
        let r = p("DELETE", "/api/v1/namespaces/ns1/pods");
        assert_eq!(
            (r.resource.as_str(), r.namespace.as_str(), r.verb.as_str()),
            ("pods", "ns1", "deletecollection")
        );
        let r = p("GET", "/api/v1/watch/namespaces/ns1/pods");
        assert_eq!(r.verb, "watch");
        assert!(parse("GET", "/apis", &Query::new()).is_none());
        assert!(parse("GET", "/apis/apps/v1", &Query::new()).is_none());
    }
}
