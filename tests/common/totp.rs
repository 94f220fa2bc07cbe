//! An independent TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps) written in Python's standard
//! library, so tests that join a mesh never check koi's TOTP against itself.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const TOTP_PY: &str = r#"
import base64, hmac, hashlib, struct, sys
secret, t = sys.argv[1], int(sys.argv[2])
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
mac = hmac.new(key, struct.pack(">Q", t // 30), hashlib.sha1).digest()
o = mac[-1] & 0xF
print("%06d" % ((struct.unpack(">I", mac[o:o+4])[0] & 0x7FFFFFFF) % 1000000))
"#;

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The code for base32 `secret` at Unix time `at`.
pub fn totp(secret: &str, at: u64) -> String {
    let out = Command::new("python3")
        .args(["-c", TOTP_PY, secret, &at.to_string()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The base32 secret inside an `otpauth://totp/...?secret=X&...` URI.
pub fn uri_secret(uri: &str) -> String {
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    uri.split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("secret= in the TOTP URI")
        .to_string()
}
