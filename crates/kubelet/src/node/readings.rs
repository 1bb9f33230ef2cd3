//! What the node reports about the machine it runs on, read from the
//! kernel: CPUs, memory (`/proc/meminfo`), filesystem space (statvfs), PIDs,
//! and the identity fields of `nodeInfo` (machine-id, boot id, kernel, OS).
//! Parsers are pure functions over the files' text so tests feed samples.

use std::path::Path;

/// Space on one filesystem, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FsStats {
    pub capacity: u64,
    pub available: u64,
}

/// One sample of the machine's resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readings {
    pub cpus: u32,
    pub memory_total: u64,
    pub memory_available: u64,
    /// The filesystem holding the kubelet's root dir (upstream's nodefs).
    pub nodefs: FsStats,
    /// The runtime's image filesystem, when it is a different one.
    pub imagefs: Option<FsStats>,
    pub pid_max: u64,
    pub pids: u64,
    /// Free 2Mi huge pages make `hugepages-2Mi`; none on most machines.
    pub hugepages_2mi: u64,
}

/// The identity half of `status.nodeInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineInfo {
    pub machine_id: String,
    pub system_uuid: String,
    pub boot_id: String,
    pub kernel_version: String,
    pub os_image: String,
    pub architecture: String,
}

/// `(MemTotal, MemAvailable)` in bytes from `/proc/meminfo` text (kB units).
pub fn parse_meminfo(text: &str) -> (u64, u64) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    let total = field("MemTotal").unwrap_or(0);
    // Kernels before 3.14 lack MemAvailable; free + page cache is what
    // the eviction manager's working-set view comes closest to.
    let available = field("MemAvailable")
        .unwrap_or_else(|| field("MemFree").unwrap_or(0) + field("Cached").unwrap_or(0));
    (total, available)
}

/// The number of CPUs in a cpu list like `/sys/devices/system/cpu/online`
/// (`0-3,6,8-9`); `None` when it does not parse.
pub fn parse_cpu_list(text: &str) -> Option<u32> {
    let mut n = 0u32;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                n += b.checked_sub(a)? + 1;
            }
            None => {
                part.trim().parse::<u32>().ok()?;
                n += 1;
            }
        }
    }
    (n > 0).then_some(n)
}

/// `PRETTY_NAME` from `/etc/os-release` text, unquoted.
pub fn parse_os_release(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
        .filter(|v| !v.is_empty())
}

/// Free 2Mi huge pages from `/proc/meminfo` (upstream reports the pool size).
pub fn parse_hugepages_2mi(text: &str) -> u64 {
    let size_kb = text
        .lines()
        .find_map(|l| l.strip_prefix("Hugepagesize:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
    if size_kb != Some(2048) {
        return 0;
    }
    text.lines()
        .find_map(|l| l.strip_prefix("HugePages_Total:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// The Go name of this machine's architecture (`amd64`, `arm64`, …).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// statvfs of the filesystem holding `path` (the nearest existing parent).
pub fn fs_stats(path: &Path) -> Option<FsStats> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let st = nix::sys::statvfs::statvfs(existing).ok()?;
    let frag = st.fragment_size() as u64;
    Some(FsStats {
        capacity: st.blocks() as u64 * frag,
        available: st.blocks_available() as u64 * frag,
    })
}

/// The filesystem id (st_dev) of `path`, to tell whether two paths share one.
fn device_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let existing = path.ancestors().find(|p| p.exists())?;
    std::fs::metadata(existing).ok().map(|m| m.dev())
}

fn count_pids() -> u64 {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count() as u64
        })
        .unwrap_or(0)
}

/// Read the machine now. Blocking (small /proc reads and statvfs): call it
/// from `spawn_blocking`.
pub fn read(root_dir: &Path, image_fs: Option<&Path>) -> Readings {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let (memory_total, memory_available) = parse_meminfo(&meminfo);
    let cpus = parse_cpu_list(&read_trimmed("/sys/devices/system/cpu/online"))
        .or_else(|| {
            std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() as u32)
        })
        .unwrap_or(1);
    let nodefs = fs_stats(root_dir).unwrap_or_default();
    let imagefs = image_fs
        .filter(|p| device_of(p).is_some() && device_of(p) != device_of(root_dir))
        .and_then(fs_stats);
    Readings {
        cpus,
        memory_total,
        memory_available,
        nodefs,
        imagefs,
        pid_max: read_trimmed("/proc/sys/kernel/pid_max")
            .parse()
            .unwrap_or(32768),
        pids: count_pids(),
        hugepages_2mi: parse_hugepages_2mi(&meminfo),
    }
}

/// The machine's identity for `nodeInfo`. Blocking, like [`read`].
pub fn machine_info() -> MachineInfo {
    let machine_id = read_trimmed("/etc/machine-id");
    let product_uuid = read_trimmed("/sys/class/dmi/id/product_uuid");
    MachineInfo {
        // Containers and some VMs have no DMI: the machine id stands in, as
        // it is the other stable per-machine identifier.
        system_uuid: if product_uuid.is_empty() {
            machine_id.clone()
        } else {
            product_uuid
        },
        machine_id,
        boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"),
        kernel_version: read_trimmed("/proc/sys/kernel/osrelease"),
        os_image: std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| parse_os_release(&t))
            .unwrap_or_else(|| "Linux".into()),
        architecture: go_arch().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:        8148132 kB
MemFree:          512000 kB
MemAvailable:    4096000 kB
Buffers:          100000 kB
Cached:          2000000 kB
HugePages_Total:       4
HugePages_Free:        4
Hugepagesize:       2048 kB
";

    #[test]
    fn meminfo_in_bytes() {
        assert_eq!(parse_meminfo(MEMINFO), (8148132 * 1024, 4096000 * 1024));
        // Without MemAvailable: free + cached.
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nCached: 50 kB\n";
        assert_eq!(parse_meminfo(old), (1000 * 1024, 150 * 1024));
        assert_eq!(parse_meminfo(""), (0, 0));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3\n"), Some(4));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn os_release_pretty_name() {
        let text = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n";
        assert_eq!(
            parse_os_release(text).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(parse_os_release("ID=x\n"), None);
    }

    #[test]
    fn hugepages_only_for_2mi_pages() {
        assert_eq!(parse_hugepages_2mi(MEMINFO), 4);
        assert_eq!(
            parse_hugepages_2mi("HugePages_Total: 4\nHugepagesize: 1048576 kB\n"),
            0
        );
    }

    #[test]
    fn reads_this_machine() {
        let r = read(Path::new("/tmp/does/not/exist/yet"), None);
        assert!(r.cpus >= 1);
        assert!(r.memory_total > 0 && r.memory_available <= r.memory_total);
        assert!(r.nodefs.capacity > 0 && r.nodefs.available <= r.nodefs.capacity);
        assert!(r.pids > 0 && r.pid_max > r.pids);
        assert!(!machine_info().kernel_version.is_empty());
    }
}
