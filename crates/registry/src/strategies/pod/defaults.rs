//! Pod defaulting, after upstream's `SetDefaults_Pod`, `SetDefaults_PodSpec`,
//! `SetDefaults_Container`, `SetDefaults_Probe`, the volume source defaults,
//! plus what the ServiceAccount, DefaultTolerationSeconds and Priority
//! admission plugins add on create.

use crate::strategies::util::{each_mut, obj_mut, set_default, str_at};
use serde_json::{Value, json};

/// `Always` for `:latest` or untagged images, otherwise `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

fn default_probe(p: &mut Value) {
    if !p.is_object() {
        return;
    }
    set_default(p, "timeoutSeconds", json!(1));
    set_default(p, "periodSeconds", json!(10));
    set_default(p, "successThreshold", json!(1));
    set_default(p, "failureThreshold", json!(3));
    default_handler(p);
}

/// httpGet `path: /` and `scheme: HTTP` in probes and lifecycle hooks.
fn default_handler(h: &mut Value) {
    if let Some(g) = h.get_mut("httpGet").filter(|g| g.is_object()) {
        set_default(g, "path", json!("/"));
        set_default(g, "scheme", json!("HTTP"));
    }
}

fn default_container(c: &mut Value, host_network: bool) {
    if !c.is_object() {
        return;
    }
    let policy = default_pull_policy(str_at(c, "/image"));
    set_default(c, "imagePullPolicy", json!(policy));
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    each_mut(c, "ports", |p| {
        set_default(p, "protocol", json!("TCP"));
        if host_network && let Some(cp) = p.get("containerPort").cloned() {
            set_default(p, "hostPort", cp);
        }
    });
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe) {
            default_probe(p);
        }
    }
    if let Some(l) = c.get_mut("lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = l.get_mut(hook) {
                default_handler(h);
            }
        }
    }
    each_mut(c, "env", |e| {
        if let Some(f) = e.pointer_mut("/valueFrom/fieldRef") {
            set_default(f, "apiVersion", json!("v1"));
        }
    });
}

fn default_volume(v: &mut Value) {
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = v.get_mut(src).filter(|s| s.is_object()) {
            set_default(s, "defaultMode", json!(420));
        }
    }
    if let Some(d) = v.get_mut("downwardAPI") {
        each_mut(d, "items", |i| {
            if let Some(f) = i.get_mut("fieldRef") {
                set_default(f, "apiVersion", json!("v1"));
            }
        });
    }
    if let Some(h) = v.get_mut("hostPath").filter(|s| s.is_object()) {
        set_default(h, "type", json!(""));
    }
    if let Some(s) = v.pointer_mut("/iscsi").filter(|s| s.is_object()) {
        set_default(s, "iscsiInterface", json!("default"));
    }
}

/// `SetDefaults_PodSpec` and the nested container, probe and volume
/// defaults. Shared by pods and pod templates.
pub fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        each_mut(spec, list, |c| default_container(c, host_network));
    }
    each_mut(spec, "volumes", default_volume);
    // The v1 conversion mirrors serviceAccountName into the deprecated field.
    if let Some(sa) = spec
        .get("serviceAccountName")
        .cloned()
        .filter(|s| s.is_string())
    {
        set_default(spec, "serviceAccount", sa);
    }
}

/// `SetDefaults_Pod`: requests default to limits, service links on, then
/// the pod spec defaults.
pub fn default_pod(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    for list in ["initContainers", "containers"] {
        each_mut(spec, list, |c| {
            let Some(limits) = c
                .pointer("/resources/limits")
                .and_then(Value::as_object)
                .cloned()
            else {
                return;
            };
            let Some(res) = obj_mut(c, "resources") else {
                return;
            };
            let requests = res.entry("requests").or_insert_with(|| json!({}));
            if let Some(r) = requests.as_object_mut() {
                for (k, v) in limits {
                    r.entry(k).or_insert(v);
                }
            }
        });
    }
    set_default(spec, "enableServiceLinks", json!(true));
    default_pod_spec(spec);
}

/// What admission adds to a new pod: `serviceAccountName: default`, the
/// not-ready/unreachable tolerations for 300s, and priority 0.
pub fn admit_new_pod(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    // TODO(serviceaccount admission): also mount the kube-api-access volume.
    if str_at(spec, "/serviceAccountName").is_empty() {
        let sa = match str_at(spec, "/serviceAccount") {
            "" => "default".to_string(),
            s => s.to_string(),
        };
        crate::strategies::util::set(spec, "serviceAccountName", json!(sa));
        crate::strategies::util::set(spec, "serviceAccount", json!(sa));
    }
    let tolerations = spec
        .as_object_mut()
        .map(|m| m.entry("tolerations").or_insert_with(|| json!([])));
    if let Some(Value::Array(t)) = tolerations {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let tolerated = t.iter().any(|x| {
                let k = str_at(x, "/key");
                let effect = str_at(x, "/effect");
                (k == key || (k.is_empty() && str_at(x, "/operator") == "Exists"))
                    && (effect.is_empty() || effect == "NoExecute")
            });
            if !tolerated {
                t.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
    }
    if spec.get("priority").is_none() && str_at(spec, "/priorityClassName").is_empty() {
        crate::strategies::util::set(spec, "priority", json!(0));
    }
    if spec.get("priority").is_some() {
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_by_tag() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(default_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(default_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn pod_defaults_applied() {
        let mut pod = json!({"spec": {"containers": [{"name": "c", "image": "nginx:1",
            "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "1"}},
            "livenessProbe": {"httpGet": {"port": 80}}}],
            "volumes": [{"name": "v", "configMap": {"name": "cm"}}]}});
        default_pod(&mut pod);
        admit_new_pod(&mut pod);
        let s = &pod["spec"];
        assert_eq!(s["restartPolicy"], "Always");
        assert_eq!(s["dnsPolicy"], "ClusterFirst");
        assert_eq!(s["schedulerName"], "default-scheduler");
        assert_eq!(s["terminationGracePeriodSeconds"], 30);
        assert_eq!(s["enableServiceLinks"], true);
        assert_eq!(s["serviceAccountName"], "default");
        assert_eq!(s["priority"], 0);
        assert_eq!(s["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(s["tolerations"][0]["tolerationSeconds"], 300);
        let c = &s["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["resources"]["requests"]["cpu"], "1");
        assert_eq!(c["livenessProbe"]["periodSeconds"], 10);
        assert_eq!(c["livenessProbe"]["httpGet"]["scheme"], "HTTP");
        assert_eq!(s["volumes"][0]["configMap"]["defaultMode"], 420);
    }

    #[test]
    fn existing_tolerations_not_duplicated() {
        let mut pod = json!({"spec": {"containers": [], "tolerations": [{"operator": "Exists"}]}});
        admit_new_pod(&mut pod);
        assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 1);
    }
}
