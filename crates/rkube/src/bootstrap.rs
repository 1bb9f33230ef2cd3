//! What every cluster has from the start: the `default`, `kube-system`,
//! `kube-public` and `kube-node-lease` namespaces, and the `kubernetes`
//! Service (10.43.0.1:443) with Endpoints pointing at this API server.

use apimachinery::ApiError;
use registry::engine::Registry;
use registry::options::WriteOptions;
use serde_json::json;

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
            reg.update(&ep, "default", "kubernetes", obj, None, &opts)
                .await
                .map_err(|e| anyhow::anyhow!("updating the kubernetes endpoints: {e}"))?;
        }
        Err(e) => anyhow::bail!("creating the kubernetes endpoints: {e}"),
    }
    Ok(())
}
