use apimachinery::apply::typed;
use apimachinery::schema::schema_for_kind;
use serde_json::Value;
use std::hint::black_box;
use std::time::Instant;
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
const WRITES: &str = include_str!("../src/apply/testdata/writes.json");
fn main() {
    let writes: Vec<Value> = serde_json::from_str(WRITES).unwrap();
    for w in &writes {
        let g = |i: usize| w["gvk"][i].as_str().unwrap_or_default();
        let schema = schema_for_kind(g(0), g(1), g(2));
        if w["old"].is_null() {
            continue;
        }
        if let Ok(only) = std::env::var("ONLY") {
            if w["name"] != only.as_str() {
                continue;
            }
        }
        let (old, new) = (&w["old"], &w["new"]);
        for (label, s) in [("schema", schema)] {
            let mut best = f64::MAX;
            for _ in 0..20 {
                let t = Instant::now();
                for _ in 0..2000 {
                    black_box(typed::compare(old, new, s));
                }
                best = best.min(t.elapsed().as_secs_f64() * 1e6 / 2000.0);
            }
            let mut bf = f64::MAX;
            for _ in 0..20 {
                let t = Instant::now();
                if std::env::var("NOFIELDS").is_err() {
                    for _ in 0..2000 {
                        black_box(typed::fields_of(new, s));
                    }
                }
                bf = bf.min(t.elapsed().as_secs_f64() * 1e6 / 2000.0);
            }
            println!(
                "{:<20} {label:<6} compare {best:>7.2} fields_of {bf:>7.2}",
                w["name"].as_str().unwrap()
            );
        }
    }
}
