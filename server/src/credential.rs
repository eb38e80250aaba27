//! Passwords of the server's users (`eddy server --auth-file`), in the forms Jetty's
//! property files (and so ksqlDB's) accept: plain text, `OBF:` (Jetty's reversible
//! obfuscation), `MD5:<hex>` (unsalted MD5), plus Eddy's salted
//! `PBKDF2-SHA256:<iterations>:<salt>:<hash>` (base64), made by `eddy passwd`.
//!
//! Checking a password never stops at the first differing byte, and no form prints the
//! password or its hash (`Debug` shows only the kind).

use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use openssl::hash::{MessageDigest, hash};

/// The prefix of Eddy's salted hashes.
const PBKDF2_PREFIX: &str = "PBKDF2-SHA256:";
/// Iterations of a new PBKDF2 hash (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Bytes of salt and of hash in a new PBKDF2 hash.
const PBKDF2_BYTES: usize = 32;

/// How one user's password is stored.
#[derive(Clone)]
pub enum Credential {
    /// Plain text (or `OBF:`, which is plain text to whoever reads the file).
    Plain(String),
    /// `MD5:<32 hex digits>`: the MD5 digest of the password.
    Md5(Vec<u8>),
    /// Eddy's salted PBKDF2-HMAC-SHA256.
    Pbkdf2(Arc<Pbkdf2>),
}

/// A PBKDF2 hash, and the SHA-256 of the last password that matched it: basic
/// authentication sends the password with every request, and PBKDF2 is slow on purpose.
pub struct Pbkdf2 {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
    verified: Mutex<Option<Vec<u8>>>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password or its hash.
        formatter.write_str(match self {
            Credential::Plain(_) => "Plain(..)",
            Credential::Md5(_) => "Md5(..)",
            Credential::Pbkdf2(_) => "Pbkdf2(..)",
        })
    }
}

impl PartialEq for Credential {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Credential::Plain(left), Credential::Plain(right)) => left == right,
            (Credential::Md5(left), Credential::Md5(right)) => left == right,
            (Credential::Pbkdf2(left), Credential::Pbkdf2(right)) => {
                (left.iterations, &left.salt, &left.hash)
                    == (right.iterations, &right.salt, &right.hash)
            }
            _ => false,
        }
    }
}

impl Credential {
    /// Reads a stored password; the error says what is wrong without repeating it.
    pub fn parse(text: &str) -> Result<Credential, String> {
        let text = text.trim();
        if let Some(obfuscated) = text.strip_prefix("OBF:") {
            return deobfuscate(obfuscated)
                .map(Credential::Plain)
                .ok_or_else(|| "malformed OBF: password".to_string());
        }
        if let Some(hex) = text.strip_prefix("MD5:") {
            return match decode_hex(hex) {
                Some(digest) if digest.len() == 16 => Ok(Credential::Md5(digest)),
                _ => Err("MD5: must be followed by 32 hex digits".to_string()),
            };
        }
        if text.starts_with("CRYPT:") {
            return Err(
                "CRYPT: passwords are not supported: use `eddy passwd` (PBKDF2) \
                        or MD5:"
                    .to_string(),
            );
        }
        if let Some(rest) = text.strip_prefix(PBKDF2_PREFIX) {
            return parse_pbkdf2(rest).ok_or_else(|| {
                format!("malformed {PBKDF2_PREFIX} hash: expected iterations:salt:hash")
            });
        }
        if text.is_empty() {
            return Err("empty password".to_string());
        }
        Ok(Credential::Plain(text.to_string()))
    }

    /// A new salted PBKDF2 hash of `password`, as `Credential::parse` reads it.
    pub fn hash_password(password: &str, iterations: u32) -> Result<String, String> {
        if iterations == 0 {
            return Err("iterations must be at least 1".to_string());
        }
        let mut salt = [0u8; PBKDF2_BYTES];
        openssl::rand::rand_bytes(&mut salt).map_err(|error| error.to_string())?;
        let hash = pbkdf2(password.as_bytes(), &salt, iterations, PBKDF2_BYTES);
        let base64 = base64::engine::general_purpose::STANDARD;
        Ok(format!(
            "{PBKDF2_PREFIX}{iterations}:{}:{}",
            base64.encode(salt),
            base64.encode(hash)
        ))
    }

    /// True when `password` is this user's password.
    pub fn verify(&self, password: &str) -> bool {
        match self {
            // Digests of equal length, so the comparison does not reveal the length.
            Credential::Plain(expected) => {
                openssl::memcmp::eq(&sha256(expected.as_bytes()), &sha256(password.as_bytes()))
            }
            Credential::Md5(expected) => {
                let digest = hash(MessageDigest::md5(), password.as_bytes())
                    .map(|digest| digest.to_vec())
                    .unwrap_or_default();
                digest.len() == expected.len() && openssl::memcmp::eq(&digest, expected)
            }
            Credential::Pbkdf2(stored) => stored.verify(password),
        }
    }

    /// True when checking a password takes long (a PBKDF2 hash not checked yet).
    pub fn is_slow(&self) -> bool {
        matches!(self, Credential::Pbkdf2(stored)
            if stored.verified.lock().map(|cached| cached.is_none()).unwrap_or(true))
    }

    /// The password itself, when the file holds it recoverably (plain text or `OBF:`):
    /// Postgres's md5 authentication needs it.
    pub fn plain(&self) -> Option<&str> {
        match self {
            Credential::Plain(password) => Some(password),
            _ => None,
        }
    }
}

impl Pbkdf2 {
    fn verify(&self, password: &str) -> bool {
        let fingerprint = sha256(password.as_bytes());
        if let Ok(cached) = self.verified.lock()
            && let Some(cached) = cached.as_ref()
            && openssl::memcmp::eq(cached, &fingerprint)
        {
            return true;
        }
        let computed = pbkdf2(
            password.as_bytes(),
            &self.salt,
            self.iterations,
            self.hash.len(),
        );
        let matches =
            computed.len() == self.hash.len() && openssl::memcmp::eq(&computed, &self.hash);
        if matches && let Ok(mut cached) = self.verified.lock() {
            *cached = Some(fingerprint);
        }
        matches
    }
}

fn parse_pbkdf2(text: &str) -> Option<Credential> {
    let mut parts = text.split(':');
    let iterations: u32 = parts.next()?.parse().ok()?;
    let base64 = base64::engine::general_purpose::STANDARD;
    let salt = base64.decode(parts.next()?).ok()?;
    let hash = base64.decode(parts.next()?).ok()?;
    if parts.next().is_some() || iterations == 0 || hash.is_empty() {
        return None;
    }
    Some(Credential::Pbkdf2(Arc::new(Pbkdf2 {
        iterations,
        salt,
        hash,
        verified: Mutex::new(None),
    })))
}

fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32, length: usize) -> Vec<u8> {
    let mut key = vec![0u8; length];
    let iterations = usize::try_from(iterations).unwrap_or(usize::MAX);
    if openssl::pkcs5::pbkdf2_hmac(
        password,
        salt,
        iterations,
        MessageDigest::sha256(),
        &mut key,
    )
    .is_err()
    {
        // An empty key matches no stored hash.
        return Vec::new();
    }
    key
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    hash(MessageDigest::sha256(), bytes)
        .map(|digest| digest.to_vec())
        .unwrap_or_default()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(hex.get(index..index + 2)?, 16).ok())
        .collect()
}

/// Jetty's `Password.deobfuscate`: groups of 4 base-36 digits (5 with a `U` before
/// them for bytes above 127), each giving one byte of UTF-8.
fn deobfuscate(text: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('U') {
            let group = i64::from_str_radix(after.get(..4)?, 36).ok()?;
            bytes.push(u8::try_from(group >> 8).ok()?);
            rest = &after[4..];
        } else {
            let group = i64::from_str_radix(rest.get(..4)?, 36).ok()?;
            let (high, low) = (group / 256, group % 256);
            bytes.push(u8::try_from((high + low - 254) / 2).ok()?);
            rest = &rest[4..];
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_checks_its_password() {
        let md5 = "MD5:5f4dcc3b5aa765d61d8327deb882cf99"; // md5("password")
        let obf = "OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v"; // Jetty's "password"
        let pbkdf2 = Credential::hash_password("password", 1000).expect("hash");
        for stored in ["password", md5, obf, pbkdf2.as_str()] {
            let credential = Credential::parse(stored).expect(stored);
            assert!(credential.verify("password"), "{stored}");
            assert!(!credential.verify("Password"), "{stored}");
            assert!(!credential.verify(""), "{stored}");
            assert!(!format!("{credential:?}").contains("password"), "{stored}");
        }
        assert_eq!(
            Credential::parse(obf).expect("obf").plain(),
            Some("password")
        );
        // A second check of a PBKDF2 hash is served by the cache, and still refuses others.
        let credential = Credential::parse(&pbkdf2).expect("pbkdf2");
        assert!(credential.is_slow());
        assert!(credential.verify("password"));
        assert!(!credential.is_slow());
        assert!(credential.verify("password"));
        assert!(!credential.verify("passwore"));
        // Two hashes of one password differ by their salt.
        assert_ne!(
            pbkdf2,
            Credential::hash_password("password", 1000).expect("hash")
        );
    }

    #[test]
    fn malformed_forms_are_refused_without_echo() {
        for stored in [
            "MD5:abc",
            "MD5:zz4dcc3b5aa765d61d8327deb882cf99",
            "OBF:1v2j1",
            "CRYPT:ab8Q3XwqPu0xs",
            "PBKDF2-SHA256:x:AAAA:AAAA",
            "PBKDF2-SHA256:0:AAAA:AAAA",
            "PBKDF2-SHA256:10:AAAA",
            "",
        ] {
            let error = Credential::parse(stored).expect_err(stored);
            assert!(stored.len() < 8 || !error.contains(&stored[6..]), "{error}");
        }
    }
}
