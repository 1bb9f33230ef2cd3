//! Field ownership: `metadata.managedFields` kept on every write, and
//! server-side apply, both through `apimachinery::apply` with the resource's
//! schema.

use super::Registry;
use crate::options::WriteOptions;
use apimachinery::apply::{self, Options};
use apimachinery::schema::SchemaNode;
use apimachinery::{ApiError, ResourceInfo};
use serde_json::Value;

impl Registry {
    /// Run `f` with the schema of a resource: the built-in type's, or the
    /// custom resource version's `openAPIV3Schema`.
    pub(crate) fn with_schema<R>(
        &self,
        res: &ResourceInfo,
        f: impl FnOnce(Option<SchemaNode>) -> R,
    ) -> R {
        let cat = self.catalog();
        if let Some(custom) = cat.custom(res) {
            let defs = apimachinery::schema::Definitions::new();
            return match &custom.schema {
                Some(s) => f(Some(SchemaNode::new(s, &defs))),
                None => f(None),
            };
        }
        f(apimachinery::schema::schema_for_kind(
            &res.group,
            &res.version,
            &res.kind,
        ))
    }

    fn apply_options<'a>(
        res: &ResourceInfo,
        schema: Option<SchemaNode<'a>>,
        subresource: Option<&str>,
    ) -> Options<'a> {
        let o = Options::new(schema);
        match subresource {
            Some(s) => o.with_subresource(s),
            None if res.has_subresource("status") => o.with_status_subresource(),
            None => o,
        }
    }

    /// Record which fields this write's manager now owns.
    pub(crate) fn track_fields(
        &self,
        res: &ResourceInfo,
        old: Option<&Value>,
        new: &mut Value,
        opts: &WriteOptions,
        subresource: Option<&str>,
        now: &str,
    ) -> Result<(), ApiError> {
        if opts.applying {
            return Ok(());
        }
        // The client's managedFields win when valid, as upstream; else the
        // stored ones (apimachinery picks, tracks and writes them in place).
        let sub = subresource.filter(|s| *s == "status" || *s == "scale");
        self.with_schema(res, |schema| {
            let o = Self::apply_options(res, schema, sub);
            apply::track_update_in_place(old, new, opts.manager(), &res.api_version(), now, &o)
        })
        .map_err(|e| e.to_api_error())
    }

    /// The object a server-side apply produces from `live` (None: create).
    pub(crate) fn apply_to(
        &self,
        res: &ResourceInfo,
        live: Option<&Value>,
        applied: &Value,
        opts: &WriteOptions,
        subresource: Option<&str>,
    ) -> Result<Value, ApiError> {
        let managed = live
            .map(|o| apply::managed_fields_of(o).unwrap_or_default())
            .unwrap_or_default();
        let now = super::meta::now();
        let result = self.with_schema(res, |schema| {
            let o = Self::apply_options(res, schema, subresource);
            apply::apply_with(
                live,
                applied,
                opts.manager(),
                opts.force,
                &managed,
                &now,
                &o,
            )
        });
        result.map(|r| r.object).map_err(|e| e.to_api_error())
    }
}
