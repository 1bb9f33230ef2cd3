//! JSON schemas of API types and navigation over them. Built-in types get
//! their schemas from `k8s-openapi` (schemars) plus upstream's extensions
//! (`x-kubernetes-patch-merge-key`, `x-kubernetes-patch-strategy`,
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-group-version-kind`); custom resources bring theirs in the
//! CRD. Strategic merge patch, server-side apply, unknown-field detection and
//! the OpenAPI documents all walk schemas through [`SchemaNode`].

mod builtin;
mod ext;
mod kinds;
mod node;
mod prune;
mod types;
mod unknown;

pub use builtin::{DEFINITIONS_PREFIX, builtin_definitions, definition_name, schema_for_kind};
pub use node::{Definitions, ListKeys, ListKind, ListType, SchemaNode};
pub use prune::prune_unknown_fields;
pub use types::type_error;
pub use unknown::{duplicate_fields, unknown_fields};
