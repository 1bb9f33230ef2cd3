//! The resource scoring strategies of NodeResourcesFit (upstream's
//! `resource_allocation` scorers) and the parsing of `scoringStrategy`.

use crate::framework::MAX_NODE_SCORE;
use serde::Deserialize;

/// Upstream's scale of RequestedToCapacityRatio shape scores (0..=10).
const MAX_CUSTOM_SCORE: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceWeight {
    pub name: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    LeastAllocated,
    MostAllocated,
    /// Shape points (utilization %, score already scaled to 0..=100).
    RequestedToCapacityRatio(Vec<(i64, i64)>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StrategyArgs {
    #[serde(rename = "type")]
    type_: Option<String>,
    resources: Option<Vec<ResourceArgs>>,
    requested_to_capacity_ratio: Option<RatioArgs>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceArgs {
    name: String,
    weight: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatioArgs {
    shape: Vec<ShapePoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShapePoint {
    utilization: i64,
    score: i64,
}

/// Parse and validate `scoringStrategy`; errors name the field.
pub fn parse_strategy(
    v: Option<&serde_json::Value>,
) -> Result<(Strategy, Vec<ResourceWeight>), String> {
    let defaults = vec![
        ResourceWeight {
            name: "cpu".into(),
            weight: 1,
        },
        ResourceWeight {
            name: "memory".into(),
            weight: 1,
        },
    ];
    let Some(v) = v else {
        return Ok((Strategy::LeastAllocated, defaults));
    };
    let a: StrategyArgs =
        serde_json::from_value(v.clone()).map_err(|e| format!("scoringStrategy: {e}"))?;
    let resources = match a.resources {
        None => defaults,
        Some(rs) => {
            let mut out = Vec::new();
            for (i, r) in rs.into_iter().enumerate() {
                let w = r.weight.unwrap_or(0);
                if !(1..=100).contains(&w) {
                    return Err(format!(
                        "scoringStrategy.resources[{i}].weight: Invalid value: {w}: resource weight of {} not in valid range [1, 100]",
                        r.name
                    ));
                }
                if out.iter().any(|o: &ResourceWeight| o.name == r.name) {
                    return Err(format!(
                        "scoringStrategy.resources[{i}].name: Duplicate value: \"{}\"",
                        r.name
                    ));
                }
                out.push(ResourceWeight {
                    name: r.name,
                    weight: w,
                });
            }
            out
        }
    };
    let strategy = match a.type_.as_deref().unwrap_or("LeastAllocated") {
        "LeastAllocated" => Strategy::LeastAllocated,
        "MostAllocated" => Strategy::MostAllocated,
        "RequestedToCapacityRatio" => {
            let shape = a.requested_to_capacity_ratio.map(|r| r.shape).ok_or_else(|| {
                "scoringStrategy.requestedToCapacityRatio: Required value: requestedToCapacityRatio is required for RequestedToCapacityRatio".to_string()
            })?;
            if shape.is_empty() {
                return Err("scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified".into());
            }
            let mut pts = Vec::new();
            for (i, p) in shape.iter().enumerate() {
                if !(0..=100).contains(&p.utilization) {
                    return Err(format!(
                        "scoringStrategy.requestedToCapacityRatio.shape[{i}].utilization: Invalid value: {}: not in valid range [0, 100]",
                        p.utilization
                    ));
                }
                if i > 0 && p.utilization <= shape[i - 1].utilization {
                    return Err(format!(
                        "scoringStrategy.requestedToCapacityRatio.shape[{i}].utilization: Invalid value: {}: utilization values must be sorted in increasing order",
                        p.utilization
                    ));
                }
                if !(0..=MAX_CUSTOM_SCORE).contains(&p.score) {
                    return Err(format!(
                        "scoringStrategy.requestedToCapacityRatio.shape[{i}].score: Invalid value: {}: not in valid range [0, 10]",
                        p.score
                    ));
                }
                pts.push((p.utilization, p.score * (MAX_NODE_SCORE / MAX_CUSTOM_SCORE)));
            }
            Strategy::RequestedToCapacityRatio(pts)
        }
        other => {
            return Err(format!(
                "scoringStrategy.type: Unsupported value: \"{other}\": supported values: \"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\""
            ));
        }
    };
    Ok((strategy, resources))
}

impl Strategy {
    /// Weighted score over ((requested, allocatable), weight) per resource;
    /// resources with nothing allocatable are left out.
    pub fn score(&self, items: impl Iterator<Item = ((i64, i64), i64)>) -> i64 {
        let (mut total, mut weights) = (0i64, 0i64);
        for ((req, cap), w) in items {
            if cap == 0 {
                continue;
            }
            let s = match self {
                Strategy::LeastAllocated => {
                    if req > cap {
                        0
                    } else {
                        (cap - req) * MAX_NODE_SCORE / cap
                    }
                }
                Strategy::MostAllocated => req.min(cap) * MAX_NODE_SCORE / cap,
                Strategy::RequestedToCapacityRatio(shape) => {
                    let util = if req > cap { 100 } else { req * 100 / cap };
                    piecewise(shape, util)
                }
            };
            total += s * w;
            weights += w;
        }
        if weights == 0 {
            return 0;
        }
        match self {
            Strategy::RequestedToCapacityRatio(_) => (total as f64 / weights as f64).round() as i64,
            _ => total / weights,
        }
    }
}

fn piecewise(shape: &[(i64, i64)], util: i64) -> i64 {
    let (Some(first), Some(last)) = (shape.first(), shape.last()) else {
        return 0;
    };
    if util <= first.0 {
        return first.1;
    }
    if util >= last.0 {
        return last.1;
    }
    for w in shape.windows(2) {
        let ((u0, s0), (u1, s1)) = (w[0], w[1]);
        if util <= u1 {
            return s0 + (s1 - s0) * (util - u0) / (u1 - u0);
        }
    }
    last.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requested_to_capacity_ratio_follows_the_shape() {
        let (s, _) = parse_strategy(Some(&json!({"type": "RequestedToCapacityRatio",
            "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}})))
        .unwrap();
        // 50% and 25% used: scores 50 and 25, mean 37.5 rounds to 38.
        assert_eq!(s.score([((2, 4), 1), ((1, 4), 1)].into_iter()), 38);
        assert_eq!(s.score([((5, 4), 1)].into_iter()), 100);
    }

    #[test]
    fn least_allocated_skips_resources_without_capacity() {
        let s = Strategy::LeastAllocated;
        assert_eq!(s.score([((1, 4), 1), ((0, 0), 5)].into_iter()), 75);
        assert_eq!(s.score(std::iter::empty()), 0);
    }

    #[test]
    fn bad_shapes_are_rejected() {
        let e = parse_strategy(Some(&json!({"type": "RequestedToCapacityRatio"}))).unwrap_err();
        assert!(e.contains("requestedToCapacityRatio"), "{e}");
        let e = parse_strategy(Some(&json!({"type": "RequestedToCapacityRatio",
            "requestedToCapacityRatio": {"shape": [{"utilization": 50, "score": 1}, {"utilization": 10, "score": 11}]}})))
        .unwrap_err();
        assert!(e.contains("shape[1].utilization"), "{e}");
    }
}
