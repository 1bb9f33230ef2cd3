//! Writing OCI image archives (a tar of an OCI image layout: `oci-layout`,
//! `index.json`, `blobs/sha256/…`) that `ctr images import` accepts, from
//! layers built in memory. Output is deterministic (fixed mtimes and
//! owners), so rebuilding an image gives the same digests.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// The OCI annotation with the image's reference name.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's annotation with the full image name to import under.
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// A fixed timestamp for every entry: 2000-01-01T00:00:00Z.
const MTIME: u64 = 946_684_800;

fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// An uncompressed layer tar built entry by entry. Parents must be added
/// before their children.
pub struct LayerBuilder {
    tar: tar::Builder<Vec<u8>>,
}

impl Default for LayerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerBuilder {
    pub fn new() -> Self {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        LayerBuilder { tar }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(MTIME);
        h
    }

    pub fn dir(&mut self, path: &str, mode: u32) -> std::io::Result<()> {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        self.tar.append_data(
            &mut h,
            format!("{}/", path.trim_end_matches('/')),
            std::io::empty(),
        )
    }

    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> std::io::Result<()> {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.tar.append_data(&mut h, path, data)
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> std::io::Result<()> {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.tar.append_link(&mut h, path, target)
    }

    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        self.tar.into_inner()
    }
}

/// What an image is: names, how it runs, and its layers (bottom first).
#[derive(Clone, Debug, Default)]
pub struct ImageDef {
    /// Full references (`rkube.local/pause:1`); each becomes one entry of the index.
    pub names: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub layers: Vec<Vec<u8>>,
}

/// The OCI platform architecture of this machine.
pub fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

struct Blob {
    digest: String,
    data: Vec<u8>,
}

impl Blob {
    fn new(data: Vec<u8>) -> Blob {
        Blob {
            digest: format!("sha256:{}", sha256_hex(&data)),
            data,
        }
    }

    fn descriptor(&self, media_type: &str) -> serde_json::Value {
        serde_json::json!({
            "mediaType": media_type,
            "digest": self.digest,
            "size": self.data.len(),
        })
    }
}

/// Serialise the image's blobs and index; the archive bytes.
pub fn archive_bytes(def: &ImageDef) -> std::io::Result<Vec<u8>> {
    let layers: Vec<Blob> = def.layers.iter().cloned().map(Blob::new).collect();
    let mut config = serde_json::json!({
        "architecture": oci_arch(),
        "os": "linux",
        "config": { "Env": def.env },
        "rootfs": {
            "type": "layers",
            // Uncompressed layers: the diff ID is the blob's own digest.
            "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>(),
        },
        "history": [{ "created_by": "rkube", "comment": "built by rkube from the host's busybox" }],
    });
    let c = &mut config["config"];
    if !def.entrypoint.is_empty() {
        c["Entrypoint"] = serde_json::json!(def.entrypoint);
    }
    if !def.cmd.is_empty() {
        c["Cmd"] = serde_json::json!(def.cmd);
    }
    if !def.working_dir.is_empty() {
        c["WorkingDir"] = serde_json::json!(def.working_dir);
    }
    let config = Blob::new(serde_json::to_vec(&config)?);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": config.descriptor(MEDIA_CONFIG),
        "layers": layers.iter().map(|l| l.descriptor(MEDIA_LAYER)).collect::<Vec<_>>(),
    });
    let manifest = Blob::new(serde_json::to_vec(&manifest)?);
    let entries: Vec<serde_json::Value> = def
        .names
        .iter()
        .map(|name| {
            let mut d = manifest.descriptor(MEDIA_MANIFEST);
            d["platform"] = serde_json::json!({ "architecture": oci_arch(), "os": "linux" });
            d["annotations"] = serde_json::json!({
                ANNOTATION_REF_NAME: name,
                ANNOTATION_CONTAINERD_NAME: name,
            });
            d
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": entries,
    });

    let mut out = LayerBuilder::new();
    out.file("oci-layout", 0o644, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    out.file("index.json", 0o644, &serde_json::to_vec(&index)?)?;
    out.dir("blobs", 0o755)?;
    out.dir("blobs/sha256", 0o755)?;
    for b in layers.iter().chain([&config, &manifest]) {
        let hex = b.digest.trim_start_matches("sha256:");
        out.file(&format!("blobs/sha256/{hex}"), 0o644, &b.data)?;
    }
    out.finish()
}

/// Write the archive to `out` (through a temp file, so a reader never sees half of it).
pub fn write_archive(def: &ImageDef, out: &Path) -> std::io::Result<()> {
    let bytes = archive_bytes(def)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = out.with_extension("tar.partial");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    fn read_entries(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
        let mut a = tar::Archive::new(bytes);
        let mut m = BTreeMap::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            m.insert(p, data);
        }
        m
    }

    #[test]
    fn archive_is_a_consistent_oci_layout() {
        let mut l = LayerBuilder::new();
        l.dir("bin", 0o755).unwrap();
        l.file("bin/hello", 0o755, b"#!/bin/sh\n").unwrap();
        l.symlink("bin/hi", "/bin/hello").unwrap();
        let def = ImageDef {
            names: vec!["rkube.local/x:1".into()],
            cmd: vec!["/bin/hello".into()],
            env: vec!["PATH=/bin".into()],
            layers: vec![l.finish().unwrap()],
            ..Default::default()
        };
        let bytes = archive_bytes(&def).unwrap();
        assert_eq!(bytes, archive_bytes(&def).unwrap(), "not deterministic");
        let files = read_entries(&bytes);
        let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
        let desc = &index["manifests"][0];
        assert_eq!(desc["annotations"][ANNOTATION_REF_NAME], "rkube.local/x:1");
        assert_eq!(
            desc["annotations"][ANNOTATION_CONTAINERD_NAME],
            "rkube.local/x:1"
        );
        // Every descriptor names a blob with that digest and size.
        let blob = |d: &serde_json::Value| {
            let digest = d["digest"].as_str().unwrap();
            let data = &files[&format!("blobs/sha256/{}", &digest[7..])];
            assert_eq!(format!("sha256:{}", sha256_hex(data)), digest);
            assert_eq!(d["size"].as_u64().unwrap(), data.len() as u64);
            data.clone()
        };
        let manifest: serde_json::Value = serde_json::from_slice(&blob(desc)).unwrap();
        let config: serde_json::Value = serde_json::from_slice(&blob(&manifest["config"])).unwrap();
        let layer = blob(&manifest["layers"][0]);
        assert_eq!(config["config"]["Cmd"][0], "/bin/hello");
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            manifest["layers"][0]["digest"]
        );
        let inner = tar::Archive::new(&layer[..])
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.link_name()
                        .unwrap()
                        .map(|l| l.to_string_lossy().into_owned()),
                )
            })
            .collect::<Vec<_>>();
        assert_eq!(inner[1], ("bin/hello".into(), None));
        assert_eq!(inner[2], ("bin/hi".into(), Some("/bin/hello".into())));
    }
}
