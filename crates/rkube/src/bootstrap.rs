//! What every cluster has from the start: the `default`, `kube-system`,
//! `kube-public` and `kube-node-lease` namespaces.

use apimachinery::ApiError;
use registry::engine::Registry;
use registry::options::WriteOptions;
use serde_json::json;

pub async fn ensure_defaults(reg: &Registry) -> anyhow::Result<()> {
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
    Ok(())
}
