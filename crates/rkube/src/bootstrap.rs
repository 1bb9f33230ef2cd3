//! What every cluster has from the start: the `default`, `kube-system`,
//! `kube-public` and `kube-node-lease` namespaces, and the `kubernetes`
//! Service (10.43.0.1:443) with Endpoints and an EndpointSlice pointing at
//! this API server, the two system PriorityClasses, and one local APIService
//! per served group-version, as upstream's API server creates them.

use apimachinery::ApiError;
use registry::engine::Registry;
use registry::options::WriteOptions;
use serde_json::json;

/// Create `obj` unless an object of that name exists (then leave it).
async fn ensure(
    reg: &Registry,
    group: &str,
    version: &str,
    plural: &str,
    ns: &str,
    obj: serde_json::Value,
) -> anyhow::Result<()> {
    let cat = reg.catalog();
    let res = cat
        .find(group, version, plural)
        .ok_or_else(|| anyhow::anyhow!("{plural} missing from the catalog"))?;
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if reg.get(&res, ns, &name, "").await.is_ok() {
        return Ok(());
    }
    let opts = WriteOptions {
        default_manager: "rkube".into(),
        ..Default::default()
    };
    match reg.create(&res, ns, obj, &opts).await {
        Ok(_) | Err(ApiError { code: 409, .. }) => Ok(()),
        Err(e) => anyhow::bail!("creating {plural} {name}: {e}"),
    }
}

/// The two PriorityClasses every cluster has.
async fn priority_classes(reg: &Registry) -> anyhow::Result<()> {
    for (name, value, what) in [
        ("system-cluster-critical", 2_000_000_000i64, "cluster"),
        ("system-node-critical", 2_000_001_000, "node"),
    ] {
        let obj = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, "preemptionPolicy": "PreemptLowerPriority",
            "description": format!("Used for system critical pods that must not be moved from their current {what}.")});
        ensure(reg, "scheduling.k8s.io", "v1", "priorityclasses", "", obj).await?;
    }
    Ok(())
}

/// One APIService per built-in group-version, served locally.
async fn api_services(reg: &Registry) -> anyhow::Result<()> {
    let builtin = apimachinery::resources::Catalog::builtin();
    let cat = reg.catalog();
    for (order, (group, versions)) in cat.groups().into_iter().enumerate() {
        if builtin.versions(&group).is_empty() {
            continue;
        }
        for (vorder, version) in versions.iter().enumerate() {
            // The core group's is `v1.`, as upstream names it.
            let name = format!("{version}.{group}");
            let group_priority = (18000 - 100 * order as i64).max(1);
            let version_priority = (15 - vorder as i64).max(1);
            let obj = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": name, "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
                "spec": {"group": group, "version": version, "groupPriorityMinimum": group_priority,
                         "versionPriority": version_priority}});
            if let Err(e) = api_service(reg, &cat, &name, obj).await {
                tracing::warn!("APIService {name}: {e:#}");
            }
        }
    }
    Ok(())
}

async fn api_service(
    reg: &Registry,
    cat: &registry::engine::Catalog,
    name: &str,
    obj: serde_json::Value,
) -> anyhow::Result<()> {
    ensure(reg, "apiregistration.k8s.io", "v1", "apiservices", "", obj).await?;
    // Status goes through its subresource, as the aggregator writes it.
    let res = cat
        .find("apiregistration.k8s.io", "v1", "apiservices")
        .ok_or_else(|| anyhow::anyhow!("apiservices missing"))?;
    let mut current = reg
        .get(&res, "", name, "")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let available = current
        .pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|c| {
                c["type"] == "Available" && c["status"] == "True" && c["reason"] == "Local"
            })
        });
    if !available {
        current["status"] = json!({"conditions": [{"type": "Available", "status": "True", "reason": "Local",
            "message": "Local APIServices are always available",
            "lastTransitionTime": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()}]});
        let opts = WriteOptions {
            default_manager: "rkube".into(),
            ..Default::default()
        };
        reg.update(&res, "", name, current, Some("status"), &opts)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

pub async fn ensure_defaults(
    reg: &Registry,
    api_ip: Option<&str>,
    api_port: u16,
) -> anyhow::Result<()> {
    let cat = reg.catalog();
    let ns = cat
        .find("", "v1", "namespaces")
        .ok_or_else(|| anyhow::anyhow!("namespaces missing from the catalog"))?;
    let opts = WriteOptions {
        default_manager: "rkube".into(),
        ..Default::default()
    };
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match reg.create(&ns, "", obj, &opts).await {
            Ok(_) => {}
            Err(ApiError { code: 409, .. }) => {}
            Err(e) => anyhow::bail!("creating namespace {name}: {e}"),
        }
    }
    let svc = cat
        .find("", "v1", "services")
        .ok_or_else(|| anyhow::anyhow!("services missing from the catalog"))?;
    let obj = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.43.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": api_port}],
                 "sessionAffinity": "None", "type": "ClusterIP"}});
    // Create it once; later starts find it (a second create would fail on
    // the taken ClusterIP before it could report AlreadyExists).
    if reg.get(&svc, "default", "kubernetes", "").await.is_err() {
        match reg.create(&svc, "default", obj, &opts).await {
            Ok(_) | Err(ApiError { code: 409, .. }) => {}
            Err(e) => anyhow::bail!("creating the kubernetes service: {e}"),
        }
    }
    priority_classes(reg).await?;
    api_services(reg).await?;
    let Some(api_ip) = api_ip else {
        tracing::warn!("no non-loopback address: the kubernetes Service gets no endpoints");
        return Ok(());
    };
    let ep = cat
        .find("", "v1", "endpoints")
        .ok_or_else(|| anyhow::anyhow!("endpoints missing from the catalog"))?;
    let obj = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{"addresses": [{"ip": api_ip}], "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]}]});
    match reg.create(&ep, "default", obj.clone(), &opts).await {
        Ok(_) => {}
        Err(ApiError { code: 409, .. }) => {
            // The server's address may have changed since the last start.
            if let Err(e) = reg
                .update(&ep, "default", "kubernetes", obj, None, &opts)
                .await
            {
                tracing::warn!("updating the kubernetes endpoints: {e}");
            }
        }
        Err(e) => tracing::warn!("creating the kubernetes endpoints: {e}"),
    }
    let family = if api_ip.contains(':') { "IPv6" } else { "IPv4" };
    let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": family,
        "endpoints": [{"addresses": [api_ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]});
    let slices = cat
        .find("discovery.k8s.io", "v1", "endpointslices")
        .ok_or_else(|| anyhow::anyhow!("endpointslices missing"))?;
    let written = match reg.create(&slices, "default", slice.clone(), &opts).await {
        // The address or port may have changed since the last start.
        Err(ApiError { code: 409, .. }) => reg
            .update(&slices, "default", "kubernetes", slice, None, &opts)
            .await
            .map(|_| ()),
        other => other.map(|_| ()),
    };
    if let Err(e) = written {
        tracing::warn!("writing the kubernetes EndpointSlice: {e}");
    }
    Ok(())
}
