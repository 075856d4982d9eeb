//! Encryption at rest of API key secrets: AES-256-GCM under a master key.
//!
//! A stored secret reads `enc:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`, where the
//! key id is the first 8 hex digits of the SHA-256 of the master key, so a secret
//! encrypted under another key is recognised and reported instead of decrypted to
//! garbage. Rows written before encryption was configured (plain text) are still read,
//! and re-encrypted by [`crate::ApiKeyRepo::encrypt_plaintext`] or a key rotation.
//!
//! The process's cipher is installed once at start ([`install`]); without one, secrets
//! are stored as given (tests and embedded uses that hold no real secrets).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

const PREFIX: &str = "enc:v1:";
const AAD: &[u8] = b"fustat:config.api_key.secret_key";

/// Why a master key could not be loaded or a secret decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The key material is malformed.
    #[error("invalid master key: {0}")]
    InvalidKey(String),
    /// The key file could not be read or created.
    #[error("master key file {path}: {message}")]
    KeyFile {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A stored secret was encrypted under another master key.
    #[error(
        "a stored secret was encrypted with master key {stored}, but the configured key is {configured}"
    )]
    WrongKey {
        /// The stored secret's key id.
        stored: String,
        /// The configured key's id.
        configured: String,
    },
    /// A stored secret is encrypted but no master key is configured.
    #[error("a stored secret is encrypted but no master key is configured")]
    NoKey,
    /// A stored secret could not be decrypted (tampered or truncated).
    #[error("a stored secret could not be decrypted: {0}")]
    Corrupt(String),
}

/// A master key: AES-256-GCM over API key secrets.
#[derive(Clone)]
pub struct SecretCipher {
    cipher: Aes256Gcm,
    key_id: String,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SecretCipher {
    /// A cipher from 32 key bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self, SecretError> {
        if key.len() != 32 {
            return Err(SecretError::InvalidKey(format!(
                "expected 32 bytes, got {}",
                key.len()
            )));
        }
        let cipher =
            Aes256Gcm::new_from_slice(key).map_err(|e| SecretError::InvalidKey(e.to_string()))?;
        let digest = Sha256::digest(key);
        let key_id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Ok(SecretCipher { cipher, key_id })
    }

    /// A cipher from the base64 form of a key (what [`SecretCipher::generate_encoded`] and
    /// key files hold).
    pub fn from_base64(encoded: &str) -> Result<Self, SecretError> {
        let bytes = B64
            .decode(encoded.trim())
            .map_err(|e| SecretError::InvalidKey(format!("not base64: {e}")))?;
        SecretCipher::from_bytes(&bytes)
    }

    /// A new random key, base64-encoded.
    pub fn generate_encoded() -> Result<String, SecretError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| SecretError::InvalidKey(e.to_string()))?;
        Ok(B64.encode(key))
    }

    /// The key file at `path`, created with a new random key (mode 0600) when missing.
    pub fn load_or_create_file(path: &Path) -> Result<Self, SecretError> {
        let file_error = |message: String| SecretError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| file_error(e.to_string()))?;
            }
            write_key_file(path, &SecretCipher::generate_encoded()?)
                .map_err(|e| file_error(e.to_string()))?;
            tracing::info!(path = %path.display(), "created a new master key file (keep it safe: API key secrets cannot be read without it)");
        }
        let encoded = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        SecretCipher::from_base64(&encoded)
    }

    /// The key's id (8 hex digits).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts `plain` with a fresh random nonce.
    pub fn encrypt(&self, plain: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| SecretError::Corrupt(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: AAD,
                },
            )
            .map_err(|_| SecretError::Corrupt("encryption failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}:{}", self.key_id, B64.encode(blob)))
    }

    /// Decrypts a stored value (plain text passes through).
    pub fn decrypt(&self, stored: &str) -> Result<String, SecretError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (key_id, body) = rest
            .split_once(':')
            .ok_or_else(|| SecretError::Corrupt("missing key id".into()))?;
        if key_id != self.key_id {
            return Err(SecretError::WrongKey {
                stored: key_id.to_owned(),
                configured: self.key_id.clone(),
            });
        }
        let blob = B64
            .decode(body)
            .map_err(|_| SecretError::Corrupt("not base64".into()))?;
        if blob.len() < 12 + 16 {
            return Err(SecretError::Corrupt("too short".into()));
        }
        let (nonce, sealed) = blob.split_at(12);
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| SecretError::Corrupt("too short".into()))?;
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: AAD,
                },
            )
            .map_err(|_| SecretError::Corrupt("authentication failed".into()))?;
        String::from_utf8(plain).map_err(|_| SecretError::Corrupt("not UTF-8".into()))
    }
}

/// True when `stored` is an encrypted value.
pub fn is_encrypted(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Writes a key file readable by its owner only.
pub fn write_key_file(path: &Path, encoded: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(encoded.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

static CIPHER: OnceLock<Arc<SecretCipher>> = OnceLock::new();

/// Installs the process's cipher. Installing the same key again is fine; another key is
/// refused (secrets would become unreadable mid-flight).
pub fn install(cipher: SecretCipher) -> Result<(), SecretError> {
    let installed = CIPHER.get_or_init(|| Arc::new(cipher.clone()));
    if installed.key_id != cipher.key_id {
        return Err(SecretError::InvalidKey(
            "another master key is already in use by this process".into(),
        ));
    }
    Ok(())
}

/// The process's cipher, when one is installed.
pub fn installed() -> Option<Arc<SecretCipher>> {
    CIPHER.get().cloned()
}

/// Encrypts for storage with the installed cipher (plain text without one).
pub(crate) fn seal(plain: &str) -> Result<String, SecretError> {
    match installed() {
        Some(c) => c.encrypt(plain),
        None => Ok(plain.to_owned()),
    }
}

/// Reads a stored value with the installed cipher.
pub(crate) fn open(stored: &str) -> Result<String, SecretError> {
    match installed() {
        Some(c) => c.decrypt(stored),
        None if is_encrypted(stored) => Err(SecretError::NoKey),
        None => Ok(stored.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_tampering_and_wrong_keys() {
        let a = SecretCipher::from_base64(&SecretCipher::generate_encoded().unwrap()).unwrap();
        let b = SecretCipher::from_base64(&SecretCipher::generate_encoded().unwrap()).unwrap();
        let sealed = a.encrypt("sk-live-1234").unwrap();
        assert!(is_encrypted(&sealed) && !sealed.contains("sk-live"));
        assert_ne!(
            sealed,
            a.encrypt("sk-live-1234").unwrap(),
            "nonces are fresh"
        );
        assert_eq!(a.decrypt(&sealed).unwrap(), "sk-live-1234");
        assert!(matches!(
            b.decrypt(&sealed),
            Err(SecretError::WrongKey { .. })
        ));
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 6..sealed.len() - 4, "AA");
        assert!(a.decrypt(&tampered).is_err());
        assert_eq!(a.decrypt("legacy-plain").unwrap(), "legacy-plain");
        assert!(SecretCipher::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn key_files_are_created_owner_only() {
        let dir = std::env::temp_dir().join(format!("fustat-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("master.key");
        let first = SecretCipher::load_or_create_file(&path).unwrap();
        let again = SecretCipher::load_or_create_file(&path).unwrap();
        assert_eq!(first.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
