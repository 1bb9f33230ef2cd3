//! Write benchmark for the SQLite store: creates per second and latency
//! percentiles for 1, 8 and 64 concurrent writers on a fresh file.
//!
//! `cargo run --release -p store --example bench [-- <dir> [creates-per-writer]]`
//! (the file goes in a temporary directory under `<dir>`, default the system
//! temp dir).

use std::sync::Arc;
use std::time::{Duration, Instant};

use store::Store;
use store::sqlite::SqliteStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = args
        .get(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let per_writer: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(1000);
    let dir = tempfile::tempdir_in(base)?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("bench.sqlite"))?);
    // A realistic object size (a small Pod is 1-3 KiB of JSON).
    let value = vec![b'x'; 2048];

    for writers in [1usize, 8, 64] {
        let total = if writers == 1 {
            per_writer
        } else {
            per_writer * writers / 4
        };
        let each = total / writers;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            let value = value.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(each);
                for i in 0..each {
                    let t = Instant::now();
                    store
                        .create(&format!("/bench/{writers}/{w}/{i}"), value.clone())
                        .await?;
                    latencies.push(t.elapsed());
                }
                Ok::<_, store::StoreError>(latencies)
            }));
        }
        let mut latencies: Vec<Duration> = Vec::new();
        for task in tasks {
            latencies.extend(task.await??);
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "{writers:>3} writers: {:>6} creates in {:>6.2?}: {:>7.0} creates/s, p50 {:>8.2?}, p99 {:>8.2?}, max {:>8.2?}",
            latencies.len(),
            elapsed,
            latencies.len() as f64 / elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            latencies[latencies.len() - 1],
        );
    }

    // Reads on the now populated file.
    let started = Instant::now();
    let reads = 2000;
    for i in 0..reads {
        store.get(&format!("/bench/1/0/{}", i % per_writer)).await?;
    }
    println!(
        "get: {:.0} reads/s (1 reader)",
        reads as f64 / started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let listed = store
        .range(store::RangeRequest {
            prefix: "/bench/".into(),
            ..Default::default()
        })
        .await?;
    println!(
        "range: {} keys in {:.2?}",
        listed.kvs.len(),
        started.elapsed()
    );
    Ok(())
}
