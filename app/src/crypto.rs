//! Tocsin's cryptography, in one place: random secrets (session ids, API tokens) and their
//! hashes, password hashing (Argon2id), and the sealing of webhook URLs at rest
//! (XChaCha20-Poly1305 with a synthetic nonce).

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use base64::{Engine as _, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// `n` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    bytes
}

/// A fresh 256-bit secret as text: `prefix` followed by 43 URL-safe characters.
pub fn new_secret(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// What is stored of a high-entropy secret (a session id, an API token): its SHA-256. The
/// secrets are random 256-bit values, so a fast hash cannot be brute-forced.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// An Argon2id hash of `password` (with a random salt) in PHC form, with the parameters OWASP
/// recommends (19 MiB, 2 passes). Slow on purpose: call it off the async runtime.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes are a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("Argon2 hashes any password").to_string()
}

/// Whether `password` matches the PHC-form `hash`. Slow on purpose: call it off the async runtime.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the user does not exist, so that a wrong name takes as long
/// as a wrong password.
pub fn decoy_password_hash() -> String {
    hash_password("tocsin decoy password")
}

/// The 32-byte key webhook URLs are sealed with, from `TOCSIN_SECRET_KEY` (standard base64).
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "must be standard base64, e.g. the output of `openssl rand -base64 32`".to_owned())?;
        let key: [u8; 32] =
            bytes.try_into().map_err(|bytes: Vec<u8>| format!("must decode to 32 bytes, not {}", bytes.len()))?;
        Ok(Self(key))
    }

    /// A new random key, in the form `parse` reads.
    pub fn generate() -> String {
        STANDARD.encode(random_bytes::<32>())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// What sealed text starts with; the version names the scheme.
const SEALED_PREFIX: &str = "tocsin:v1:";
const NONCE_LEN: usize = 24;

/// Seals text (webhook URLs and what holds them) with XChaCha20-Poly1305. The nonce is an HMAC
/// of the text under a second key derived from the same secret (a synthetic IV, as in AES-SIV):
/// the same text always seals the same, so stored URLs can still be compared in SQL (pacing per
/// address), and a nonce repeats only for the same text, which reveals nothing but equality.
#[derive(Clone)]
pub struct Sealer {
    aead: XChaCha20Poly1305,
    nonce_key: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("it is encrypted, and TOCSIN_SECRET_KEY is not set")]
    NoKey,
    #[error("it could not be decrypted with TOCSIN_SECRET_KEY (a different key, or damaged data)")]
    WrongKey,
}

impl Sealer {
    pub fn new(key: &SecretKey) -> Self {
        let aead_key = derive(&key.0, b"tocsin webhook urls: aead key");
        Self {
            aead: XChaCha20Poly1305::new((&aead_key).into()),
            nonce_key: derive(&key.0, b"tocsin webhook urls: nonce key"),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce: [u8; NONCE_LEN] = hmac(&self.nonce_key, plain.as_bytes())[..NONCE_LEN].try_into().expect("24 bytes");
        let sealed = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: SEALED_PREFIX.as_bytes() })
            .expect("XChaCha20-Poly1305 encrypts any text that fits in memory");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SealError::WrongKey)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::WrongKey);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .aead
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: SEALED_PREFIX.as_bytes() })
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SealError::WrongKey)
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(…)")
    }
}

/// Whether stored text was sealed (so reading it needs the key).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn derive(key: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
    hmac(key, purpose)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::parse(&SecretKey::generate()).unwrap()
    }

    #[test]
    fn sealed_text_opens_to_itself_and_hides_it() {
        let sealer = Sealer::new(&key());
        let url = "https://hooks.slack.com/services/T000/B000/secret-token-1234";
        let sealed = sealer.seal(url);
        assert!(sealed.starts_with("tocsin:v1:"));
        assert!(!sealed.contains("secret-token"), "{sealed}");
        assert_eq!(sealer.open(&sealed).unwrap(), url);
    }

    #[test]
    fn the_same_text_seals_the_same_and_other_text_differently() {
        let sealer = Sealer::new(&key());
        assert_eq!(sealer.seal("https://a.example/1"), sealer.seal("https://a.example/1"));
        assert_ne!(sealer.seal("https://a.example/1"), sealer.seal("https://a.example/2"));
    }

    #[test]
    fn another_key_or_damaged_text_does_not_open() {
        let sealed = Sealer::new(&key()).seal("https://a.example/1");
        assert_eq!(Sealer::new(&key()).open(&sealed), Err(SealError::WrongKey));
        let sealer = Sealer::new(&key());
        // One character in the middle of the base64 text, changed: the last one may carry only
        // padding bits, and putting back the character just taken off changes nothing.
        let mut damaged = sealer.seal("https://a.example/1");
        let middle = damaged.len() / 2;
        let other = if &damaged[middle..=middle] == "A" { "B" } else { "A" };
        damaged.replace_range(middle..=middle, other);
        assert_eq!(sealer.open(&damaged), Err(SealError::WrongKey));
    }

    #[test]
    fn plain_text_stored_before_a_key_was_set_still_reads() {
        assert_eq!(Sealer::new(&key()).open("https://a.example/1").unwrap(), "https://a.example/1");
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SecretKey::parse("not base64!").unwrap_err().contains("base64"));
        assert!(SecretKey::parse(&STANDARD.encode([0u8; 16])).unwrap_err().contains("32 bytes, not 16"));
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_hashed_consistently() {
        let (a, b) = (new_secret("tocsin_"), new_secret("tocsin_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), "tocsin_".len() + 43);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
