//! Files the kubelet itself puts into containers: the pod's managed
//! `/etc/hosts` (`ROOT/pods/<uid>/etc-hosts`) and each container start's
//! termination-log file (`ROOT/pods/<uid>/containers/<name>/<random>`).

use k8s_openapi::api::core::v1::Pod;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const ETC_HOSTS: &str = "/etc/hosts";
pub const DEFAULT_TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// Upstream reads at most this much of a termination message per container.
pub const MAX_TERMINATION_MESSAGE_BYTES: u64 = 4096;

/// Upstream's `GeneratePodHostNameAndDomain`: `(hostname, domain)`.
pub fn hostname_and_domain(pod: &Pod, cluster_domain: &str) -> (String, String) {
    let spec = pod.spec.as_ref();
    let mut host = spec
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| pod.metadata.name.clone().unwrap_or_default());
    if host.len() > 63 {
        host.truncate(63);
        host = host.trim_end_matches(['-', '.']).to_string();
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let domain = spec
        .and_then(|s| s.subdomain.as_deref())
        .filter(|s| !s.is_empty())
        .map(|sd| format!("{sd}.{ns}.svc.{cluster_domain}"))
        .unwrap_or_default();
    (host, domain)
}

/// The hosts file content, upstream's layout: localhost entries, one line
/// per pod IP, then hostAliases; host-network pods get the node's file plus aliases.
pub fn hosts_content(pod: &Pod, pod_ips: &[String], cluster_domain: &str) -> io::Result<String> {
    let spec = pod.spec.as_ref();
    let mut out = String::new();
    if spec.and_then(|s| s.host_network).unwrap_or(false) {
        out.push_str("# Kubernetes-managed hosts file (host network).\n");
        out.push_str(&std::fs::read_to_string(ETC_HOSTS).unwrap_or_default());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    } else {
        out.push_str("# Kubernetes-managed hosts file.\n");
        out.push_str("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        out.push_str("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
        let (host, domain) = hostname_and_domain(pod, cluster_domain);
        for ip in pod_ips {
            if domain.is_empty() {
                out.push_str(&format!("{ip}\t{host}\n"));
            } else {
                out.push_str(&format!("{ip}\t{host}.{domain}\t{host}\n"));
            }
        }
    }
    let aliases = spec
        .and_then(|s| s.host_aliases.as_deref())
        .unwrap_or_default();
    if !aliases.is_empty() {
        out.push_str("\n# Entries added by HostAliases.\n");
        for a in aliases {
            let names = a.hostnames.clone().unwrap_or_default().join("\t");
            out.push_str(&format!("{}\t{names}\n", a.ip));
        }
    }
    Ok(out)
}

/// Write `pod_dir/etc-hosts` in place (running containers bind-mount the inode).
pub fn write_etc_hosts(
    pod_dir: &Path,
    pod: &Pod,
    pod_ips: &[String],
    cluster_domain: &str,
) -> io::Result<PathBuf> {
    std::fs::create_dir_all(pod_dir)?;
    let path = pod_dir.join("etc-hosts");
    std::fs::write(&path, hosts_content(pod, pod_ips, cluster_domain)?)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    Ok(path)
}

/// A fresh, empty, world-writable termination-log file for one start of `container`.
pub fn new_termination_log(pod_dir: &Path, container: &str) -> io::Result<PathBuf> {
    let dir = pod_dir.join("containers").join(container);
    std::fs::create_dir_all(&dir)?;
    let name = format!("{:08x}", uuid::Uuid::new_v4().as_u128() as u32);
    let path = dir.join(name);
    std::fs::File::create(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
    Ok(path)
}

/// The host path behind `container_path` among a container's mounts
/// (e.g. the termination-message path from the CRI status' mounts).
pub fn host_path_of<'a>(
    mounts: &'a [crate::cri::api::Mount],
    container_path: &str,
) -> Option<&'a str> {
    mounts
        .iter()
        .find(|m| m.container_path == container_path)
        .map(|m| m.host_path.as_str())
}

/// The termination message a container left, at most 4096 bytes.
pub fn read_termination_message(path: &Path) -> io::Result<String> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TERMINATION_MESSAGE_BYTES)
        .read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
