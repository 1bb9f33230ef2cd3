//! The service-account signing key: an ECDSA P-256 private key (PKCS#8 PEM)
//! that signs ES256 JWTs, its key id as upstream derives it (unpadded
//! base64url of the SHA-256 of the DER SubjectPublicKeyInfo), and its public
//! half as a JWKS. jsonwebtoken does the JWT framing; the signature itself is
//! ring's, through a small jsonwebtoken crypto provider, so no second crypto
//! stack is linked.

use super::SaTokenError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::signature::{Error as SigError, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

/// The DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey,
/// prime256v1, a 66-byte BIT STRING); the 65-byte uncompressed point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The loaded key: what signs, what verifies, and how it is named.
pub struct SigningKey {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// Uncompressed public point (0x04 || x || y).
    public: Vec<u8>,
    pub kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    /// Parse a PKCS#8 PEM ("PRIVATE KEY") ECDSA P-256 key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SaTokenError> {
        install_provider();
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem)
            .map_err(|e| SaTokenError::Key(format!("not a PKCS#8 PEM private key: {e}")))?;
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &SystemRandom::new(),
        )
        .map_err(|e| SaTokenError::Key(format!("not an ECDSA P-256 key: {e}")))?;
        let public = pair.public_key().as_ref().to_vec();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&public);
        let kid = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &spki));
        Ok(SigningKey {
            encoding: EncodingKey::from_ec_der(der.secret_pkcs8_der()),
            decoding: DecodingKey::from_ec_der(&public),
            public,
            kid,
        })
    }

    /// The public key as a JSON Web Key Set (`/openid/v1/jwks`).
    pub fn jwks(&self) -> Value {
        let (x, y) = self.public[1..].split_at(32);
        json!({"keys": [{
            "use": "sig",
            "kty": "EC",
            "kid": self.kid,
            "crv": "P-256",
            "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        }]})
    }
}

/// Make ring jsonwebtoken's crypto for this process (once; if another
/// provider got there first, it handles ES256 with the same key formats).
fn install_provider() {
    static RING: CryptoProvider = CryptoProvider {
        signer_factory: ring_signer,
        verifier_factory: ring_verifier,
        key_utils: KeyUtils::new_unimplemented(),
    };
    let _ = RING.install_default();
}

struct RingSigner(EcdsaKeyPair);

impl Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, SigError> {
        self.0
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| SigError::new())
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

struct RingVerifier(Vec<u8>);

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), SigError> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(msg, signature)
            .map_err(|_| SigError::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

fn ring_signer(
    alg: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *alg != Algorithm::ES256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        key.as_bytes(),
        &SystemRandom::new(),
    )
    .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
    Ok(Box::new(RingSigner(pair)))
}

fn ring_verifier(
    alg: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::ES256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(RingVerifier(key.try_get_as_bytes()?.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgN28X2dXvn/5aRUMA
NjVPRVBxlLC6sw7Yy3NPkhdRpx2hRANCAARvXXuwD11652eOnoPTNJDOqwF/J1DM
lGhtGdM3yqiSiIrncA4YlOIj+hGSDarYP+Bc/PEOwfxgjcKeQJxYNhov
-----END PRIVATE KEY-----
";

    #[test]
    fn kid_is_sha256_of_spki_and_jwks_has_the_point() {
        let k = SigningKey::from_pem(KEY.as_bytes()).unwrap();
        // As `openssl pkey -pubout -outform DER | sha256 | base64url` gives it.
        assert_eq!(k.kid, "oa2SyKBETRao02o6BTuhNkEO2ISkog9uHfnsGAniZgY");
        let jwks = k.jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kid"], k.kid.as_str());
        assert_eq!(key["crv"], "P-256");
        let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
        assert_eq!(x, k.public[1..33]);
        assert!(SigningKey::from_pem(b"junk").is_err());
    }

    #[test]
    fn signs_and_verifies_es256() {
        let k = SigningKey::from_pem(KEY.as_bytes()).unwrap();
        let header = jsonwebtoken::Header::new(Algorithm::ES256);
        let tok = jsonwebtoken::encode(
            &header,
            &json!({"sub": "x", "exp": 4102444800u64}),
            &k.encoding,
        )
        .unwrap();
        let v = jsonwebtoken::Validation::new(Algorithm::ES256);
        let d = jsonwebtoken::decode::<Value>(&tok, &k.decoding, &v).unwrap();
        assert_eq!(d.claims["sub"], "x");
        let mut bad = tok.clone();
        bad.pop();
        bad.push(if tok.ends_with('A') { 'B' } else { 'A' });
        assert!(jsonwebtoken::decode::<Value>(&bad, &k.decoding, &v).is_err());
    }
}
