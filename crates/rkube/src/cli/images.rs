//! `rkube images`: the node's images, air-gapped style. `import FILE…`
//! loads image archives into the node's containerd, `list` shows what it
//! has (like `crictl images`), `build DIR` writes rkube's own pause and
//! busybox test image archives.

use anyhow::Context;
use clap::{Args, Subcommand};
use kubelet::cri;
use kubelet::images::{self, builtin};
use std::path::PathBuf;

/// The socket of the containerd `rkube agent` runs.
pub const DEFAULT_CONTAINERD_SOCKET: &str = "/var/lib/rkube/agent/containerd/containerd.sock";

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// The node's containerd socket.
    #[arg(
        long,
        global = true,
        default_value = DEFAULT_CONTAINERD_SOCKET,
        value_name = "PATH"
    )]
    pub containerd_socket: PathBuf,
    #[command(subcommand)]
    pub command: ImagesCommand,
}

#[derive(Subcommand, Debug)]
pub enum ImagesCommand {
    /// Import image archives (OCI layout or docker archive tars) into the node's runtime.
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// List the images the node's runtime has.
    List,
    /// Write rkube's pause and busybox test image archives into DIR
    /// (default: $RKUBE_TEST_IMAGES or /var/lib/rkube-test-images).
    Build {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

pub async fn run(args: ImagesArgs) -> anyhow::Result<()> {
    match args.command {
        ImagesCommand::Import { files } => {
            for f in files {
                let names = images::import_file(&args.containerd_socket, &f).await?;
                for n in names {
                    println!("imported {n}");
                }
            }
            Ok(())
        }
        ImagesCommand::List => list(&args.containerd_socket).await,
        ImagesCommand::Build { dir } => {
            let dir = dir.unwrap_or_else(builtin::test_images_dir);
            let files = tokio::task::spawn_blocking(move || builtin::build_all(&dir)).await??;
            for f in files {
                println!("{}", f.display());
            }
            Ok(())
        }
    }
}

async fn list(socket: &std::path::Path) -> anyhow::Result<()> {
    let endpoint = format!("unix://{}", socket.display());
    let cri = cri::remote::connect(&endpoint)
        .await
        .with_context(|| format!("connecting to {endpoint}"))?;
    let mut rows = Vec::new();
    for img in cri.list_images(None).await? {
        let id = short_id(&img.id);
        let size = human_size(img.size);
        let names = if img.repo_tags.is_empty() {
            img.repo_digests.clone()
        } else {
            img.repo_tags.clone()
        };
        if names.is_empty() {
            rows.push(["<none>".to_string(), id, size]);
        } else {
            for n in names {
                rows.push([n, id.clone(), size.clone()]);
            }
        }
    }
    rows.sort();
    print!("{}", table(["IMAGE", "ID", "SIZE"], &rows));
    Ok(())
}

/// The first 13 hex digits of an image ID, as crictl shows it.
fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(13).collect()
}

/// Decimal units with three significant digits, as crictl prints sizes (`2.14MB`).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    // %g drops trailing zeros.
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", UNITS[u])
}

fn table<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = head.map(str::len);
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_crictl() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(2_136_576), "2.14MB");
        assert_eq!(human_size(45_000_000), "45MB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(human_size(1_000), "1kB");
    }

    #[test]
    fn ids_and_table() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789abc");
        let t = table(
            ["IMAGE", "ID", "SIZE"],
            &[["rkube.local/pause:1".into(), "abc".into(), "2MB".into()]],
        );
        assert_eq!(
            t,
            "IMAGE                 ID    SIZE\nrkube.local/pause:1   abc   2MB\n"
        );
    }
}
