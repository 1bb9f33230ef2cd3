//! The kubelet's stats endpoints: `/stats/summary` (the Summary API) and
//! `/metrics/resource` (the resource metrics the metrics pipeline scrapes).
//! Each request collects afresh from CRI and the kernel; the previous CPU
//! sample per container and for the node is kept beside the routes so
//! `usageNanoCores` is the rate since the last request.

pub mod collect;
pub mod node;
pub mod render;
pub mod types;

use super::ServerState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use collect::{Collector, RateCache};
use std::path::PathBuf;
use std::sync::Arc;

/// Previous samples shared by the requests of one server.
#[derive(Clone, Default)]
pub struct StatsCache {
    rates: Arc<RateCache>,
}

/// The stats routes, to be merged into the kubelet server's router.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/stats/summary", get(summary))
        .route("/metrics/resource", get(resource))
        .layer(Extension(StatsCache::default()))
}

/// A directory whose filesystem is reported as the node's: the kubelet
/// root (`/var/lib/kubelet`) when it exists, else the pod log directory's.
fn fs_path(st: &ServerState) -> PathBuf {
    let root = PathBuf::from("/var/lib/kubelet");
    if root.exists() {
        root
    } else {
        st.pod_log_dir
            .ancestors()
            .find(|p| p.exists())
            .map(PathBuf::from)
            .unwrap_or_else(|| "/".into())
    }
}

async fn collect(st: &ServerState, cache: &StatsCache) -> Result<collect::Collected, Response> {
    let c = Collector {
        cri: st.cri.clone(),
        node_name: st.node_name.clone(),
        node_sources: Default::default(),
        fs_path: fs_path(st),
        rates: cache.rates.clone(),
    };
    c.collect().await.map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to get stats: {e}"),
        )
            .into_response()
    })
}

async fn summary(
    State(st): State<ServerState>,
    Extension(cache): Extension<StatsCache>,
) -> Response {
    match collect(&st, &cache).await {
        Ok(c) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&render::summary(&c)).unwrap_or_default(),
        )
            .into_response(),
        Err(r) => r,
    }
}

async fn resource(
    State(st): State<ServerState>,
    Extension(cache): Extension<StatsCache>,
) -> Response {
    match collect(&st, &cache).await {
        Ok(c) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            render::resource_metrics(&c),
        )
            .into_response(),
        Err(r) => r,
    }
}
