//! The node's own numbers, read from the kernel: CPU time from the root
//! cpuacct cgroup (or `/proc/stat`), memory from the root memory cgroup
//! (working set = usage - inactive_file, as upstream computes it) with
//! `/proc/meminfo` for the capacity, filesystem sizes through statvfs and
//! the process limits from `/proc`. Parsers are pure; `read_node` does the IO.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Clock ticks per second of `/proc/stat` (USER_HZ is 100 on Linux).
const USER_HZ: u64 = 100;

/// Where the node's numbers are read from (changed only by tests).
#[derive(Clone, Debug)]
pub struct NodeSources {
    pub proc_root: PathBuf,
    pub cgroup_root: PathBuf,
}

impl Default for NodeSources {
    fn default() -> Self {
        NodeSources {
            proc_root: "/proc".into(),
            cgroup_root: "/sys/fs/cgroup".into(),
        }
    }
}

/// One reading of the node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeSample {
    /// Cumulative CPU time of all cores, nanoseconds.
    pub cpu_ns: Option<u64>,
    pub mem_total: Option<u64>,
    pub mem_usage: Option<u64>,
    pub mem_working_set: Option<u64>,
    pub mem_rss: Option<u64>,
    pub page_faults: Option<u64>,
    pub major_page_faults: Option<u64>,
    /// Boot time, seconds since the epoch.
    pub boot_time: Option<i64>,
    pub max_pid: Option<i64>,
    pub cur_proc: Option<i64>,
}

/// Busy CPU time of the `cpu` line of `/proc/stat` in nanoseconds: every
/// column but idle and iowait (guest time is already inside user).
pub fn parse_proc_stat_cpu(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let col = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = col(0) + col(1) + col(2) + col(5) + col(6) + col(7);
    Some(busy.saturating_mul(1_000_000_000 / USER_HZ))
}

/// `btime` of `/proc/stat`.
pub fn parse_btime(text: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// `/proc/meminfo` in bytes, keyed by field name.
pub fn parse_meminfo(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, rest) = l.split_once(':')?;
            let mut f = rest.split_whitespace();
            let n: u64 = f.next()?.parse().ok()?;
            let mult = if f.next() == Some("kB") { 1024 } else { 1 };
            Some((k.trim().to_string(), n.saturating_mul(mult)))
        })
        .collect()
}

/// A cgroup v1 `memory.stat` (or any "key value" file).
pub fn parse_kv(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Upstream's working set: usage minus inactive file pages, never negative.
pub fn working_set(usage: u64, stat: &HashMap<String, u64>) -> u64 {
    let inactive = stat
        .get("total_inactive_file")
        .or_else(|| stat.get("inactive_file"))
        .copied()
        .unwrap_or(0);
    usage.saturating_sub(inactive)
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

/// Read the node (blocking file IO: call from `spawn_blocking`).
pub fn read_node(src: &NodeSources) -> NodeSample {
    let mut s = NodeSample::default();
    let stat = read(&src.proc_root.join("stat")).unwrap_or_default();
    s.boot_time = parse_btime(&stat);
    s.cpu_ns = read(&src.cgroup_root.join("cpuacct/cpuacct.usage"))
        .and_then(|t| t.trim().parse().ok())
        .or_else(|| parse_proc_stat_cpu(&stat));
    let meminfo = parse_meminfo(&read(&src.proc_root.join("meminfo")).unwrap_or_default());
    s.mem_total = meminfo.get("MemTotal").copied();
    let usage: Option<u64> = read(&src.cgroup_root.join("memory/memory.usage_in_bytes"))
        .and_then(|t| t.trim().parse().ok());
    if let Some(usage) = usage {
        let ms = parse_kv(&read(&src.cgroup_root.join("memory/memory.stat")).unwrap_or_default());
        s.mem_usage = Some(usage);
        s.mem_working_set = Some(working_set(usage, &ms));
        s.mem_rss = ms.get("total_rss").or_else(|| ms.get("rss")).copied();
        s.page_faults = ms
            .get("total_pgfault")
            .or_else(|| ms.get("pgfault"))
            .copied();
        s.major_page_faults = ms
            .get("total_pgmajfault")
            .or_else(|| ms.get("pgmajfault"))
            .copied();
    } else if let (Some(total), Some(free), Some(avail)) = (
        s.mem_total,
        meminfo.get("MemFree"),
        meminfo.get("MemAvailable"),
    ) {
        s.mem_usage = Some(total.saturating_sub(*free));
        s.mem_working_set = Some(total.saturating_sub(*avail));
    }
    s.max_pid = read(&src.proc_root.join("sys/kernel/pid_max")).and_then(|t| t.trim().parse().ok());
    s.cur_proc = std::fs::read_dir(&src.proc_root).ok().map(|d| {
        d.filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .count() as i64
    });
    s
}

/// Capacity, available and used bytes and inodes of the filesystem holding
/// `path` (blocking).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FsUsage {
    pub capacity: u64,
    pub available: u64,
    pub used: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

pub fn fs_usage(path: &Path) -> Option<FsUsage> {
    let v = nix::sys::statvfs::statvfs(path).ok()?;
    let frag = v.fragment_size() as u64;
    let blocks = v.blocks() as u64;
    let free = v.blocks_free() as u64;
    let avail = v.blocks_available() as u64;
    Some(FsUsage {
        capacity: blocks.saturating_mul(frag),
        available: avail.saturating_mul(frag),
        used: blocks.saturating_sub(free).saturating_mul(frag),
        inodes: v.files() as u64,
        inodes_free: v.files_free() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_busy_time_leaves_out_idle_and_iowait() {
        let t =
            "cpu  100 20 30 5000 70 4 6 2 0 0\ncpu0 50 10 15 2500 35 2 3 1 0 0\nbtime 1700000000\n";
        // (100+20+30+4+6+2) ticks of 10 ms
        assert_eq!(parse_proc_stat_cpu(t), Some(162 * 10_000_000));
        assert_eq!(parse_btime(t), Some(1_700_000_000));
        assert_eq!(parse_proc_stat_cpu("intr 1 2"), None);
    }

    #[test]
    fn meminfo_is_in_bytes() {
        let m = parse_meminfo(
            "MemTotal:       2000 kB\nMemFree:        500 kB\nHugePages_Total:       3\n",
        );
        assert_eq!(m["MemTotal"], 2000 * 1024);
        assert_eq!(m["MemFree"], 500 * 1024);
        assert_eq!(m["HugePages_Total"], 3);
    }

    #[test]
    fn working_set_subtracts_inactive_file() {
        let st = parse_kv("cache 10\ntotal_inactive_file 300\ntotal_rss 42\n");
        assert_eq!(working_set(1000, &st), 700);
        assert_eq!(working_set(100, &st), 0);
        let local = parse_kv("inactive_file 10\n");
        assert_eq!(working_set(100, &local), 90);
    }

    #[test]
    fn reads_a_fake_proc_and_cgroup_tree() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("proc");
        let c = d.path().join("cg");
        std::fs::create_dir_all(p.join("sys/kernel")).unwrap();
        std::fs::create_dir_all(p.join("123")).unwrap();
        std::fs::create_dir_all(p.join("self")).unwrap();
        std::fs::create_dir_all(c.join("memory")).unwrap();
        std::fs::create_dir_all(c.join("cpuacct")).unwrap();
        std::fs::write(p.join("stat"), "cpu  1 0 0 0 0 0 0 0\nbtime 99\n").unwrap();
        std::fs::write(p.join("meminfo"), "MemTotal: 4 kB\n").unwrap();
        std::fs::write(p.join("sys/kernel/pid_max"), "4194304\n").unwrap();
        std::fs::write(c.join("cpuacct/cpuacct.usage"), "5555\n").unwrap();
        std::fs::write(c.join("memory/memory.usage_in_bytes"), "4000\n").unwrap();
        std::fs::write(
            c.join("memory/memory.stat"),
            "total_inactive_file 1000\ntotal_rss 2000\ntotal_pgfault 7\ntotal_pgmajfault 1\n",
        )
        .unwrap();
        let s = read_node(&NodeSources {
            proc_root: p,
            cgroup_root: c,
        });
        assert_eq!(s.cpu_ns, Some(5555));
        assert_eq!(s.mem_total, Some(4096));
        assert_eq!(s.mem_usage, Some(4000));
        assert_eq!(s.mem_working_set, Some(3000));
        assert_eq!(s.mem_rss, Some(2000));
        assert_eq!((s.page_faults, s.major_page_faults), (Some(7), Some(1)));
        assert_eq!(s.boot_time, Some(99));
        assert_eq!(s.max_pid, Some(4194304));
        assert_eq!(s.cur_proc, Some(1));
    }

    #[test]
    fn statvfs_of_root_has_a_capacity() {
        let u = fs_usage(Path::new("/")).unwrap();
        assert!(u.capacity > 0 && u.capacity >= u.available);
    }
}
