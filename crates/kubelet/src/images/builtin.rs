//! The images rkube builds itself, because no registry is reachable: the
//! pause image every sandbox runs and the busybox test image, both made
//! from the host's statically linked busybox. The functions do blocking
//! file IO (a few MB): call them from `spawn_blocking` in async code.

use super::oci::{ImageDef, LayerBuilder, write_archive};
use std::path::{Path, PathBuf};

/// The sandbox (pause) image rkube configures containerd with.
pub const PAUSE_IMAGE: &str = "rkube.local/pause:1";
/// The test image: busybox with every applet (sh, nc, httpd, …).
pub const BUSYBOX_IMAGE: &str = "rkube.local/busybox:1";
/// Archive file names `build_all` writes.
pub const PAUSE_ARCHIVE: &str = "rkube-pause.tar";
pub const BUSYBOX_ARCHIVE: &str = "rkube-busybox.tar";
/// Where the test images live unless `RKUBE_TEST_IMAGES` says otherwise.
pub const DEFAULT_TEST_IMAGES_DIR: &str = "/var/lib/rkube-test-images";

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Sleeps until TERM or INT and then exits 0; `wait` is what makes the trap
/// run at once instead of after the sleep.
const PAUSE_SCRIPT: &str = "trap 'exit 0' TERM INT; while :; do sleep 86400 & wait $!; done";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Busybox(String),
}

/// The busybox binary the images are made from: `RKUBE_BUSYBOX` or `/bin/busybox`
/// (Debian's busybox-static; a dynamically linked one would not run in the image).
pub fn busybox_binary() -> PathBuf {
    std::env::var_os("RKUBE_BUSYBOX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/bin/busybox"))
}

/// `RKUBE_TEST_IMAGES` or `/var/lib/rkube-test-images`.
pub fn test_images_dir() -> PathBuf {
    std::env::var_os("RKUBE_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TEST_IMAGES_DIR))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_busybox() -> Result<(PathBuf, Vec<u8>), BuildError> {
    let bin = busybox_binary();
    let data = std::fs::read(&bin).map_err(|e| {
        BuildError::Busybox(format!(
            "{}: {e} (install Debian's busybox-static)",
            bin.display()
        ))
    })?;
    if !data.starts_with(b"\x7fELF") {
        return Err(BuildError::Busybox(format!(
            "{} is not an ELF binary",
            bin.display()
        )));
    }
    Ok((bin, data))
}

/// The applets' install paths (`usr/bin/nc`, `sbin/ifconfig`, …) the binary knows.
fn applet_paths(bin: &Path) -> Result<Vec<String>, BuildError> {
    let out = std::process::Command::new(bin)
        .arg("--list-full")
        .output()
        .map_err(|e| BuildError::Busybox(format!("{} --list-full: {e}", bin.display())))?;
    if !out.status.success() {
        return Err(BuildError::Busybox(format!(
            "{} --list-full failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let mut paths: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty() && l != "bin/busybox" && !l.contains(".."))
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// A root filesystem: the usual directories, root and nobody accounts,
/// `/bin/busybox` and a symlink to it for each of `applets`.
fn rootfs_layer(busybox: &[u8], applets: &[String]) -> std::io::Result<Vec<u8>> {
    let mut l = LayerBuilder::new();
    for (dir, mode) in [
        ("bin", 0o755),
        ("sbin", 0o755),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("etc", 0o755),
        ("dev", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("root", 0o700),
        ("tmp", 0o1777),
        ("var", 0o755),
        ("var/www", 0o755),
    ] {
        l.dir(dir, mode)?;
    }
    l.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    l.file("etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n")?;
    l.file("bin/busybox", 0o755, busybox)?;
    for applet in applets {
        l.symlink(applet, "/bin/busybox")?;
    }
    l.finish()
}

/// The pause image's definition: busybox with only `sh` and `sleep`.
pub fn pause_def() -> Result<ImageDef, BuildError> {
    let (_, busybox) = read_busybox()?;
    let layer = rootfs_layer(&busybox, &["bin/sh".into(), "bin/sleep".into()])
        .map_err(|e| BuildError::Busybox(format!("building the pause layer: {e}")))?;
    Ok(ImageDef {
        names: vec![PAUSE_IMAGE.into()],
        entrypoint: vec!["/bin/sh".into(), "-c".into(), PAUSE_SCRIPT.into()],
        env: vec![PATH_ENV.into()],
        working_dir: "/".into(),
        layers: vec![layer],
        ..Default::default()
    })
}

/// The busybox test image's definition: every applet, `sh` by default.
pub fn busybox_def() -> Result<ImageDef, BuildError> {
    let (bin, busybox) = read_busybox()?;
    let applets = applet_paths(&bin)?;
    let layer = rootfs_layer(&busybox, &applets)
        .map_err(|e| BuildError::Busybox(format!("building the busybox layer: {e}")))?;
    Ok(ImageDef {
        names: vec![BUSYBOX_IMAGE.into()],
        cmd: vec!["sh".into()],
        env: vec![PATH_ENV.into()],
        working_dir: "/".into(),
        layers: vec![layer],
        ..Default::default()
    })
}

/// Write the pause image's OCI archive to the file `out`.
pub fn pause_archive(out: &Path) -> Result<(), BuildError> {
    write_archive(&pause_def()?, out).map_err(io_err(out))
}

/// Write the busybox test image's OCI archive to the file `out`.
pub fn busybox_archive(out: &Path) -> Result<(), BuildError> {
    write_archive(&busybox_def()?, out).map_err(io_err(out))
}

/// Write both archives into `dir` (`rkube-pause.tar`, `rkube-busybox.tar`); their paths.
pub fn build_all(dir: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let pause = dir.join(PAUSE_ARCHIVE);
    let busybox = dir.join(BUSYBOX_ARCHIVE);
    pause_archive(&pause)?;
    busybox_archive(&busybox)?;
    Ok(vec![pause, busybox])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootfs_has_busybox_and_applet_links() {
        let layer = rootfs_layer(b"\x7fELFfake", &["bin/sh".into(), "usr/bin/nc".into()]).unwrap();
        let mut a = tar::Archive::new(&layer[..]);
        let mut seen = Vec::new();
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            let mode = e.header().mode().unwrap();
            seen.push((path, link, mode));
        }
        assert!(seen.contains(&("bin/busybox".into(), None, 0o755)));
        assert!(seen.contains(&("bin/sh".into(), Some("/bin/busybox".into()), 0o777)));
        assert!(seen.contains(&("usr/bin/nc".into(), Some("/bin/busybox".into()), 0o777)));
        assert!(seen.contains(&("tmp/".into(), None, 0o1777)));
    }

    #[test]
    fn busybox_image_has_the_test_applets() {
        if !busybox_binary().exists() {
            eprintln!("skipping: no {}", busybox_binary().display());
            return;
        }
        let applets = applet_paths(&busybox_binary()).unwrap();
        for want in ["bin/sh", "bin/nc", "sbin/httpd", "bin/sleep"] {
            let name = want.rsplit('/').next().unwrap();
            assert!(
                applets.iter().any(|a| a.ends_with(&format!("/{name}"))),
                "{want} missing from {applets:?}"
            );
        }
    }
}
