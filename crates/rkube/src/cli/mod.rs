//! Command-line interface: one file per verb.

pub mod agent;
pub mod images;
pub mod server;
pub mod sim_nodes;
pub mod token;

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
    /// Join a cluster as a node: containerd and the kubelet.
    Agent(agent::AgentArgs),
    /// Print the server's join token.
    Token(token::TokenArgs),
    /// Run simulated nodes (no containers) against a cluster, for testing at scale.
    SimNodes(sim_nodes::SimNodesArgs),
    /// The node's container images: import archives, list, build rkube's own.
    Images(images::ImagesArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Server(args) => server::run(args).await,
        Command::Agent(args) => agent::run(args).await,
        Command::Token(args) => token::run(args).await,
        Command::SimNodes(args) => sim_nodes::run(args).await,
        Command::Images(args) => images::run(args).await,
    }
}
