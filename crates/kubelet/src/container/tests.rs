//! Unit tests of the container config: env and expansion, field values,
//! QoS and cgroups, CRI resources and the security mapping.

use super::env::{expand, pod_field_value};
use super::*;
use k8s_openapi::ByteString;
use serde_json::json;

struct Sources {
    cms: Vec<ConfigMap>,
    secrets: Vec<Secret>,
    services: Vec<Service>,
}

#[async_trait]
impl EnvSources for Sources {
    async fn config_map(&self, ns: &str, name: &str) -> Result<Option<ConfigMap>, String> {
        Ok(self
            .cms
            .iter()
            .find(|c| {
                c.metadata.name.as_deref() == Some(name)
                    && c.metadata.namespace.as_deref() == Some(ns)
            })
            .cloned())
    }
    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, String> {
        Ok(self
            .secrets
            .iter()
            .find(|c| {
                c.metadata.name.as_deref() == Some(name)
                    && c.metadata.namespace.as_deref() == Some(ns)
            })
            .cloned())
    }
    async fn services(&self, ns: &str) -> Result<Vec<Service>, String> {
        Ok(self
            .services
            .iter()
            .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
            .cloned()
            .collect())
    }
    fn node_allocatable(&self) -> Option<BTreeMap<String, Quantity>> {
        Some(BTreeMap::from([
            ("cpu".into(), Quantity("4".into())),
            ("memory".into(), Quantity("8Gi".into())),
        ]))
    }
    fn memory_capacity(&self) -> i64 {
        10_000_000_000
    }
}

fn sources() -> Sources {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "cfg", "namespace": "test"},
        "data": {"MODE": "fast", "LEVEL": "3", "bad=key": "x"}
    }))
    .unwrap();
    let mut secret = Secret::default();
    secret.metadata.name = Some("creds".into());
    secret.metadata.namespace = Some("test".into());
    secret.data = Some(BTreeMap::from([(
        "password".into(),
        ByteString(b"s3cr3t".to_vec()),
    )]));
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "kubernetes", "namespace": "default"},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}
    }))
    .unwrap();
    Sources {
        cms: vec![cm],
        secrets: vec![secret],
        services: vec![svc],
    }
}

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "test", "uid": "u-1",
                     "labels": {"app": "web", "tier": "fe"}, "annotations": {"note": "a\"b"}},
        "spec": spec,
    }))
    .unwrap()
}

fn ctx<'a>(pod: &'a Pod, s: &'a Sources) -> ContainerContext<'a> {
    ContainerContext {
        pod,
        pod_ip: Some("10.1.0.5"),
        host_ip: "192.168.1.2",
        node_name: "n1",
        mounts: vec![],
        restart_count: 2,
        image: "docker.io/library/busybox:latest",
        log_path: "c/2.log".into(),
        cgroup_parent: "/kubepods/besteffort/podu-1",
        sources: s,
    }
}

fn env_of(cfg: &api::ContainerConfig) -> Vec<(String, String)> {
    cfg.envs
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect()
}

#[test]
fn expansion_rules() {
    let lookup = |k: &str| (k == "A").then(|| "x".to_string());
    assert_eq!(expand("$(A)-$(B)", &lookup), "x-$(B)");
    assert_eq!(expand("$$(A) $$ $", &lookup), "$(A) $ $");
    assert_eq!(expand("a$b $(A", &lookup), "a$b $(A");
    assert_eq!(expand("$(A)$(A)", &lookup), "xx");
}

#[tokio::test]
async fn env_order_expansion_and_sources() {
    let p = pod(json!({"containers": [{
        "name": "c", "image": "busybox",
        "command": ["sh", "-c", "echo $(GREETING)"],
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
        "env": [
            {"name": "NAME", "value": "world"},
            {"name": "GREETING", "value": "hello $(NAME) $(CFG_MODE) $(UNKNOWN) $$(NAME)"},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            {"name": "LVL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "LEVEL"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": true}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}
        ]
    }]}));
    let s = sources();
    let c = &p.spec.as_ref().unwrap().containers[0];
    let cfg = container_config(&ctx(&p, &s), c).await.unwrap();
    let env = env_of(&cfg);
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("GREETING"), Some("hello world fast $(UNKNOWN) $(NAME)"));
    assert_eq!(get("CFG_LEVEL"), Some("3"));
    assert_eq!(
        get("CFG_bad=key"),
        None,
        "invalid env names from envFrom are skipped"
    );
    assert_eq!(get("PW"), Some("s3cr3t"));
    assert_eq!(get("LVL"), Some("3"));
    assert_eq!(get("OPT"), None);
    assert_eq!(get("POD"), Some("web"));
    assert_eq!(get("IP"), Some("10.1.0.5"));
    assert_eq!(get("APP"), Some("web"));
    assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.96.0.1"));
    assert_eq!(get("KUBERNETES_SERVICE_PORT"), Some("443"));
    assert_eq!(get("KUBERNETES_SERVICE_PORT_HTTPS"), Some("443"));
    assert_eq!(get("KUBERNETES_PORT"), Some("tcp://10.96.0.1:443"));
    assert_eq!(get("KUBERNETES_PORT_443_TCP_ADDR"), Some("10.96.0.1"));
    let pos = |k: &str| env.iter().position(|(n, _)| n == k).unwrap();
    assert!(pos("CFG_LEVEL") < pos("NAME") && pos("NAME") < pos("GREETING"));
    assert_eq!(
        cfg.command,
        vec!["sh", "-c", "echo hello world fast $(UNKNOWN) $(NAME)"]
    );
    assert_eq!(cfg.labels[labels::POD_UID], "u-1");
    assert_eq!(cfg.labels[labels::CONTAINER_NAME], "c");
    assert_eq!(cfg.annotations[labels::CONTAINER_RESTART_COUNT], "2");
    assert_eq!(cfg.annotations[labels::CONTAINER_HASH], container_hash(c));
}

#[tokio::test]
async fn missing_sources_give_upstream_messages() {
    let s = sources();
    let cases = [
        (
            json!({"configMapKeyRef": {"name": "nope", "key": "k"}}),
            "configmap \"nope\" not found",
        ),
        (
            json!({"configMapKeyRef": {"name": "cfg", "key": "k"}}),
            "couldn't find key k in ConfigMap test/cfg",
        ),
        (
            json!({"secretKeyRef": {"name": "nope", "key": "k"}}),
            "secret \"nope\" not found",
        ),
        (
            json!({"secretKeyRef": {"name": "creds", "key": "k"}}),
            "couldn't find key k in Secret test/creds",
        ),
        (
            json!({"fieldRef": {"fieldPath": "spec.bogus"}}),
            "unsupported fieldPath: spec.bogus",
        ),
    ];
    for (from, msg) in cases {
        let p =
            pod(json!({"containers": [{"name": "c", "env": [{"name": "X", "valueFrom": from}]}]}));
        let err = container_config(&ctx(&p, &s), &p.spec.as_ref().unwrap().containers[0])
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), msg);
    }
    let p =
        pod(json!({"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "gone"}}]}]}));
    let err = container_config(&ctx(&p, &s), &p.spec.as_ref().unwrap().containers[0])
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "secret \"gone\" not found");
}

#[tokio::test]
async fn service_links_off_keeps_only_kubernetes() {
    let mut s = sources();
    s.services.push(
        serde_json::from_value(json!({
            "metadata": {"name": "my-db", "namespace": "test"},
            "spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 5432}]}
        }))
        .unwrap(),
    );
    for (links, expect_db) in [(true, true), (false, false)] {
        let p = pod(json!({"enableServiceLinks": links, "containers": [{"name": "c"}]}));
        let cfg = container_config(&ctx(&p, &s), &p.spec.as_ref().unwrap().containers[0])
            .await
            .unwrap();
        let env = env_of(&cfg);
        let has = |k: &str| env.iter().any(|(n, _)| n == k);
        assert_eq!(has("MY_DB_SERVICE_HOST"), expect_db);
        assert_eq!(has("MY_DB_PORT_5432_TCP_PROTO"), expect_db);
        assert!(has("KUBERNETES_SERVICE_HOST"));
    }
}

#[test]
fn field_values() {
    let mut p = pod(json!({"nodeName": "n1", "serviceAccountName": "sa", "containers": []}));
    p.status = Some(
        serde_json::from_value(json!({
            "podIPs": [{"ip": "10.1.0.5"}, {"ip": "fd00::5"}], "hostIP": "192.168.1.2"
        }))
        .unwrap(),
    );
    let f = |path: &str| pod_field_value(&p, path, None, Some("192.168.1.9")).unwrap();
    assert_eq!(f("metadata.namespace"), "test");
    assert_eq!(f("metadata.uid"), "u-1");
    assert_eq!(f("metadata.annotations['note']"), "a\"b");
    assert_eq!(f("metadata.labels['missing']"), "");
    assert_eq!(f("metadata.labels"), "app=\"web\"\ntier=\"fe\"");
    assert_eq!(f("spec.nodeName"), "n1");
    assert_eq!(f("spec.serviceAccountName"), "sa");
    assert_eq!(f("status.hostIP"), "192.168.1.2");
    assert_eq!(f("status.hostIPs"), "192.168.1.9");
    assert_eq!(f("status.podIPs"), "10.1.0.5,fd00::5");
}

#[test]
fn resource_field_values_round_up() {
    let c: Container = serde_json::from_value(json!({"name": "c", "resources": {
        "limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}
    }}))
    .unwrap();
    let alloc = BTreeMap::from([
        ("cpu".to_string(), Quantity("4".into())),
        ("memory".to_string(), Quantity("1Gi".into())),
    ]);
    let v = |r: &str, d: Option<&str>| {
        resources::resource_field_value(&c, r, d.map(|d| Quantity(d.into())).as_ref(), Some(&alloc))
            .unwrap()
    };
    assert_eq!(v("limits.cpu", None), "1");
    assert_eq!(v("limits.cpu", Some("1m")), "500");
    assert_eq!(v("requests.cpu", Some("100m")), "3");
    assert_eq!(v("limits.memory", None), "67108864");
    assert_eq!(v("limits.memory", Some("1Mi")), "64");
    assert_eq!(v("requests.memory", None), "0");
    let bare = Container {
        name: "b".into(),
        ..Default::default()
    };
    let alloc_v = resources::resource_field_value(
        &bare,
        "limits.memory",
        Some(&Quantity("1Mi".into())),
        Some(&alloc),
    )
    .unwrap();
    assert_eq!(
        alloc_v, "1024",
        "unset limit falls back to node allocatable"
    );
    assert!(resources::resource_field_value(&c, "limits.gpu", None, None).is_err());
}

fn res_pod(res: serde_json::Value) -> Pod {
    pod(json!({"containers": [{"name": "c", "resources": res}]}))
}

#[test]
fn qos_and_cgroup_parent() {
    let g = res_pod(
        json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}),
    );
    let b = res_pod(json!({"requests": {"cpu": "100m"}}));
    let b2 = res_pod(
        json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}}),
    );
    let be = res_pod(json!({}));
    assert_eq!(qos_class(&g), "Guaranteed");
    assert_eq!(qos_class(&b), "Burstable");
    assert_eq!(qos_class(&b2), "Burstable");
    assert_eq!(qos_class(&be), "BestEffort");
    assert_eq!(pod_cgroup_parent(&g, "/kubepods"), "/kubepods/podu-1");
    assert_eq!(
        pod_cgroup_parent(&b, "/kubepods/"),
        "/kubepods/burstable/podu-1"
    );
    assert_eq!(
        pod_cgroup_parent(&be, "/kubepods"),
        "/kubepods/besteffort/podu-1"
    );
    let mut reported = be.clone();
    reported.status = Some(serde_json::from_value(json!({"qosClass": "Burstable"})).unwrap());
    assert_eq!(qos_class(&reported), "Burstable");
}

#[test]
fn linux_resources_values() {
    let g = res_pod(
        json!({"limits": {"cpu": "1500m", "memory": "128Mi"}, "requests": {"cpu": "1500m", "memory": "128Mi"}}),
    );
    let r = resources::linux_resources(&g, &g.spec.as_ref().unwrap().containers[0], 1 << 30);
    assert_eq!(
        (r.cpu_shares, r.cpu_quota, r.cpu_period),
        (1536, 150_000, 100_000)
    );
    assert_eq!(r.memory_limit_in_bytes, 128 << 20);
    assert_eq!(r.oom_score_adj, 0, "never negative on this machine");
    let tiny =
        res_pod(json!({"limits": {"cpu": "1m"}, "requests": {"cpu": "1m", "memory": "256Mi"}}));
    let r = resources::linux_resources(&tiny, &tiny.spec.as_ref().unwrap().containers[0], 1 << 30);
    assert_eq!((r.cpu_shares, r.cpu_quota), (2, 1000));
    assert_eq!(r.memory_limit_in_bytes, 0);
    assert_eq!(r.oom_score_adj, 750);
    let be = res_pod(json!({}));
    let r = resources::linux_resources(&be, &be.spec.as_ref().unwrap().containers[0], 1 << 30);
    assert_eq!((r.cpu_shares, r.cpu_quota, r.oom_score_adj), (2, 0, 1000));
    let huge = res_pod(json!({"requests": {"memory": "2Gi"}}));
    let r = resources::linux_resources(&huge, &huge.spec.as_ref().unwrap().containers[0], 1 << 30);
    assert_eq!(r.oom_score_adj, 3);
}

#[test]
fn security_mapping() {
    let p = pod(json!({
        "hostNetwork": true, "shareProcessNamespace": true,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 3000, "supplementalGroups": [4000],
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "securityContext": {
            "runAsUser": 1001, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
            "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}
        }}]
    }));
    let c = &p.spec.as_ref().unwrap().containers[0];
    let sc = security::security_context(&p, c, std::path::Path::new("/var/lib/kubelet/seccomp"));
    assert_eq!(sc.run_as_user.unwrap().value, 1001);
    assert_eq!(sc.run_as_group.unwrap().value, 2000);
    assert_eq!(sc.supplemental_groups, vec![3000, 4000]);
    assert!(sc.readonly_rootfs && sc.no_new_privs && !sc.privileged);
    let caps = sc.capabilities.unwrap();
    assert_eq!(
        (caps.add_capabilities, caps.drop_capabilities),
        (vec!["NET_ADMIN".to_string()], vec!["ALL".to_string()])
    );
    let seccomp = sc.seccomp.unwrap();
    assert_eq!(
        seccomp.profile_type,
        api::security_profile::ProfileType::Localhost as i32
    );
    assert_eq!(seccomp.localhost_ref, "/var/lib/kubelet/seccomp/p.json");
    let ns = sc.namespace_options.unwrap();
    assert_eq!(ns.network, api::NamespaceMode::Node as i32);
    assert_eq!(ns.pid, api::NamespaceMode::Pod as i32);
    assert_eq!(ns.ipc, api::NamespaceMode::Pod as i32);
    assert!(sc.masked_paths.contains(&"/proc/kcore".to_string()));

    let plain =
        pod(json!({"containers": [{"name": "c", "securityContext": {"procMount": "Unmasked"}}]}));
    let sc = security::security_context(
        &plain,
        &plain.spec.as_ref().unwrap().containers[0],
        std::path::Path::new("/x"),
    );
    assert!(
        !sc.no_new_privs,
        "unset allowPrivilegeEscalation leaves no_new_privs off"
    );
    assert!(sc.run_as_user.is_none() && sc.masked_paths.is_empty() && sc.readonly_paths.is_empty());
    assert_eq!(
        sc.seccomp.unwrap().profile_type,
        api::security_profile::ProfileType::Unconfined as i32
    );
    assert_eq!(
        sc.namespace_options.unwrap().pid,
        api::NamespaceMode::Container as i32
    );
}

#[test]
fn hash_is_stable_and_spec_sensitive() {
    let a = Container {
        name: "c".into(),
        image: Some("busybox".into()),
        ..Default::default()
    };
    let mut b = a.clone();
    assert_eq!(container_hash(&a), container_hash(&b));
    b.image = Some("busybox:2".into());
    assert_ne!(container_hash(&a), container_hash(&b));
}
