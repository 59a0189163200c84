//! A Google service-account JSON key and the token grant it makes: an RS256-signed JWT
//! assertion exchanged at the key's `token_uri` (RFC 7523, `grant_type` jwt-bearer).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Client, RequestBuilder, Url};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use serde::Deserialize;
use siem_ship::ConfigError;

use crate::oauth::Grant;
use crate::options::check_url;

/// The scope that lets a token write log entries and nothing else.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/logging.write";

/// Google's token endpoint, for key files that name none.
pub(crate) const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The grant type of a JWT assertion (RFC 7523).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid: Google accepts at most an hour.
const ASSERTION_SECONDS: u64 = 3600;

/// The largest key file read: real ones are about 2.3 KB.
const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// The fields of a key file that the grant uses.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    project_id: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    client_email: Option<String>,
    token_uri: Option<String>,
}

/// A service account's key, read from its JSON key file. The private key lives only in the
/// signing key pair; nothing here can print it.
pub(crate) struct ServiceAccount {
    pub project_id: Option<String>,
    client_email: String,
    key_id: Option<String>,
    key_pair: RsaKeyPair,
    token_uri: Url,
}

impl ServiceAccount {
    /// Reads and checks the key file at `path`; errors name `key` (the configuration key that
    /// gave the path) and never quote the file.
    pub fn read(path: &Path, key: &str, allow_insecure_http: bool) -> Result<Self, ConfigError> {
        let bad = |why: String| {
            ConfigError::invalid(key, format!("the key file {}: {why}", path.display()))
        };
        let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_KEY_FILE_BYTES + 1),
            &mut text,
        )
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
        if text.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(bad(format!(
                "is larger than {MAX_KEY_FILE_BYTES} bytes; not a service-account key"
            )));
        }
        let file: KeyFile = serde_json::from_slice(&text).map_err(|e| {
            bad(format!(
                "is not a service-account JSON key (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if let Some(kind) = file.kind.as_deref().filter(|k| *k != "service_account") {
            return Err(bad(format!(
                "is a {:?} key; a service-account key (\"type\": \"service_account\") is needed",
                crate::reply::quote(kind.as_bytes())
            )));
        }
        let client_email = file
            .client_email
            .filter(|e| e.contains('@'))
            .ok_or_else(|| bad("has no client_email".to_owned()))?;
        let pem = file
            .private_key
            .ok_or_else(|| bad("has no private_key".to_owned()))?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| bad("its private_key is not a PKCS#8 PEM key".to_owned()))?;
        let key_pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| bad(format!("its private_key is not a usable RSA key ({e})")))?;
        let token_uri = file.token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
        let token_uri = check_url(token_uri, true, allow_insecure_http)
            .map_err(|e| bad(format!("its token_uri: {}", e.reason())))?;
        Ok(ServiceAccount {
            project_id: file.project_id.filter(|p| !p.is_empty()),
            client_email,
            key_id: file.private_key_id.filter(|k| !k.is_empty()),
            key_pair,
            token_uri,
        })
    }

    /// The signed JWT assertion for a token with [`SCOPE`], issued at `now`.
    pub fn assertion(&self, now: SystemTime) -> Result<String, String> {
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the clock is before 1970".to_owned())?
            .as_secs();
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.key_id {
            header["kid"] = kid.as_str().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri.as_str(),
            "iat": iat,
            "exp": iat + ASSERTION_SECONDS,
        });
        let mut jwt = URL_SAFE_NO_PAD.encode(header.to_string());
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                jwt.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "the JWT could not be signed".to_owned())?;
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jwt)
    }
}

impl Grant for ServiceAccount {
    fn issuer(&self) -> &'static str {
        "the Google token endpoint"
    }

    fn token_request(&self, client: &Client) -> Result<RequestBuilder, String> {
        let assertion = self.assertion(SystemTime::now())?;
        Ok(client
            .post(self.token_uri.clone())
            .form(&[("grant_type", JWT_BEARER), ("assertion", &assertion)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../tests/fixtures/test-only-rsa-key.pem");

    fn write(dir: &tempfile::TempDir, json: serde_json::Value) -> std::path::PathBuf {
        let path = dir.path().join("key.json");
        std::fs::write(&path, json.to_string()).unwrap();
        path
    }

    fn key_file() -> serde_json::Value {
        serde_json::json!({
            "type": "service_account",
            "project_id": "acme-sec",
            "private_key_id": "k1",
            "private_key": KEY,
            "client_email": "shipper@acme-sec.iam.gserviceaccount.com",
        })
    }

    #[test]
    fn assertions_carry_the_documented_claims_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let account =
            ServiceAccount::read(&write(&dir, key_file()), "credentials_path", false).unwrap();
        assert_eq!(account.project_id.as_deref(), Some("acme-sec"));
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_718_880_000);
        let jwt = account.assertion(now).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |p: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
        };
        assert_eq!(
            decode(parts[0]),
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})
        );
        assert_eq!(
            decode(parts[1]),
            serde_json::json!({
                "iss": "shipper@acme-sec.iam.gserviceaccount.com",
                "scope": SCOPE,
                "aud": DEFAULT_TOKEN_URI,
                "iat": 1_718_880_000u64,
                "exp": 1_718_883_600u64,
            })
        );
        let public = include_bytes!("../../tests/fixtures/test-only-rsa-public.der");
        let signed = &jwt[..parts[0].len() + 1 + parts[1].len()];
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &public[..],
        )
        .verify(
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn bad_key_files_are_explained_without_quoting_them() {
        let dir = tempfile::tempdir().unwrap();
        let read = |json: serde_json::Value| {
            ServiceAccount::read(&write(&dir, json), "credentials_path", false)
                .err()
                .unwrap()
                .to_string()
        };
        let mut f = key_file();
        f["type"] = "authorized_user".into();
        assert!(read(f).contains("service-account key"));
        let mut f = key_file();
        f["private_key"] =
            "-----BEGIN PRIVATE KEY-----\nc2VrcmV0\n-----END PRIVATE KEY-----\n".into();
        let e = read(f);
        assert!(e.contains("private_key"), "{e}");
        assert!(!e.contains("c2VrcmV0"), "{e}");
        let mut f = key_file();
        f.as_object_mut().unwrap().remove("client_email");
        assert!(read(f).contains("client_email"));
        let mut f = key_file();
        f["token_uri"] = "http://127.0.0.1:9/token".into();
        assert!(read(f).contains("allow_insecure_http"));
        let path = dir.path().join("garbage.json");
        std::fs::write(&path, format!("{{\"private_key\": {KEY:?}, oops")).unwrap();
        let e = ServiceAccount::read(&path, "credentials_path", false)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not a service-account JSON key"), "{e}");
        assert!(!e.contains("PRIVATE KEY"), "{e}");
        let e = ServiceAccount::read(&dir.path().join("missing.json"), "credentials_path", false)
            .err()
            .unwrap();
        assert_eq!(e.key(), "credentials_path");
        assert!(e.to_string().contains("cannot be read"), "{e}");
    }
}
