//! JSON schemas of API types and navigation over them. Built-in types get
//! their schemas from `k8s-openapi` (schemars) plus upstream's extensions
//! (`x-kubernetes-patch-merge-key`, `x-kubernetes-patch-strategy`,
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-group-version-kind`); custom resources bring theirs in the
//! CRD. Strategic merge patch, server-side apply, unknown-field detection and
//! the OpenAPI documents all walk schemas through [`SchemaNode`].

mod node;

pub use node::{Definitions, ListType, SchemaNode};
// SHIM
pub fn schema_for_kind(_g: &str, _v: &str, _k: &str) -> Option<SchemaNode<'static>> {
    None
}
pub fn unknown_fields(_n: SchemaNode, _o: &serde_json::Value) -> Vec<String> {
    vec![]
}
pub fn duplicate_fields(_r: &[u8]) -> Vec<String> {
    vec![]
}
