//! Custom resources on the write path: pruning of unknown fields, structural
//! defaults and OpenAPI validation against the CRD version's schema.

use super::Registry;
use crate::custom;
use apimachinery::{ApiError, Cause, ResourceInfo};
use serde_json::Value;

impl Registry {
    /// Prune and default a custom resource (create and update).
    pub(crate) fn custom_prepare(
        &self,
        res: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        let cat = self.catalog();
        if let Some(schema) = cat.custom(res).and_then(|c| c.schema.as_ref()) {
            custom::prune(schema, obj);
            custom::apply_defaults(schema, obj);
        }
        Ok(())
    }

    /// Decode a built-in object the way upstream's typed decoding does:
    /// values of the wrong type are refused (400), unknown fields dropped.
    pub(crate) fn decode_builtin(
        &self,
        res: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        if let Some(node) =
            apimachinery::schema::schema_for_kind(&res.group, &res.version, &res.kind)
        {
            if let Some(msg) = apimachinery::schema::type_error(node, obj, &res.kind) {
                return Err(ApiError::bad_request(msg));
            }
            apimachinery::schema::prune_unknown_fields(node, obj);
        }
        Ok(())
    }

    pub(crate) fn custom_validate(&self, res: &ResourceInfo, obj: &Value) -> Vec<Cause> {
        let cat = self.catalog();
        match cat.custom(res).and_then(|c| c.schema.as_ref()) {
            Some(schema) => custom::validate(schema, obj),
            None => vec![],
        }
    }
}
