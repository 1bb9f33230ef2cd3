//! Per-resource presentation and field checks that need the resource's
//! schema or printer columns: unknown and duplicate fields (for
//! `fieldValidation`), and Table output.

use super::Registry;
use crate::custom;
use apimachinery::ResourceInfo;
use apimachinery::schema::{duplicate_fields, unknown_fields};
use apimachinery::table::{self, IncludeObject};
use serde_json::Value;

impl Registry {
    /// Unknown and duplicate fields of a request body, worded as upstream
    /// reports them (`unknown field "spec.foo"`, `duplicate field "x"`).
    pub fn field_problems(&self, res: &ResourceInfo, raw: &[u8], obj: &Value) -> Vec<String> {
        let mut out: Vec<String> = if raw.first() == Some(&b'{') {
            duplicate_fields(raw)
                .into_iter()
                .map(|p| format!("duplicate field \"{p}\""))
                .collect()
        } else {
            vec![]
        };
        let cat = self.catalog();
        let unknown = match cat.custom(res) {
            Some(c) => match &c.schema {
                Some(schema) => {
                    let mut copy = obj.clone();
                    custom::prune(schema, &mut copy)
                }
                None => vec![],
            },
            None => {
                match apimachinery::schema::schema_for_kind(&res.group, &res.version, &res.kind) {
                    Some(node) => unknown_fields(node, obj),
                    None => vec![],
                }
            }
        };
        out.extend(
            unknown
                .into_iter()
                .map(|p| format!("unknown field \"{p}\"")),
        );
        out
    }

    /// A meta.k8s.io Table of objects, with upstream's columns for built-in
    /// kinds and the CRD's printer columns for custom resources.
    pub fn table(
        &self,
        res: &ResourceInfo,
        objs: &[Value],
        version: &str,
        include: IncludeObject,
        list_meta: Value,
    ) -> Value {
        let now = jiff::Timestamp::now();
        let cat = self.catalog();
        // Custom resources print their CRD's columns (Name and Age by default).
        let mut t = match cat.custom(res) {
            Some(c) => {
                let cols = c.printer_columns.clone().unwrap_or(Value::Null);
                table::custom_columns(&cols).build_table(objs, include, now, list_meta)
            }
            None => table::build_table(&res.group, &res.plural, objs, include, now, list_meta),
        };
        t["apiVersion"] = format!("meta.k8s.io/{version}").into();
        t
    }
}
