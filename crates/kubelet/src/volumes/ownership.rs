//! fsGroup ownership, upstream's `SetVolumeOwnership`: every file and
//! directory gets the group, group read (and write unless read-only), and
//! directories get setgid so new files inherit the group. Symlinks are skipped.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub fn set_ownership(dir: &Path, gid: i64, read_only: bool) -> io::Result<()> {
    let gid = u32::try_from(gid).map_err(io::Error::other)?;
    walk(dir, gid, read_only)
}

fn walk(path: &Path, gid: u32, read_only: bool) -> io::Result<()> {
    let md = std::fs::symlink_metadata(path)?;
    if md.file_type().is_symlink() {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, None, Some(gid))?;
    let mut mode = md.permissions().mode() & 0o7777;
    mode |= if read_only { 0o440 } else { 0o660 };
    if md.is_dir() {
        mode |= 0o2000 | 0o110;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if md.is_dir() {
        for e in std::fs::read_dir(path)? {
            walk(&e?.path(), gid, read_only)?;
        }
    }
    Ok(())
}
