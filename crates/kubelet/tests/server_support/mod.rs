//! Shared by the kubelet server tests: a fake CRI that knows containers and
//! their log files (list_containers, container_status, list_pod_sandbox;
//! nothing else is called by the server), a CA with kubelet serving and
//! client certificates, and a small HTTPS client.

#![allow(dead_code)] // each test binary uses a different subset

use async_trait::async_trait;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use kubelet::cri::{Cri, CriError, Result, api, labels};
use kubelet::server::{self, ServerState};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub struct FakeContainer {
    pub id: String,
    pub ns: String,
    pub pod: String,
    pub uid: String,
    pub name: String,
    pub attempt: u32,
    pub state: api::ContainerState,
    pub log_path: PathBuf,
}

#[derive(Default)]
pub struct FakeCri {
    pub containers: Mutex<Vec<FakeContainer>>,
    /// (namespace, pod) of sandboxes that exist.
    pub sandboxes: Mutex<Vec<(String, String)>>,
}

impl FakeCri {
    pub fn add(&self, ns: &str, pod: &str, name: &str, attempt: u32, log_path: PathBuf) -> String {
        let id = format!("{pod}-{name}-{attempt}");
        let mut cs = self.containers.lock().unwrap();
        cs.push(FakeContainer {
            id: id.clone(),
            ns: ns.into(),
            pod: pod.into(),
            uid: format!("uid-{pod}"),
            name: name.into(),
            attempt,
            state: api::ContainerState::ContainerRunning,
            log_path,
        });
        id
    }

    pub fn set_state(&self, id: &str, state: api::ContainerState) {
        for c in self.containers.lock().unwrap().iter_mut() {
            if c.id == id {
                c.state = state;
            }
        }
    }
}

fn matches(sel: &HashMap<String, String>, have: &HashMap<String, String>) -> bool {
    sel.iter().all(|(k, v)| have.get(k) == Some(v))
}

#[async_trait]
impl Cri for FakeCri {
    async fn list_containers(
        &self,
        filter: Option<api::ContainerFilter>,
    ) -> Result<Vec<api::Container>> {
        let sel = filter.map(|f| f.label_selector).unwrap_or_default();
        let cs = self.containers.lock().unwrap();
        Ok(cs
            .iter()
            .map(|c| api::Container {
                id: c.id.clone(),
                metadata: Some(api::ContainerMetadata {
                    name: c.name.clone(),
                    attempt: c.attempt,
                }),
                state: c.state as i32,
                created_at: c.attempt as i64,
                labels: HashMap::from([
                    (labels::POD_NAMESPACE.to_string(), c.ns.clone()),
                    (labels::POD_NAME.to_string(), c.pod.clone()),
                    (labels::POD_UID.to_string(), c.uid.clone()),
                    (labels::CONTAINER_NAME.to_string(), c.name.clone()),
                ]),
                ..Default::default()
            })
            .filter(|c| matches(&sel, &c.labels))
            .collect())
    }
    async fn container_status(&self, id: &str) -> Result<api::ContainerStatusResponse> {
        let cs = self.containers.lock().unwrap();
        let c = cs
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| CriError::NotFound(id.into()))?;
        Ok(api::ContainerStatusResponse {
            status: Some(api::ContainerStatus {
                id: c.id.clone(),
                state: c.state as i32,
                log_path: c.log_path.display().to_string(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
    async fn list_pod_sandbox(
        &self,
        filter: Option<api::PodSandboxFilter>,
    ) -> Result<Vec<api::PodSandbox>> {
        let sel = filter.map(|f| f.label_selector).unwrap_or_default();
        let sbs = self.sandboxes.lock().unwrap();
        Ok(sbs
            .iter()
            .map(|(ns, pod)| api::PodSandbox {
                id: format!("sb-{pod}"),
                labels: HashMap::from([
                    (labels::POD_NAMESPACE.to_string(), ns.clone()),
                    (labels::POD_NAME.to_string(), pod.clone()),
                ]),
                ..Default::default()
            })
            .filter(|s| matches(&sel, &s.labels))
            .collect())
    }

    async fn version(&self) -> Result<api::VersionResponse> {
        unimplemented!()
    }
    async fn status(&self) -> Result<api::StatusResponse> {
        unimplemented!()
    }
    async fn run_pod_sandbox(
        &self,
        _: api::RunPodSandboxRequest,
    ) -> Result<api::RunPodSandboxResponse> {
        unimplemented!()
    }
    async fn stop_pod_sandbox(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn remove_pod_sandbox(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn pod_sandbox_status(&self, _: &str) -> Result<api::PodSandboxStatusResponse> {
        unimplemented!()
    }
    async fn create_container(
        &self,
        _: api::CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse> {
        unimplemented!()
    }
    async fn start_container(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn stop_container(&self, _: &str, _: i64) -> Result<()> {
        unimplemented!()
    }
    async fn remove_container(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn update_container_resources(
        &self,
        _: api::UpdateContainerResourcesRequest,
    ) -> Result<()> {
        unimplemented!()
    }
    async fn reopen_container_log(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn exec_sync(&self, _: api::ExecSyncRequest) -> Result<api::ExecSyncResponse> {
        unimplemented!()
    }
    async fn exec(&self, _: api::ExecRequest) -> Result<api::ExecResponse> {
        unimplemented!()
    }
    async fn attach(&self, _: api::AttachRequest) -> Result<api::AttachResponse> {
        unimplemented!()
    }
    async fn port_forward(&self, _: api::PortForwardRequest) -> Result<api::PortForwardResponse> {
        unimplemented!()
    }
    async fn list_container_stats(
        &self,
        _: Option<api::ContainerStatsFilter>,
    ) -> Result<Vec<api::ContainerStats>> {
        unimplemented!()
    }
    async fn list_pod_sandbox_stats(
        &self,
        _: Option<api::PodSandboxStatsFilter>,
    ) -> Result<Vec<api::PodSandboxStats>> {
        unimplemented!()
    }
    async fn list_images(&self, _: Option<api::ImageFilter>) -> Result<Vec<api::Image>> {
        unimplemented!()
    }
    async fn image_status(&self, _: &str) -> Result<Option<api::Image>> {
        unimplemented!()
    }
    async fn pull_image(&self, _: api::PullImageRequest) -> Result<String> {
        unimplemented!()
    }
    async fn remove_image(&self, _: &str) -> Result<()> {
        unimplemented!()
    }
    async fn image_fs_info(&self) -> Result<api::ImageFsInfoResponse> {
        unimplemented!()
    }
}

/// A CA and what it signs.
pub struct Pki {
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "cluster-ca");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = params.self_signed(&key).unwrap().pem();
        Pki {
            ca_pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// Use an existing CA (testkit's).
    pub fn from_pem(ca_pem: &str, ca_key_pem: &str) -> Pki {
        let key = KeyPair::from_pem(ca_key_pem).unwrap();
        Pki {
            ca_pem: ca_pem.into(),
            issuer: Issuer::from_ca_cert_pem(ca_pem, key).unwrap(),
        }
    }

    /// (certificate PEM, key PEM).
    pub fn issue(&self, cn: &str, sans: &[&str], server: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![if server {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A client configuration trusting this CA, with a client certificate
    /// from it when `with_cert`.
    pub fn client_tls(&self, with_cert: bool) -> Arc<rustls::ClientConfig> {
        self.client_tls_signed_by(with_cert.then_some(self))
    }

    /// Trusting this CA, with a client certificate from `signer`'s.
    pub fn client_tls_signed_by(&self, signer: Option<&Pki>) -> Arc<rustls::ClientConfig> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let b = rustls::ClientConfig::builder().with_root_certificates(roots);
        let cfg = if let Some(signer) = signer {
            let (cert, key) = signer.issue("kube-apiserver-kubelet-client", &[], false);
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<std::result::Result<Vec<_>, _>>()
                .unwrap();
            b.with_client_auth_cert(
                chain,
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap()
        } else {
            b.with_no_client_auth()
        };
        Arc::new(cfg)
    }
}

/// A kubelet server on 127.0.0.1:0 over `cri`, stopped when the returned
/// sender is dropped.
pub async fn start_kubelet(
    pki: &Pki,
    cri: Arc<FakeCri>,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (cert, key) = pki.issue("node-1", &["127.0.0.1", "localhost"], true);
    let tls = server::tls_config(cert.as_bytes(), key.as_bytes(), pki.ca_pem.as_bytes()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = ServerState {
        cri,
        pod_log_dir: std::env::temp_dir(),
        node_name: "node-1".into(),
    };
    tokio::spawn(server::serve(listener, tls, state, async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// GET `path` over HTTPS; the response with its streaming body.
pub async fn get(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    path: &str,
) -> anyhow::Result<http::Response<hyper::body::Incoming>> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::try_from("127.0.0.1")?.to_owned(), tcp)
        .await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())?;
    Ok(send.send_request(req).await?)
}

/// The whole body as text.
pub async fn text(resp: http::Response<hyper::body::Incoming>) -> String {
    let b = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(b.to_vec()).unwrap()
}
