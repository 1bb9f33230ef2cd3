//! certificates.k8s.io/v1 CertificateSigningRequests: the request must be a
//! PEM `CERTIFICATE REQUEST` block (the signature itself is not checked),
//! signerName required and domain-prefixed, usages known and unique,
//! expirationSeconds ≥ 600. The spec and status are kept on update, as
//! upstream's strategy does (status moves through its subresources).

use super::util::{arr_at, str_at};
use crate::strategy::Strategy;
use crate::validation::{index, invalid_raw, invalid_str, is_dns1123_subdomain};
use apimachinery::Cause;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

pub struct CertificateSigningRequestStrategy;

const USAGES: &[&str] = &[
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

/// Go's `%#v` of a `[]byte`.
fn go_bytes(b: &[u8]) -> String {
    let body = b
        .iter()
        .map(|x| format!("0x{x:x}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("[]byte{{{body}}}")
}

fn validate_request(req: &str) -> Option<Cause> {
    let bytes = STANDARD.decode(req).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let ok = text.contains("-----BEGIN CERTIFICATE REQUEST-----")
        && text.contains("-----END CERTIFICATE REQUEST-----");
    (!ok).then(|| {
        invalid_raw(
            "spec.request",
            &go_bytes(&bytes),
            "PEM block type must be CERTIFICATE REQUEST",
        )
    })
}

fn validate_signer_name(name: &str) -> Vec<Cause> {
    let path = "spec.signerName";
    if name.is_empty() {
        return vec![Cause::required(path)];
    }
    let Some((domain, rest)) = name.split_once('/').filter(|(_, r)| !r.is_empty()) else {
        return vec![invalid_str(
            path,
            name,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        )];
    };
    let mut errs: Vec<Cause> = is_dns1123_subdomain(domain)
        .into_iter()
        .map(|m| invalid_str(path, domain, &m))
        .collect();
    if rest.len() > 571 {
        errs.push(Cause::too_long(path, 571));
    }
    errs
}

impl Strategy for CertificateSigningRequestStrategy {
    fn prepare_create(&self, obj: &mut Value) {
        super::util::set(obj, "status", json!({}));
    }

    fn selectable_fields(&self) -> &'static [&'static str] {
        &["spec.signerName"]
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        (field == "spec.signerName").then(|| {
            obj.pointer("/spec/signerName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        for f in ["spec", "status"] {
            match old.get(f) {
                Some(v) => super::util::set(new, f, v.clone()),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove(f);
                    }
                }
            }
        }
    }

    fn validate_create(&self, obj: &Value) -> Vec<Cause> {
        let mut errs = vec![];
        errs.extend(validate_request(str_at(obj, "/spec/request")));
        let usages = arr_at(obj, "/spec/usages");
        if usages.is_empty() {
            errs.push(Cause::required("spec.usages"));
        }
        let mut seen = vec![];
        for (i, u) in usages.iter().enumerate() {
            let p = index("spec.usages", i);
            let s = u.as_str().unwrap_or("");
            if !USAGES.contains(&s) {
                errs.push(Cause::not_supported(&p, u, USAGES));
            }
            if seen.contains(&s) {
                errs.push(Cause::duplicate(&p, u));
            }
            seen.push(s);
        }
        errs.extend(validate_signer_name(str_at(obj, "/spec/signerName")));
        if let Some(e) = obj
            .pointer("/spec/expirationSeconds")
            .and_then(Value::as_i64)
            && e < 600
        {
            errs.push(Cause::invalid(
                "spec.expirationSeconds",
                &Value::from(e),
                "may not specify a duration less than 600 seconds (10 minutes)",
            ));
        }
        errs
    }

    /// The spec is copied from the old object, so only metadata changes.
    fn validate_update(&self, _new: &Value, _old: &Value) -> Vec<Cause> {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem() -> String {
        STANDARD.encode(
            "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
        )
    }

    #[test]
    fn valid_csr() {
        let mut csr = json!({"spec": {"request": pem(), "signerName": "kubernetes.io/kube-apiserver-client",
            "usages": ["client auth", "digital signature"], "expirationSeconds": 3600}, "status": {"certificate": "x"}});
        CertificateSigningRequestStrategy.prepare_create(&mut csr);
        assert_eq!(csr["status"], json!({}));
        assert!(
            CertificateSigningRequestStrategy
                .validate_create(&csr)
                .is_empty()
        );
        let mut upd = csr.clone();
        upd["spec"]["usages"] = json!(["server auth"]);
        CertificateSigningRequestStrategy.prepare_update(&mut upd, &csr);
        assert_eq!(upd["spec"], csr["spec"]);
    }

    #[test]
    fn mistakes() {
        let csr = json!({"spec": {"request": STANDARD.encode("hi"), "usages": ["flying", "any", "any"],
            "expirationSeconds": 60}});
        let e = CertificateSigningRequestStrategy.validate_create(&csr);
        let f: Vec<&str> = e.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "spec.request",
                "spec.usages[0]",
                "spec.usages[2]",
                "spec.signerName",
                "spec.expirationSeconds"
            ]
        );
        assert_eq!(
            e[0].message,
            "Invalid value: []byte{0x68, 0x69}: PEM block type must be CERTIFICATE REQUEST"
        );
        let bad_signer =
            json!({"spec": {"request": pem(), "usages": ["any"], "signerName": "nodomain"}});
        assert!(
            CertificateSigningRequestStrategy.validate_create(&bad_signer)[0]
                .message
                .ends_with("of the form 'example.com/signer-name'")
        );
    }
}
