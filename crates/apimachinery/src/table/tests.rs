//! Tests of the built-in printers: columns and cells of representative
//! objects, checked against what `kubectl get` prints upstream.

use super::*;
use serde_json::json;

fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().expect("ts")
}

fn names(group: &str, plural: &str) -> Vec<String> {
    column_definitions(group, plural)
        .into_iter()
        .map(|c| c.name)
        .collect()
}

fn pod(status: Value) -> Value {
    json!({
        "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:58:00Z"},
        "spec": {"containers": [{"name": "app", "image": "nginx"}], "nodeName": "n1"},
        "status": status,
    })
}

fn cells(group: &str, plural: &str, obj: &Value) -> Vec<Value> {
    let c = row_cells(group, plural, obj, now());
    assert_eq!(
        c.len(),
        column_definitions(group, plural).len(),
        "{plural}: one cell per column"
    );
    c
}

/// READY, STATUS, RESTARTS of a pod.
fn summary(p: &Value) -> (String, String, String) {
    let c = cells("", "pods", p);
    let st = |i: usize| c[i].as_str().unwrap_or_default().to_string();
    (st(1), st(2), st(3))
}

#[test]
fn pod_columns_match_upstream() {
    assert_eq!(
        names("", "pods"),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let cols = column_definitions("", "pods");
    assert_eq!(cols[0].format, "name");
    assert!(cols[..5].iter().all(|c| c.priority == 0));
    assert!(cols[5..].iter().all(|c| c.priority == 1));
    assert_eq!(cols[3].type_, "string");
    assert!(cols[4].description.starts_with("CreationTimestamp"));
}

#[test]
fn running_pod() {
    let p = pod(json!({
        "phase": "Running",
        "podIPs": [{"ip": "10.1.0.5"}],
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
            "state": {"running": {"startedAt": "2024-05-01T11:58:30Z"}}}]
    }));
    let c = cells("", "pods", &p);
    assert_eq!(
        c,
        [
            json!("web"),
            json!("1/1"),
            json!("Running"),
            json!("0"),
            json!("2m"),
            json!("10.1.0.5"),
            json!("n1"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn crash_loop_with_recent_restart() {
    let p = pod(json!({
        "phase": "Running",
        "containerStatuses": [{"name": "app", "ready": false, "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:55:00Z"}}}]
    }));
    assert_eq!(
        summary(&p),
        ("0/1".into(), "CrashLoopBackOff".into(), "5 (5m ago)".into())
    );
}

#[test]
fn pending_and_init_states() {
    assert_eq!(
        summary(&pod(json!({"phase": "Pending"}))),
        ("0/1".into(), "Pending".into(), "0".into())
    );

    let mut p = pod(json!({
        "phase": "Pending",
        "initContainerStatuses": [
            {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
            {"name": "b", "restartCount": 0, "state": {"running": {}}}
        ]
    }));
    p["spec"]["initContainers"] = json!([{"name": "a"}, {"name": "b"}]);
    assert_eq!(summary(&p).1, "Init:1/2");

    p["status"]["initContainerStatuses"][1] = json!({"name": "b", "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}}});
    assert_eq!(
        summary(&p),
        ("0/1".into(), "Init:CrashLoopBackOff".into(), "3".into())
    );

    p["status"]["initContainerStatuses"][1] = json!({"name": "b", "restartCount": 0,
        "state": {"terminated": {"exitCode": 2}}});
    assert_eq!(summary(&p).1, "Init:ExitCode:2");

    p["status"]["initContainerStatuses"][1] = json!({"name": "b", "restartCount": 0,
        "state": {"waiting": {"reason": "PodInitializing"}}});
    assert_eq!(summary(&p).1, "Init:1/2");
}

#[test]
fn completed_failed_and_terminating() {
    let done = pod(json!({
        "phase": "Succeeded",
        "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]
    }));
    assert_eq!(summary(&done).1, "Completed");
    let table = build_table("", "pods", &[done], IncludeObject::None, now(), json!({}));
    assert_eq!(table["rows"][0]["conditions"][0]["reason"], "Succeeded");
    assert_eq!(table["rows"][0]["conditions"][0]["type"], "Completed");

    let killed = pod(json!({
        "phase": "Failed",
        "containerStatuses": [{"name": "app", "restartCount": 0,
            "state": {"terminated": {"exitCode": 137, "signal": 9}}}]
    }));
    assert_eq!(summary(&killed).1, "Signal:9");

    let mut deleting = pod(json!({
        "phase": "Running",
        "containerStatuses": [{"name": "app", "ready": true, "state": {"running": {}}}]
    }));
    deleting["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
    assert_eq!(summary(&deleting).1, "Terminating");
    deleting["status"]["reason"] = json!("NodeLost");
    assert_eq!(summary(&deleting).1, "Unknown");
}

#[test]
fn not_ready_when_one_completed_and_one_running() {
    let mut p = pod(json!({
        "phase": "Running",
        "containerStatuses": [
            {"name": "app", "ready": true, "state": {"running": {}}},
            {"name": "job", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ]
    }));
    p["spec"]["containers"] = json!([{"name": "app"}, {"name": "job"}]);
    assert_eq!(summary(&p), ("1/2".into(), "NotReady".into(), "0".into()));
    p["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
    assert_eq!(summary(&p).1, "Running");
}

#[test]
fn sidecars_count_as_containers() {
    let mut p = pod(json!({
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
        "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 2,
            "state": {"running": {}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T10:00:00Z"}}}],
        "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]
    }));
    p["spec"]["initContainers"] = json!([{"name": "proxy", "restartPolicy": "Always"}]);
    assert_eq!(
        summary(&p),
        ("2/2".into(), "Running".into(), "2 (120m ago)".into())
    );
}

#[test]
fn scheduling_gated_and_readiness_gates() {
    let mut p = pod(json!({
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
                       {"type": "example.com/ok", "status": "True"}]
    }));
    p["spec"]["readinessGates"] =
        json!([{"conditionType": "example.com/ok"}, {"conditionType": "other"}]);
    let c = cells("", "pods", &p);
    assert_eq!(c[2], "SchedulingGated");
    assert_eq!(c[8], "1/2");
}

#[test]
fn table_envelope_and_include_object() {
    let p = pod(json!({"phase": "Pending"}));
    let meta = json!({"resourceVersion": "42", "continue": "abc"});
    let t = build_table(
        "",
        "pods",
        std::slice::from_ref(&p),
        IncludeObject::Metadata,
        now(),
        meta,
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["metadata"]["continue"], "abc");
    assert_eq!(
        t["columnDefinitions"][1],
        json!({
            "name": "Ready", "type": "string", "format": "",
            "description": "The aggregate readiness state of this pod for accepting traffic.", "priority": 0
        })
    );
    let obj = &t["rows"][0]["object"];
    assert_eq!(obj["kind"], "PartialObjectMetadata");
    assert_eq!(obj["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(obj["metadata"]["name"], "web");
    assert!(obj.get("spec").is_none());
    let full = build_table(
        "",
        "pods",
        std::slice::from_ref(&p),
        IncludeObject::Object,
        now(),
        json!({}),
    );
    assert_eq!(full["rows"][0]["object"], p);
    assert!(t["rows"][0].get("conditions").is_none());
    assert_eq!(IncludeObject::parse(""), Some(IncludeObject::Metadata));
    assert_eq!(IncludeObject::parse("Nope"), None);
}

#[test]
fn defaults_for_unprinted_resources() {
    assert_eq!(
        names("rbac.authorization.k8s.io", "roles"),
        ["Name", "Created At"]
    );
    assert_eq!(
        names("apiextensions.k8s.io", "customresourcedefinitions"),
        ["Name", "Created At"]
    );
    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2024-01-02T03:04:05Z"}});
    assert_eq!(
        cells("rbac.authorization.k8s.io", "roles", &role),
        [json!("r"), json!("2024-01-02T03:04:05Z")]
    );
    assert_eq!(column_definitions("", "limitranges")[1].type_, "date");
    // A custom resource without printer columns.
    assert_eq!(names("example.com", "widgets"), ["Name", "Age"]);
    assert_eq!(cells("example.com", "widgets", &role)[1], "120d");
}

#[test]
fn workloads() {
    assert_eq!(
        names("apps", "deployments"),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let d = json!({
        "metadata": {"name": "web", "creationTimestamp": "2024-04-29T09:00:00Z"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "busybox"}]}}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    });
    assert_eq!(
        cells("apps", "deployments", &d),
        [
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("2d3h"),
            json!("a,b"),
            json!("nginx:1,busybox"),
            json!("app=web")
        ]
    );
    assert_eq!(cells("apps", "statefulsets", &d)[1], "2/3");
    assert_eq!(
        cells("apps", "replicasets", &d)[1..4],
        [json!(3), json!(0), json!(2)]
    );

    let job = json!({
        "metadata": {"name": "pi", "creationTimestamp": "2024-05-01T11:00:00Z"},
        "spec": {"completions": 1, "template": {"spec": {"containers": []}}},
        "status": {"succeeded": 1, "startTime": "2024-05-01T11:00:00Z", "completionTime": "2024-05-01T11:00:42Z",
                   "conditions": [{"type": "Complete", "status": "True"}]}
    });
    assert_eq!(
        names("batch", "jobs")[..5],
        ["Name", "Status", "Completions", "Duration", "Age"]
    );
    assert_eq!(
        cells("batch", "jobs", &job)[1..5],
        [json!("Complete"), json!("1/1"), json!("42s"), json!("60m")]
    );

    let cj = json!({"metadata": {"name": "c"}, "spec": {"schedule": "*/5 * * * *", "suspend": false,
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "y"}]}}}}},
        "status": {"active": [{"name": "c-1"}]}});
    assert_eq!(
        cells("batch", "cronjobs", &cj)[..7],
        [
            json!("c"),
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("<none>"),
            json!("<unknown>")
        ]
    );

    let pdb = json!({"metadata": {"name": "p"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        cells("policy", "poddisruptionbudgets", &pdb)[1..4],
        [json!("50%"), json!("N/A"), json!(1)]
    );

    let hpa = json!({"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 5}, "status": {"currentReplicas": 2}});
    assert_eq!(
        cells("autoscaling", "horizontalpodautoscalers", &hpa)[1..6],
        [
            json!("Deployment/web"),
            json!("<none>"),
            json!("1"),
            json!(5),
            json!(2)
        ]
    );

    let rev = json!({"metadata": {"name": "r", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds", "controller": true}]}, "revision": 3});
    assert_eq!(
        cells("apps", "controllerrevisions", &rev)[1..3],
        [json!("daemonset.apps/ds"), json!(3)]
    );
}

#[test]
fn services_and_networking() {
    assert_eq!(
        names("", "services"),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    let svc = json!({"metadata": {"name": "web"}, "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.10"],
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
        "selector": {"app": "web"}}});
    assert_eq!(
        cells("", "services", &svc),
        [
            json!("web"),
            json!("NodePort"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80:30080/TCP,53/UDP"),
            json!("<unknown>"),
            json!("app=web")
        ]
    );
    let ing = json!({"metadata": {"name": "i"}, "spec": {"ingressClassName": "nginx",
        "rules": [{"host": "a.example"}, {"host": "b.example"}], "tls": [{}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}});
    assert_eq!(
        cells("networking.k8s.io", "ingresses", &ing)[1..5],
        [
            json!("nginx"),
            json!("a.example,b.example"),
            json!("1.2.3.4"),
            json!("80, 443")
        ]
    );
    let np = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
    assert_eq!(
        cells("networking.k8s.io", "networkpolicies", &np)[1],
        "<none>"
    );
    let slice = json!({"metadata": {"name": "s"}, "addressType": "IPv4", "ports": [{"port": 80}, {"name": "dns"}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}]});
    assert_eq!(
        cells("discovery.k8s.io", "endpointslices", &slice)[1..4],
        [json!("IPv4"), json!("80,dns"), json!("10.0.0.1,10.0.0.2")]
    );
}

#[test]
fn config_and_cluster_objects() {
    let cm =
        json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
    assert_eq!(cells("", "configmaps", &cm)[1], 3);
    let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}});
    assert_eq!(
        cells("", "secrets", &secret)[1..3],
        [json!("Opaque"), json!(1)]
    );
    let sa = json!({"metadata": {"name": "default"}});
    assert_eq!(cells("", "serviceaccounts", &sa)[1], 0);
    let ns = json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}});
    assert_eq!(names("", "namespaces"), ["Name", "Status", "Age"]);
    assert_eq!(cells("", "namespaces", &ns)[1], "Active");

    let node = json!({"metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
            "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian"}}});
    assert_eq!(
        cells("", "nodes", &node),
        [
            json!("n1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,edge"),
            json!("<unknown>"),
            json!("v1.33.0"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Debian"),
            json!("<unknown>"),
            json!("<unknown>")
        ]
    );

    let quota = json!({"metadata": {"name": "q"}, "status": {
        "hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"},
        "used": {"pods": "3", "requests.cpu": "500m"}}});
    assert_eq!(
        cells("", "resourcequotas", &quota)[1..3],
        [
            json!("pods: 3/10, requests.cpu: 500m/1"),
            json!("limits.cpu: 0/2")
        ]
    );

    let rb = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}]});
    assert_eq!(
        cells("rbac.authorization.k8s.io", "rolebindings", &rb)[1..6],
        [
            json!("ClusterRole/view"),
            json!("<unknown>"),
            json!("alice"),
            json!(""),
            json!("ns/sa")
        ]
    );

    let lease = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "n1"}});
    assert_eq!(cells("coordination.k8s.io", "leases", &lease)[1], "n1");
    let pc = json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": true});
    assert_eq!(
        cells("scheduling.k8s.io", "priorityclasses", &pc)[1..3],
        [json!(1000), json!(true)]
    );
    let pt = json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    assert_eq!(
        cells("", "podtemplates", &pt)[1..4],
        [json!("c"), json!("i"), json!("a=b")]
    );
    let rc = json!({"metadata": {"name": "rc"}, "spec": {"selector": {"app": "x"}}});
    assert_eq!(cells("", "replicationcontrollers", &rc)[1], 1);
}

#[test]
fn events_both_groups() {
    assert_eq!(
        names("", "events"),
        [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name"
        ]
    );
    let ev = json!({"metadata": {"name": "web.17"}, "type": "Normal", "reason": "Pulled",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
        "source": {"component": "kubelet", "host": "n1"}, "message": " pulled \n",
        "firstTimestamp": "2024-05-01T11:50:00Z", "lastTimestamp": "2024-05-01T11:59:00Z", "count": 3});
    assert_eq!(
        cells("", "events", &ev),
        [
            json!("60s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/web"),
            json!("spec.containers{app}"),
            json!("kubelet, n1"),
            json!("pulled"),
            json!("10m"),
            json!(3),
            json!("web.17")
        ]
    );
    let v1 = json!({"metadata": {"name": "e"}, "type": "Warning", "reason": "Failed", "note": "boom",
        "regarding": {"kind": "Node", "name": "n1"}, "reportingController": "ctl",
        "eventTime": "2024-05-01T11:59:30.000000Z"});
    let c = cells("events.k8s.io", "events", &v1);
    assert_eq!(
        c[..4],
        [
            json!("30s"),
            json!("Warning"),
            json!("Failed"),
            json!("node/n1")
        ]
    );
    assert_eq!(
        c[5..9],
        [json!("ctl"), json!("boom"), json!("30s"), json!(1)]
    );
}

#[test]
fn storage_objects() {
    let pv = json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "10Gi"},
        "accessModes": ["ReadWriteMany", "ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
        "claimRef": {"namespace": "ns", "name": "data"}, "storageClassName": "local"},
        "status": {"phase": "Bound"}});
    assert_eq!(
        cells("", "persistentvolumes", &pv),
        [
            json!("pv1"),
            json!("10Gi"),
            json!("RWO,RWX"),
            json!("Retain"),
            json!("Bound"),
            json!("ns/data"),
            json!("local"),
            json!("<unset>"),
            json!(""),
            json!("<unknown>"),
            json!("<unset>")
        ]
    );
    let pvc = json!({"metadata": {"name": "data"}, "spec": {"storageClassName": "local", "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"}});
    assert_eq!(
        cells("", "persistentvolumeclaims", &pvc),
        [
            json!("data"),
            json!("Pending"),
            json!(""),
            json!(""),
            json!(""),
            json!("local"),
            json!("<unset>"),
            json!("<unknown>"),
            json!("Filesystem")
        ]
    );
    let sc = json!({"metadata": {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path"});
    assert_eq!(
        cells("storage.k8s.io", "storageclasses", &sc)[..5],
        [
            json!("local (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("Immediate"),
            json!(false)
        ]
    );
}

#[test]
fn every_printer_has_matching_cells() {
    // An empty object must not panic and must fill every column.
    for p in printers() {
        let n = (p.columns)().len();
        assert_eq!(
            (p.cells)(&json!({}), now()).len(),
            n,
            "{}/{}",
            p.group,
            p.plural
        );
        assert_eq!(
            (p.cells)(&Value::Null, now()).len(),
            n,
            "{}/{}",
            p.group,
            p.plural
        );
    }
}
