//! Turning kubelet resource metrics into usage, as metrics-server does: the
//! Prometheus text of `/metrics/resource` parsed into cumulative points,
//! and CPU usage as the rate between two scrapes of the same node (the
//! window is the time between them); memory is the latest working set.

use std::collections::{BTreeMap, HashMap};

/// One series' latest values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Point {
    /// Cumulative CPU in core-seconds and its timestamp (ms).
    pub cpu: Option<(f64, i64)>,
    /// Working set bytes and its timestamp (ms).
    pub memory: Option<(f64, i64)>,
    /// Container start time (seconds); a changed one means a restart.
    pub start: Option<f64>,
}

/// One node's scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scrape {
    pub node: Point,
    /// (namespace, pod, container) → point.
    pub containers: BTreeMap<(String, String, String), Point>,
}

/// CPU rate and memory of a node or container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub timestamp_ms: i64,
    pub window_ms: i64,
    pub cpu_nanocores: u64,
    pub memory_bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodUsage {
    pub timestamp_ms: i64,
    pub window_ms: i64,
    /// (container, cpu nanocores, memory bytes), sorted by container.
    pub containers: Vec<(String, u64, u64)>,
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One sample line: name, labels, value, timestamp.
type Sample = (String, HashMap<String, String>, f64, Option<i64>);

/// `name{k="v",...} value [timestamp]`.
fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return None,
    };
    let mut labels = HashMap::new();
    let rest = if let Some(body) = rest.strip_prefix('{') {
        // Label values may hold '}' or ',' inside quotes: walk them.
        let mut i = 0;
        let b = body.as_bytes();
        loop {
            while i < b.len() && (b[i] == b',' || b[i] == b' ') {
                i += 1;
            }
            if i >= b.len() {
                return None;
            }
            if b[i] == b'}' {
                i += 1;
                break;
            }
            let eq = body[i..].find('=')? + i;
            let key = body[i..eq].trim().to_string();
            if b.get(eq + 1) != Some(&b'"') {
                return None;
            }
            let mut j = eq + 2;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            if j >= b.len() {
                return None;
            }
            labels.insert(key, unescape(&body[eq + 2..j]));
            i = j + 1;
        }
        &body[i..]
    } else {
        rest
    };
    let mut f = rest.split_whitespace();
    let value: f64 = f.next()?.parse().ok()?;
    let ts = f.next().and_then(|t| t.parse().ok());
    Some((name.to_string(), labels, value, ts))
}

/// Parse a `/metrics/resource` answer. Samples without a timestamp take
/// `now_ms`.
pub fn parse(text: &str, now_ms: i64) -> Scrape {
    let mut s = Scrape::default();
    for line in text.lines() {
        let Some((name, l, v, ts)) = parse_line(line) else {
            continue;
        };
        let ts = ts.unwrap_or(now_ms);
        let key = || {
            let g = |k: &str| l.get(k).cloned().unwrap_or_default();
            (g("namespace"), g("pod"), g("container"))
        };
        match name.as_str() {
            "node_cpu_usage_seconds_total" => s.node.cpu = Some((v, ts)),
            "node_memory_working_set_bytes" => s.node.memory = Some((v, ts)),
            "container_cpu_usage_seconds_total" => {
                s.containers.entry(key()).or_default().cpu = Some((v, ts))
            }
            "container_memory_working_set_bytes" => {
                s.containers.entry(key()).or_default().memory = Some((v, ts))
            }
            "container_start_time_seconds" => {
                s.containers.entry(key()).or_default().start = Some(v)
            }
            _ => {}
        }
    }
    s
}

/// The usage between two points of the same series, None without two
/// comparable CPU samples (first scrape, restart, counter reset).
pub fn rate(prev: &Point, cur: &Point) -> Option<Usage> {
    let (c1, t1) = prev.cpu?;
    let (c2, t2) = cur.cpu?;
    let (mem, _) = cur.memory?;
    if t2 <= t1 || c2 < c1 {
        return None;
    }
    if let (Some(a), Some(b)) = (prev.start, cur.start)
        && (a - b).abs() > 1e-3
    {
        return None;
    }
    let window_ms = t2 - t1;
    let nanocores = (c2 - c1) * 1e9 * 1000.0 / window_ms as f64;
    Some(Usage {
        timestamp_ms: t2,
        window_ms,
        cpu_nanocores: nanocores.round().max(0.0) as u64,
        memory_bytes: mem.max(0.0) as u64,
    })
}

/// The node's usage and its pods' between two scrapes of it. A pod is
/// reported only when every one of its containers has a rate.
pub fn usage(prev: &Scrape, cur: &Scrape) -> (Option<Usage>, BTreeMap<(String, String), PodUsage>) {
    let node = rate(&prev.node, &cur.node);
    let mut pods: BTreeMap<(String, String), Option<PodUsage>> = BTreeMap::new();
    for ((ns, pod, c), p) in &cur.containers {
        let entry = pods
            .entry((ns.clone(), pod.clone()))
            .or_insert_with(|| Some(PodUsage::default()));
        let Some(pu) = entry else { continue };
        let u = prev
            .containers
            .get(&(ns.clone(), pod.clone(), c.clone()))
            .and_then(|q| rate(q, p));
        match u {
            Some(u) => {
                pu.timestamp_ms = pu.timestamp_ms.max(u.timestamp_ms);
                pu.window_ms = pu.window_ms.max(u.window_ms);
                pu.containers
                    .push((c.clone(), u.cpu_nanocores, u.memory_bytes));
            }
            None => *entry = None,
        }
    }
    let pods = pods
        .into_iter()
        .filter_map(|(k, v)| v.filter(|p| !p.containers.is_empty()).map(|v| (k, v)))
        .collect();
    (node, pods)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = r#"# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 10 1000000
container_cpu_usage_seconds_total{container="side",namespace="default",pod="web"} 1 1000000
container_cpu_usage_seconds_total{container="x",namespace="default",pod="we,ird}"} 1 1000000
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 4096 1000000
container_memory_working_set_bytes{container="side",namespace="default",pod="web"} 1024 1000000
container_start_time_seconds{container="app",namespace="default",pod="web"} 900 900000
node_cpu_usage_seconds_total 100.5 1000000
node_memory_working_set_bytes 1e+09 1000000
resource_scrape_error 0
"#;

    #[test]
    fn parses_the_resource_metrics_text() {
        let s = parse(T1, 5);
        assert_eq!(s.node.cpu, Some((100.5, 1_000_000)));
        assert_eq!(s.node.memory, Some((1e9, 1_000_000)));
        let app = &s.containers[&("default".into(), "web".into(), "app".into())];
        assert_eq!(app.cpu, Some((10.0, 1_000_000)));
        assert_eq!(app.memory, Some((4096.0, 1_000_000)));
        assert_eq!(app.start, Some(900.0));
        assert!(
            s.containers
                .contains_key(&("default".into(), "we,ird}".into(), "x".into()))
        );
        assert_eq!(parse("up 1", 7).containers.len(), 0);
    }

    #[test]
    fn cpu_is_the_rate_between_scrapes() {
        let a = parse(T1, 0);
        let t2 = T1
            .replace("} 10 1000000", "} 10.15 1015000")
            .replace("} 1 1000000", "} 1.3 1015000")
            .replace("4096 1000000", "8192 1015000")
            .replace("1024 1000000", "1024 1015000")
            .replace("100.5 1000000", "115.5 1015000");
        let b = parse(&t2, 0);
        let (node, pods) = usage(&a, &b);
        let node = node.unwrap();
        // 15 core-seconds in 15 s: one core.
        assert_eq!(node.cpu_nanocores, 1_000_000_000);
        assert_eq!(node.window_ms, 15_000);
        let web = &pods[&("default".to_string(), "web".to_string())];
        assert_eq!(web.window_ms, 15_000);
        assert_eq!(
            web.containers,
            vec![
                ("app".to_string(), 10_000_000, 8192),
                ("side".to_string(), 20_000_000, 1024)
            ]
        );
        // The first scrape alone gives nothing.
        let (n, p) = usage(&Scrape::default(), &a);
        assert!(n.is_none() && p.is_empty());
    }

    #[test]
    fn a_restarted_container_has_no_rate() {
        let p1 = Point {
            cpu: Some((5.0, 1000)),
            memory: Some((1.0, 1000)),
            start: Some(10.0),
        };
        let mut p2 = Point {
            cpu: Some((6.0, 2000)),
            memory: Some((1.0, 2000)),
            start: Some(10.0),
        };
        assert_eq!(rate(&p1, &p2).unwrap().cpu_nanocores, 1_000_000_000);
        p2.start = Some(1500.0);
        assert_eq!(rate(&p1, &p2), None);
        p2.start = Some(10.0);
        p2.cpu = Some((1.0, 2000));
        assert_eq!(rate(&p1, &p2), None);
    }
}
