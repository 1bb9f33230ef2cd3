//! `apimachinery` owns the Kubernetes API's vocabulary, with no IO: the
//! resource catalogue, label and field selectors, patches (JSON, merge,
//! strategic merge, server-side apply), `Status` errors, watch events and
//! table columns. Everything here is pure functions over `serde_json::Value`.

pub mod apply;
pub mod conversion;
pub mod cron;
pub mod duration;
pub mod error;
pub mod gvk;
pub mod meta;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod resources;
pub mod schema;
pub mod selectors;
pub mod table;
pub mod validation;

pub use error::{ApiError, Cause};
pub use gvk::{GroupVersion, GroupVersionKind, GroupVersionResource};
pub use resources::ResourceInfo;
