//! Engine-side subresources: `scale` (built-in workloads and custom
//! resources), `pods/binding` and `namespaces/finalize`.

use super::{PatchKind, Registry};
use crate::custom::scale::{ScaleSpec, get_scale, set_replicas};
use crate::options::WriteOptions;
use apimachinery::patch as p;
use apimachinery::selectors::LabelSelector;
use apimachinery::{ApiError, Cause, ResourceInfo, meta as m};
use serde_json::{Value, json};

impl Registry {
    /// The autoscaling/v1 Scale of an object.
    pub fn scale_of(&self, res: &ResourceInfo, obj: &Value) -> Result<Value, ApiError> {
        let md = obj.get("metadata").cloned().unwrap_or_default();
        let meta = json!({
            "name": md.get("name"), "namespace": md.get("namespace"), "uid": md.get("uid"),
            "resourceVersion": md.get("resourceVersion"), "creationTimestamp": md.get("creationTimestamp"),
        });
        if let Some(custom) = self.catalog().custom(res) {
            let spec = ScaleSpec::from_value(&custom.scale.clone().unwrap_or_default())
                .map_err(|e| ApiError::internal(e.to_string()))?;
            return get_scale(obj, &spec, "autoscaling/v1")
                .map_err(|e| ApiError::internal(e.to_string()));
        }
        let selector = obj.pointer("/spec/selector").map(|s| {
            if res.plural == "replicationcontrollers" {
                let pairs: Vec<String> = s
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                            .collect()
                    })
                    .unwrap_or_default();
                pairs.join(",")
            } else {
                LabelSelector::from_json(s)
                    .map(|l| l.to_string())
                    .unwrap_or_default()
            }
        });
        let (spec_replicas, status_replicas) = (
            obj.pointer("/spec/replicas").cloned(),
            obj.pointer("/status/replicas").cloned(),
        );
        let mut status = json!({"replicas": status_replicas.and_then(|v| v.as_i64()).unwrap_or(0)});
        if let Some(s) = selector.filter(|s| !s.is_empty()) {
            status["selector"] = s.into();
        }
        Ok(json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta,
            "spec": {"replicas": spec_replicas.and_then(|v| v.as_i64()).unwrap_or(0)},
            "status": status,
        }))
    }

    /// PUT (kind None) or PATCH of the scale subresource.
    pub async fn update_scale(
        &self,
        res: &ResourceInfo,
        ns: &str,
        name: &str,
        kind: Option<PatchKind>,
        input: &Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let custom = self.catalog().custom(res).cloned();
        let updated = self
            .guaranteed_update(res, ns, name, Some("scale"), None, opts, |old| {
                let current = self.scale_of(res, old)?;
                let scale = match kind {
                    None => {
                        let rv = m::resource_version(input);
                        if !rv.is_empty() && rv != m::resource_version(old) {
                            return Err(ApiError::stale(&res.group, &res.plural, name));
                        }
                        input.clone()
                    }
                    Some(PatchKind::Json) => {
                        p::json::apply_json_patch(&current, input).map_err(|e| e.to_api_error())?
                    }
                    Some(PatchKind::Merge)
                    | Some(PatchKind::Strategic)
                    | Some(PatchKind::Apply) => p::merge::apply_merge_patch(&current, input)
                        .map_err(|e| e.to_api_error())?,
                };
                let replicas = scale
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if replicas < 0 {
                    return Err(ApiError::invalid(
                        "autoscaling",
                        "Scale",
                        name,
                        vec![Cause::invalid(
                            "spec.replicas",
                            &replicas.into(),
                            "must be greater than or equal to 0",
                        )],
                    ));
                }
                let mut new = old.clone();
                match custom.as_ref().and_then(|c| c.scale.as_ref()) {
                    Some(sc) => {
                        let spec = ScaleSpec::from_value(sc)
                            .map_err(|e| ApiError::internal(e.to_string()))?;
                        set_replicas(&mut new, &spec, replicas)
                            .map_err(|e| ApiError::bad_request(e.to_string()))?;
                    }
                    None => new["spec"]["replicas"] = replicas.into(),
                }
                Ok(new)
            })
            .await?;
        self.scale_of(res, &updated)
    }

    /// Bind a pod to a node (`pods/binding`), as the scheduler does.
    pub async fn bind_pod(
        &self,
        ns: &str,
        name: &str,
        binding: &Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let node = binding
            .pointer("/target/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if node.is_empty() {
            return Err(ApiError::invalid(
                "",
                "Binding",
                name,
                vec![Cause::required("target.name")],
            ));
        }
        let cat = self.catalog();
        let pods = cat
            .find("", "v1", "pods")
            .ok_or_else(ApiError::not_found_path)?;
        self.guaranteed_update(&pods, ns, name, Some("binding"), None, opts, |old| {
            if let Some(cur) = old
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    name,
                    &format!("pod {name} is already assigned to node \"{cur}\""),
                ));
            }
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(ApiError::conflict(
                    "",
                    "pods/binding",
                    name,
                    "pod is being deleted, cannot be assigned to a host",
                ));
            }
            let mut new = old.clone();
            new["spec"]["nodeName"] = node.clone().into();
            let cond = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                "lastTransitionTime": super::meta::now()});
            let conds = new["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut conds: Vec<Value> = conds
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conds.push(cond);
            new["status"]["conditions"] = conds.into();
            Ok(new)
        })
        .await
    }

    /// `namespaces/finalize`: replace `spec.finalizers`; a terminating
    /// namespace with none left is deleted.
    pub async fn finalize_namespace(
        &self,
        name: &str,
        obj: &Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let cat = self.catalog();
        let nsres = cat
            .find("", "v1", "namespaces")
            .ok_or_else(ApiError::not_found_path)?;
        let fins = obj
            .pointer("/spec/finalizers")
            .cloned()
            .unwrap_or(json!([]));
        self.guaranteed_update(&nsres, "", name, Some("finalize"), None, opts, |old| {
            let mut new = old.clone();
            new["spec"]["finalizers"] = fins.clone();
            Ok(new)
        })
        .await
    }
}
