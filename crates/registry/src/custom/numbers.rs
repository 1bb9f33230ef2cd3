//! Number checks of custom-resource validation (kube-openapi's number
//! validator): `minimum`/`maximum` (exclusive or not), `multipleOf`, and the
//! representability of values and bounds in the node's type and format.
//!
//! Like upstream, an integer value is compared with integer bounds (bounds
//! truncated), a float value with float bounds; Go prints them differently.

use super::render::go_float;
use super::validate::{Code, OErr, Res, verr};
use serde_json::{Number, Value, json};

/// A JSON number as Go decodes it: int64 when it fits, float64 otherwise.
#[derive(Clone, Copy, Debug)]
pub(super) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(super) fn of(n: &Number) -> Num {
        match n.as_i64() {
            Some(i) => Num::Int(i),
            None => Num::Float(n.as_f64().unwrap_or(0.0)),
        }
    }
    pub(super) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
    fn to_value(self) -> Value {
        match self {
            Num::Int(i) => json!(i),
            Num::Float(f) => json!(f),
        }
    }
}

/// swag's `IsFloat64AJSONInteger`.
pub(super) fn is_json_integer(f: f64) -> bool {
    const MAX: f64 = 9_007_199_254_740_991.0;
    if !f.is_finite() || !(-MAX..=MAX).contains(&f) {
        return false;
    }
    let g = f.trunc();
    if f == g {
        return true;
    }
    let diff = (f - g).abs();
    diff / (f.abs() + g.abs()) < 1e-9
}

/// kube-openapi's `IsValueValidAgainstRange`: the value (or a bound) must be
/// representable in the node's type and format.
fn range_error(
    val: Num,
    type_name: &str,
    format: &str,
    prefix: &str,
    path: &str,
) -> Option<String> {
    // Go formats floats here with 'f' and shortest digits, as Display does.
    let rep = match val {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => format!("{f}"),
    };
    let ok = match type_name {
        "integer" => match format {
            "int32" => rep.parse::<i32>().is_ok(),
            _ => rep.parse::<i64>().is_ok(),
        },
        _ => match format {
            "float" => rep.parse::<f32>().map(f32::is_finite).unwrap_or(false),
            _ => true,
        },
    };
    if ok {
        return None;
    }
    Some(if format.is_empty() {
        format!("{prefix} value must be of type {type_name} (default format) in {path}")
    } else {
        format!("{prefix} value must be of type {type_name} with format {format} in {path}")
    })
}

pub(super) fn check_number(
    s: &Value,
    single: &str,
    format: &str,
    n: Num,
    path: &str,
    res: &mut Res,
) {
    let type_name = match single {
        "integer" | "number" => single,
        _ => "",
    };
    let check = |val: Num, prefix: &str| {
        if type_name.is_empty() {
            None
        } else {
            range_error(val, type_name, format, prefix, path)
        }
    };
    if let Some(e) = check(n, "Checked") {
        res.add(OErr::Plain(e));
    }
    let value = Some(n.to_value());

    if let Some(factor) = s.get("multipleOf").and_then(Value::as_f64) {
        let bound_err = check(Num::Float(factor), "MultipleOf");
        let native = bound_err.is_none();
        if let Some(e) = bound_err {
            res.add(OErr::Plain(e));
        }
        match (native, n) {
            (true, Num::Int(i)) => {
                let f = factor as i64;
                if f <= 0 {
                    res.add(verr(
                        Code::Other,
                        path,
                        Some(json!(f)),
                        format!("factor MultipleOf declared for {path} must be positive: {f}"),
                    ));
                } else if (i / f) * f != i {
                    res.add(verr(
                        Code::Other,
                        path,
                        value.clone(),
                        format!("{path} in body should be a multiple of {f}"),
                    ));
                }
            }
            _ => {
                let data = n.as_f64();
                if factor <= 0.0 {
                    res.add(verr(
                        Code::Other,
                        path,
                        Some(json!(factor)),
                        format!(
                            "factor MultipleOf declared for {path} must be positive: {}",
                            go_float(factor)
                        ),
                    ));
                } else {
                    let mult = if factor < 1.0 {
                        1.0 / factor * data
                    } else {
                        data / factor
                    };
                    if !is_json_integer(mult) {
                        res.add(verr(
                            Code::Other,
                            path,
                            value.clone(),
                            format!(
                                "{path} in body should be a multiple of {}",
                                go_float(factor)
                            ),
                        ));
                    }
                }
            }
        }
    }

    let bound = |key: &str, exclusive_key: &str, prefix: &str, res: &mut Res, is_min: bool| {
        let Some(b) = s.get(key).and_then(Value::as_f64) else {
            return;
        };
        let exclusive = s
            .get(exclusive_key)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let bound_err = check(Num::Float(b), prefix);
        let native = bound_err.is_none();
        if let Some(e) = bound_err {
            res.add(OErr::Plain(e));
        }
        let (fails, shown) = match (native, n) {
            (true, Num::Int(i)) => {
                let bi = b as i64;
                let fails = match (is_min, exclusive) {
                    (true, false) => i < bi,
                    (true, true) => i <= bi,
                    (false, false) => i > bi,
                    (false, true) => i >= bi,
                };
                (fails, bi.to_string())
            }
            _ => {
                let d = n.as_f64();
                let fails = match (is_min, exclusive) {
                    (true, false) => d < b,
                    (true, true) => d <= b,
                    (false, false) => d > b,
                    (false, true) => d >= b,
                };
                (fails, go_float(b))
            }
        };
        if fails {
            let rel = match (is_min, exclusive) {
                (true, false) => "greater than or equal to",
                (true, true) => "greater than",
                (false, false) => "less than or equal to",
                (false, true) => "less than",
            };
            res.add(verr(
                Code::Other,
                path,
                value.clone(),
                format!("{path} in body should be {rel} {shown}"),
            ));
        }
    };
    bound("minimum", "exclusiveMinimum", "Minimum boundary", res, true);
    bound(
        "maximum",
        "exclusiveMaximum",
        "Maximum boundary",
        res,
        false,
    );
}
