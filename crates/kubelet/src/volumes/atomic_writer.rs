//! Upstream's atomic writer: a volume's files live in a timestamped directory
//! (`..2026_11_22_10_00_00.123456789`), `..data` is a symlink to it swapped
//! with one rename, and the user-visible names are symlinks into `..data`.
//! A reader sees the whole old set or the whole new set, never a mix.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};

const DATA_DIR: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// One file of a volume's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProjection {
    pub data: Vec<u8>,
    pub mode: u32,
}

pub type Payload = BTreeMap<String, FileProjection>;

/// Upstream's payload path rules: relative, no `..` element, not starting with `..`.
pub fn validate_path(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("invalid path: must not be empty".into());
    }
    if p.len() > 4096 {
        return Err(format!(
            "invalid path: must be less than or equal to 4096 characters: {p}"
        ));
    }
    let path = Path::new(p);
    if path.is_absolute() {
        return Err(format!("invalid path: must be relative path: {p}"));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("invalid path: must not contain '..': {p}"));
    }
    if p.starts_with("..") {
        return Err(format!("invalid path: must not start with '..': {p}"));
    }
    Ok(())
}

fn first_component(p: &str) -> String {
    p.split('/')
        .find(|s| !s.is_empty() && *s != ".")
        .unwrap_or(p)
        .to_string()
}

/// The payload currently published in `dir` (`..data`), if any.
fn current(dir: &Path, payload: &Payload) -> io::Result<Option<(String, bool)>> {
    let Ok(target) = std::fs::read_link(dir.join(DATA_DIR)) else {
        return Ok(None);
    };
    let ts = target.to_string_lossy().into_owned();
    let ts_dir = dir.join(&ts);
    let mut same = true;
    for (p, f) in payload {
        let path = ts_dir.join(p);
        // Content only, as upstream: fsGroup may have widened the modes.
        match std::fs::read(&path) {
            Ok(data) if data == f.data => {}
            _ => {
                same = false;
                break;
            }
        }
    }
    if same {
        let mut on_disk = BTreeSet::new();
        walk_files(&ts_dir, &ts_dir, &mut on_disk)?;
        same = on_disk.len() == payload.len();
    }
    Ok(Some((ts, same)))
}

fn walk_files(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        if e.file_type()?.is_dir() {
            walk_files(root, &path, out)?;
        } else {
            out.insert(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

fn ts_dir_name() -> String {
    let now = jiff::Timestamp::now();
    let suffix = uuid::Uuid::new_v4().as_u128() % 1_000_000_000;
    format!("{}{suffix:09}", now.strftime("..%Y_%m_%d_%H_%M_%S."))
}

/// Publish `payload` in `dir` (which must exist). Returns whether anything
/// changed. `fs_group` chowns the new files' group before they are published.
pub fn write(dir: &Path, payload: &Payload, fs_group: Option<i64>) -> io::Result<bool> {
    for p in payload.keys() {
        validate_path(p).map_err(io::Error::other)?;
    }
    let old = current(dir, payload)?;
    let changed = !matches!(old, Some((_, true)));
    if changed {
        let ts = ts_dir_name();
        let ts_dir = dir.join(&ts);
        std::fs::create_dir(&ts_dir)?;
        std::fs::set_permissions(&ts_dir, std::fs::Permissions::from_mode(0o755))?;
        for (p, f) in payload {
            let path = ts_dir.join(p);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &f.data)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode))?;
        }
        if let Some(gid) = fs_group {
            super::ownership::set_ownership(&ts_dir, gid, true)?;
        }
        let tmp = dir.join(DATA_TMP);
        let _ = std::fs::remove_file(&tmp);
        symlink(&ts, &tmp)?;
        std::fs::rename(&tmp, dir.join(DATA_DIR))?;
        if let Some((old_ts, _)) = &old {
            let _ = std::fs::remove_dir_all(dir.join(old_ts));
        }
    }
    // User-visible names: create the new ones, drop the ones no longer in the payload.
    let wanted: BTreeSet<String> = payload.keys().map(|p| first_component(p)).collect();
    for name in &wanted {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(Path::new(DATA_DIR).join(name), &link)?;
        }
    }
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") || wanted.contains(&name) {
            continue;
        }
        if e.file_type()?.is_symlink() {
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(s: &str, mode: u32) -> FileProjection {
        FileProjection {
            data: s.as_bytes().to_vec(),
            mode,
        }
    }

    #[test]
    fn publishes_swaps_and_prunes() {
        let d = tempfile::tempdir().unwrap();
        let mut p = Payload::new();
        p.insert("a".into(), file("1", 0o644));
        p.insert("sub/b".into(), file("2", 0o600));
        assert!(write(d.path(), &p, None).unwrap());
        assert_eq!(
            std::fs::read_to_string(d.path().join("sub/b")).unwrap(),
            "2"
        );
        let ts1 = std::fs::read_link(d.path().join(DATA_DIR)).unwrap();
        assert!(ts1.to_string_lossy().starts_with("..20"));
        assert_eq!(
            std::fs::read_link(d.path().join("a")).unwrap(),
            Path::new("..data/a")
        );
        assert!(
            !write(d.path(), &p, None).unwrap(),
            "same payload writes nothing"
        );
        p.remove("sub/b");
        p.insert("a".into(), file("3", 0o644));
        assert!(write(d.path(), &p, None).unwrap());
        assert_eq!(std::fs::read_to_string(d.path().join("a")).unwrap(), "3");
        assert!(std::fs::symlink_metadata(d.path().join("sub")).is_err());
        assert!(!d.path().join(&ts1).exists(), "old timestamped dir removed");
        assert!(
            write(
                d.path(),
                &BTreeMap::from([("../x".to_string(), file("", 0o644))]),
                None
            )
            .is_err()
        );
    }
}
