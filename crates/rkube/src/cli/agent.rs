//! `rkube agent`: join a cluster and run this machine's node (containerd,
//! images, kubelet). [`run_node`] is the node itself; `rkube server` calls
//! it too for its in-process agent, with credentials from its own CA.
//!
//! Layout under `DATA/agent/`: `containerd/` (its root, state, config,
//! socket), `kubelet/` (pods' volumes), `pod-logs/`, `images/` (archives
//! imported at start, for air-gapped machines), `certs/` and
//! `kubelet.kubeconfig`.

use crate::{certs, join};
use anyhow::{Context, anyhow};
use apiserver::NodeCredentials;
use clap::Args;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone)]
pub struct AgentArgs {
    /// The server to join, `https://HOST:6443`.
    #[arg(long, value_name = "URL", env = "RKUBE_URL")]
    pub server: String,
    /// The join token (`rkube token` on the server); needed only for the first start.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RKUBE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Directory holding everything rkube keeps (the agent's part is DIR/agent).
    #[arg(long, default_value = "/var/lib/rkube", value_name = "DIR")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// The node's flags, shared by `rkube agent` and `rkube server`.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// The Node's name [default: the hostname].
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// The node's address (InternalIP) [default: the first non-loopback IPv4 address].
    #[arg(long, value_name = "IP")]
    pub node_ip: Option<IpAddr>,
    /// A label for the Node, `key=value`. Repeatable.
    #[arg(long = "node-label", value_name = "KEY=VALUE")]
    pub node_label: Vec<String>,
    /// Use this CRI endpoint (`unix:///run/containerd/containerd.sock`)
    /// instead of starting containerd.
    #[arg(long, value_name = "ENDPOINT")]
    pub container_runtime_endpoint: Option<String>,
    /// HTTPS port of the kubelet server.
    #[arg(long, default_value_t = 10250, value_name = "PORT")]
    pub kubelet_port: u16,
    /// This node's pod subnet, for the CNI bridge.
    #[arg(long, default_value = "10.42.0.0/24", value_name = "CIDR")]
    pub pod_cidr: String,
    /// Hard eviction thresholds, upstream's syntax; signals not named keep
    /// upstream's defaults (memory.available<100Mi, nodefs.available<10%,
    /// imagefs.available<15%).
    #[arg(long, value_name = "SIGNAL<VALUE,...", value_parser = kubelet::node::status::Thresholds::parse)]
    pub eviction_hard: Option<kubelet::node::status::Thresholds>,
    /// Directory of static pod manifests (*.yaml, *.yml, *.json), read at
    /// start and every 20 s [default: DATA-DIR/agent/pod-manifests, created at start].
    #[arg(long, value_name = "DIR")]
    pub pod_manifest_path: Option<PathBuf>,
}

/// What the node runs as: name and address resolved from the flags.
#[derive(Clone, Debug)]
pub struct NodeIdentity {
    pub name: String,
    pub ip: IpAddr,
}

/// The agent's part of the data dir.
pub fn agent_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("agent")
}

impl NodeArgs {
    pub fn identity(&self) -> anyhow::Result<NodeIdentity> {
        let name = match &self.node_name {
            Some(n) => n.clone(),
            None => std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_lowercase())
                .ok()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| anyhow!("no hostname: pass --node-name"))?,
        };
        let ip = match self.node_ip {
            Some(ip) => ip,
            None => certs::primary_address().unwrap_or(IpAddr::from([127, 0, 0, 1])),
        };
        Ok(NodeIdentity { name, ip })
    }

    fn labels(&self) -> anyhow::Result<BTreeMap<String, String>> {
        self.node_label
            .iter()
            .map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| anyhow!("--node-label {l:?}: expected key=value"))
            })
            .collect()
    }
}

pub async fn run(args: AgentArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let id = args.node.identity()?;
    let labels = args.node.labels()?;
    let agent_dir = agent_dir(&args.data_dir);
    let files = join::AgentFiles::new(&agent_dir);
    let creds = join::agent_credentials(
        &files,
        &args.server,
        args.token.as_deref(),
        &id.name,
        &[id.ip],
    )
    .await?;
    eprintln!("rkube agent: node {} joined {}", id.name, args.server);
    run_node(
        &args.node,
        &agent_dir,
        &id,
        labels,
        &creds,
        &files,
        crate::cli::server::shutdown_signal(),
    )
    .await
}

/// Start the node of `rkube server` in the background: credentials from the
/// server's own CA, the API at `server_url`. A node that cannot start
/// (no root, no containerd) is logged and leaves the control plane running.
pub fn spawn_local(
    node: NodeArgs,
    data_dir: PathBuf,
    issuer: certs::NodeIssuer,
    server_url: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = async {
            let id = node.identity()?;
            let labels = node.labels()?;
            let agent_dir = agent_dir(&data_dir);
            let files = join::AgentFiles::new(&agent_dir);
            let creds = join::local_credentials(&files, &issuer, &server_url, &id.name, &[id.ip])?;
            run_node(&node, &agent_dir, &id, labels, &creds, &files, shutdown).await
        };
        if let Err(e) = started.await {
            tracing::error!(
                "node agent stopped: {e:#} (the control plane keeps running; --disable-agent runs without it)"
            );
        }
    })
}

async fn mkdirs(agent_dir: &Path) -> anyhow::Result<()> {
    for sub in ["containerd", "kubelet", "pod-logs", "images", "certs"] {
        let d = agent_dir.join(sub);
        tokio::fs::create_dir_all(&d)
            .await
            .with_context(|| format!("creating {}", d.display()))?;
    }
    Ok(())
}

/// Run the node until `shutdown`: containerd (unless an endpoint was
/// given), image import, the CRI connection, then the kubelet.
pub async fn run_node(
    node: &NodeArgs,
    agent_dir: &Path,
    id: &NodeIdentity,
    labels: BTreeMap<String, String>,
    creds: &NodeCredentials,
    files: &join::AgentFiles,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    mkdirs(agent_dir).await?;
    let mut cfg = kubelet::KubeletConfig::new(id.name.clone(), agent_dir, id.ip);
    cfg.port = node.kubelet_port;
    cfg.node_labels = labels;
    if let Some(t) = &node.eviction_hard {
        cfg.eviction_hard = *t;
    }
    let manifests = node
        .pod_manifest_path
        .clone()
        .unwrap_or_else(|| agent_dir.join("pod-manifests"));
    tokio::fs::create_dir_all(&manifests).await?;
    cfg.static_pod_path = Some(manifests);

    // Held for the node's lifetime: dropping it stops containerd.
    let mut _containerd = None;
    let endpoint = match &node.container_runtime_endpoint {
        Some(e) => e.clone(),
        None => {
            let c = kubelet::containerd::Containerd::start(kubelet::containerd::ContainerdConfig {
                data_dir: agent_dir.join("containerd"),
                pause_image: cfg.pause_image.clone(),
                cni_bin_dir: PathBuf::from("/usr/lib/cni"),
                pod_cidr: node.pod_cidr.clone(),
                bridge: "cni0".into(),
            })
            .await
            .context("starting containerd")?;
            // The sandbox image is rkube's own, built from the host's
            // busybox: nothing to pull, even without a registry.
            kubelet::images::import_pause_image(c.socket(), agent_dir)
                .await
                .context("importing the pause image")?;
            match kubelet::images::import_dir(c.socket(), &agent_dir.join("images")).await {
                Ok(files) if !files.is_empty() => tracing::info!(?files, "imported image archives"),
                Ok(_) => {}
                Err(e) => tracing::warn!("importing image archives: {e}"),
            }
            let e = c.endpoint();
            _containerd = Some(c);
            e
        }
    };
    let cri = kubelet::cri::remote::connect(&endpoint)
        .await
        .with_context(|| format!("connecting to the container runtime at {endpoint}"))?;
    let tls = certs::kubelet_server_config(
        &creds.ca_pem,
        &creds.serving_cert_pem,
        &creds.serving_key_pem,
    )
    .context("kubelet server TLS")?;
    let client = kube_client(&files.kubeconfig).await?;
    tracing::info!(node = %id.name, ip = %id.ip, %endpoint, "starting the kubelet");
    kubelet::agent::run(cfg, client, cri, tls, shutdown)
        .await
        .context("kubelet")?;
    Ok(())
}

/// The kubelet's API client, from its own kubeconfig only.
async fn kube_client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await?;
    Ok(kube::Client::try_from(cfg)?)
}
