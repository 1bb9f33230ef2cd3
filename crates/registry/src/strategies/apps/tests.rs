//! Tests for the apps/v1 workload strategies.

use super::*;

fn deployment(labels: Value, selector: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": selector,
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

fn run(s: &dyn Strategy, mut o: Value) -> (Value, Vec<Cause>) {
    s.prepare_create(&mut o);
    s.default(&mut o);
    let e = s.validate_create(&o);
    (o, e)
}

fn fields(e: &[Cause]) -> Vec<&str> {
    e.iter().map(|c| c.field.as_str()).collect()
}

#[test]
fn deployment_defaults_and_valid() {
    let (d, e) = run(
        &DeploymentStrategy,
        deployment(
            json!({"app": "web"}),
            json!({"matchLabels": {"app": "web"}}),
        ),
    );
    assert!(e.is_empty(), "{e:?}");
    let s = &d["spec"];
    assert_eq!(s["replicas"], 1);
    assert_eq!(s["strategy"]["type"], "RollingUpdate");
    assert_eq!(s["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(s["revisionHistoryLimit"], 10);
    assert_eq!(s["progressDeadlineSeconds"], 600);
    assert_eq!(s["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(
        s["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    assert_eq!(d["status"], json!({}));
}

#[test]
fn deployment_selector_mismatch_message() {
    let (_, e) = run(
        &DeploymentStrategy,
        deployment(json!({"app": "x"}), json!({"matchLabels": {"app": "web"}})),
    );
    assert_eq!(fields(&e), ["spec.template.metadata.labels"]);
    assert_eq!(
        e[0].summary(),
        "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"
    );
}

#[test]
fn deployment_typical_mistakes() {
    let mut d = deployment(json!({"app": "web"}), Value::Null);
    d["spec"]["replicas"] = json!(-1);
    d["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {}});
    d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
    let (_, e) = run(&DeploymentStrategy, d);
    assert_eq!(
        fields(&e),
        [
            "spec.selector",
            "spec.template.spec.containers[0].image",
            "spec.template.spec.restartPolicy",
            "spec.replicas",
            "spec.strategy.rollingUpdate"
        ]
    );
}

#[test]
fn deployment_selector_immutable() {
    let (old, _) = run(
        &DeploymentStrategy,
        deployment(
            json!({"app": "web", "v": "2"}),
            json!({"matchLabels": {"app": "web"}}),
        ),
    );
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
    let e = DeploymentStrategy.validate_update(&new, &old);
    assert_eq!(fields(&e), ["spec.selector"]);
    assert!(
        e[0].message
            .ends_with("MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable")
    );
}

#[test]
fn replicaset_and_daemonset() {
    let (_, e) = run(
        &ReplicaSetStrategy,
        deployment(json!({"app": "web"}), json!({})),
    );
    assert_eq!(fields(&e), ["spec.selector"]);
    assert!(
        e[0].message
            .ends_with("empty selector is invalid for deployment")
    );
    let (d, e) = run(
        &DaemonSetStrategy,
        deployment(
            json!({"app": "web"}),
            json!({"matchLabels": {"app": "web"}}),
        ),
    );
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(
        d["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
        1
    );
    let mut bad = d.clone();
    bad["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!(0);
    let e = DaemonSetStrategy.validate_create(&bad);
    assert_eq!(
        fields(&e),
        ["spec.updateStrategy.rollingUpdate.maxUnavailable"]
    );
}

#[test]
fn statefulset_defaults_and_update_rule() {
    let (s, e) = run(
        &StatefulSetStrategy,
        deployment(json!({"app": "db"}), json!({"matchLabels": {"app": "db"}})),
    );
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(s["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(s["spec"]["updateStrategy"]["rollingUpdate"]["partition"], 0);
    let mut new = s.clone();
    new["spec"]["replicas"] = json!(3);
    assert!(StatefulSetStrategy.validate_update(&new, &s).is_empty());
    new["spec"]["serviceName"] = json!("other");
    let e = StatefulSetStrategy.validate_update(&new, &s);
    assert_eq!(fields(&e), ["spec"]);
}
