//! Command-line interface: one file per verb.

pub mod images;
pub mod server;
pub mod sim_nodes;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "rkube", version, about = "Kubernetes in one binary")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the control plane (API server with its embedded datastore).
    Server(server::ServerArgs),
    /// Run simulated nodes (no containers) against a cluster, for testing at scale.
    SimNodes(sim_nodes::SimNodesArgs),
    /// The node's container images: import archives, list, build rkube's own.
    Images(images::ImagesArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Server(args) => server::run(args).await,
        Command::SimNodes(args) => sim_nodes::run(args).await,
        Command::Images(args) => images::run(args).await,
    }
}
