//! The kubelet's settings, filled by `rkube agent` / `rkube server` flags.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct KubeletConfig {
    /// The Node object's name (default: the hostname).
    pub node_name: String,
    /// The kubelet's own state: pods' volumes live under `ROOT/pods/<uid>/volumes`.
    pub root_dir: PathBuf,
    /// Container logs, upstream's layout: `DIR/<ns>_<pod>_<uid>/<container>/<n>.log`.
    pub pod_log_dir: PathBuf,
    /// The address reported in the Node's InternalIP and used for the kubelet server.
    pub node_ip: IpAddr,
    /// HTTPS port of the kubelet server (upstream 10250; 0 picks a free one).
    pub port: u16,
    /// Labels added to the Node at registration.
    pub node_labels: BTreeMap<String, String>,
    /// cgroupfs parent for pod cgroups (`/kubepods`, then `/burstable`, `/besteffort`).
    pub cgroup_root: String,
    /// The sandbox (pause) image; must be present or pullable.
    pub pause_image: String,
    /// Pods this node takes (status.capacity.pods).
    pub max_pods: u32,
    /// Cluster DNS servers and search domain written into pods' resolv.conf.
    pub cluster_dns: Vec<String>,
    pub cluster_domain: String,
    /// Directory of static pod manifests, if any.
    pub static_pod_path: Option<PathBuf>,
    /// How often the Lease is renewed (upstream 10 s).
    pub lease_interval: std::time::Duration,
    /// How often node status is posted when nothing changed (upstream 5 min; 10 s when changed).
    pub node_status_report_interval: std::time::Duration,
    /// Hard eviction thresholds: below them the node reports memory, disk
    /// or PID pressure (and gets the matching NoSchedule taint).
    pub eviction_hard: crate::node::status::Thresholds,
}

impl KubeletConfig {
    /// Defaults for a node called `node_name` keeping its state under `data_dir`.
    pub fn new(node_name: impl Into<String>, data_dir: &std::path::Path, node_ip: IpAddr) -> Self {
        KubeletConfig {
            node_name: node_name.into(),
            root_dir: data_dir.join("kubelet"),
            pod_log_dir: data_dir.join("pod-logs"),
            node_ip,
            port: 10250,
            node_labels: BTreeMap::new(),
            cgroup_root: "/kubepods".into(),
            pause_image: "rkube.local/pause:1".into(),
            max_pods: 110,
            cluster_dns: vec![],
            cluster_domain: "cluster.local".into(),
            static_pod_path: None,
            lease_interval: std::time::Duration::from_secs(10),
            node_status_report_interval: std::time::Duration::from_secs(60),
            eviction_hard: Default::default(),
        }
    }
}
