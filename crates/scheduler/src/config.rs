//! The scheduler configuration file (`--scheduler-config`): upstream's
//! `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1) in YAML.
//! rkube runs one profile (profiles[0]); its plugin sets and plugin args
//! are checked here so a bad file fails at startup with the field named.

use crate::plugins::registry;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
pub const KIND: &str = "KubeSchedulerConfiguration";
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Extension points a profile's `plugins` may name. Only those rkube runs
/// plugins at are acted on; the others are accepted and validated.
pub const POINTS: &[&str] = &[
    "multiPoint",
    "preEnqueue",
    "queueSort",
    "preFilter",
    "filter",
    "postFilter",
    "preScore",
    "score",
    "reserve",
    "permit",
    "preBind",
    "bind",
    "postBind",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("parsing scheduler config: {0}")]
    Yaml(String),
    /// A field has a bad value: `<field path>: <what is wrong>`.
    #[error("invalid scheduler config: {field}: {message}")]
    Invalid { field: String, message: String },
}

pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// One plugin named in an `enabled` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    pub name: String,
    /// 0 = the plugin's default weight (score plugins only).
    pub weight: i64,
}

/// `enabled`/`disabled` of one extension point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginSetConfig {
    pub enabled: Vec<PluginRef>,
    pub disabled: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    pub scheduler_name: String,
    /// 0 = upstream's adaptive default.
    pub percentage_of_nodes_to_score: i32,
    pub pod_initial_backoff: Duration,
    pub pod_max_backoff: Duration,
    /// Extension point name (`score`, `multiPoint`, …) → its plugin set.
    pub plugins: BTreeMap<String, PluginSetConfig>,
    /// Plugin name → its args.
    pub plugin_config: BTreeMap<String, Value>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            scheduler_name: DEFAULT_SCHEDULER_NAME.into(),
            percentage_of_nodes_to_score: 0,
            pod_initial_backoff: Duration::from_secs(1),
            pod_max_backoff: Duration::from_secs(10),
            plugins: BTreeMap::new(),
            plugin_config: BTreeMap::new(),
        }
    }
}

fn int(v: &Value, field: &str) -> Result<i64, ConfigError> {
    v.as_i64()
        .ok_or_else(|| invalid(field, format!("Invalid value: {v}: must be an integer")))
}

fn string<'a>(v: &'a Value, field: &str) -> Result<&'a str, ConfigError> {
    v.as_str()
        .ok_or_else(|| invalid(field, format!("Invalid value: {v}: must be a string")))
}

fn is_known(name: &str) -> bool {
    registry::find(name).is_some()
        || registry::NO_OP_PLUGINS.contains(&name)
        || registry::DEFAULT_PLUGINS.contains(&name)
}

impl SchedulerConfig {
    /// Read and validate a configuration file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// Parse and validate configuration text (YAML or JSON).
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let v: Value =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Yaml(e.to_string()))?;
        let cfg = Self::from_value(&v)?;
        // Building the profile checks plugin args and extension points.
        crate::profile::Profile::build(&cfg, None)?;
        Ok(cfg)
    }

    fn from_value(v: &Value) -> Result<Self, ConfigError> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid("<root>", "must be a mapping"))?;
        match obj.get("apiVersion").and_then(Value::as_str) {
            Some(API_VERSION) => {}
            other => {
                return Err(invalid(
                    "apiVersion",
                    format!(
                        "Unsupported value: {:?}: supported values: \"{API_VERSION}\"",
                        other.unwrap_or("")
                    ),
                ));
            }
        }
        match obj.get("kind").and_then(Value::as_str) {
            Some(KIND) => {}
            other => {
                return Err(invalid(
                    "kind",
                    format!(
                        "Unsupported value: {:?}: supported values: \"{KIND}\"",
                        other.unwrap_or("")
                    ),
                ));
            }
        }
        let mut cfg = SchedulerConfig::default();
        if let Some(p) = obj.get("percentageOfNodesToScore").filter(|p| !p.is_null()) {
            cfg.percentage_of_nodes_to_score = percentage(p, "percentageOfNodesToScore")?;
        }
        for (key, slot) in [
            ("podInitialBackoffSeconds", &mut cfg.pod_initial_backoff),
            ("podMaxBackoffSeconds", &mut cfg.pod_max_backoff),
        ] {
            if let Some(s) = obj.get(key).filter(|s| !s.is_null()) {
                let n = int(s, key)?;
                if n <= 0 {
                    return Err(invalid(
                        key,
                        format!("Invalid value: {n}: must be greater than 0"),
                    ));
                }
                *slot = Duration::from_secs(n as u64);
            }
        }
        if cfg.pod_max_backoff < cfg.pod_initial_backoff {
            return Err(invalid(
                "podMaxBackoffSeconds",
                "Invalid value: must be greater than or equal to podInitialBackoffSeconds",
            ));
        }
        let profiles = match obj.get("profiles") {
            None | Some(Value::Null) => return Ok(cfg),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(invalid("profiles", "must be a list")),
        };
        if profiles.len() > 1 {
            tracing::warn!("scheduler config: only profiles[0] is used");
        }
        let Some(profile) = profiles.first() else {
            return Ok(cfg);
        };
        let f = "profiles[0]";
        let profile = profile
            .as_object()
            .ok_or_else(|| invalid(f, "must be a mapping"))?;
        if let Some(n) = profile.get("schedulerName").filter(|n| !n.is_null()) {
            cfg.scheduler_name = string(n, &format!("{f}.schedulerName"))?.to_string();
        }
        if let Some(p) = profile
            .get("percentageOfNodesToScore")
            .filter(|p| !p.is_null())
        {
            cfg.percentage_of_nodes_to_score =
                percentage(p, &format!("{f}.percentageOfNodesToScore"))?;
        }
        if let Some(plugins) = profile.get("plugins").filter(|p| !p.is_null()) {
            let plugins = plugins
                .as_object()
                .ok_or_else(|| invalid(format!("{f}.plugins"), "must be a mapping"))?;
            for (point, set) in plugins {
                let pf = format!("{f}.plugins.{point}");
                if !POINTS.contains(&point.as_str()) {
                    return Err(invalid(pf, "unknown extension point"));
                }
                cfg.plugins.insert(point.clone(), plugin_set(set, &pf)?);
            }
        }
        if let Some(pcs) = profile.get("pluginConfig").filter(|p| !p.is_null()) {
            let pcs = pcs
                .as_array()
                .ok_or_else(|| invalid(format!("{f}.pluginConfig"), "must be a list"))?;
            for (i, pc) in pcs.iter().enumerate() {
                let pf = format!("{f}.pluginConfig[{i}]");
                let name = string(
                    pc.get("name").unwrap_or(&Value::Null),
                    &format!("{pf}.name"),
                )?;
                if !is_known(name) {
                    return Err(invalid(
                        format!("{pf}.name"),
                        format!("unknown plugin {name:?}"),
                    ));
                }
                if cfg.plugin_config.contains_key(name) {
                    return Err(invalid(
                        format!("{pf}.name"),
                        format!("Duplicate value: {name:?}"),
                    ));
                }
                let args = pc.get("args").cloned().unwrap_or(Value::Null);
                cfg.plugin_config.insert(name.to_string(), args);
            }
        }
        Ok(cfg)
    }
}

fn percentage(v: &Value, field: &str) -> Result<i32, ConfigError> {
    let n = int(v, field)?;
    if !(0..=100).contains(&n) {
        return Err(invalid(
            field,
            format!("Invalid value: {n}: not in valid range [0-100]"),
        ));
    }
    Ok(n as i32)
}

fn plugin_set(v: &Value, f: &str) -> Result<PluginSetConfig, ConfigError> {
    let mut out = PluginSetConfig::default();
    if v.is_null() {
        return Ok(out);
    }
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(f, "must be a mapping"))?;
    for (key, list) in obj {
        let lf = format!("{f}.{key}");
        if key != "enabled" && key != "disabled" {
            return Err(invalid(lf, "unknown field"));
        }
        if list.is_null() {
            continue;
        }
        let list = list
            .as_array()
            .ok_or_else(|| invalid(&lf, "must be a list"))?;
        for (i, p) in list.iter().enumerate() {
            let pf = format!("{lf}[{i}]");
            let name = string(p.get("name").unwrap_or(&Value::Null), &format!("{pf}.name"))?;
            if (name != "*" || key != "disabled") && !is_known(name) {
                return Err(invalid(
                    format!("{pf}.name"),
                    format!("unknown plugin {name:?}"),
                ));
            }
            if key == "disabled" {
                out.disabled.push(name.to_string());
                continue;
            }
            let weight = match p.get("weight").filter(|w| !w.is_null()) {
                None => 0,
                Some(w) => int(w, &format!("{pf}.weight"))?,
            };
            if !(0..=100).contains(&weight) {
                return Err(invalid(
                    format!("{pf}.weight"),
                    format!("Invalid value: {weight}: not in valid range [0, 100]"),
                ));
            }
            out.enabled.push(PluginRef {
                name: name.to_string(),
                weight,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        SchedulerConfig::from_yaml(text).unwrap_err().to_string()
    }

    const HEAD: &str =
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";

    #[test]
    fn parses_profile_plugins_and_args() {
        let cfg = SchedulerConfig::from_yaml(&format!(
            "{HEAD}percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      enabled:
      - name: NodeResourcesFit
        weight: 5
      disabled:
      - name: ImageLocality
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - name: cpu
          weight: 2
"
        ))
        .unwrap();
        assert_eq!(cfg.percentage_of_nodes_to_score, 30);
        assert_eq!(cfg.plugins["score"].enabled[0].weight, 5);
        assert_eq!(cfg.plugins["score"].disabled, vec!["ImageLocality"]);
        assert!(cfg.plugin_config.contains_key("NodeResourcesFit"));
    }

    #[test]
    fn errors_name_the_field() {
        assert!(err("kind: KubeSchedulerConfiguration\napiVersion: v1\n").contains("apiVersion"));
        assert!(err("apiVersion: kubescheduler.config.k8s.io/v1\nkind: Nope\n").contains("kind"));
        assert!(err("a: [").contains("parsing"));
        let e = err(&format!(
            "{HEAD}profiles:\n- plugins:\n    score:\n      enabled:\n      - name: Bogus\n"
        ));
        assert!(
            e.contains("profiles[0].plugins.score.enabled[0].name") && e.contains("Bogus"),
            "{e}"
        );
        let e = err(&format!(
            "{HEAD}profiles:\n- plugins:\n    score:\n      enabled:\n      - name: ImageLocality\n        weight: -1\n"
        ));
        assert!(
            e.contains("profiles[0].plugins.score.enabled[0].weight"),
            "{e}"
        );
        let e = err(&format!(
            "{HEAD}profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n        type: Bad\n"
        ));
        assert!(
            e.contains("pluginConfig") && e.contains("scoringStrategy.type"),
            "{e}"
        );
        let e = err(&format!("{HEAD}percentageOfNodesToScore: 101\n"));
        assert!(e.contains("percentageOfNodesToScore"), "{e}");
        let e = err(&format!(
            "{HEAD}profiles:\n- plugins:\n    score:\n      enabled:\n      - name: NodeName\n"
        ));
        assert!(e.contains("does not extend score"), "{e}");
    }
}
