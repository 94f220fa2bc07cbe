//! The control API's bearer token: 256 random bits, hex, in an owner-only file.
//!
//! The token never appears in logs or error messages. Comparison is constant-time.

use crate::base::{ct_eq, hex, RandomSource, Secret};
use crate::state::{read_bounded, write_atomic, Secrecy, StateError};
use std::path::Path;

/// Length of the token in hex characters.
const TOKEN_HEX_LEN: usize = 64;

/// A control API token.
#[derive(Debug, Clone)]
pub struct Token(Secret);

impl Token {
    /// Draws a fresh token.
    pub fn generate(rng: &mut dyn RandomSource) -> std::io::Result<Token> {
        let mut raw = [0u8; 32];
        rng.fill(&mut raw)?;
        let token = Token(Secret::new(hex(&raw).into_bytes()));
        raw.fill(0);
        Ok(token)
    }

    /// Writes the token file, mode 0600.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let mut bytes = self.0.expose().to_vec();
        bytes.push(b'\n');
        let result = write_atomic(path, &bytes, Secrecy::Secret);
        bytes.fill(0);
        result
    }

    /// Reads and validates a token file.
    pub fn read(path: &Path) -> Result<Token, StateError> {
        let bytes = Secret::new(read_bounded(path, 256)?);
        let text = bytes.expose().trim_ascii();
        if text.len() != TOKEN_HEX_LEN || !text.iter().all(|b| b.is_ascii_hexdigit()) {
            return Err(StateError::corrupt_file(
                path,
                "not a 64-character hex token",
            ));
        }
        Ok(Token(Secret::new(text.to_vec())))
    }

    /// The token text, for an `Authorization` header.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.0.expose()).unwrap_or("")
    }

    /// Checks an `Authorization` header value in constant time.
    pub fn matches_header(&self, header: Option<&str>) -> bool {
        let Some(value) = header else { return false };
        let Some(presented) = value.strip_prefix("Bearer ") else {
            return false;
        };
        ct_eq(presented.trim().as_bytes(), self.0.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);
    impl RandomSource for Fixed {
        fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
            buf.fill(self.0);
            Ok(())
        }
    }

    #[test]
    fn token_is_64_hex_and_checks_bearer_header() {
        let t = Token::generate(&mut Fixed(0xab)).unwrap_or_else(|_| unreachable!());
        assert_eq!(t.as_str(), "ab".repeat(32));
        assert!(t.matches_header(Some(&format!("Bearer {}", "ab".repeat(32)))));
        assert!(!t.matches_header(Some(&format!("Bearer {}", "ac".repeat(32)))));
        assert!(!t.matches_header(Some(&"ab".repeat(32))));
        assert!(!t.matches_header(None));
        assert!(!format!("{t:?}").contains("abab"), "Debug leaks the token");
    }

    #[test]
    fn token_file_round_trips_and_rejects_garbage() {
        let dir = std::env::temp_dir().join(format!("koi-token-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("agent.token");
        let t = Token::generate(&mut Fixed(7)).unwrap_or_else(|_| unreachable!());
        assert!(t.write(&path).is_ok());
        let back = Token::read(&path).map(|b| b.as_str().to_string());
        assert_eq!(back.as_deref().ok(), Some(t.as_str()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        assert!(std::fs::write(&path, b"not-a-token\n").is_ok());
        let err = Token::read(&path).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("agent.token"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
