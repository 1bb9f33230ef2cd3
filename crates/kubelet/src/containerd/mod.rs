//! Runs the node's own containerd: writes its config under the agent's data
//! dir (runc, cgroupfs, CNI, restrict_oom_score_adj), starts it, waits for
//! CRI to answer, and restarts it if it dies.
//! (Interface placeholder: the runtime work fills it in.)

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ContainerdError {
    #[error("containerd: {0}")]
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct ContainerdConfig {
    /// containerd's root, state, config and socket live under here.
    pub data_dir: PathBuf,
    pub pause_image: String,
    pub cni_bin_dir: PathBuf,
    /// The node's pod subnet for the CNI bridge (e.g. `10.42.0.0/24`).
    pub pod_cidr: String,
    /// The CNI bridge's name (`cni0`; tests use their own).
    pub bridge: String,
}

/// A supervised containerd process (killed when stopped or dropped).
pub struct Containerd {
    socket: PathBuf,
}

impl Containerd {
    /// Write the config, start containerd, wait until CRI answers.
    pub async fn start(cfg: ContainerdConfig) -> Result<Containerd, ContainerdError> {
        Ok(Containerd {
            socket: cfg.data_dir.join("containerd.sock"),
        })
    }

    /// The socket path.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// The CRI endpoint, `unix:///…/containerd.sock`.
    pub fn endpoint(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}
