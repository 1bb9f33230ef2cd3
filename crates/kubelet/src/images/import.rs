//! Air-gapped images: importing image archives (OCI layout or docker
//! archive tars) into containerd's `k8s.io` namespace, where CRI sees them.
//! Like k3s, the agent imports every archive in its images dir at start,
//! and always its own pause image. Done by `ctr` (part of the containerd
//! package), which unpacks into the default snapshotter.

use super::ImportError;
use super::builtin;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The containerd namespace CRI uses.
pub const CRI_NAMESPACE: &str = "k8s.io";
/// A big archive on a slow disk takes a while; a hung ctr must not hang the agent.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(600);

fn failed(file: &Path, message: impl Into<String>) -> ImportError {
    ImportError::Failed {
        file: file.display().to_string(),
        message: message.into(),
    }
}

/// Whether `path` looks like an image archive `ctr` can import.
pub fn is_archive(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".tar", ".tar.gz", ".tgz", ".tar.zst"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Import one archive into the `k8s.io` namespace of the containerd at
/// `containerd_socket`; the image names it created.
pub async fn import_file(
    containerd_socket: &Path,
    file: &Path,
) -> Result<Vec<String>, ImportError> {
    // ctr would wait ~10 s to dial a socket that is not there.
    if !tokio::fs::try_exists(containerd_socket)
        .await
        .unwrap_or(false)
    {
        return Err(failed(
            file,
            format!("no containerd socket at {}", containerd_socket.display()),
        ));
    }
    let mut cmd = tokio::process::Command::new("ctr");
    cmd.arg("--address")
        .arg(containerd_socket)
        .args(["-n", CRI_NAMESPACE, "images", "import"])
        .arg(file)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(IMPORT_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            failed(
                file,
                format!("ctr did not finish within {}s", IMPORT_TIMEOUT.as_secs()),
            )
        })?
        .map_err(|e| failed(file, format!("running ctr: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(failed(
            file,
            format!(
                "ctr images import: {}",
                stderr.trim().lines().last().unwrap_or("failed")
            ),
        ));
    }
    Ok(imported_names(&stdout))
}

/// The names in ctr's import output (`unpacking NAME (sha256:…)...done`).
fn imported_names(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("unpacking "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Import every image archive (`*.tar`, OCI layout or docker archive) in `dir`
/// into the runtime at `containerd_socket` (namespace `k8s.io`); returns the files imported.
/// A missing dir has nothing to import. Every archive is tried; the first
/// failure is returned after the others were imported.
pub async fn import_dir(containerd_socket: &Path, dir: &Path) -> Result<Vec<String>, ImportError> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut rd = match tokio::fs::read_dir(dir).await {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(failed(dir, format!("reading the directory: {e}"))),
    };
    while let Ok(Some(entry)) = rd.next_entry().await {
        let path = entry.path();
        let is_file = entry
            .file_type()
            .await
            .map(|t| !t.is_dir())
            .unwrap_or(false);
        if is_file && is_archive(&path) {
            files.push(path);
        }
    }
    files.sort();
    let mut imported = Vec::new();
    let mut first_error = None;
    for f in files {
        match import_file(containerd_socket, &f).await {
            Ok(names) => {
                tracing::info!(file = %f.display(), ?names, "imported image archive");
                imported.push(f.display().to_string());
            }
            Err(e) => {
                tracing::warn!(error = %e, "image archive import failed");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(imported),
    }
}

/// Build rkube's pause image archive in `work_dir` and import it, so the
/// sandbox image never needs a registry.
pub async fn import_pause_image(
    containerd_socket: &Path,
    work_dir: &Path,
) -> Result<(), ImportError> {
    let archive = work_dir.join(builtin::PAUSE_ARCHIVE);
    let out = archive.clone();
    tokio::task::spawn_blocking(move || builtin::pause_archive(&out))
        .await
        .map_err(|e| failed(&archive, e.to_string()))?
        .map_err(|e| failed(&archive, e.to_string()))?;
    import_file(containerd_socket, &archive).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names() {
        assert!(is_archive(Path::new("/x/pause.tar")));
        assert!(is_archive(Path::new("/x/app.TAR.GZ")));
        assert!(is_archive(Path::new("app.tgz")));
        assert!(!is_archive(Path::new("/x/readme.txt")));
        assert!(!is_archive(Path::new("/x/tar")));
    }

    #[test]
    fn names_from_ctr_output() {
        let out = "unpacking rkube.local/pause:1 (sha256:abc)...done\n\
                   unpacking rkube.local/busybox:1 (sha256:def)...done\n";
        assert_eq!(
            imported_names(out),
            vec!["rkube.local/pause:1", "rkube.local/busybox:1"]
        );
    }

    #[tokio::test]
    async fn missing_dir_imports_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let got = import_dir(Path::new("/nonexistent.sock"), &dir.path().join("none"))
            .await
            .unwrap();
        assert!(got.is_empty());
    }

    #[tokio::test]
    async fn failed_import_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.tar"), b"not a tar").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let sock = dir.path().join("none.sock");
        match import_dir(&sock, dir.path()).await {
            Err(ImportError::Failed { file, .. }) => assert!(file.ends_with("bad.tar"), "{file}"),
            Ok(v) => panic!("imported {v:?}"),
        }
    }
}
