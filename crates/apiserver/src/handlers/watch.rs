//! Watch responses: one JSON event per line, streamed with chunked encoding,
//! each event encoded once from the cached object bytes (or as a one-row
//! Table for `kubectl get -w`).

use crate::codec::{Output, Resp, partial_metadata_of};
use crate::metrics::LongRunning;
use apimachinery::ResourceInfo;
use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Response, StatusCode, header};
use registry::engine::{Registry, WatchEventOut, WatchStream};
use serde_json::json;
use std::sync::Arc;

pub fn respond(
    res: Arc<ResourceInfo>,
    stream: WatchStream,
    output: Output,
    reg: Arc<Registry>,
    open: LongRunning,
) -> Resp {
    let mut first_table = true;
    // The body owns the stream: dropping it (a closed connection, or a
    // loopback client letting go) ends the registry's watch and the count.
    let body = stream.map(move |ev| {
        let _open = &open;
        let line = encode(&res, ev, &output, &reg, &mut first_table);
        Ok::<Bytes, std::convert::Infallible>(line)
    });
    let mut r = Response::new(Body::from_stream(body));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    r
}

fn encode(
    res: &ResourceInfo,
    ev: WatchEventOut,
    output: &Output,
    reg: &Registry,
    first_table: &mut bool,
) -> Bytes {
    let mut buf = Vec::new();
    match ev {
        WatchEventOut::Event { kind, object } => match output {
            Output::Plain => {
                buf.extend_from_slice(b"{\"type\":\"");
                buf.extend_from_slice(kind.as_str().as_bytes());
                buf.extend_from_slice(b"\",\"object\":");
                buf.extend_from_slice(&object.json);
                buf.push(b'}');
            }
            Output::Metadata(v) => {
                let o =
                    json!({"type": kind.as_str(), "object": partial_metadata_of(&object.json, v)});
                buf = serde_json::to_vec(&o).unwrap_or_default();
            }
            Output::Table(v, inc) => {
                let mut table = reg.table(
                    res,
                    &[object.value()],
                    v,
                    *inc,
                    json!({"resourceVersion": object.rv.to_string()}),
                );
                if !*first_table {
                    // Upstream sends the column definitions only once.
                    table["columnDefinitions"] = json!([]);
                }
                *first_table = false;
                buf = serde_json::to_vec(&json!({"type": kind.as_str(), "object": table}))
                    .unwrap_or_default();
            }
        },
        WatchEventOut::Bookmark {
            rv,
            initial_events_end,
        } => {
            let mut md = json!({"resourceVersion": rv.to_string()});
            if initial_events_end {
                md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            let (kind, api_version) = match output {
                Output::Plain => (res.kind.clone(), res.api_version()),
                Output::Metadata(v) => (
                    "PartialObjectMetadata".to_string(),
                    format!("meta.k8s.io/{v}"),
                ),
                Output::Table(v, _) => ("Table".to_string(), format!("meta.k8s.io/{v}")),
            };
            let o = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": md}});
            buf = serde_json::to_vec(&o).unwrap_or_default();
        }
        WatchEventOut::Error(e) => {
            buf = serde_json::to_vec(&json!({"type": "ERROR", "object": e.to_status()}))
                .unwrap_or_default();
        }
    }
    buf.push(b'\n');
    Bytes::from(buf)
}
