//! `testkit` (tests only): a real API server in-process on port 0 over the
//! memory store, with its own CA and an admin client certificate, for
//! controller, scheduler and simulated-node tests that need a real API.

use apiserver::{AllowAuthenticated, ApiServer, Authenticator, UserInfo};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// The bearer token [`TestServer::token_client`] uses.
pub const TOKEN: &str = "test-admin-token";

pub struct TestServer {
    pub url: String,
    pub ca_pem: String,
    /// The CA's private key, for tests that issue more certificates
    /// (kubelet serving and kubelet-client certificates).
    pub ca_key_pem: String,
    /// The running server, for settings made after start
    /// (`set_kubelet_client`, the metrics fetcher).
    pub api: Arc<ApiServer>,
    /// The service-account signing key (PKCS#8 PEM, ECDSA P-256).
    pub sa_key_pem: String,
    /// Holds ca.crt, admin.crt and admin.key for the kubeconfigs.
    pki: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        let _ = rustls::crypto::ring::default_provider().install_default();

        // Cluster CA.
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let ca_pem = ca_cert.pem();
        let ca_key_pem = ca_key.serialize_pem();
        let issuer = Issuer::new(ca_params, ca_key);

        // Serving certificate for 127.0.0.1 and localhost.
        let srv_key = KeyPair::generate().expect("server key");
        let mut srv_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        srv_params
            .distinguished_name
            .push(DnType::CommonName, "rkube-test");
        srv_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let srv_cert = srv_params
            .signed_by(&srv_key, &issuer)
            .expect("server cert");

        // Admin client certificate: CN is the user, O the group.
        let cli_key = KeyPair::generate().expect("client key");
        let mut cli_params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        cli_params
            .distinguished_name
            .push(DnType::CommonName, "test-admin");
        cli_params
            .distinguished_name
            .push(DnType::OrganizationName, "system:masters");
        cli_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cli_cert = cli_params
            .signed_by(&cli_key, &issuer)
            .expect("client cert");

        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).expect("add CA root");
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .allow_unauthenticated()
            .build()
            .expect("client verifier");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(srv_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![srv_cert.der().clone()];
        let mut tls = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .expect("server TLS config");
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        let store: Arc<dyn store::Store> = Arc::new(store::memory::MemoryStore::new());
        let registry = registry::engine::Registry::new(store)
            .await
            .expect("registry");
        let mut authn = Authenticator::default();
        authn.add_token(TOKEN, UserInfo::new("token-admin", &["system:masters"]));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let sa_key_pem = KeyPair::generate().expect("sa key").serialize_pem();
        let sa_tokens =
            apiserver::ServiceAccountTokens::from_pem(sa_key_pem.as_bytes()).expect("sa tokens");
        let server = ApiServer::new_with_tokens(
            registry,
            authn,
            Arc::new(AllowAuthenticated),
            addr.to_string(),
            Some(sa_tokens),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(apiserver::serve(
            listener,
            Arc::new(tls),
            server.clone(),
            async move {
                let _ = rx.await;
            },
        ));

        let pki = tempfile::tempdir().expect("tempdir");
        std::fs::write(pki.path().join("ca.crt"), &ca_pem).expect("write ca");
        std::fs::write(pki.path().join("admin.crt"), cli_cert.pem()).expect("write cert");
        std::fs::write(pki.path().join("admin.key"), cli_key.serialize_pem()).expect("write key");
        let ts = TestServer {
            url: format!("https://{addr}"),
            ca_pem,
            ca_key_pem,
            api: server,
            sa_key_pem,
            pki,
            shutdown: Some(tx),
        };
        // The registry does not create the default namespaces: `rkube server` does.
        let ns: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(ts.client().await);
        for name in ["default", "test"] {
            let obj = serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))
                .expect("namespace");
            match ns.create(&Default::default(), &obj).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => panic!("creating namespace {name}: {e}"),
            }
        }
        ts
    }

    /// What the controllers would have made in `namespace` before a pod
    /// runs there (testkit runs none): the `default` ServiceAccount and the
    /// `kube-root-ca.crt` ConfigMap its token volume reads. For tests that
    /// run pods through a kubelet.
    pub async fn add_pod_prerequisites(&self, namespace: &str) {
        let name = namespace;
        let ts = self;
        // What the root-CA publisher puts in every namespace: pods'
        // service-account volumes read it.
        let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(ts.client().await, name);
        let cm = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kube-root-ca.crt"},
            "data": {"ca.crt": ts.ca_pem},
        }))
        .expect("configmap");
        match cms.create(&Default::default(), &cm).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("creating kube-root-ca.crt in {name}: {e}"),
        }
        // And what the service-account controller creates.
        let sas: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
            kube::Api::namespaced(ts.client().await, name);
        let sa = serde_json::from_value(serde_json::json!({"metadata": {"name": "default"}}))
            .expect("serviceaccount");
        match sas.create(&Default::default(), &sa).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("creating the default serviceaccount in {name}: {e}"),
        }
    }

    async fn client_from(&self, user: &str) -> kube::Client {
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {url}
    certificate-authority: {ca}
contexts:
- name: test
  context: {{cluster: test, user: u, namespace: test}}
current-context: test
users:
- name: u
  user: {user}
",
            url = self.url,
            ca = self.pki.path().join("ca.crt").display(),
        );
        let kc = kube::config::Kubeconfig::from_yaml(&text).expect("kubeconfig");
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("kube config");
        kube::Client::try_from(cfg).expect("client")
    }

    /// A client authenticating with the admin client certificate.
    pub async fn client(&self) -> kube::Client {
        let user = format!(
            "{{client-certificate: {}, client-key: {}}}",
            self.pki.path().join("admin.crt").display(),
            self.pki.path().join("admin.key").display()
        );
        self.client_from(&user).await
    }

    /// A client authenticating with the static bearer token.
    pub async fn token_client(&self) -> kube::Client {
        self.client_from(&format!("{{token: {TOKEN}}}")).await
    }

    /// A client authenticating with `token` (a service-account token, say).
    pub async fn client_with_token(&self, token: &str) -> kube::Client {
        self.client_from(&format!("{{token: {token}}}")).await
    }

    /// A client with no credentials at all.
    pub async fn anonymous_client(&self) -> kube::Client {
        self.client_from("{}").await
    }
}

/// The HTTP status code of a kube-rs API error, or a panic naming the error.
#[track_caller]
pub fn api_code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> Box<kube::core::Status> {
    match r {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}
