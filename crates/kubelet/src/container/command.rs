//! Command and args: `$(VAR)` expansion against the container's final env.
//! The CRI command replaces the image's ENTRYPOINT and args its CMD; the
//! runtime does the merge (an empty command keeps the entrypoint).

use super::env::expand;
use k8s_openapi::api::core::v1::Container;
use std::collections::BTreeMap;

/// `(command, args)` of `container` with references to `env` expanded
/// (upstream's `ExpandContainerCommandAndArgs`).
pub fn command_and_args(
    container: &Container,
    env: &[(String, String)],
) -> (Vec<String>, Vec<String>) {
    let map: BTreeMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let lookup = |k: &str| map.get(k).map(|v| v.to_string());
    let exp = |v: &Option<Vec<String>>| {
        v.iter()
            .flatten()
            .map(|s| expand(s, &lookup))
            .collect::<Vec<_>>()
    };
    (exp(&container.command), exp(&container.args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_command_and_args() {
        let c = Container {
            name: "c".into(),
            command: Some(vec!["/bin/$(SHELL)".into(), "-c".into()]),
            args: Some(vec!["echo $(MSG) $$(MSG) $(NOPE)".into()]),
            ..Default::default()
        };
        let env = vec![("SHELL".into(), "sh".into()), ("MSG".into(), "hi".into())];
        let (cmd, args) = command_and_args(&c, &env);
        assert_eq!(cmd, vec!["/bin/sh", "-c"]);
        assert_eq!(args, vec!["echo hi $(MSG) $(NOPE)"]);
    }

    #[test]
    fn missing_command_stays_empty() {
        let c = Container {
            name: "c".into(),
            ..Default::default()
        };
        let (cmd, args) = command_and_args(&c, &[]);
        assert!(cmd.is_empty() && args.is_empty());
    }
}
