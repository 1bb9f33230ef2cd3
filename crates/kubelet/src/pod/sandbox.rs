//! The pod's CRI `PodSandboxConfig`: metadata, hostname, log directory, DNS
//! (upstream's dnsPolicy rules), host port mappings, labels, cgroup parent,
//! namespace options and sysctls.

use crate::KubeletConfig;
use crate::cri::{api, labels};
use k8s_openapi::api::core::v1::Pod;
use std::collections::HashMap;

/// `<pod_log_dir>/<ns>_<name>_<uid>`.
pub fn log_directory(cfg: &KubeletConfig, pod: &Pod) -> String {
    let m = &pod.metadata;
    cfg.pod_log_dir
        .join(format!(
            "{}_{}_{}",
            m.namespace.as_deref().unwrap_or("default"),
            m.name.as_deref().unwrap_or_default(),
            m.uid.as_deref().unwrap_or_default()
        ))
        .display()
        .to_string()
}

/// Labels that tie a sandbox or container to its pod.
pub fn pod_labels(pod: &Pod) -> HashMap<String, String> {
    let m = &pod.metadata;
    let mut l: HashMap<String, String> = m.labels.clone().unwrap_or_default().into_iter().collect();
    l.insert(labels::POD_NAME.into(), m.name.clone().unwrap_or_default());
    l.insert(
        labels::POD_NAMESPACE.into(),
        m.namespace.clone().unwrap_or_default(),
    );
    l.insert(labels::POD_UID.into(), m.uid.clone().unwrap_or_default());
    l
}

/// The host's resolver settings (dnsPolicy Default).
pub fn host_dns() -> api::DnsConfig {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    parse_resolv_conf(&text)
}

pub fn parse_resolv_conf(text: &str) -> api::DnsConfig {
    let mut d = api::DnsConfig::default();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("nameserver") => d.servers.extend(w.next().map(str::to_string)),
            Some("search") | Some("domain") => d.searches = w.map(str::to_string).collect(),
            Some("options") => d.options.extend(w.map(str::to_string)),
            _ => {}
        }
    }
    d
}

/// Upstream's dns configurer: ClusterFirst (ClusterFirstWithHostNet for
/// host-network pods), Default, None, merged with spec.dnsConfig.
pub fn dns_config(cfg: &KubeletConfig, pod: &Pod, host: api::DnsConfig) -> api::DnsConfig {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let host_net = spec.host_network.unwrap_or(false);
    let cluster_first = match policy {
        "ClusterFirst" => !host_net,
        "ClusterFirstWithHostNet" => true,
        _ => false,
    };
    let mut d = if policy == "None" {
        api::DnsConfig::default()
    } else if cluster_first && !cfg.cluster_dns.is_empty() {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let dom = &cfg.cluster_domain;
        let mut searches = vec![format!("{ns}.svc.{dom}"), format!("svc.{dom}"), dom.clone()];
        searches.extend(host.searches.iter().cloned());
        api::DnsConfig {
            servers: cfg.cluster_dns.clone(),
            searches,
            options: vec!["ndots:5".into()],
        }
    } else {
        host
    };
    if let Some(pc) = spec.dns_config {
        d.servers.extend(pc.nameservers.unwrap_or_default());
        d.searches.extend(pc.searches.unwrap_or_default());
        for o in pc.options.unwrap_or_default() {
            let name = o.name.unwrap_or_default();
            let opt = match o.value {
                Some(v) => format!("{name}:{v}"),
                None => name.clone(),
            };
            // A pod option replaces the same option from the policy.
            d.options
                .retain(|x| x.split(':').next() != Some(name.as_str()));
            d.options.push(opt);
        }
    }
    let mut seen = std::collections::HashSet::new();
    d.searches.retain(|s| seen.insert(s.clone()));
    d.searches.truncate(32);
    d.servers.truncate(3);
    d
}

fn ns_mode(host: bool) -> i32 {
    if host {
        api::NamespaceMode::Node as i32
    } else {
        api::NamespaceMode::Pod as i32
    }
}

/// The sandbox config of `pod` (attempt `attempt`).
pub fn sandbox_config(
    cfg: &KubeletConfig,
    pod: &Pod,
    attempt: u32,
    cgroup_parent: &str,
    host_dns: api::DnsConfig,
) -> api::PodSandboxConfig {
    let m = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let host_net = spec.host_network.unwrap_or(false);
    let mut hostname = if host_net {
        nix_hostname()
    } else {
        spec.hostname
            .clone()
            .unwrap_or_else(|| m.name.clone().unwrap_or_default())
    };
    hostname.truncate(63);
    let mut ports = Vec::new();
    for c in &spec.containers {
        for p in c.ports.as_deref().unwrap_or_default() {
            let Some(hp) = p.host_port.filter(|h| *h > 0) else {
                continue;
            };
            let proto = match p.protocol.as_deref() {
                Some("UDP") => api::Protocol::Udp,
                Some("SCTP") => api::Protocol::Sctp,
                _ => api::Protocol::Tcp,
            };
            ports.push(api::PortMapping {
                protocol: proto as i32,
                container_port: p.container_port,
                host_port: hp,
                host_ip: p.host_ip.clone().unwrap_or_default(),
            });
        }
    }
    let psc = spec.security_context.clone().unwrap_or_default();
    let sysctls: HashMap<String, String> = psc
        .sysctls
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.name, s.value))
        .collect();
    let mut annotations: HashMap<String, String> = m
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    annotations.insert(
        labels::POD_TERMINATION_GRACE_PERIOD.into(),
        spec.termination_grace_period_seconds
            .unwrap_or(30)
            .to_string(),
    );
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
            namespace: m.namespace.clone().unwrap_or_default(),
            attempt,
        }),
        hostname,
        log_directory: log_directory(cfg, pod),
        dns_config: Some(dns_config(cfg, pod, host_dns)),
        port_mappings: ports,
        labels: pod_labels(pod),
        annotations,
        linux: Some(api::LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent.to_string(),
            security_context: Some(api::LinuxSandboxSecurityContext {
                namespace_options: Some(api::NamespaceOption {
                    network: ns_mode(host_net),
                    pid: if spec.host_pid.unwrap_or(false) {
                        api::NamespaceMode::Node as i32
                    } else if spec.share_process_namespace.unwrap_or(false) {
                        api::NamespaceMode::Pod as i32
                    } else {
                        api::NamespaceMode::Container as i32
                    },
                    ipc: ns_mode(spec.host_ipc.unwrap_or(false)),
                    ..Default::default()
                }),
                run_as_user: psc.run_as_user.map(|v| api::Int64Value { value: v }),
                run_as_group: psc.run_as_group.map(|v| api::Int64Value { value: v }),
                supplemental_groups: psc
                    .supplemental_groups
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .chain(psc.fs_group)
                    .collect(),
                ..Default::default()
            }),
            sysctls,
            ..Default::default()
        }),
        windows: None,
    }
}

fn nix_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, PodDNSConfig, PodDNSConfigOption, PodSpec,
    };

    fn pod(ns: &str, spec: PodSpec) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some("web".into());
        p.metadata.namespace = Some(ns.into());
        p.metadata.uid = Some("u1".into());
        p.spec = Some(spec);
        p
    }

    fn cfg() -> KubeletConfig {
        let mut c = KubeletConfig::new(
            "n1",
            std::path::Path::new("/data"),
            "10.0.0.1".parse().unwrap(),
        );
        c.cluster_dns = vec!["10.43.0.10".into()];
        c
    }

    #[test]
    fn cluster_first_searches_and_ndots() {
        let host = parse_resolv_conf("nameserver 1.1.1.1\nsearch corp.example\n");
        let d = dns_config(&cfg(), &pod("shop", PodSpec::default()), host);
        assert_eq!(d.servers, vec!["10.43.0.10"]);
        assert_eq!(
            d.searches,
            vec![
                "shop.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
                "corp.example"
            ]
        );
        assert_eq!(d.options, vec!["ndots:5"]);
    }

    #[test]
    fn default_policy_uses_host_and_pod_options_override() {
        let host = parse_resolv_conf("nameserver 1.1.1.1\noptions ndots:1\n");
        let spec = PodSpec {
            dns_policy: Some("Default".into()),
            dns_config: Some(PodDNSConfig {
                options: Some(vec![PodDNSConfigOption {
                    name: Some("ndots".into()),
                    value: Some("2".into()),
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let d = dns_config(&cfg(), &pod("a", spec), host);
        assert_eq!(d.servers, vec!["1.1.1.1"]);
        assert_eq!(d.options, vec!["ndots:2"]);
    }

    #[test]
    fn sandbox_has_ports_labels_and_log_dir() {
        let spec = PodSpec {
            containers: vec![Container {
                name: "c".into(),
                ports: Some(vec![ContainerPort {
                    container_port: 80,
                    host_port: Some(8080),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            ..Default::default()
        };
        let sc = sandbox_config(
            &cfg(),
            &pod("a", spec),
            2,
            "/kubepods/podu1",
            Default::default(),
        );
        assert_eq!(sc.metadata.as_ref().unwrap().attempt, 2);
        assert_eq!(sc.hostname, "web");
        assert_eq!(sc.log_directory, "/data/pod-logs/a_web_u1");
        assert_eq!(sc.port_mappings[0].host_port, 8080);
        assert_eq!(sc.labels[labels::POD_UID], "u1");
        assert_eq!(sc.linux.unwrap().cgroup_parent, "/kubepods/podu1");
    }
}
