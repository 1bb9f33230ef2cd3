//! Prints what the schemas cost: the build time and RSS growth of the
//! process-wide built-in definitions, and the serialized sizes of the
//! definitions and of the OpenAPI documents for the built-in catalogue plus
//! every kind k8s-openapi knows.
//! Run with `cargo run --release -p apimachinery --example schema_size`.

use std::time::Instant;

use apimachinery::openapi::{v2_document, v3_group_version};
use apimachinery::resources::{ResourceInfo, builtin_resources};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let before = rss_kib();
    let t = Instant::now();
    let defs = apimachinery::schema::builtin_definitions();
    let built = t.elapsed();
    let after = rss_kib();
    let bytes = serde_json::to_vec(defs).map(|v| v.len()).unwrap_or(0);
    println!(
        "definitions: {} entries, {bytes} bytes serialized, built in {built:?}, RSS +{} KiB",
        defs.len(),
        after.saturating_sub(before)
    );
    let r0 = rss_kib();
    let copy = defs.clone();
    println!(
        "one more in-memory copy: +{} KiB",
        rss_kib().saturating_sub(r0)
    );
    drop(copy);

    // A resource for every kind with a list, in its group-version.
    let mut served: Vec<(ResourceInfo, Option<serde_json::Value>)> =
        builtin_resources().into_iter().map(|r| (r, None)).collect();
    for (name, def) in defs {
        let Some(gvk) = def["x-kubernetes-group-version-kind"].get(0) else {
            continue;
        };
        let kind = gvk["kind"].as_str().unwrap_or_default();
        let g = gvk["group"].as_str().unwrap_or_default();
        let v = gvk["version"].as_str().unwrap_or_default();
        let known = served
            .iter()
            .any(|(r, _)| r.kind == kind && r.group == g && r.version == v);
        if !defs.contains_key(&format!("{name}List")) || known {
            continue;
        }
        let plural = format!("{}s", kind.to_lowercase());
        served.push((ResourceInfo::new(g, v, kind, &plural, true), None));
    }
    let t = Instant::now();
    let v2 = serde_json::to_vec(&v2_document(&served))
        .map(|v| v.len())
        .unwrap_or(0);
    println!(
        "v2 document ({} resources): {v2} bytes in {:?}",
        served.len(),
        t.elapsed()
    );
    let mut gvs: Vec<(String, String)> = served
        .iter()
        .map(|(r, _)| (r.group.clone(), r.version.clone()))
        .collect();
    gvs.sort();
    gvs.dedup();
    let t = Instant::now();
    let mut total = 0;
    let mut largest = (0, String::new());
    for (g, v) in &gvs {
        let n = serde_json::to_vec(&v3_group_version(g, v, &served))
            .map(|b| b.len())
            .unwrap_or(0);
        total += n;
        if n > largest.0 {
            largest = (n, format!("{g}/{v}"));
        }
    }
    println!(
        "v3 documents: {} group-versions, {total} bytes in all, largest {} ({} bytes), in {:?}",
        gvs.len(),
        largest.1,
        largest.0,
        t.elapsed()
    );
    println!("RSS at end: {} KiB", rss_kib());
}
