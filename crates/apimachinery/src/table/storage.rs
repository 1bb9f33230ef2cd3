//! Storage: persistent volumes and claims, storage classes, CSI drivers,
//! nodes and capacities, volume attachments.

use jiff::Timestamp;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1 as storage;
use serde_json::Value;

use super::docs::field;
use super::util::{age, arr, boolean, get, len, name, opt_s, s};
use super::{ColumnDefinition, Printer, age_column, name_column, text};

pub(crate) static PRINTERS: &[Printer] = &[
    Printer {
        group: "",
        plural: "persistentvolumes",
        columns: pv_columns,
        cells: pv_cells,
    },
    Printer {
        group: "",
        plural: "persistentvolumeclaims",
        columns: pvc_columns,
        cells: pvc_cells,
    },
    Printer {
        group: "storage.k8s.io",
        plural: "storageclasses",
        columns: sc_columns,
        cells: sc_cells,
    },
    Printer {
        group: "storage.k8s.io",
        plural: "csidrivers",
        columns: csi_driver_columns,
        cells: csi_driver_cells,
    },
    Printer {
        group: "storage.k8s.io",
        plural: "csinodes",
        columns: csi_node_columns,
        cells: csi_node_cells,
    },
    Printer {
        group: "storage.k8s.io",
        plural: "csistoragecapacities",
        columns: capacity_columns,
        cells: capacity_cells,
    },
    Printer {
        group: "storage.k8s.io",
        plural: "volumeattachments",
        columns: attachment_columns,
        cells: attachment_cells,
    },
];

/// `RWO,ROX,RWX,RWOP` in that fixed order (`GetAccessModesAsString`).
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(m, _)| has(m))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The storage class, the beta annotation winning over the field.
fn storage_class(obj: &Value) -> String {
    if let Some(c) = get(
        obj,
        &[
            "metadata",
            "annotations",
            "volume.beta.kubernetes.io/storage-class",
        ],
    )
    .and_then(Value::as_str)
    {
        return c.to_string();
    }
    s(obj, &["spec", "storageClassName"]).to_string()
}

fn phase(obj: &Value) -> String {
    if get(obj, &["metadata", "deletionTimestamp"]).is_some_and(|d| !d.is_null()) {
        return "Terminating".into();
    }
    s(obj, &["status", "phase"]).to_string()
}

fn or_unset(v: Option<&str>) -> Value {
    v.unwrap_or("<unset>").into()
}

fn pv_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<core::PersistentVolumeSpec>(f);
    let status = |f: &str| field::<core::PersistentVolumeStatus>(f);
    vec![
        name_column(),
        text("Capacity", spec("capacity")),
        text("Access Modes", spec("accessModes")),
        text("Reclaim Policy", spec("persistentVolumeReclaimPolicy")),
        text("Status", status("phase")),
        text("Claim", spec("claimRef")),
        text("StorageClass", "StorageClass of the pv"),
        text("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        text("Reason", status("reason")),
        age_column(),
        text("VolumeMode", spec("volumeMode")).wide(),
    ]
}

fn pv_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let claim = get(obj, &["spec", "claimRef"])
        .filter(|c| c.is_object())
        .map_or_else(String::new, |c| {
            format!("{}/{}", s(c, &["namespace"]), s(c, &["name"]))
        });
    vec![
        name(obj),
        opt_s(obj, &["spec", "capacity", "storage"])
            .unwrap_or("0")
            .into(),
        access_modes(arr(obj, &["spec", "accessModes"])).into(),
        s(obj, &["spec", "persistentVolumeReclaimPolicy"]).into(),
        phase(obj).into(),
        claim.into(),
        storage_class(obj).into(),
        or_unset(opt_s(obj, &["spec", "volumeAttributesClassName"])),
        s(obj, &["status", "reason"]).into(),
        age(obj, now),
        or_unset(opt_s(obj, &["spec", "volumeMode"])),
    ]
}

fn pvc_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<core::PersistentVolumeClaimSpec>(f);
    let status = |f: &str| field::<core::PersistentVolumeClaimStatus>(f);
    vec![
        name_column(),
        text("Status", status("phase")),
        text("Volume", spec("volumeName")),
        text("Capacity", status("capacity")),
        text("Access Modes", status("accessModes")),
        text("StorageClass", "StorageClass of the pvc"),
        text("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        age_column(),
        text("VolumeMode", spec("volumeMode")).wide(),
    ]
}

fn pvc_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let volume = s(obj, &["spec", "volumeName"]);
    // Capacity and modes are only shown once the claim is bound.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            opt_s(obj, &["status", "capacity", "storage"])
                .unwrap_or("0")
                .to_string(),
            access_modes(arr(obj, &["status", "accessModes"])),
        )
    };
    vec![
        name(obj),
        phase(obj).into(),
        volume.into(),
        capacity.into(),
        modes.into(),
        storage_class(obj).into(),
        or_unset(opt_s(obj, &["spec", "volumeAttributesClassName"])),
        age(obj, now),
        or_unset(opt_s(obj, &["spec", "volumeMode"])),
    ]
}

fn sc_columns() -> Vec<ColumnDefinition> {
    let doc = |f: &str| field::<storage::StorageClass>(f);
    vec![
        name_column(),
        text("Provisioner", doc("provisioner")),
        text("ReclaimPolicy", doc("reclaimPolicy")),
        text("VolumeBindingMode", doc("volumeBindingMode")),
        text("AllowVolumeExpansion", doc("allowVolumeExpansion")),
        age_column(),
    ]
}

fn sc_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let annotation = |k: &str| s(obj, &["metadata", "annotations", k]) == "true";
    let mut n = s(obj, &["metadata", "name"]).to_string();
    if annotation("storageclass.kubernetes.io/is-default-class")
        || annotation("storageclass.beta.kubernetes.io/is-default-class")
    {
        n.push_str(" (default)");
    }
    vec![
        n.into(),
        s(obj, &["provisioner"]).into(),
        opt_s(obj, &["reclaimPolicy"]).unwrap_or("Delete").into(),
        opt_s(obj, &["volumeBindingMode"])
            .unwrap_or("Immediate")
            .into(),
        boolean(obj, &["allowVolumeExpansion"]).into(),
        age(obj, now),
    ]
}

fn csi_driver_columns() -> Vec<ColumnDefinition> {
    let spec = |f: &str| field::<storage::CSIDriverSpec>(f);
    let bool_col = |n: &str, f: &str| ColumnDefinition::new(n, "boolean", spec(f));
    vec![
        name_column(),
        bool_col("AttachRequired", "attachRequired"),
        bool_col("PodInfoOnMount", "podInfoOnMount"),
        bool_col("StorageCapacity", "storageCapacity"),
        text("TokenRequests", spec("tokenRequests")),
        bool_col("RequiresRepublish", "requiresRepublish"),
        text("Modes", spec("volumeLifecycleModes")),
        age_column(),
    ]
}

fn csi_driver_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let flag = |f: &str, default: bool| {
        get(obj, &["spec", f])
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    let tokens = match get(obj, &["spec", "tokenRequests"]).and_then(Value::as_array) {
        None => "<unset>".to_string(),
        Some(t) => t
            .iter()
            .map(|t| s(t, &["audience"]))
            .collect::<Vec<_>>()
            .join(","),
    };
    let modes: Vec<&str> = arr(obj, &["spec", "volumeLifecycleModes"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let modes = if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    };
    vec![
        name(obj),
        flag("attachRequired", true).into(),
        flag("podInfoOnMount", false).into(),
        flag("storageCapacity", false).into(),
        tokens.into(),
        flag("requiresRepublish", false).into(),
        modes.into(),
        age(obj, now),
    ]
}

fn csi_node_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        ColumnDefinition::new(
            "Drivers",
            "integer",
            "Drivers indicates the number of CSI drivers registered on the node",
        ),
        age_column(),
    ]
}

fn csi_node_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        len(obj, &["spec", "drivers"]).into(),
        age(obj, now),
    ]
}

fn capacity_columns() -> Vec<ColumnDefinition> {
    let doc = |f: &str| field::<storage::CSIStorageCapacity>(f);
    vec![
        name_column(),
        text("StorageClassName", doc("storageClassName")),
        text("Capacity", doc("capacity")),
    ]
}

fn capacity_cells(obj: &Value, _now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, &["storageClassName"]).into(),
        or_unset(opt_s(obj, &["capacity"])),
    ]
}

fn attachment_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        text(
            "Attacher",
            field::<storage::VolumeAttachmentSpec>("attacher"),
        )
        .with_format("name"),
        text(
            "PV",
            field::<storage::VolumeAttachmentSource>("persistentVolumeName"),
        ),
        text("Node", field::<storage::VolumeAttachmentSpec>("nodeName")),
        ColumnDefinition::new(
            "Attached",
            "boolean",
            field::<storage::VolumeAttachmentStatus>("attached"),
        ),
        age_column(),
    ]
}

fn attachment_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, &["spec", "attacher"]).into(),
        s(obj, &["spec", "source", "persistentVolumeName"]).into(),
        s(obj, &["spec", "nodeName"]).into(),
        boolean(obj, &["status", "attached"]).into(),
        age(obj, now),
    ]
}
