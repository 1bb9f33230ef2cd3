//! emptyDir volumes (a directory in the pod's volume dir, or a tmpfs for
//! medium Memory), the tmpfs that secret/projected/downwardAPI volumes sit
//! on as upstream, and finding and undoing those mounts (mountinfo).

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Prepare an emptyDir at `dir`: mode 0777 as upstream; on tmpfs when
/// `memory`, sized by `size_bytes` when given.
pub fn setup(dir: &Path, memory: bool, size_bytes: Option<i128>) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if memory {
        mount_tmpfs(dir, size_bytes)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
}

/// Mount a tmpfs on `dir` unless one is already there.
pub fn mount_tmpfs(dir: &Path, size_bytes: Option<i128>) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if is_mount_point(dir)? {
        return Ok(());
    }
    let opts = size_bytes.filter(|s| *s > 0).map(|s| format!("size={s}"));
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        opts.as_deref(),
    )
    .map_err(|e| io::Error::other(format!("mount tmpfs on {}: {e}", dir.display())))
}

/// Undo a mount made here (lazily when busy, so teardown never hangs on a
/// process still holding a file).
pub fn unmount(dir: &Path) -> io::Result<()> {
    match umount2(dir, MntFlags::empty()) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EBUSY) => {
            umount2(dir, MntFlags::MNT_DETACH).map_err(io::Error::from)
        }
        Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(io::Error::other(format!("unmount {}: {e}", dir.display()))),
    }
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every mount point of this mount namespace (`/proc/self/mountinfo`).
pub fn mount_points() -> io::Result<Vec<PathBuf>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape(m)))
        .collect())
}

pub fn is_mount_point(dir: &Path) -> io::Result<bool> {
    let dir = std::fs::canonicalize(dir)?;
    Ok(mount_points()?.contains(&dir))
}

/// Mount points at or below `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = match std::fs::canonicalize(dir) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut v: Vec<PathBuf> = mount_points()?
        .into_iter()
        .filter(|m| m.starts_with(&dir))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    v.dedup();
    Ok(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unescapes_mountinfo() {
        assert_eq!(super::unescape("/a\\040b"), "/a b");
        assert_eq!(super::unescape("/plain"), "/plain");
    }
}
