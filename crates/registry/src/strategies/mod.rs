//! One strategy file per built-in resource, and the lookup that picks one.

pub mod pod;
pub mod util;

use crate::strategy::{DefaultStrategy, Strategy};
use std::sync::Arc;

/// The strategy for a built-in resource, by API group and plural.
pub fn for_resource(group: &str, plural: &str) -> Arc<dyn Strategy> {
    match (group, plural) {
        ("", "pods") => Arc::new(pod::PodStrategy),
        _ => Arc::new(DefaultStrategy),
    }
}
