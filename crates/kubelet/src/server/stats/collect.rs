//! One collection pass: running containers and their stats from CRI
//! (`ListContainerStats` gives cumulative CPU and the working set; exited
//! containers are left out since containerd reports stats only for running
//! ones), grouped into their pods by sandbox, pod totals summed from the
//! containers, and the node read from the kernel. Both `/stats/summary` and
//! `/metrics/resource` render from the [`Collected`] this returns.

use super::node::{self, NodeSample, NodeSources};
use crate::cri::{DynCri, api, labels};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("CRI: {0}")]
    Cri(#[from] crate::cri::CriError),
    #[error("node stats: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// CPU and memory of one container, pod or the node at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Usage {
    /// Unix time of the CPU sample, nanoseconds.
    pub cpu_time_ns: i64,
    pub cpu_cumulative_ns: Option<u64>,
    pub nano_cores: Option<u64>,
    pub mem_time_ns: i64,
    pub working_set: Option<u64>,
    pub usage: Option<u64>,
    pub rss: Option<u64>,
    pub page_faults: Option<u64>,
    pub major_page_faults: Option<u64>,
    pub available: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerSample {
    pub name: String,
    /// Creation time, unix nanoseconds.
    pub start_ns: i64,
    pub usage: Usage,
    pub rootfs_used: Option<u64>,
    pub rootfs_inodes_used: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodSample {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub start_ns: i64,
    pub containers: Vec<ContainerSample>,
    pub usage: Usage,
}

#[derive(Clone, Debug, Default)]
pub struct Collected {
    pub node_name: String,
    pub now_ns: i64,
    pub node: NodeSample,
    pub node_usage: Usage,
    pub node_fs: Option<node::FsUsage>,
    pub image_fs: Option<api::FilesystemUsage>,
    pub pods: Vec<PodSample>,
    /// The runtime failed to answer: pods are missing.
    pub pod_error: Option<String>,
}

/// The previous cumulative CPU sample per container and for the node, so a
/// request can report `usageNanoCores` as the rate since the last one.
#[derive(Default)]
pub struct RateCache {
    prev: Mutex<HashMap<String, (i64, u64)>>,
}

/// Samples closer together than this keep the older one as the base, so
/// back-to-back requests do not report noise.
const MIN_WINDOW_NS: i64 = 1_000_000_000;

impl RateCache {
    /// Nanocores between the stored sample of `key` and this one.
    pub fn rate(&self, key: &str, time_ns: i64, cumulative: u64) -> Option<u64> {
        let mut m = self.prev.lock().unwrap_or_else(|e| e.into_inner());
        let out = match m.get(key) {
            Some(&(t, c)) if time_ns > t && cumulative >= c => {
                let dt = (time_ns - t) as u128;
                Some(((cumulative - c) as u128 * 1_000_000_000 / dt) as u64)
            }
            _ => None,
        };
        let replace = match m.get(key) {
            Some(&(t, c)) => time_ns - t >= MIN_WINDOW_NS || cumulative < c,
            None => true,
        };
        if replace {
            m.insert(key.to_string(), (time_ns, cumulative));
        }
        out
    }

    /// Forget everything not in `live`.
    pub fn retain(&self, live: &std::collections::HashSet<String>) {
        let mut m = self.prev.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|k, _| live.contains(k));
    }
}

pub(crate) fn now_ns() -> i64 {
    i64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX)
}

fn val(v: &Option<api::UInt64Value>) -> Option<u64> {
    v.as_ref().map(|v| v.value)
}

fn usage_of(s: &api::ContainerStats, now: i64) -> Usage {
    let mut u = Usage::default();
    if let Some(c) = &s.cpu {
        u.cpu_time_ns = if c.timestamp > 0 { c.timestamp } else { now };
        u.cpu_cumulative_ns = val(&c.usage_core_nano_seconds);
        u.nano_cores = val(&c.usage_nano_cores);
    }
    if let Some(m) = &s.memory {
        u.mem_time_ns = if m.timestamp > 0 { m.timestamp } else { now };
        u.working_set = val(&m.working_set_bytes);
        u.usage = val(&m.usage_bytes);
        u.rss = val(&m.rss_bytes);
        u.page_faults = val(&m.page_faults);
        u.major_page_faults = val(&m.major_page_faults);
        u.available = val(&m.available_bytes);
    }
    u
}

fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (x, None) | (None, x) => x,
    }
}

/// Pod totals: sums of the containers, at the latest container sample time.
fn pod_usage(cs: &[ContainerSample]) -> Usage {
    let mut u = Usage::default();
    for c in cs {
        u.cpu_time_ns = u.cpu_time_ns.max(c.usage.cpu_time_ns);
        u.mem_time_ns = u.mem_time_ns.max(c.usage.mem_time_ns);
        u.cpu_cumulative_ns = sum(u.cpu_cumulative_ns, c.usage.cpu_cumulative_ns);
        u.working_set = sum(u.working_set, c.usage.working_set);
        u.usage = sum(u.usage, c.usage.usage);
        u.rss = sum(u.rss, c.usage.rss);
        u.page_faults = sum(u.page_faults, c.usage.page_faults);
        u.major_page_faults = sum(u.major_page_faults, c.usage.major_page_faults);
    }
    // A pod rate is only meaningful when every container has one.
    u.nano_cores = cs
        .iter()
        .map(|c| c.usage.nano_cores)
        .try_fold(0u64, |acc, n| n.map(|n| acc.saturating_add(n)));
    if cs.is_empty() {
        u.nano_cores = None;
    }
    u
}

/// What a collection needs besides the runtime.
pub struct Collector {
    pub cri: DynCri,
    pub node_name: String,
    pub node_sources: NodeSources,
    /// A directory on the filesystem reported as the node's `fs`.
    pub fs_path: PathBuf,
    pub rates: std::sync::Arc<RateCache>,
}

impl Collector {
    /// Collect everything. A runtime failure leaves the pods out (and says
    /// so in `pod_error`) but still reports the node.
    pub async fn collect(&self) -> Result<Collected, CollectError> {
        let now = now_ns();
        let mut live = std::collections::HashSet::new();
        let (pods, pod_error) = match self.pods(now, &mut live).await {
            Ok(p) => (p, None),
            Err(e) => {
                tracing::debug!("pod stats: {e}");
                (vec![], Some(e.to_string()))
            }
        };
        let src = self.node_sources.clone();
        let fs_path = self.fs_path.clone();
        let (node, node_fs) =
            tokio::task::spawn_blocking(move || (node::read_node(&src), node::fs_usage(&fs_path)))
                .await?;
        let mut node_usage = Usage {
            cpu_time_ns: now,
            cpu_cumulative_ns: node.cpu_ns,
            mem_time_ns: now,
            working_set: node.mem_working_set,
            usage: node.mem_usage,
            rss: node.mem_rss,
            page_faults: node.page_faults,
            major_page_faults: node.major_page_faults,
            available: node
                .mem_total
                .zip(node.mem_working_set)
                .map(|(t, w)| t.saturating_sub(w)),
            ..Default::default()
        };
        const NODE_KEY: &str = "\0node";
        if let Some(cum) = node.cpu_ns {
            node_usage.nano_cores = self.rates.rate(NODE_KEY, now, cum);
            live.insert(NODE_KEY.to_string());
        }
        if pod_error.is_none() {
            self.rates.retain(&live);
        }
        let image_fs = match self.cri.image_fs_info().await {
            Ok(r) => r.image_filesystems.into_iter().next(),
            Err(e) => {
                tracing::debug!("image fs info: {e}");
                None
            }
        };
        Ok(Collected {
            node_name: self.node_name.clone(),
            now_ns: now,
            node,
            node_usage,
            node_fs,
            image_fs,
            pods,
            pod_error,
        })
    }

    async fn pods(
        &self,
        now: i64,
        live: &mut std::collections::HashSet<String>,
    ) -> Result<Vec<PodSample>, CollectError> {
        let sandboxes: HashMap<String, api::PodSandbox> = self
            .cri
            .list_pod_sandbox(None)
            .await?
            .into_iter()
            .filter(|s| s.state == api::PodSandboxState::SandboxReady as i32)
            .map(|s| (s.id.clone(), s))
            .collect();
        let containers: HashMap<String, api::Container> = self
            .cri
            .list_containers(None)
            .await?
            .into_iter()
            .filter(|c| c.state == api::ContainerState::ContainerRunning as i32)
            .map(|c| (c.id.clone(), c))
            .collect();
        let stats = self.cri.list_container_stats(None).await?;
        let mut pods: BTreeMap<String, PodSample> = BTreeMap::new();
        for s in &stats {
            let Some(attr) = &s.attributes else { continue };
            let Some(c) = containers.get(&attr.id) else {
                continue;
            };
            let Some(sb) = sandboxes.get(&c.pod_sandbox_id) else {
                continue;
            };
            let md = sb.metadata.clone().unwrap_or_default();
            let lbl = |k: &str, dflt: &str| {
                sb.labels
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| dflt.to_string())
            };
            let pod = pods.entry(sb.id.clone()).or_insert_with(|| PodSample {
                name: lbl(labels::POD_NAME, &md.name),
                namespace: lbl(labels::POD_NAMESPACE, &md.namespace),
                uid: lbl(labels::POD_UID, &md.uid),
                start_ns: sb.created_at,
                ..Default::default()
            });
            let mut usage = usage_of(s, now);
            if let Some(cum) = usage.cpu_cumulative_ns {
                live.insert(attr.id.clone());
                let ours = self.rates.rate(&attr.id, usage.cpu_time_ns, cum);
                // containerd computes its own rate; ours fills in when it is absent.
                if usage.nano_cores.is_none_or(|n| n == 0) && ours.is_some() {
                    usage.nano_cores = ours;
                }
            }
            let name = attr
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .or_else(|| c.labels.get(labels::CONTAINER_NAME).cloned())
                .unwrap_or_default();
            pod.containers.push(ContainerSample {
                name,
                start_ns: c.created_at,
                usage,
                rootfs_used: s.writable_layer.as_ref().and_then(|w| val(&w.used_bytes)),
                rootfs_inodes_used: s.writable_layer.as_ref().and_then(|w| val(&w.inodes_used)),
            });
        }
        let mut pods: Vec<PodSample> = pods.into_values().collect();
        for p in &mut pods {
            p.containers.sort_by(|a, b| a.name.cmp(&b.name));
            p.usage = pod_usage(&p.containers);
        }
        pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(pods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_the_cpu_time_per_second_since_the_previous_sample() {
        let r = RateCache::default();
        assert_eq!(r.rate("c", 10_000_000_000, 1_000_000_000), None);
        // 0.5 s of CPU over 2 s: a quarter core.
        assert_eq!(
            r.rate("c", 12_000_000_000, 1_500_000_000),
            Some(250_000_000)
        );
        // Too soon after: the rate is still against the kept base.
        assert_eq!(r.rate("c", 12_500_000_000, 1_500_000_000), Some(0));
        // A counter that went backwards (new container) starts over.
        assert_eq!(r.rate("c", 20_000_000_000, 10), None);
    }

    #[test]
    fn pod_totals_sum_the_containers() {
        let c = |cum, ws, nc| ContainerSample {
            usage: Usage {
                cpu_time_ns: 5,
                cpu_cumulative_ns: Some(cum),
                working_set: Some(ws),
                nano_cores: nc,
                ..Default::default()
            },
            ..Default::default()
        };
        let u = pod_usage(&[c(10, 100, Some(3)), c(20, 200, Some(4))]);
        assert_eq!(
            (u.cpu_cumulative_ns, u.working_set, u.nano_cores),
            (Some(30), Some(300), Some(7))
        );
        let u = pod_usage(&[c(10, 100, Some(3)), c(20, 200, None)]);
        assert_eq!(u.nano_cores, None);
    }
}
