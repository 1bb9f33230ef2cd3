//! µs per op of the field manager and the built-in type checks on the
//! server's typical writes (recorded from a running server, see
//! `src/apply/testdata/writes.json`): managedFields tracking of a Pod create,
//! binding and status updates, a Lease renewal and a Node status heartbeat,
//! and the decoding checks of Pods (`type_error` + `prune_unknown_fields`,
//! and `unknown_fields` + `duplicate_fields`). Best of several rounds.
//! "registry" is what the registry does per write (read the entries, track,
//! write them back); "in-place" the same through `track_update_in_place`.
//!
//! `cargo run --release -p apimachinery --example fields_bench`

use apimachinery::apply::{self, Options};
use apimachinery::schema::{
    duplicate_fields, prune_unknown_fields, schema_for_kind, type_error, unknown_fields,
};
use serde_json::Value;
use std::hint::black_box;
use std::time::Instant;

/// The server's allocator, so that allocation costs are the server's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const WRITES: &str = include_str!("../src/apply/testdata/writes.json");
const ROUNDS: usize = 7;

/// Best µs per call of `f` over [`ROUNDS`] rounds of `iters` calls.
fn best_us(iters: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
    }
    best
}

fn main() {
    let writes: Vec<Value> = serde_json::from_str(WRITES).expect("writes.json");
    let iters = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!(
        "{:<22} {:>12} {:>14} {:>14}",
        "write", "track µs", "registry µs", "in-place µs"
    );
    for w in &writes {
        let s = |k: &str| w[k].as_str().unwrap_or_default();
        let gvk = |i: usize| w["gvk"][i].as_str().unwrap_or_default();
        let schema = schema_for_kind(gvk(0), gvk(1), gvk(2));
        let mut opts = Options::new(schema);
        if !s("subresource").is_empty() {
            opts = opts.with_subresource(s("subresource"));
        } else if w["statusReset"].as_bool() == Some(true) {
            opts = opts.with_status_subresource();
        }
        let old = Some(&w["old"]).filter(|v| !v.is_null());
        let new = &w["new"];
        let managed = apply::managed_fields_of(new).expect("managed fields");
        let track = best_us(iters, || {
            let e = apply::track_update_with(
                old,
                new,
                s("manager"),
                &managed,
                s("apiVersion"),
                s("now"),
                &opts,
            );
            black_box(e.expect("tracked"));
        });
        // What the registry does per write: read the entries, track, write them back.
        let registry = best_us(iters, || {
            let mut obj = new.clone();
            let managed = apply::managed_fields_of(&obj).expect("managed fields");
            let e = apply::track_update_with(
                old,
                &obj,
                s("manager"),
                &managed,
                s("apiVersion"),
                s("now"),
                &opts,
            )
            .expect("tracked");
            apply::set_managed_fields(&mut obj, &e);
            black_box(obj);
        }) - best_us(iters, || {
            black_box(new.clone());
        });
        // The same as one call that moves the stored entries.
        let in_place = best_us(iters, || {
            let mut obj = new.clone();
            apply::track_update_in_place(
                old,
                &mut obj,
                s("manager"),
                s("apiVersion"),
                s("now"),
                &opts,
            )
            .expect("tracked");
            black_box(obj);
        }) - best_us(iters, || {
            black_box(new.clone());
        });
        println!(
            "{:<22} {track:>12.2} {registry:>14.2} {in_place:>14.2}",
            s("name")
        );
    }

    let pod = schema_for_kind("", "v1", "Pod").expect("Pod schema");
    println!(
        "{:<22} {:>12} {:>14} {:>14}",
        "decode", "type µs", "type+prune µs", "unknown+dup µs"
    );
    for name in ["pod_create", "pod_status"] {
        let w = writes.iter().find(|w| w["name"] == name).expect("write");
        let mut body = w["new"].clone();
        if let Some(md) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            md.shift_remove("managedFields");
        }
        let check = best_us(iters, || {
            black_box(type_error(pod, black_box(&body), "Pod"));
        });
        let clone = best_us(iters, || {
            black_box(body.clone());
        });
        let both = best_us(iters, || {
            let mut b = body.clone();
            assert!(type_error(pod, &b, "Pod").is_none());
            prune_unknown_fields(pod, &mut b);
            black_box(b);
        }) - clone;
        // fieldValidation=Warn (the default) runs both on every write.
        let raw = serde_json::to_vec(&body).expect("JSON");
        let strict = best_us(iters, || {
            assert!(unknown_fields(pod, black_box(&body)).is_empty());
            assert!(duplicate_fields(black_box(&raw)).is_empty());
        });
        println!(
            "{:<22} {check:>12.2} {both:>14.2} {strict:>14.2}",
            format!("pod ({name})")
        );
    }
}
