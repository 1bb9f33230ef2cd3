//! `rkube sim-nodes`: run simulated nodes (KWOK-style, no containers)
//! against any cluster named by a kubeconfig, until SIGTERM or Ctrl-C. Also
//! holds the `--sim-nodes` options `rkube server` shares.

use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct SimNodesArgs {
    /// Kubeconfig of the cluster to join.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: PathBuf,
    /// How many nodes to simulate.
    #[arg(long, value_name = "N")]
    pub count: usize,
    #[command(flatten)]
    pub shape: NodeShape,
}

/// What each simulated node looks like.
#[derive(Args, Debug, Clone)]
pub struct NodeShape {
    /// Node names are PREFIX0, PREFIX1, ...
    #[arg(long, default_value = "sim-node-", value_name = "PREFIX")]
    pub name_prefix: String,
    /// CPU capacity of each node.
    #[arg(long, default_value = "32", value_name = "QUANTITY")]
    pub cpu: String,
    /// Memory capacity of each node.
    #[arg(long, default_value = "256Gi", value_name = "QUANTITY")]
    pub memory: String,
    /// Pod capacity of each node.
    #[arg(long, default_value = "110", value_name = "N")]
    pub pods: String,
    /// Spread nodes over N zones (topology.kubernetes.io/zone=zone-0..).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub zones: usize,
    /// Extra node labels: k=v,k2=v2.
    #[arg(long, value_name = "K=V,..", value_parser = parse_labels)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Time between Lease renewals of each node (Go duration: 10s, 500ms).
    #[arg(long, default_value = "10s", value_name = "DURATION",
          value_parser = apimachinery::duration::parse_flag_duration)]
    pub lease_interval: Duration,
}

fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(format!("`{p}` is not key=value")),
        })
        .collect()
}

impl NodeShape {
    pub fn config(&self, count: usize) -> anyhow::Result<simnodes::SimConfig> {
        anyhow::ensure!(
            !self.lease_interval.is_zero(),
            "--lease-interval must be longer than zero"
        );
        Ok(simnodes::SimConfig {
            count,
            name_prefix: self.name_prefix.clone(),
            cpu: self.cpu.clone(),
            memory: self.memory.clone(),
            pods: self.pods.clone(),
            zones: self.zones,
            labels: self.labels.clone().unwrap_or_default(),
            lease_interval: self.lease_interval,
            ..simnodes::SimConfig::default()
        })
    }
}

impl Default for NodeShape {
    fn default() -> Self {
        Self {
            name_prefix: "sim-node-".into(),
            cpu: "32".into(),
            memory: "256Gi".into(),
            pods: "110".into(),
            zones: 0,
            labels: None,
            lease_interval: Duration::from_secs(10),
        }
    }
}

pub async fn run(args: SimNodesArgs) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cfg = args.shape.config(args.count)?;
    let kc = kube::config::Kubeconfig::read_from(&args.kubeconfig)
        .with_context(|| format!("reading --kubeconfig {}", args.kubeconfig.display()))?;
    let kcfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .context("--kubeconfig")?;
    let client = kube::Client::try_from(kcfg)?;
    let factory = informer::Factory::new(client);
    let started = std::time::Instant::now();
    let handle = simnodes::start(factory, cfg)
        .await
        .context("registering simulated nodes")?;
    eprintln!(
        "{} simulated nodes registered in {:.1}s; running until interrupted",
        handle.node_names().len(),
        started.elapsed().as_secs_f64()
    );
    super::server::shutdown_signal().await;
    handle.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_bad_ones_are_named() {
        let l = parse_labels("a=1, b=two").expect("labels");
        assert_eq!(l.get("b").map(String::as_str), Some("two"));
        let e = parse_labels("a=1,oops").expect_err("bad label");
        assert!(e.contains("oops"), "{e}");
    }
}
