//! HOTP (RFC 4226) and TOTP (RFC 6238) with the parameters every authenticator app uses:
//! HMAC-SHA-1, 6 digits, 30-second steps, and one step of clock skew either way.
//!
//! The module owns code generation, verification and the `otpauth://` enrollment URI. It is
//! pure: the HMAC comes in through [`HmacSha1`] (this crate has no dependencies), the time
//! comes in as `now_unix`, and replay protection is a value the caller stores: [`verify`]
//! returns the step it matched and refuses any step at or before `last_used_step`, so a code
//! is accepted once (RFC 6238 §5.2) and an older code never after a newer one.
//!
//! Invariants: a code is exactly six ASCII digits; candidates are compared in constant time
//! and all three are always computed; errors never carry the code or the secret.
//!
//! Refused: SHA-256/SHA-512 variants, 7- or 8-digit codes, periods other than 30 s, and
//! look-ahead windows wider than one step.

use std::fmt;

/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Seconds per TOTP time step.
pub const PERIOD: u64 = 30;
/// Steps of clock skew tolerated before and after the current one.
pub const SKEW: u64 = 1;

const MODULUS: u32 = 1_000_000;

/// HMAC-SHA-1, supplied by the caller so this crate stays dependency-free.
pub trait HmacSha1 {
    /// The 20-byte HMAC-SHA-1 of `msg` under `key` (any key length, as RFC 2104 allows).
    fn mac(&self, key: &[u8], msg: &[u8]) -> [u8; 20];
}

/// Why a code was refused. Deliberately says nothing about the code or the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpError {
    /// Not exactly six ASCII digits.
    Malformed,
    /// Six digits, but not the code for the previous, current or next step.
    Wrong,
    /// The code for a step that was already used (or is older than one that was).
    Replayed,
}

impl fmt::Display for TotpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TotpError::Malformed => "a code is exactly 6 digits",
            TotpError::Wrong => "the code is wrong or has expired",
            TotpError::Replayed => "that code was already used; wait for the next one",
        })
    }
}

impl std::error::Error for TotpError {}

/// The HOTP value (RFC 4226 §5.3) for `counter`, reduced to 6 digits.
pub fn hotp(h: &impl HmacSha1, secret: &[u8], counter: u64) -> u32 {
    let mac = h.mac(secret, &counter.to_be_bytes());
    // Dynamic truncation: the offset is the low nibble of the last byte, so at most 15, and
    // the four bytes read end at index 18 of 20.
    let offset = usize::from(mac[19] & 0x0f);
    let word = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    (word & 0x7fff_ffff) % MODULUS
}

/// A code value as the user sees it: six digits, zero-padded.
pub fn format_code(v: u32) -> String {
    format!("{:06}", v % MODULUS)
}

/// The TOTP time step containing `now_unix` (T0 = 0).
pub fn step(now_unix: u64) -> u64 {
    now_unix / PERIOD
}

/// The current TOTP code value for `now_unix`.
pub fn totp(h: &impl HmacSha1, secret: &[u8], now_unix: u64) -> u32 {
    hotp(h, secret, step(now_unix))
}

fn parse_code(code: &str) -> Option<u32> {
    let bytes = code.as_bytes();
    if bytes.len() != DIGITS as usize || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0')),
    )
}

/// Checks `code` against the steps before, at and after `now_unix`'s, and returns the step it
/// matched. A step at or before `last_used_step` is [`TotpError::Replayed`]; the caller stores
/// the returned step as the new `last_used_step`.
pub fn verify(
    h: &impl HmacSha1,
    secret: &[u8],
    code: &str,
    now_unix: u64,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    let given = parse_code(code).ok_or(TotpError::Malformed)?;
    let now = step(now_unix);
    let first = now.saturating_sub(SKEW);
    let last = now.saturating_add(SKEW);
    let mut accepted: Option<u64> = None;
    let mut replayed = false;
    for s in first..=last {
        // Every candidate is computed and compared without an early exit.
        let diff = hotp(h, secret, s) ^ given;
        let matched = std::hint::black_box(diff) == 0;
        if matched {
            if last_used_step.is_some_and(|used| s <= used) {
                replayed = true;
            } else {
                accepted = Some(s);
            }
        }
    }
    match accepted {
        Some(s) => Ok(s),
        None if replayed => Err(TotpError::Replayed),
        None => Err(TotpError::Wrong),
    }
}

/// The `otpauth://totp/...` URI an authenticator app enrolls from (usually shown as a QR code);
/// `issuer` and `account` are percent-encoded, the secret is unpadded base32.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        percent_encode(account),
        crate::base32::encode(secret),
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters (so a space is `%20`).
fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_zero_padded() {
        assert_eq!(format_code(0), "000000");
        assert_eq!(format_code(42), "000042");
        assert_eq!(format_code(999_999), "999999");
    }

    #[test]
    fn only_six_ascii_digits_parse() {
        assert_eq!(parse_code("012345"), Some(12_345));
        for bad in [
            "", "12345", "1234567", "12a456", " 12345", "１23456", "+12345",
        ] {
            assert_eq!(parse_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uri_percent_encodes_label_and_issuer() {
        assert_eq!(percent_encode("a b:c/é"), "a%20b%3Ac%2F%C3%A9");
    }
}
