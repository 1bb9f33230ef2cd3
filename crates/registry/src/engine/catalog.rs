//! The catalog of served resources: the built-in ones plus one entry per
//! served version of every CustomResourceDefinition.

use apimachinery::ResourceInfo;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What a custom resource's version brings beyond its [`ResourceInfo`].
#[derive(Clone, Debug, Default)]
pub struct CustomInfo {
    /// `schema.openAPIV3Schema` of the version.
    pub schema: Option<Value>,
    pub printer_columns: Option<Value>,
    /// `subresources.scale` paths.
    pub scale: Option<Value>,
    /// The storage version's name (custom resources are stored at it).
    pub storage_version: String,
}

#[derive(Default)]
pub struct Catalog {
    resources: Vec<Arc<ResourceInfo>>,
    index: HashMap<(String, String, String), usize>,
    custom: HashMap<(String, String, String), CustomInfo>,
    /// Changes whenever what is served changes (resources or their schemas),
    /// not on every CRD status write.
    fingerprint: u64,
}

impl Catalog {
    pub fn builtin() -> Self {
        Self::with_crds(vec![])
    }

    /// Built-ins plus the resources the given CRD objects define.
    pub fn with_crds(crds: Vec<Value>) -> Self {
        let mut cat = Catalog::default();
        // Upstream's discovery order: core, then the groups in their usual order.
        for r in apimachinery::resources::Catalog::builtin().resources() {
            cat.add(r.clone(), None);
        }
        let mut crds = crds;
        crds.sort_by(|a, b| crd_group(a).cmp(crd_group(b)));
        for crd in &crds {
            for (info, custom) in custom_resources(crd) {
                // A CRD may not shadow a built-in resource.
                if cat.find(&info.group, &info.version, &info.plural).is_none() {
                    cat.add(info, Some(custom));
                }
            }
        }
        cat
    }

    fn add(&mut self, info: ResourceInfo, custom: Option<CustomInfo>) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.fingerprint.hash(&mut h);
        format!("{info:?}").hash(&mut h);
        if let Some(c) = &custom {
            format!("{:?}{:?}{:?}", c.schema, c.printer_columns, c.scale).hash(&mut h);
        }
        self.fingerprint = h.finish();
        let k = (
            info.group.clone(),
            info.version.clone(),
            info.plural.clone(),
        );
        if let Some(c) = custom {
            self.custom.insert(k.clone(), c);
        }
        self.index.insert(k, self.resources.len());
        self.resources.push(Arc::new(info));
    }

    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.index
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .map(|i| self.resources[*i].clone())
    }

    pub fn find_kind(&self, group: &str, version: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .cloned()
    }

    pub fn custom(&self, res: &ResourceInfo) -> Option<&CustomInfo> {
        self.custom
            .get(&(res.group.clone(), res.version.clone(), res.plural.clone()))
    }

    pub fn all(&self) -> &[Arc<ResourceInfo>] {
        &self.resources
    }

    /// Groups in discovery order, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = vec![];
        for r in &self.resources {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, vs)) => {
                    if !vs.contains(&r.version) {
                        vs.push(r.version.clone());
                    }
                }
                None => out.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        for (_, vs) in &mut out {
            // Upstream prefers GA over beta over alpha, newest first.
            vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    pub fn resources_in(&self, group: &str, version: &str) -> Vec<Arc<ResourceInfo>> {
        self.resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect()
    }
}

/// Kubernetes version ordering: v2 > v1 > v1beta2 > v1beta1 > v1alpha1.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (stage, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(m) = tail.strip_prefix("beta") {
        (2, m.parse().unwrap_or(0))
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (1, m.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stage, major, minor)
}

fn crd_group(crd: &Value) -> &str {
    crd.pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The served versions of a CRD as resources.
pub fn custom_resources(crd: &Value) -> Vec<(ResourceInfo, CustomInfo)> {
    // A CRD being deleted still serves until it is gone; one whose names are
    // incomplete serves nothing.
    let spec = &crd["spec"];
    let group = crd_group(crd);
    let (Some(kind), Some(plural)) = (
        spec.pointer("/names/kind").and_then(Value::as_str),
        spec.pointer("/names/plural").and_then(Value::as_str),
    ) else {
        return vec![];
    };
    let singular = spec
        .pointer("/names/singular")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| kind.to_lowercase());
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name").and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    let mut out = vec![];
    for v in &versions {
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let Some(name) = v.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut subs = vec![];
        if v.pointer("/subresources/status").is_some() {
            subs.push("status");
        }
        if v.pointer("/subresources/scale").is_some() {
            subs.push("scale");
        }
        let mut info =
            ResourceInfo::new(group, name, kind, plural, namespaced).with_subresources(&subs);
        info.singular = singular.clone();
        info.short_names = strs(spec.pointer("/names/shortNames"));
        info.categories = strs(spec.pointer("/names/categories"));
        let custom = CustomInfo {
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            printer_columns: v.get("additionalPrinterColumns").cloned(),
            scale: v.pointer("/subresources/scale").cloned(),
            storage_version: storage_version.clone(),
        };
        out.push((info, custom));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_versions_become_resources() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                         {"name": "v1beta1", "served": false, "storage": false}]}});
        let cat = Catalog::with_crds(vec![crd]);
        let r = cat.find("example.com", "v1", "widgets").unwrap();
        assert_eq!(r.kind, "Widget");
        assert!(r.has_subresource("status"));
        assert_eq!(r.short_names, vec!["wd"]);
        assert!(cat.find("example.com", "v1beta1", "widgets").is_none());
    }

    #[test]
    fn versions_order_like_upstream() {
        let mut vs = vec!["v1beta1", "v2", "v1", "v1alpha1", "v2beta2"];
        vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(vs, vec!["v2", "v1", "v2beta2", "v1beta1", "v1alpha1"]);
    }
}
