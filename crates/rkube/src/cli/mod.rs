//! Command-line interface: one file per verb.

pub mod server;

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
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Server(args) => server::run(args).await,
    }
}
