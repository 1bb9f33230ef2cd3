//! Where objects live in the store: `/registry/<group|core>/<plural>/[<namespace>/]<name>`.

use apimachinery::ResourceInfo;

pub const ROOT: &str = "/registry/";

/// The key prefix of every object of a resource (all namespaces).
pub fn resource_prefix(res: &ResourceInfo) -> String {
    let g = if res.storage_group.is_empty() {
        "core"
    } else {
        &res.storage_group
    };
    format!("{ROOT}{g}/{}/", res.plural)
}

/// The prefix of a listing: one namespace, or all of them when `namespace` is empty.
pub fn list_prefix(res: &ResourceInfo, namespace: &str) -> String {
    let mut p = resource_prefix(res);
    if res.namespaced && !namespace.is_empty() {
        p.push_str(namespace);
        p.push('/');
    }
    p
}

pub fn object_key(res: &ResourceInfo, namespace: &str, name: &str) -> String {
    let mut p = resource_prefix(res);
    if res.namespaced {
        p.push_str(namespace);
        p.push('/');
    }
    p.push_str(name);
    p
}

/// Split a key into (resource prefix, storage group, plural). None for keys
/// outside the layout.
pub fn split_key(key: &str) -> Option<(&str, &str, &str)> {
    let rest = key.strip_prefix(ROOT)?;
    let (g, rest) = rest.split_once('/')?;
    let (plural, _) = rest.split_once('/')?;
    let prefix_len = ROOT.len() + g.len() + 1 + plural.len() + 1;
    let group = if g == "core" { "" } else { g };
    Some((&key[..prefix_len], group, plural))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let res = ResourceInfo::new("apps", "v1", "Deployment", "deployments", true);
        let k = object_key(&res, "default", "web");
        assert_eq!(k, "/registry/apps/deployments/default/web");
        assert_eq!(
            split_key(&k),
            Some(("/registry/apps/deployments/", "apps", "deployments"))
        );
        let ns = ResourceInfo::new("", "v1", "Namespace", "namespaces", false);
        assert_eq!(
            object_key(&ns, "", "kube-system"),
            "/registry/core/namespaces/kube-system"
        );
        assert_eq!(list_prefix(&res, ""), "/registry/apps/deployments/");
    }
}
