//! A container's environment, upstream's `makeEnvironmentVariables`: service
//! links, `envFrom`, then `env` in order with `$(VAR)` expansion and
//! `valueFrom` (ConfigMap/Secret keys, pod fields, resource fields).

use super::{ContainerConfigError, ContainerContext, resources};
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, Pod, Secret, Service};
use std::collections::BTreeMap;

/// Upstream's `$(VAR)` expansion: `$$` is a literal `$`, references `lookup`
/// does not know (and unterminated ones) stay as written.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(') {
            match tail.find(')') {
                Some(end) => {
                    let name = &tail[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &tail[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = tail;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Upstream's relaxed env var name rule: printable ASCII without `=`.
pub fn is_env_var_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'=')
}

/// An ordered env: later writes replace the value but keep the first position.
#[derive(Default, Debug, Clone)]
pub struct EnvList {
    vars: Vec<(String, String)>,
    index: BTreeMap<String, usize>,
}

impl EnvList {
    pub fn set(&mut self, k: String, v: String) {
        match self.index.get(&k) {
            Some(&i) => self.vars[i].1 = v,
            None => {
                self.index.insert(k.clone(), self.vars.len());
                self.vars.push((k, v));
            }
        }
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.index.get(k).map(|&i| self.vars[i].1.as_str())
    }
    pub fn contains(&self, k: &str) -> bool {
        self.index.contains_key(k)
    }
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.vars
    }
    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.vars.iter()
    }
}

fn cm_not_found(name: &str) -> ContainerConfigError {
    ContainerConfigError::Config(format!("configmap \"{name}\" not found"))
}
fn secret_not_found(name: &str) -> ContainerConfigError {
    ContainerConfigError::Config(format!("secret \"{name}\" not found"))
}

/// A Secret's data as strings (`data` is already base64-decoded by the API
/// type); `stringData` fills keys a server left unmerged.
pub fn secret_strings(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = s
        .string_data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in s.data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    out
}

/// The environment of `container`, upstream's order of precedence: `env`
/// over `envFrom` over service links.
pub async fn make_env(
    ctx: &ContainerContext<'_>,
    container: &Container,
) -> Result<Vec<(String, String)>, ContainerConfigError> {
    let pod = ctx.pod;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let service_env = service_env(ctx, ns).await?;
    let mut env = EnvList::default();
    let mut cms: BTreeMap<String, Option<ConfigMap>> = BTreeMap::new();
    let mut secrets: BTreeMap<String, Option<Secret>> = BTreeMap::new();

    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or("");
        let (data, what, name): (BTreeMap<String, Vec<u8>>, _, _) =
            if let Some(r) = &from.config_map_ref {
                let cm = config_map(ctx, ns, &r.name, &mut cms).await?;
                match cm {
                    Some(cm) => (
                        cm.data
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                            .collect(),
                        "configMap",
                        r.name.clone(),
                    ),
                    None if r.optional == Some(true) => continue,
                    None => return Err(cm_not_found(&r.name)),
                }
            } else if let Some(r) = &from.secret_ref {
                match secret(ctx, ns, &r.name, &mut secrets).await? {
                    Some(s) => (secret_strings(&s), "secret", r.name.clone()),
                    None if r.optional == Some(true) => continue,
                    None => return Err(secret_not_found(&r.name)),
                }
            } else {
                continue;
            };
        let mut invalid = vec![];
        for (k, v) in data {
            let key = format!("{prefix}{k}");
            if !is_env_var_name(&key) {
                invalid.push(key);
                continue;
            }
            env.set(key, String::from_utf8_lossy(&v).into_owned());
        }
        if !invalid.is_empty() {
            tracing::warn!(
                pod = pod.metadata.name.as_deref().unwrap_or_default(),
                "keys {invalid:?} from the EnvFrom {what} {ns}/{name} were skipped since they are considered invalid environment variable names"
            );
        }
    }

    for var in container.env.iter().flatten() {
        let value = env_value(
            ctx,
            container,
            var,
            &env,
            &service_env,
            ns,
            &mut cms,
            &mut secrets,
        )
        .await?;
        if let Some(value) = value {
            env.set(var.name.clone(), value);
        }
    }
    for (k, v) in service_env.iter() {
        if !env.contains(k) {
            env.set(k.clone(), v.clone());
        }
    }
    Ok(env.into_vec())
}

/// One `env` entry's value; `None` skips it (an optional missing source).
#[allow(clippy::too_many_arguments)]
async fn env_value(
    ctx: &ContainerContext<'_>,
    container: &Container,
    var: &EnvVar,
    env: &EnvList,
    service_env: &EnvList,
    ns: &str,
    cms: &mut BTreeMap<String, Option<ConfigMap>>,
    secrets: &mut BTreeMap<String, Option<Secret>>,
) -> Result<Option<String>, ContainerConfigError> {
    if let Some(v) = var.value.as_deref().filter(|v| !v.is_empty()) {
        let lookup = |k: &str| {
            env.get(k)
                .or_else(|| service_env.get(k))
                .map(str::to_string)
        };
        return Ok(Some(expand(v, &lookup)));
    }
    let Some(from) = &var.value_from else {
        return Ok(Some(String::new()));
    };
    if let Some(f) = &from.field_ref {
        return pod_field_value(ctx.pod, &f.field_path, ctx.pod_ip, Some(ctx.host_ip))
            .map(Some)
            .map_err(ContainerConfigError::Config);
    }
    if let Some(r) = &from.resource_field_ref {
        let target = match r.container_name.as_deref() {
            Some(n) if !n.is_empty() && n != container.name => find_container(ctx.pod, n)
                .ok_or_else(|| ContainerConfigError::Config(format!("container {n} not found")))?,
            _ => container,
        };
        let alloc = ctx.sources.node_allocatable();
        return resources::resource_field_value(
            target,
            &r.resource,
            r.divisor.as_ref(),
            alloc.as_ref(),
        )
        .map(Some)
        .map_err(ContainerConfigError::Config);
    }
    if let Some(r) = &from.config_map_key_ref {
        let optional = r.optional == Some(true);
        return match config_map(ctx, ns, &r.name, cms).await? {
            None if optional => Ok(None),
            None => Err(cm_not_found(&r.name)),
            Some(cm) => match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
                Some(v) => Ok(Some(v.clone())),
                None if optional => Ok(None),
                None => Err(ContainerConfigError::Config(format!(
                    "couldn't find key {} in ConfigMap {ns}/{}",
                    r.key, r.name
                ))),
            },
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let optional = r.optional == Some(true);
        return match secret(ctx, ns, &r.name, secrets).await? {
            None if optional => Ok(None),
            None => Err(secret_not_found(&r.name)),
            Some(s) => match secret_strings(&s).remove(&r.key) {
                Some(v) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
                None if optional => Ok(None),
                None => Err(ContainerConfigError::Config(format!(
                    "couldn't find key {} in Secret {ns}/{}",
                    r.key, r.name
                ))),
            },
        };
    }
    Ok(Some(String::new()))
}

pub(crate) fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

async fn config_map(
    ctx: &ContainerContext<'_>,
    ns: &str,
    name: &str,
    cache: &mut BTreeMap<String, Option<ConfigMap>>,
) -> Result<Option<ConfigMap>, ContainerConfigError> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let v = ctx
        .sources
        .config_map(ns, name)
        .await
        .map_err(ContainerConfigError::Config)?;
    cache.insert(name.to_string(), v.clone());
    Ok(v)
}

async fn secret(
    ctx: &ContainerContext<'_>,
    ns: &str,
    name: &str,
    cache: &mut BTreeMap<String, Option<Secret>>,
) -> Result<Option<Secret>, ContainerConfigError> {
    if let Some(v) = cache.get(name) {
        return Ok(v.clone());
    }
    let v = ctx
        .sources
        .secret(ns, name)
        .await
        .map_err(ContainerConfigError::Config)?;
    cache.insert(name.to_string(), v.clone());
    Ok(v)
}

/// Upstream's `FormatMap`: sorted `k="v"` lines (Go `%q` quoting).
pub fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", serde_json::Value::String(v.clone())))
        .collect::<Vec<_>>()
        .join("\n")
}

fn subscript<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    let inner = rest.strip_prefix("['")?.strip_suffix("']")?;
    Some(inner)
}

/// A pod field by `fieldPath` (downward API). `pod_ip`/`host_ip` cover the
/// moments before the pod's status carries them.
pub fn pod_field_value(
    pod: &Pod,
    path: &str,
    pod_ip: Option<&str>,
    host_ip: Option<&str>,
) -> Result<String, String> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    if let Some(k) = subscript(path, "metadata.labels") {
        return Ok(meta
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_default());
    }
    if let Some(k) = subscript(path, "metadata.annotations") {
        return Ok(meta
            .annotations
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_default());
    }
    let join =
        |ips: Option<Vec<String>>, fallback: Option<&str>| match ips.filter(|v| !v.is_empty()) {
            Some(v) => v.join(","),
            None => fallback.unwrap_or_default().to_string(),
        };
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.hostIP" => status
            .and_then(|s| s.host_ip.clone())
            .or(host_ip.map(str::to_string))
            .unwrap_or_default(),
        "status.hostIPs" => join(
            status
                .and_then(|s| s.host_ips.as_ref())
                .map(|v| v.iter().map(|i| i.ip.clone()).collect()),
            host_ip,
        ),
        "status.podIP" => pod_ip
            .map(str::to_string)
            .or_else(|| status.and_then(|s| s.pod_ip.clone()))
            .unwrap_or_default(),
        "status.podIPs" => join(
            status
                .and_then(|s| s.pod_ips.as_ref())
                .map(|v| v.iter().map(|i| i.ip.clone()).collect()),
            pod_ip,
        ),
        _ => return Err(format!("unsupported fieldPath: {path}")),
    })
}

/// Upstream's service links (`FromServices`): `<NAME>_SERVICE_HOST`,
/// `_SERVICE_PORT[_<PORT>]` and the Docker-link `<NAME>_PORT*` variables.
pub fn service_link_vars(services: &[Service]) -> EnvList {
    let mut env = EnvList::default();
    for svc in services {
        let Some(spec) = &svc.spec else { continue };
        let ip = match spec.cluster_ip.as_deref() {
            Some(ip) if !ip.is_empty() && ip != "None" => ip,
            _ => continue,
        };
        let name = svc
            .metadata
            .name
            .as_deref()
            .unwrap_or_default()
            .to_uppercase()
            .replace('-', "_");
        env.set(format!("{name}_SERVICE_HOST"), ip.to_string());
        let ports = spec.ports.as_deref().unwrap_or_default();
        if let Some(p) = ports.first() {
            env.set(format!("{name}_SERVICE_PORT"), p.port.to_string());
        }
        for p in ports {
            if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
                env.set(
                    format!(
                        "{name}_SERVICE_PORT_{}",
                        pn.to_uppercase().replace('-', "_")
                    ),
                    p.port.to_string(),
                );
            }
        }
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        for (i, p) in ports.iter().enumerate() {
            let proto = p.protocol.as_deref().unwrap_or("TCP");
            let lower = proto.to_lowercase();
            let url = format!("{lower}://{host}:{}", p.port);
            if i == 0 {
                env.set(format!("{name}_PORT"), url.clone());
            }
            let prefix = format!("{name}_PORT_{}_{}", p.port, proto.to_uppercase());
            env.set(prefix.clone(), url);
            env.set(format!("{prefix}_PROTO"), lower);
            env.set(format!("{prefix}_PORT"), p.port.to_string());
            env.set(format!("{prefix}_ADDR"), ip.to_string());
        }
    }
    env
}

/// Upstream's `getServiceEnvVarMap`: the `kubernetes` service of `default`
/// always, the pod namespace's services when `enableServiceLinks` (default on).
async fn service_env(
    ctx: &ContainerContext<'_>,
    ns: &str,
) -> Result<EnvList, ContainerConfigError> {
    let links = ctx
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let mut by_name: BTreeMap<String, Service> = BTreeMap::new();
    if links {
        for s in ctx
            .sources
            .services(ns)
            .await
            .map_err(ContainerConfigError::Config)?
        {
            by_name.insert(s.metadata.name.clone().unwrap_or_default(), s);
        }
    }
    if !by_name.contains_key("kubernetes") && (ns != "default" || !links) {
        let master = ctx
            .sources
            .services("default")
            .await
            .map_err(ContainerConfigError::Config)?;
        if let Some(s) = master
            .into_iter()
            .find(|s| s.metadata.name.as_deref() == Some("kubernetes"))
        {
            by_name.insert("kubernetes".into(), s);
        }
    }
    let list: Vec<Service> = by_name.into_values().collect();
    Ok(service_link_vars(&list))
}
