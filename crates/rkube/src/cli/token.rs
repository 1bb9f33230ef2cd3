//! `rkube token`: print the server's join token (what `rkube agent --token` takes).

use crate::join;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    /// The server's data directory.
    #[arg(long, default_value = "/var/lib/rkube", value_name = "DIR")]
    pub data_dir: PathBuf,
}

pub async fn run(args: TokenArgs) -> anyhow::Result<()> {
    let path = join::token_path(&args.data_dir);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (has `rkube server --data-dir {}` run yet?)",
            path.display(),
            args.data_dir.display()
        )
    })?;
    let token = join::Token::parse(&text).with_context(|| format!("reading {}", path.display()))?;
    println!("{}", token.format());
    Ok(())
}
