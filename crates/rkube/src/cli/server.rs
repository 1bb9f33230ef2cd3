//! `rkube server`: certificates, join token, datastore, registry, API
//! server, controllers, scheduler, and this machine's node (unless
//! `--disable-agent`).

use crate::{bootstrap, certs, datastore, join, kubeconfig};
use anyhow::Context;
use apiserver::{AllowAuthenticated, ApiServer, Authenticator, UserInfo};
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Directory holding everything the server keeps (datastore, certificates, kubeconfig).
    #[arg(long, default_value = "/var/lib/rkube", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0", value_name = "ADDR")]
    pub bind_address: IpAddr,
    /// HTTPS port of the API server; 0 picks a free port and logs it.
    #[arg(long, default_value_t = 6443, value_name = "PORT")]
    pub https_port: u16,
    /// Where to write the admin kubeconfig [default: DIR/kubeconfig].
    #[arg(long, value_name = "PATH")]
    pub write_kubeconfig: Option<PathBuf>,
    /// Datastore: empty for the embedded SQLite store under DIR, `sqlite:///path/to/db`,
    /// or `memory://` (nothing survives a restart; for tests).
    #[arg(long, default_value = "", value_name = "URL")]
    pub datastore_endpoint: String,
    /// Run the control plane only, without the local node (containerd and kubelet).
    #[arg(long)]
    pub disable_agent: bool,
    #[command(flatten)]
    pub node: crate::cli::agent::NodeArgs,
    /// Extra subject alternative names (hostnames or IPs) for the serving certificate. Repeatable.
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_san: Vec<String>,
    /// Static bearer tokens, upstream's format: `token,user,uid[,"group1,group2"]` per line.
    #[arg(long, value_name = "PATH")]
    pub token_auth_file: Option<PathBuf>,
    /// Run N simulated nodes (no containers) in the server process, for testing at scale.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub sim_nodes: usize,
    /// How long a node may go without renewing its Lease or posting status
    /// before it is marked Unknown and tainted unreachable (Go duration).
    #[arg(long, default_value = "50s", value_name = "DURATION",
          value_parser = apimachinery::duration::parse_flag_duration)]
    pub node_monitor_grace_period: std::time::Duration,
    /// KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) YAML for the built-in scheduler.
    #[arg(long, value_name = "FILE")]
    pub scheduler_config: Option<PathBuf>,
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let scheduler_config = match &args.scheduler_config {
        Some(path) => scheduler::SchedulerConfig::load(path)
            .with_context(|| format!("--scheduler-config {}", path.display()))?,
        None => scheduler::SchedulerConfig::default(),
    };
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating --data-dir {}", args.data_dir.display()))?;
    let tls_dir = args.data_dir.join("server").join("tls");
    let pki = certs::ensure(&tls_dir, &args.tls_san).context("preparing certificates")?;
    let sa_tokens = crate::sa_key::ensure(&tls_dir).context("preparing the service-account key")?;
    let token = join::ensure_server_token(&args.data_dir, &pki.ca_pem).context("join token")?;
    let store = datastore::open(&args.datastore_endpoint, &args.data_dir)?;
    let registry = registry::engine::Registry::new(store)
        .await
        .context("starting the registry")?;

    let addr = SocketAddr::new(args.bind_address, args.https_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding --bind-address/--https-port {addr}"))?;
    let local = listener.local_addr()?;
    // Endpoints may not be loopback addresses (upstream's rule): a server
    // bound to loopback advertises the machine's address.
    let api_ip = if args.bind_address.is_unspecified() || args.bind_address.is_loopback() {
        primary_address()
    } else {
        Some(args.bind_address.to_string())
    };
    bootstrap::ensure_defaults(&registry, api_ip.as_deref(), local.port())
        .await
        .context("creating the default namespaces and service")?;
    let host = if args.bind_address.is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        args.bind_address.to_string()
    };
    let url = format!(
        "https://{}:{}",
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        },
        local.port()
    );
    let kc_path = args
        .write_kubeconfig
        .clone()
        .unwrap_or_else(|| args.data_dir.join("kubeconfig"));
    kubeconfig::write_admin(&kc_path, &url, &pki)
        .with_context(|| format!("writing --write-kubeconfig {}", kc_path.display()))?;

    let authn = match &args.token_auth_file {
        Some(p) => Authenticator::from_token_file(p).context("--token-auth-file")?,
        None => Authenticator::default(),
    };
    let server = ApiServer::new_with_tokens(
        registry,
        authn,
        Arc::new(AllowAuthenticated),
        format!("{}:{}", local.ip(), local.port()),
        Some(sa_tokens),
    )
    .with_kubelet_client(pki.kubelet_client_config())
    .with_node_join(
        pki.ca_pem.clone(),
        token.secret.clone(),
        Arc::new(pki.node_issuer()),
    );
    // metrics.k8s.io: the kubelets are scraped every 15 s (kubectl top, the HPA).
    server.start_metrics_scraper();
    tracing::info!(%url, kubeconfig = %kc_path.display(), "rkube server listening");
    eprintln!(
        "rkube server listening on {url}\nkubeconfig: {}\njoin token: {}",
        kc_path.display(),
        token.format()
    );
    let client = admin_client(&server);
    let serving = tokio::spawn(apiserver::serve(
        listener,
        pki.server_config()?,
        server,
        shutdown_signal(),
    ));
    let factory = informer::Factory::new(client);
    let mut controller_cfg = controllers::Config {
        root_ca_pem: Some(pki.ca_pem.clone()),
        ..Default::default()
    };
    controller_cfg.node_lifecycle.grace_period = args.node_monitor_grace_period;
    let controllers = tokio::spawn(controllers::run_all_with(factory.clone(), controller_cfg));
    let scheduler = tokio::spawn(scheduler::run(factory.clone(), scheduler_config));
    let sim = match args.sim_nodes {
        0 => None,
        n => {
            let cfg = crate::cli::sim_nodes::NodeShape::default().config(n)?;
            let factory = factory.clone();
            Some(tokio::spawn(async move {
                if let Err(e) = simnodes::run(factory, cfg, std::future::pending()).await {
                    tracing::error!("simulated nodes: {e}");
                }
            }))
        }
    };
    let (stop_node, node_stopped) = tokio::sync::watch::channel(false);
    let node = (!args.disable_agent).then(|| {
        let mut stopped = node_stopped;
        crate::cli::agent::spawn_local(
            args.node.clone(),
            args.data_dir.clone(),
            pki.node_issuer(),
            url.clone(),
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        )
    });
    let result = serving.await;
    if let Some(node) = node {
        let _ = stop_node.send(true);
        // The kubelet gets a moment to stop cleanly; the API is gone anyway.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), node).await;
    }
    controllers.abort();
    scheduler.abort();
    if let Some(sim) = sim {
        sim.abort();
    }
    result.context("API server task")??;
    tracing::info!("rkube server stopped");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// A kube-rs client of this server with the admin kubeconfig's identity
/// (`system:admin` in `system:masters`): the controllers use the API like any
/// other client, through the in-process loopback instead of TLS and TCP to
/// ourselves, as upstream's kube-apiserver gives its own loops a loopback
/// client.
fn admin_client(server: &Arc<ApiServer>) -> kube::Client {
    let admin = UserInfo::new("system:admin", &["system:masters"]);
    kube::Client::new(apiserver::Loopback::new(server.clone(), admin), "default")
}

/// The address other machines reach this one at: the first non-loopback
/// IPv4 address, if there is one.
fn primary_address() -> Option<String> {
    certs::primary_address().map(|ip| ip.to_string())
}
