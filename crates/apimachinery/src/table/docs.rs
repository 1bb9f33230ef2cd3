//! Column descriptions. Upstream describes most printer columns with the
//! API field's own documentation; we read it from k8s-openapi's schemas at
//! run time rather than keeping a copy.

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::Value;

/// The documentation of one field of an API type (empty when unknown, as
/// upstream's `SwaggerDoc()[key]` is for a missing key).
pub(crate) fn field<T: JsonSchema>(name: &str) -> String {
    let mut generator = SchemaGenerator::default();
    let schema = T::json_schema(&mut generator);
    schema
        .get("properties")
        .and_then(|p| p.get(name))
        .and_then(|f| f.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `metadata.name`'s documentation.
pub(crate) fn meta_name() -> String {
    field::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>("name")
}

/// `metadata.creationTimestamp`'s documentation.
pub(crate) fn meta_created() -> String {
    field::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>("creationTimestamp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_field_docs() {
        assert!(meta_name().starts_with("Name must be unique within a namespace."));
        assert!(meta_created().starts_with("CreationTimestamp is a timestamp"));
        assert_eq!(
            field::<k8s_openapi::api::core::v1::PodSpec>("noSuchField"),
            ""
        );
        assert!(field::<k8s_openapi::api::core::v1::PodSpec>("nodeName").contains("node"));
    }
}
