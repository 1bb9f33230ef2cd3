//! The files the node's containerd runs from: its TOML config (version 2)
//! and the CNI network list the CRI plugin loads. Pure rendering, so the
//! settings this machine needs (see machine-facts) are checked in unit tests.

use super::ContainerdConfig;
use std::path::{Path, PathBuf};

/// Where everything of one containerd lives under its data dir.
#[derive(Clone, Debug)]
pub struct Layout {
    pub config: PathBuf,
    pub root: PathBuf,
    pub state: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub cni_conf_dir: PathBuf,
    /// host-local's allocations, kept beside the rest so nodes on one
    /// machine (and tests) never share them.
    pub cni_ipam_dir: PathBuf,
    pub registry_config_dir: PathBuf,
    pub opt_dir: PathBuf,
}

impl Layout {
    pub fn new(data_dir: &Path) -> Layout {
        Layout {
            config: data_dir.join("config.toml"),
            root: data_dir.join("root"),
            state: data_dir.join("state"),
            socket: data_dir.join("containerd.sock"),
            log: data_dir.join("containerd.log"),
            cni_conf_dir: data_dir.join("cni").join("net.d"),
            cni_ipam_dir: data_dir.join("cni").join("networks"),
            registry_config_dir: data_dir.join("certs.d"),
            opt_dir: data_dir.join("opt"),
        }
    }

    /// The directories containerd and CNI expect to exist.
    pub fn dirs(&self) -> [&Path; 6] {
        [
            &self.root,
            &self.state,
            &self.cni_conf_dir,
            &self.cni_ipam_dir,
            &self.registry_config_dir,
            &self.opt_dir,
        ]
    }
}

/// TOML basic string: quotes and backslashes escaped.
fn q(s: impl AsRef<str>) -> String {
    let mut out = String::from("\"");
    for c in s.as_ref().chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn qp(p: &Path) -> String {
    q(p.to_string_lossy())
}

/// containerd's config.toml (schema version 2, containerd 1.6 and later).
pub fn containerd_toml(cfg: &ContainerdConfig, l: &Layout, stream_port: u16) -> String {
    const CRI: &str = "plugins.\"io.containerd.grpc.v1.cri\"";
    format!(
        r#"# Written by rkube; rewritten at every start.
version = 2
root = {root}
state = {state}
# Snapshotters this kernel or package cannot use only add noise to the log.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = {socket}
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[debug]
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = {opt}

[{CRI}]
  sandbox_image = {sandbox}
  # The bounding set lacks CAP_SYS_RESOURCE: nothing may go below containerd's own score.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = {port}
  enable_selinux = false
  max_container_log_line_size = 16384

[{CRI}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{CRI}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{CRI}.containerd.runtimes.runc.options]
  # PID 1 is not systemd: cgroupfs only.
  SystemdCgroup = false

[{CRI}.cni]
  bin_dir = {cni_bin}
  conf_dir = {cni_conf}
  max_conf_num = 1

[{CRI}.registry]
  config_path = {registry}
"#,
        root = qp(&l.root),
        state = qp(&l.state),
        socket = qp(&l.socket),
        opt = qp(&l.opt_dir),
        sandbox = q(&cfg.pause_image),
        port = q(stream_port.to_string()),
        cni_bin = qp(&cfg.cni_bin_dir),
        cni_conf = qp(&l.cni_conf_dir),
        registry = qp(&l.registry_config_dir),
    )
}

/// The file name of the network list in the CNI conf dir.
pub const CNI_CONFLIST: &str = "10-rkube.conflist";

/// The pod network: a bridge (the pods' gateway, masquerading traffic that
/// leaves the pod subnet, hairpin so a pod reaches itself through a
/// service) with host-local addresses, then portmap for hostPort. No
/// `loopback`: containerd brings up `lo` itself.
pub fn cni_conflist(cfg: &ContainerdConfig, l: &Layout) -> String {
    let v = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "rkube",
        "plugins": [
            {
                "type": "bridge",
                "bridge": cfg.bridge,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": cfg.pod_cidr }]],
                    "routes": [{ "dst": "0.0.0.0/0" }],
                    "dataDir": l.cni_ipam_dir,
                }
            },
            {
                "type": "portmap",
                "capabilities": { "portMappings": true },
            }
        ]
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ContainerdConfig {
        ContainerdConfig {
            data_dir: "/var/lib/rkube/agent/containerd".into(),
            pause_image: "rkube.local/pause:1".into(),
            cni_bin_dir: "/usr/lib/cni".into(),
            pod_cidr: "10.42.3.0/24".into(),
            bridge: "cni0".into(),
        }
    }

    #[test]
    fn containerd_config_has_machine_settings() {
        let c = cfg();
        let l = Layout::new(&c.data_dir);
        let t = containerd_toml(&c, &l, 0);
        for want in [
            "version = 2",
            "root = \"/var/lib/rkube/agent/containerd/root\"",
            "state = \"/var/lib/rkube/agent/containerd/state\"",
            "address = \"/var/lib/rkube/agent/containerd/containerd.sock\"",
            "sandbox_image = \"rkube.local/pause:1\"",
            "restrict_oom_score_adj = true",
            "SystemdCgroup = false",
            "runtime_type = \"io.containerd.runc.v2\"",
            "snapshotter = \"overlayfs\"",
            "bin_dir = \"/usr/lib/cni\"",
            "conf_dir = \"/var/lib/rkube/agent/containerd/cni/net.d\"",
            "stream_server_address = \"127.0.0.1\"",
            "stream_server_port = \"0\"",
        ] {
            assert!(t.contains(want), "missing {want} in\n{t}");
        }
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(q(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn conflist_bridge_then_portmap() {
        let c = cfg();
        let l = Layout::new(&c.data_dir);
        let v: serde_json::Value = serde_json::from_str(&cni_conflist(&c, &l)).unwrap();
        let plugins = v["plugins"].as_array().unwrap();
        assert_eq!(plugins.len(), 2);
        assert_eq!(plugins[0]["type"], "bridge");
        assert_eq!(plugins[0]["bridge"], "cni0");
        assert_eq!(plugins[0]["isGateway"], true);
        assert_eq!(plugins[0]["ipMasq"], true);
        assert_eq!(plugins[0]["hairpinMode"], true);
        assert_eq!(plugins[0]["ipam"]["type"], "host-local");
        assert_eq!(plugins[0]["ipam"]["ranges"][0][0]["subnet"], "10.42.3.0/24");
        assert_eq!(plugins[1]["type"], "portmap");
        assert_eq!(plugins[1]["capabilities"]["portMappings"], true);
        assert!(!cni_conflist(&c, &l).contains("loopback"));
    }
}
