//! Label selectors: the string syntax of `?labelSelector=` (parsed with
//! upstream's lexer rules and error texts), the structured
//! `{matchLabels, matchExpressions}` form of API objects, matching against a
//! label set, and printing back to the canonical string.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::SelectorError;
use super::validation::{FieldErr, aggregate, go_quote, is_label_key, is_label_value};
use crate::error::Cause;

/// A requirement's operator, as upstream's `selection.Operator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

impl Operator {
    /// Upstream's spelling (`=`, `==`, `!=`, `in`, `notin`, `exists`, `!`, `gt`, `lt`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One `key op values` term of a selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating as upstream's `NewRequirement`: the
    /// key must be a qualified name, the value count must fit the operator,
    /// values must be label values (and integers for `gt`/`lt`).
    pub fn new(key: &str, op: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        let mut errs = Vec::new();
        let key_errs = is_label_key(key);
        if !key_errs.is_empty() {
            errs.push(FieldErr::invalid(
                "key",
                Value::String(key.into()),
                key_errs.join("; "),
            ));
        }
        let vals_json = || Value::from(values.clone());
        match op {
            Operator::In | Operator::NotIn if values.is_empty() => errs.push(FieldErr::invalid(
                "values",
                vals_json(),
                "for 'in', 'notin' operators, values set can't be empty",
            )),
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals
                if values.len() != 1 =>
            {
                errs.push(FieldErr::invalid(
                    "values",
                    vals_json(),
                    "exact-match compatibility requires one single value",
                ))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                errs.push(FieldErr::invalid(
                    "values",
                    vals_json(),
                    "values set must be empty for exists and does not exist",
                ))
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(FieldErr::invalid(
                        "values",
                        vals_json(),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(FieldErr::invalid(
                            format!("values[{i}]"),
                            Value::String(v.clone()),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            let msgs = is_label_value(v);
            if !msgs.is_empty() {
                errs.push(FieldErr::invalid(
                    format!("values[{i}][{key}]"),
                    Value::String(v.clone()),
                    msgs.join("; "),
                ));
            }
        }
        if errs.is_empty() {
            Ok(Requirement {
                key: key.to_string(),
                op,
                values,
            })
        } else {
            Err(SelectorError::Label(aggregate(&errs)))
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.op
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `lookup` (label key → value) satisfies this requirement.
    pub fn matches_with<'a>(&self, lookup: &impl Fn(&str) -> Option<&'a str>) -> bool {
        let val = lookup(&self.key);
        let has = |v: &str| self.values.iter().any(|x| x == v);
        match self.op {
            Operator::In | Operator::Equals | Operator::DoubleEquals => val.is_some_and(has),
            Operator::NotIn | Operator::NotEquals => !val.is_some_and(has),
            Operator::Exists => val.is_some(),
            Operator::DoesNotExist => val.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                // Non-integer labels never match, as upstream.
                let (Some(Ok(have)), [want]) = (val.map(str::parse::<i64>), self.values.as_slice())
                else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.op {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let paren = matches!(self.op, Operator::In | Operator::NotIn);
        if paren {
            f.write_str("(")?;
        }
        let mut vals = self.values.clone();
        vals.sort();
        f.write_str(&vals.join(","))?;
        if paren {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A parsed label selector: all requirements must hold. No requirements
/// selects everything; [`LabelSelector::nothing`] (a null structured
/// selector) selects nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// Matches every label set.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Matches no label set (what a null `LabelSelector` means).
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Builds a selector from requirements, sorted by key as upstream.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// `key=value` for every entry of a label set (no validation, like
    /// upstream's `SelectorFromSet`).
    pub fn from_set(set: &BTreeMap<String, String>) -> Self {
        Self::from_requirements(
            set.iter()
                .map(|(k, v)| Requirement {
                    key: k.clone(),
                    op: Operator::Equals,
                    values: vec![v.clone()],
                })
                .collect(),
        )
    }

    /// Parses the string syntax (`a=b,c!=d,e in (f,g),!h,i>3`).
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let reqs = super::label_parse::parse(s).map_err(SelectorError::Label)?;
        Ok(Self::from_requirements(reqs))
    }

    /// Converts the structured form (`{matchLabels, matchExpressions}`) as
    /// upstream's `LabelSelectorAsSelector`: null selects nothing, `{}`
    /// everything.
    pub fn from_json(v: &Value) -> Result<Self, SelectorError> {
        let obj = match v {
            Value::Null => return Ok(Self::nothing()),
            Value::Object(o) => o,
            _ => {
                return Err(SelectorError::Label(
                    "label selector must be an object".into(),
                ));
            }
        };
        let mut reqs = Vec::new();
        if let Some(ml) = obj.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                let v = v.as_str().unwrap_or_default().to_string();
                reqs.push(Requirement::new(k, Operator::Equals, vec![v])?);
            }
        }
        for expr in obj
            .get("matchExpressions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
            let op_name = expr
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let op = match op_name {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::Label(format!(
                        "{} is not a valid label selector operator",
                        go_quote(other)
                    )));
                }
            };
            let values = string_list(expr.get("values"));
            reqs.push(Requirement::new(key, op, values)?);
        }
        Ok(Self::from_requirements(reqs))
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True when the selector has no requirements (and so matches everything).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for [`LabelSelector::nothing`].
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(&|k: &str| labels.get(k).map(String::as_str))
    }

    /// Matches an object's `metadata.labels` JSON map (absent or null: no labels).
    pub fn matches_json(&self, labels: Option<&Value>) -> bool {
        let map = labels.and_then(Value::as_object);
        self.matches_with(&|k: &str| map.and_then(|m| m.get(k)).and_then(Value::as_str))
    }

    pub fn matches_with<'a>(&self, lookup: &impl Fn(&str) -> Option<&'a str>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches_with(lookup))
    }

    /// The single value `key` must equal, if the selector pins it
    /// (`=`, `==`, or `in` with one value).
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match (r.op, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Validates a structured `LabelSelector` at `path` (e.g. `spec.selector`)
/// as upstream's `ValidateLabelSelector`, returning field causes.
pub fn validate_label_selector(v: &Value, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let Some(obj) = v.as_object() else {
        return causes;
    };
    if let Some(ml) = obj.get("matchLabels").and_then(Value::as_object) {
        let p = format!("{path}.matchLabels");
        for (k, v) in ml {
            for m in is_label_key(k) {
                causes.push(Cause::invalid(&p, &Value::String(k.clone()), m));
            }
            let s = v.as_str().unwrap_or_default();
            for m in is_label_value(s) {
                causes.push(Cause::invalid(&p, v, m));
            }
        }
    }
    let exprs = obj
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, expr) in exprs.iter().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let values = string_list(expr.get("values"));
        let op = expr.get("operator").cloned().unwrap_or(Value::Null);
        match op.as_str() {
            Some("In" | "NotIn") if values.is_empty() => causes.push(Cause::new(
                "FieldValueRequired",
                format!("{p}.values"),
                "Required value: must be specified when `operator` is 'In' or 'NotIn'",
            )),
            Some("Exists" | "DoesNotExist") if !values.is_empty() => causes.push(Cause::forbidden(
                format!("{p}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            Some("In" | "NotIn" | "Exists" | "DoesNotExist") => {}
            _ => causes.push(Cause::invalid(
                format!("{p}.operator"),
                &op,
                "not a valid selector operator",
            )),
        }
        let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
        for m in is_label_key(key) {
            causes.push(Cause::invalid(
                format!("{p}.key"),
                &Value::String(key.into()),
                m,
            ));
        }
        for (j, val) in values.iter().enumerate() {
            for m in is_label_value(val) {
                causes.push(Cause::invalid(
                    format!("{p}.values[{j}]"),
                    &Value::String(val.clone()),
                    m,
                ));
            }
        }
    }
    causes
}
