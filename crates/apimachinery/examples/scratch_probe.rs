use apimachinery::apply::{self, Options};
use apimachinery::schema::schema_for_kind;
use serde_json::Value;
use std::hint::black_box;
use std::time::Instant;
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
const WRITES: &str = include_str!("../src/apply/testdata/writes.json");
fn main() {
    let writes: Vec<Value> = serde_json::from_str(WRITES).unwrap();
    let only = std::env::var("ONLY").unwrap_or_default();
    for w in &writes {
        if w["name"] != only.as_str() {
            continue;
        }
        let g = |i: usize| w["gvk"][i].as_str().unwrap_or_default();
        let schema = schema_for_kind(g(0), g(1), g(2));
        let mut opts = Options::new(schema);
        let s = |k: &str| w[k].as_str().unwrap_or_default();
        if !s("subresource").is_empty() {
            opts = opts.with_subresource(s("subresource"));
        } else if w["statusReset"].as_bool() == Some(true) {
            opts = opts.with_status_subresource();
        }
        let old = Some(&w["old"]).filter(|v| !v.is_null());
        let new = &w["new"];
        let managed = apply::managed_fields_of(new).unwrap();
        let mut best = f64::MAX;
        for _ in 0..20 {
            let t = Instant::now();
            for _ in 0..5000 {
                black_box(
                    apply::track_update_with(
                        old,
                        new,
                        s("manager"),
                        &managed,
                        s("apiVersion"),
                        s("now"),
                        &opts,
                    )
                    .unwrap(),
                );
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / 5000.0);
        }
        println!("{only} {best:.2}");
    }
}
