//! Pod strategy tests: defaults, typical mistakes and update rules.

use super::*;

fn pod(spec: Value) -> Value {
    json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec})
}

fn create(mut p: Value) -> (Value, Vec<Cause>) {
    let s = PodStrategy;
    s.prepare_create(&mut p);
    s.default(&mut p);
    let errs = s.validate_create(&p);
    (p, errs)
}

fn fields(e: &[Cause]) -> Vec<&str> {
    e.iter().map(|c| c.field.as_str()).collect()
}

#[test]
fn valid_pod_passes_with_status() {
    let (p, errs) = create(pod(json!({"containers": [{"name": "c", "image": "nginx",
        "ports": [{"containerPort": 80, "name": "http"}],
        "env": [{"name": "A", "value": "1"}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": {"tcpSocket": {"port": "http"}}}],
        "volumes": [{"name": "data", "emptyDir": {}}]})));
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["status"]["qosClass"], "Burstable");
}

#[test]
fn qos_classes() {
    let g = pod(json!({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}));
    assert_eq!(qos_class(&g), "Guaranteed");
    assert_eq!(qos_class(&pod(json!({"containers": [{}]}))), "BestEffort");
}

#[test]
fn containers_required() {
    let (_, e) = create(pod(json!({})));
    assert_eq!(fields(&e), ["spec.containers"]);
    assert_eq!(e[0].message, "Required value");
}

#[test]
fn container_mistakes() {
    let (_, e) = create(pod(json!({
        "initContainers": [{"name": "c", "image": "busybox"}],
        "containers": [{"name": "c", "image": ""},
                       {"name": "Bad", "image": "x",
                        "ports": [{"containerPort": 70000, "protocol": "ICMP"}],
                        "env": [{"name": "A=B"}],
                        "volumeMounts": [{"name": "missing", "mountPath": "/m"}],
                        "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}],
        "restartPolicy": "Sometimes"})));
    assert_eq!(
        fields(&e),
        [
            "spec.containers[0].image",
            "spec.containers[1].name",
            "spec.containers[1].ports[0].containerPort",
            "spec.containers[1].ports[0].protocol",
            "spec.containers[1].env[0].name",
            "spec.containers[1].volumeMounts[0].name",
            "spec.containers[1].resources.requests[cpu]",
            "spec.initContainers[0].name",
            "spec.restartPolicy",
        ]
    );
    let msg = |f: &str| {
        e.iter()
            .find(|c| c.field == f)
            .map(|c| c.message.clone())
            .unwrap()
    };
    assert_eq!(msg("spec.initContainers[0].name"), "Duplicate value: \"c\"");
    assert_eq!(
        msg("spec.containers[1].resources.requests[cpu]"),
        "Invalid value: \"2\": must be less than or equal to cpu limit of 1"
    );
    assert_eq!(
        msg("spec.containers[1].volumeMounts[0].name"),
        "Not found: \"missing\""
    );
    assert_eq!(
        msg("spec.restartPolicy"),
        "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
    );
}

#[test]
fn volume_mistakes() {
    let (_, e) = create(pod(json!({"containers": [{"name": "c", "image": "x"}],
        "volumes": [{"name": "a"}, {"name": "a", "emptyDir": {}, "hostPath": {"path": "/x"}},
                    {"name": "s", "secret": {}}]})));
    assert_eq!(
        fields(&e),
        [
            "spec.volumes[0]",
            "spec.volumes[1].name",
            "spec.volumes[1].emptyDir",
            "spec.volumes[2].secret.secretName"
        ]
    );
    assert_eq!(e[0].message, "Required value: must specify a volume type");
}

#[test]
fn probe_mistakes() {
    let (_, e) = create(pod(json!({"containers": [{"name": "c", "image": "x",
        "livenessProbe": {"successThreshold": 2, "exec": {"command": ["true"]}},
        "startupProbe": {}}]})));
    assert_eq!(
        fields(&e),
        [
            "spec.containers[0].livenessProbe.successThreshold",
            "spec.containers[0].startupProbe"
        ]
    );
}

#[test]
fn update_only_image_may_change() {
    let s = PodStrategy;
    let (old, _) = create(pod(
        json!({"containers": [{"name": "c", "image": "nginx:1"}]}),
    ));
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:2");
    assert!(s.validate_update(&new, &old).is_empty());
    new["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
    let e = s.validate_update(&new, &old);
    assert_eq!(fields(&e), ["spec"]);
    assert!(
        e[0].message
            .starts_with("Forbidden: pod updates may not change fields other than")
    );
    let mut add_tol = old.clone();
    add_tol["spec"]["tolerations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "k", "operator": "Exists"}));
    assert!(s.validate_update(&add_tol, &old).is_empty());
}

#[test]
fn field_selectors() {
    let s = PodStrategy;
    let p = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
    assert_eq!(s.field_value(&p, "spec.nodeName").unwrap(), "n1");
    assert_eq!(s.field_value(&p, "status.phase").unwrap(), "Running");
    assert_eq!(s.field_value(&p, "status.podIP").unwrap(), "");
    assert_eq!(s.field_value(&p, "spec.hostNetwork").unwrap(), "false");
    assert!(s.selectable_fields().contains(&"status.nominatedNodeName"));
}
