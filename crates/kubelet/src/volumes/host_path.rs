//! hostPath volumes: the path on the node, checked (or created) per the
//! volume's `type` with upstream's messages.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Check `path` against `type_` (`DirectoryOrCreate`, `File`, …; empty or
/// unset checks nothing).
pub fn check(path: &Path, type_: Option<&str>) -> Result<(), String> {
    let p = path.display();
    let md = std::fs::metadata(path);
    let exists = md.is_ok();
    let ft = md.as_ref().ok().map(|m| m.file_type());
    let is_dir = ft.is_some_and(|t| t.is_dir());
    let is_file = ft.is_some_and(|t| t.is_file());
    match type_.unwrap_or("") {
        "" => Ok(()),
        "DirectoryOrCreate" if !exists => make_dir(path).map_err(|e| e.to_string()),
        "DirectoryOrCreate" | "Directory" if !is_dir => Err(format!(
            "hostPath type check failed: {p} is not a directory"
        )),
        "DirectoryOrCreate" | "Directory" => Ok(()),
        "FileOrCreate" if !exists => make_file(path).map_err(|e| e.to_string()),
        "FileOrCreate" | "File" if !is_file => {
            Err(format!("hostPath type check failed: {p} is not a file"))
        }
        "FileOrCreate" | "File" => Ok(()),
        "Socket" if !ft.is_some_and(|t| t.is_socket()) => Err(format!(
            "hostPath type check failed: {p} is not a socket file"
        )),
        "CharDevice" if !ft.is_some_and(|t| t.is_char_device()) => Err(format!(
            "hostPath type check failed: {p} is not a character device"
        )),
        "BlockDevice" if !ft.is_some_and(|t| t.is_block_device()) => Err(format!(
            "hostPath type check failed: {p} is not a block device"
        )),
        "Socket" | "CharDevice" | "BlockDevice" => Ok(()),
        other => Err(format!("hostPath type check failed: unknown type {other}")),
    }
}

fn make_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(path)
}

/// Upstream creates the file only (a missing parent is an error).
fn make_file(path: &Path) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o644)
        .open(path)
        .map(drop)
}
