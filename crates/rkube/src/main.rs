//! `rkube`: Kubernetes in one binary. `rkube server` runs the control plane
//! (and a node), `rkube agent` joins more nodes, `rkube token` prints the join token.

mod bootstrap;
mod certs;
mod cli;
mod datastore;
mod join;
mod kubeconfig;
mod sa_key;

use clap::Parser;

/// mimalloc, not glibc's malloc: the control plane allocates and frees many
/// small JSON and object buffers from several threads, and glibc's arenas
/// spent about a quarter of the server's CPU on it under load (perf, 5,000
/// simulated nodes) and kept fragmented memory after bursts.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rkube: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
