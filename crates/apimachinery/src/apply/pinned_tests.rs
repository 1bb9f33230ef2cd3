//! Pins the managed fields that [`track_update_with`] and [`apply_with`]
//! produce for the server's typical writes (captured from a running server:
//! a Pod create, binding and status updates, a Lease renewal, a Node status
//! heartbeat) and for a deterministic corpus of variations of them, so that
//! optimizations of the field manager provably keep every byte the same.
//!
//! The expected outputs were recorded from the implementation before it was
//! optimized. `RKUBE_PIN_WRITE=1` rewrites them (only for an intended
//! change of behaviour).

use super::*;
use crate::schema::schema_for_kind;
use serde_json::{Map, Value, json};

const WRITES: &str = include_str!("testdata/writes.json");
const EXPECTED: &str = include_str!("testdata/writes_expected.json");
const CORPUS: &str = include_str!("testdata/corpus_hashes.txt");

/// One recorded write, as `testdata/writes.json` holds it.
#[derive(Clone)]
pub(crate) struct Write {
    pub name: String,
    pub gvk: [String; 3],
    pub old: Option<Value>,
    pub new: Value,
    pub manager: String,
    pub api_version: String,
    pub now: String,
    pub subresource: String,
    pub status_reset: bool,
}

pub(crate) fn writes() -> Vec<Write> {
    let all: Vec<Value> = serde_json::from_str(WRITES).expect("writes.json");
    all.into_iter()
        .map(|w| {
            let s = |k: &str| w[k].as_str().unwrap_or_default().to_string();
            let g = |i: usize| w["gvk"][i].as_str().unwrap_or_default().to_string();
            Write {
                name: s("name"),
                gvk: [g(0), g(1), g(2)],
                old: Some(w["old"].clone()).filter(|v| !v.is_null()),
                new: w["new"].clone(),
                manager: s("manager"),
                api_version: s("apiVersion"),
                now: s("now"),
                subresource: s("subresource"),
                status_reset: w["statusReset"].as_bool().unwrap_or(false),
            }
        })
        .collect()
}

/// Runs one write as the registry does (managed entries from the new object).
pub(crate) fn track(w: &Write, subresource: &str, status_reset: bool) -> String {
    let schema = schema_for_kind(&w.gvk[0], &w.gvk[1], &w.gvk[2]);
    let mut opts = Options::new(schema);
    if !subresource.is_empty() {
        opts = opts.with_subresource(subresource);
    } else if status_reset {
        opts = opts.with_status_subresource();
    }
    let managed = match managed_fields_of(&w.new) {
        Ok(m) => m,
        Err(e) => return format!("decode error: {e}"),
    };
    let out = track_update_with(
        w.old.as_ref(),
        &w.new,
        &w.manager,
        &managed,
        &w.api_version,
        &w.now,
        &opts,
    );
    match out {
        Ok(entries) => {
            let mut obj = w.new.clone();
            set_managed_fields(&mut obj, &entries);
            serde_json::to_string(&obj).unwrap_or_default()
        }
        Err(e) => format!("error: {e}"),
    }
}

fn apply_case(w: &Write, applied: &Value, manager: &str, force: bool) -> String {
    let schema = schema_for_kind(&w.gvk[0], &w.gvk[1], &w.gvk[2]);
    let opts = Options::new(schema).with_subresource(&w.subresource);
    let live = w.old.as_ref().unwrap_or(&w.new);
    let managed = managed_fields_of(live).unwrap_or_default();
    match apply_with(Some(live), applied, manager, force, &managed, &w.now, &opts) {
        Ok(r) => format!(
            "{} {}",
            r.changed,
            serde_json::to_string(&r.object).unwrap_or_default()
        ),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn typical_writes_keep_their_managed_fields() {
    let mut got = Map::new();
    for w in writes() {
        let out: Value =
            serde_json::from_str(&track(&w, &w.subresource, w.status_reset)).expect("an object");
        got.insert(w.name.clone(), out["metadata"]["managedFields"].clone());
    }
    let got = Value::Object(got);
    if std::env::var_os("RKUBE_PIN_WRITE").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/apply/testdata/writes_expected.json"
        );
        std::fs::write(
            path,
            serde_json::to_string_pretty(&got).unwrap_or_default() + "\n",
        )
        .expect("write");
        return;
    }
    let want: Value = serde_json::from_str(EXPECTED).expect("writes_expected.json");
    for (name, w) in want.as_object().expect("an object") {
        assert_eq!(
            serde_json::to_string(&got[name]).unwrap_or_default(),
            serde_json::to_string(w).unwrap_or_default(),
            "{name}"
        );
    }
}

/// FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// Every position in `v` (JSON pointers), `metadata.managedFields` aside.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    if at == "/metadata/managedFields" {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                pointers(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Changes of one position: removed, changed, or grown.
fn mutations(new: &Value) -> Vec<(String, Value)> {
    let mut ptrs = Vec::new();
    pointers(new, String::new(), &mut ptrs);
    let mut out = Vec::new();
    for p in ptrs.iter().filter(|p| !p.is_empty()) {
        let (parent, last) = p.rsplit_once('/').unwrap_or_default();
        let mut removed = new.clone();
        match removed.pointer_mut(parent) {
            Some(Value::Object(m)) => {
                m.shift_remove(&last.replace("~1", "/").replace("~0", "~"));
            }
            Some(Value::Array(a)) => {
                if let Ok(i) = last.parse::<usize>() {
                    a.remove(i);
                }
            }
            _ => {}
        }
        out.push((format!("remove {p}"), removed));
        let mut changed = new.clone();
        if let Some(v) = changed.pointer_mut(p) {
            *v = match v.take() {
                Value::String(s) => Value::String(format!("{s}x")),
                Value::Number(n) => json!(n.as_i64().unwrap_or(0) + 1),
                Value::Bool(b) => Value::Bool(!b),
                Value::Null => json!("set"),
                Value::Object(mut m) => {
                    m.insert("zzAdded".into(), json!("v"));
                    Value::Object(m)
                }
                Value::Array(mut a) => {
                    let mut extra = a.first().cloned().unwrap_or(json!("item"));
                    for k in ["name", "type", "ip", "uid", "key"] {
                        if let Some(s) = extra.get(k).and_then(Value::as_str) {
                            extra[k] = json!(format!("{s}-2"));
                        }
                    }
                    if let Value::String(s) = &extra {
                        extra = json!(format!("{s}-2"));
                    }
                    a.push(extra);
                    Value::Array(a)
                }
            };
        }
        out.push((format!("change {p}"), changed));
    }
    out
}

/// Variations of the stored managed entries.
fn managed_variants(new: &Value) -> Vec<(String, Value)> {
    let Some(Value::Array(entries)) = new.pointer("/metadata/managedFields").cloned() else {
        return vec![];
    };
    let with = |name: &str, e: Vec<Value>| {
        let mut n = new.clone();
        n["metadata"]["managedFields"] = Value::Array(e);
        (name.to_string(), n)
    };
    let mut out = vec![
        with("reversed", entries.iter().rev().cloned().collect()),
        with("empty", vec![]),
    ];
    let mut odd = entries.clone();
    odd.push(
        json!({"manager": "odd", "operation": "Update", "apiVersion": "v1",
        "time": "2020-01-01T00:00:00Z", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"x:unknown": {}, "f:zzz": {".": {}, "f:a": {}}},
            "f:metadata": {"f:labels": {"f:app": {}, "f:type": {}}}}}),
    );
    odd.push(
        json!({"manager": "none", "operation": "Update", "apiVersion": "v1",
        "fieldsType": "FieldsV1"}),
    );
    odd.push(
        json!({"manager": "applier", "operation": "Apply", "apiVersion": "v1",
        "time": "2020-01-01T00:00:00Z", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:status": {"f:phase": {}, "f:conditions": {
            "k:{\"type\": \"Ready\"}": {".": {}, "f:status": {}}}}}}),
    );
    out.push(with("odd entries", odd));
    let mut many = entries.clone();
    for i in 0..11 {
        many.push(json!({"manager": format!("m{i}"), "operation": "Update",
            "apiVersion": if i % 2 == 0 { "v1" } else { "v2" },
            "time": format!("2020-01-01T00:00:{:02}Z", 11 - i), "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {format!("f:l{i}"): {}}},
                "f:spec": {"f:holderIdentity": {}, "f:nodeName": {}}}}));
    }
    out.push(with("many managers", many));
    let mut bad = entries;
    bad.push(
        json!({"manager": "bad", "operation": "Patch", "apiVersion": "v1",
        "fieldsType": "FieldsV1", "fieldsV1": {}}),
    );
    out.push(with("bad operation", bad));
    out
}

/// Variations of every recorded write (named `<write> <variation>`).
pub(crate) fn track_cases() -> Vec<(String, Write)> {
    let mut cases: Vec<(String, Write)> = Vec::new();
    for w in writes() {
        let variant = |name: String, f: &dyn Fn(&mut Write)| {
            let mut v = Write {
                name: w.name.clone(),
                gvk: w.gvk.clone(),
                old: w.old.clone(),
                new: w.new.clone(),
                manager: w.manager.clone(),
                api_version: w.api_version.clone(),
                now: w.now.clone(),
                subresource: w.subresource.clone(),
                status_reset: w.status_reset,
            };
            f(&mut v);
            (format!("{} {name}", w.name), v)
        };
        cases.push(variant("as recorded".into(), &|_| {}));
        cases.push(variant("create".into(), &|v| v.old = None));
        cases.push(variant("old is new".into(), &|v| {
            v.old = Some(v.new.clone())
        }));
        for m in ["unknown", "sched_bench", "kubectl", "other", "m3"] {
            cases.push(variant(format!("manager {m}"), &|v| v.manager = m.into()));
        }
        cases.push(variant("apiVersion v2".into(), &|v| {
            v.api_version = "v2".into()
        }));
        cases.push(variant("same time".into(), &|v| {
            v.now = "2026-11-22T12:48:40Z".into()
        }));
        for (sub, reset) in [("", true), ("", false), ("status", false), ("scale", false)] {
            cases.push(variant(format!("opts {sub:?} {reset}"), &|v| {
                v.subresource = sub.into();
                v.status_reset = reset;
            }));
        }
        for (name, n) in mutations(&w.new) {
            cases.push(variant(name, &|v| v.new = n.clone()));
        }
        for (name, n) in managed_variants(&w.new) {
            cases.push(variant(name.clone(), &|v| v.new = n.clone()));
            cases.push(variant(format!("{name}, create"), &|v| {
                v.new = n.clone();
                v.old = None;
            }));
        }
    }
    cases
}

fn corpus() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = track_cases()
        .into_iter()
        .map(|(name, v)| (name, track(&v, &v.subresource, v.status_reset)))
        .collect();
    for w in writes() {
        // Apply: the recorded object as an applied configuration, then
        // partial ones (conflicts, pruning of omitted fields).
        let mut applied = w.new.clone();
        if let Some(md) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
            md.retain(|k, _| k == "name" || k == "namespace" || k == "labels");
        }
        for (name, a) in std::iter::once(("whole".to_string(), applied.clone()))
            .chain(mutations(&applied).into_iter().step_by(3))
        {
            for (mgr, force) in [("applier", false), ("applier", true), ("unknown", false)] {
                out.push((
                    format!("{} apply {name} {mgr} {force}", w.name),
                    apply_case(&w, &a, mgr, force),
                ));
            }
        }
    }
    out
}

#[test]
fn corpus_of_variations_keeps_its_outputs() {
    let got: Vec<(String, String)> = corpus();
    if let Some(dir) = std::env::var_os("RKUBE_PIN_DUMP") {
        let text: String = got.iter().map(|(n, o)| format!("{n}\t{o}\n")).collect();
        std::fs::write(std::path::Path::new(&dir).join("corpus.tsv"), text).expect("dump");
    }
    let lines: String = got
        .iter()
        .map(|(n, o)| format!("{:016x} {n}\n", fnv(o)))
        .collect();
    if std::env::var_os("RKUBE_PIN_WRITE").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/apply/testdata/corpus_hashes.txt"
        );
        std::fs::write(path, &lines).expect("write");
        return;
    }
    // Order-independent: cases are compared by name.
    let mut want: Vec<&str> = CORPUS.lines().collect();
    let mut got: Vec<&str> = lines.lines().collect();
    want.sort_by_key(|l| l.split_once(' ').map(|x| x.1));
    got.sort_by_key(|l| l.split_once(' ').map(|x| x.1));
    assert_eq!(got.len(), want.len(), "corpus size");
    let diffs: Vec<_> = got.iter().zip(&want).filter(|(g, w)| g != w).collect();
    assert!(
        diffs.is_empty(),
        "{} differ, first: {:?}",
        diffs.len(),
        diffs.first()
    );
}
