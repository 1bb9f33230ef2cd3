//! Volume setup against a real in-process API server on a temp dir:
//! configMap refresh through the atomic writer, modes and items, secrets on
//! tmpfs, hostPath types, subPath escapes, emptyDir Memory, teardown.

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use kubelet::volumes::{VolumeManager, empty_dir};
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn pod(uid: &str, volumes: serde_json::Value, mounts: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": "test", "uid": uid, "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "volumeMounts": mounts,
                                 "resources": {"limits": {"memory": "64Mi"}}}],
                 "securityContext": {"fsGroup": 1234},
                 "volumes": volumes}
    }))
    .unwrap()
}

/// Unmounts whatever a failed test left mounted under its temp dir.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        for m in empty_dir::mounts_under(&self.0).unwrap_or_default() {
            let _ = empty_dir::unmount(&m);
        }
    }
}

fn container(p: &Pod) -> Container {
    p.spec.as_ref().unwrap().containers[0].clone()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn config_map_secret_and_downward_api_volumes() -> anyhow::Result<()> {
    let ts = testkit::TestServer::start().await;
    let client = ts.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "test");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "cfg"}, "data": {"a.conf": "one", "b.conf": "two"}
        }))?,
    )
    .await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "test");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "sec"}, "data": {"token": "c2VjcmV0"}
            }))?,
        )
        .await?;
    let tmp = tempfile::tempdir()?;
    let _unmount = Unmount(tmp.path().to_path_buf());
    let vm = VolumeManager::new(tmp.path().join("pods"), client);
    let p = pod(
        "uid-cm",
        json!([
            {"name": "all", "configMap": {"name": "cfg", "defaultMode": 0o600}},
            {"name": "some", "configMap": {"name": "cfg", "items": [{"key": "b.conf", "path": "dir/b", "mode": 0o640}]}},
            {"name": "sec", "secret": {"secretName": "sec"}},
            {"name": "missing", "configMap": {"name": "nope", "optional": true}},
            {"name": "info", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}}
            ]}}
        ]),
        json!([{"name": "all", "mountPath": "/cfg"}, {"name": "some", "mountPath": "/b", "subPath": "dir"}]),
    );
    let pv = vm.setup(&p).await?;
    let all = &pv.paths["all"];
    assert_eq!(
        all,
        &tmp.path()
            .join("pods/uid-cm/volumes/kubernetes.io~configmap/all")
    );
    assert_eq!(std::fs::read_to_string(all.join("a.conf"))?, "one");
    // defaultMode, then fsGroup adds group read and the group itself.
    assert_eq!(mode(&all.join("a.conf")), 0o640);
    assert_eq!(std::fs::metadata(all.join("a.conf"))?.gid(), 1234);
    let some = &pv.paths["some"];
    assert_eq!(std::fs::read_to_string(some.join("dir/b"))?, "two");
    assert!(
        !some.join("a.conf").exists(),
        "items project only the listed keys"
    );
    assert_eq!(mode(&some.join("dir/b")), 0o640);
    assert_eq!(
        std::fs::read_to_string(pv.paths["sec"].join("token"))?,
        "secret"
    );
    assert!(
        empty_dir::is_mount_point(&pv.paths["sec"])?,
        "secret volumes live on tmpfs"
    );
    let visible = std::fs::read_dir(&pv.paths["missing"])?
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("..")
        })
        .count();
    assert_eq!(
        visible, 0,
        "an optional missing ConfigMap gives an empty volume"
    );
    assert_eq!(
        std::fs::read_to_string(pv.paths["info"].join("labels"))?,
        "app=\"x\""
    );
    assert_eq!(std::fs::read_to_string(pv.paths["info"].join("mem"))?, "64");

    let mounts = pv.mounts_for(&container(&p))?;
    assert_eq!(mounts[0].container_path, "/cfg");
    assert!(mounts[0].readonly, "configMap mounts are read-only");
    assert!(mounts[1].host_path.ends_with("/dir"));
    let term = mounts
        .iter()
        .find(|m| m.container_path == "/dev/termination-log")
        .expect("termination log");
    assert!(
        term.host_path.starts_with(
            tmp.path()
                .join("pods/uid-cm/containers/c")
                .to_str()
                .unwrap()
        )
    );
    assert_eq!(mode(Path::new(&term.host_path)), 0o666);

    // An update is published atomically: the timestamped dir is replaced as
    // a whole and the visible name shows the new content.
    let old_data = std::fs::read_link(all.join("..data"))?;
    cms.patch(
        "cfg",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a.conf": null, "c.conf": "tres"}})),
    )
    .await?;
    let pv2 = vm.setup(&p).await?;
    assert_eq!(std::fs::read_to_string(all.join("c.conf"))?, "tres");
    assert!(!all.join("a.conf").exists(), "removed keys disappear");
    assert_ne!(std::fs::read_link(all.join("..data"))?, old_data);
    assert!(!all.join(&old_data).exists());
    assert_eq!(pv2.paths, pv.paths);
    // Setup with an unchanged ConfigMap leaves the published dir alone.
    let data = std::fs::read_link(all.join("..data"))?;
    vm.setup(&p).await?;
    assert_eq!(std::fs::read_link(all.join("..data"))?, data);

    vm.teardown("uid-cm").await?;
    assert!(!tmp.path().join("pods/uid-cm").exists());
    assert!(empty_dir::mounts_under(tmp.path())?.is_empty());
    Ok(())
}

#[tokio::test]
async fn missing_sources_fail_with_upstream_messages() -> anyhow::Result<()> {
    let ts = testkit::TestServer::start().await;
    let tmp = tempfile::tempdir()?;
    let _unmount = Unmount(tmp.path().to_path_buf());
    let vm = VolumeManager::new(tmp.path().join("pods"), ts.client().await);
    let cases = [
        (
            json!({"name": "v", "configMap": {"name": "nope"}}),
            "configmap \"nope\" not found",
        ),
        (
            json!({"name": "v", "secret": {"secretName": "nope"}}),
            "secret \"nope\" not found",
        ),
        (
            json!({"name": "v", "persistentVolumeClaim": {"claimName": "nope"}}),
            "persistentvolumeclaim \"nope\" not found",
        ),
    ];
    for (v, msg) in cases {
        let err = vm
            .setup(&pod("uid-miss", json!([v]), json!([])))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("MountVolume.SetUp failed for volume \"v\" : {msg}")
        );
    }
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
        Api::namespaced(ts.client().await, "test");
    pvcs.create(&PostParams::default(), &serde_json::from_value(json!({
        "metadata": {"name": "claim"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }))?).await?;
    let err = vm
        .setup(&pod(
            "uid-miss",
            json!([{"name": "v", "persistentVolumeClaim": {"claimName": "claim"}}]),
            json!([]),
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("persistentvolumeclaim \"claim\" not bound"),
        "{err}"
    );
    vm.teardown("uid-miss").await?;
    Ok(())
}

#[tokio::test]
async fn host_path_types_and_sub_path_escape() -> anyhow::Result<()> {
    let ts = testkit::TestServer::start().await;
    let tmp = tempfile::tempdir()?;
    let _unmount = Unmount(tmp.path().to_path_buf());
    let vm = VolumeManager::new(tmp.path().join("pods"), ts.client().await);
    let base = tmp.path().join("host");
    std::fs::create_dir_all(&base)?;
    std::fs::write(base.join("file"), "x")?;
    let hp = |name: &str, path: &Path, t: &str| json!({"name": name, "hostPath": {"path": path, "type": t}});
    let ok = pod(
        "uid-hp",
        json!([
            hp("mk", &base.join("made/dir"), "DirectoryOrCreate"),
            hp("mkf", &base.join("newfile"), "FileOrCreate"),
            hp("f", &base.join("file"), "File"),
            hp("d", &base, "Directory"),
            {"name": "scratch", "emptyDir": {}}
        ]),
        json!([{"name": "scratch", "mountPath": "/s", "subPath": "a/b"}]),
    );
    let pv = vm.setup(&ok).await?;
    assert!(base.join("made/dir").is_dir());
    assert!(base.join("newfile").is_file());
    let mounts = pv.mounts_for(&container(&ok))?;
    assert!(Path::new(&mounts[0].host_path).ends_with("kubernetes.io~empty-dir/scratch/a/b"));
    assert!(Path::new(&mounts[0].host_path).is_dir(), "subPath created");

    let file = base.join("file");
    for (v, msg) in [
        (
            hp("v", &file, "Directory"),
            format!("{} is not a directory", file.display()),
        ),
        (
            hp("v", &base, "File"),
            format!("{} is not a file", base.display()),
        ),
        (
            hp("v", &base.join("absent"), "Directory"),
            format!("{} is not a directory", base.join("absent").display()),
        ),
        (
            hp("v", &file, "Socket"),
            format!("{} is not a socket file", file.display()),
        ),
        (
            hp("v", &file, "CharDevice"),
            format!("{} is not a character device", file.display()),
        ),
    ] {
        let err = vm
            .setup(&pod("uid-hp2", json!([v]), json!([])))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with(&format!("hostPath type check failed: {msg}")),
            "{err}"
        );
    }
    let chr = vm
        .setup(&pod(
            "uid-hp2",
            json!([hp("v", Path::new("/dev/null"), "CharDevice")]),
            json!([]),
        ))
        .await?;
    assert_eq!(chr.paths["v"], Path::new("/dev/null"));

    for (sub, msg) in [
        ("../x", "must not contain '..'"),
        ("/etc", "must not be an absolute path"),
    ] {
        let p = pod(
            "uid-hp",
            json!([{"name": "scratch", "emptyDir": {}}]),
            json!([{"name": "scratch", "mountPath": "/s", "subPath": sub}]),
        );
        let err = vm.setup(&p).await?.mounts_for(&container(&p)).unwrap_err();
        assert!(err.to_string().contains(msg), "{err}");
    }
    // A symlink inside the volume that points out of it is refused too.
    std::os::unix::fs::symlink("/etc", pv.paths["scratch"].join("out"))?;
    let p = pod(
        "uid-hp",
        json!([{"name": "scratch", "emptyDir": {}}]),
        json!([{"name": "scratch", "mountPath": "/s", "subPath": "out"}]),
    );
    let err = vm.setup(&p).await?.mounts_for(&container(&p)).unwrap_err();
    assert!(err.to_string().contains("not within volume path"), "{err}");
    let p = pod(
        "uid-hp",
        json!([]),
        json!([{"name": "nope", "mountPath": "/n"}]),
    );
    let err = vm.setup(&p).await?.mounts_for(&container(&p)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot find volume \"nope\" to mount into container \"c\""
    );
    vm.teardown("uid-hp").await?;
    vm.teardown("uid-hp2").await?;
    assert!(file.exists(), "teardown never touches hostPath volumes");
    Ok(())
}

#[tokio::test]
async fn empty_dir_memory_is_tmpfs_until_teardown() -> anyhow::Result<()> {
    let ts = testkit::TestServer::start().await;
    let tmp = tempfile::tempdir()?;
    let _unmount = Unmount(tmp.path().to_path_buf());
    let vm = VolumeManager::new(tmp.path().join("pods"), ts.client().await);
    let p = pod(
        "uid-mem",
        json!([{"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}}]),
        json!([]),
    );
    let pv = vm.setup(&p).await?;
    let dir = pv.paths["m"].clone();
    assert!(empty_dir::is_mount_point(&dir)?);
    let st = nix::sys::statfs::statfs(&dir)?;
    assert_eq!(st.blocks() * st.block_size() as u64, 8 << 20);
    vm.setup(&p).await?;
    assert_eq!(
        empty_dir::mounts_under(&dir)?.len(),
        1,
        "setup again does not stack mounts"
    );
    std::fs::write(dir.join("f"), "data")?;
    vm.teardown("uid-mem").await?;
    assert!(empty_dir::mounts_under(tmp.path())?.is_empty());
    assert!(!tmp.path().join("pods/uid-mem").exists());
    Ok(())
}

#[tokio::test]
async fn etc_hosts_is_written_and_mounted() -> anyhow::Result<()> {
    let ts = testkit::TestServer::start().await;
    let tmp = tempfile::tempdir()?;
    let _unmount = Unmount(tmp.path().to_path_buf());
    let vm = VolumeManager::new(tmp.path().join("pods"), ts.client().await);
    let mut p = pod("uid-h", json!([]), json!([]));
    let spec = p.spec.as_mut().unwrap();
    spec.hostname = Some("web-0".into());
    spec.subdomain = Some("web".into());
    spec.host_aliases = Some(vec![serde_json::from_value(
        json!({"ip": "10.0.0.9", "hostnames": ["a", "b"]}),
    )?]);
    let mut pv = vm.setup(&p).await?;
    assert!(pv.etc_hosts.is_none());
    let path = pv.write_etc_hosts(&p, &["10.1.0.7".into()])?;
    let hosts = std::fs::read_to_string(&path)?;
    assert!(hosts.contains("127.0.0.1\tlocalhost\n"));
    assert!(
        hosts.contains("10.1.0.7\tweb-0.web.test.svc.cluster.local\tweb-0\n"),
        "{hosts}"
    );
    assert!(hosts.contains("10.0.0.9\ta\tb\n"));
    let mounts = pv.mounts_for(&container(&p))?;
    let m = mounts
        .iter()
        .find(|m| m.container_path == "/etc/hosts")
        .unwrap();
    assert_eq!(
        Path::new(&m.host_path),
        tmp.path().join("pods/uid-h/etc-hosts")
    );
    vm.teardown("uid-h").await?;
    Ok(())
}
