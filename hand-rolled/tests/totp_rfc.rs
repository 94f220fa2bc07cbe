//! TOTP/HOTP against the RFC test vectors, the ±1-step window, replay refusal (DESIGN
//! departure 4), malformed codes and the enrollment URI. The HMAC comes from the RustCrypto
//! `hmac` + `sha1` crates, standing in for whatever the application plugs in.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use hmac::{Hmac, Mac};
use koi_wire::totp::{
    format_code, hotp, otpauth_uri, step, totp, verify, HmacSha1, TotpError, PERIOD,
};

struct RustCrypto;

impl HmacSha1 for RustCrypto {
    fn mac(&self, key: &[u8], msg: &[u8]) -> [u8; 20] {
        let mut m = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().into()
    }
}

/// RFC 4226 Appendix D and RFC 6238 Appendix B (SHA-1) share this secret.
const SECRET: &[u8] = b"12345678901234567890";

#[test]
fn rfc4226_appendix_d_hotp_vectors() {
    let expected = [
        755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
    ];
    for (counter, want) in expected.into_iter().enumerate() {
        assert_eq!(
            hotp(&RustCrypto, SECRET, counter as u64),
            want,
            "counter {counter}"
        );
    }
}

#[test]
fn rfc6238_appendix_b_sha1_vectors_last_six_digits() {
    // (time, 8-digit TOTP from the RFC, step in hex from the RFC)
    let table: [(u64, &str, u64); 6] = [
        (59, "94287082", 0x1),
        (1111111109, "07081804", 0x23523EC),
        (1111111111, "14050471", 0x23523ED),
        (1234567890, "89005924", 0x273EF07),
        (2000000000, "69279037", 0x3F940AA),
        (20000000000, "65353130", 0x27BC86AA),
    ];
    for (t, eight, t_hex) in table {
        assert_eq!(step(t), t_hex, "step at {t}");
        let code = format_code(totp(&RustCrypto, SECRET, t));
        assert_eq!(code, eight[2..], "time {t}");
        assert_eq!(verify(&RustCrypto, SECRET, &code, t, None), Ok(t_hex));
    }
}

const NOW: u64 = 1_700_000_015;

fn code_at_offset(steps: i64) -> String {
    let s = step(NOW).checked_add_signed(steps).unwrap();
    format_code(hotp(&RustCrypto, SECRET, s))
}

#[test]
fn one_step_of_skew_either_way_is_accepted() {
    for offset in [-1i64, 0, 1] {
        let want = step(NOW).checked_add_signed(offset).unwrap();
        let code = code_at_offset(offset);
        assert_eq!(
            verify(&RustCrypto, SECRET, &code, NOW, None),
            Ok(want),
            "{offset}"
        );
    }
}

#[test]
fn two_steps_of_skew_are_refused() {
    for offset in [-2i64, 2] {
        let code = code_at_offset(offset);
        assert_eq!(
            verify(&RustCrypto, SECRET, &code, NOW, None),
            Err(TotpError::Wrong),
            "{offset}"
        );
    }
}

#[test]
fn a_wrong_code_is_refused() {
    let good = totp(&RustCrypto, SECRET, NOW);
    let bad = format_code((good + 1) % 1_000_000);
    assert_eq!(
        verify(&RustCrypto, SECRET, &bad, NOW, None),
        Err(TotpError::Wrong)
    );
    let other_secret = b"another secret of 20";
    let code = format_code(good);
    assert_eq!(
        verify(&RustCrypto, other_secret, &code, NOW, None),
        Err(TotpError::Wrong)
    );
}

#[test]
fn a_code_is_accepted_once() {
    let code = code_at_offset(0);
    let used = verify(&RustCrypto, SECRET, &code, NOW, None).unwrap();
    assert_eq!(
        verify(&RustCrypto, SECRET, &code, NOW, Some(used)),
        Err(TotpError::Replayed)
    );
    // Still refused later in the window, while the step is within the skew.
    assert_eq!(
        verify(&RustCrypto, SECRET, &code, NOW + PERIOD, Some(used)),
        Err(TotpError::Replayed)
    );
    // The next step's code is fine.
    let next = code_at_offset(1);
    assert_eq!(
        verify(&RustCrypto, SECRET, &next, NOW, Some(used)),
        Ok(used + 1)
    );
}

#[test]
fn a_code_older_than_the_last_used_step_is_refused() {
    let newer = verify(&RustCrypto, SECRET, &code_at_offset(1), NOW, None).unwrap();
    for offset in [-1i64, 0] {
        assert_eq!(
            verify(
                &RustCrypto,
                SECRET,
                &code_at_offset(offset),
                NOW,
                Some(newer)
            ),
            Err(TotpError::Replayed),
            "{offset}"
        );
    }
}

#[test]
fn malformed_codes_are_refused_before_any_mac() {
    struct Panics;
    impl HmacSha1 for Panics {
        fn mac(&self, _: &[u8], _: &[u8]) -> [u8; 20] {
            panic!("a malformed code must not reach the HMAC")
        }
    }
    for bad in [
        "12345", "1234567", "12a456", " 123456", "123456 ", "", "-12345", "12 456",
    ] {
        assert_eq!(
            verify(&Panics, SECRET, bad, NOW, None),
            Err(TotpError::Malformed),
            "{bad:?}"
        );
    }
}

#[test]
fn errors_do_not_echo_the_code() {
    for e in [TotpError::Malformed, TotpError::Wrong, TotpError::Replayed] {
        let text = e.to_string();
        assert!(
            !text.chars().any(|c| c.is_ascii_digit() && c != '6'),
            "{text}"
        );
        assert!(!text.is_empty());
    }
}

#[test]
fn early_times_do_not_underflow() {
    for now in [0, 1, 29, 30] {
        let code = format_code(totp(&RustCrypto, SECRET, now));
        assert_eq!(verify(&RustCrypto, SECRET, &code, now, None), Ok(step(now)));
    }
    let far = u64::MAX;
    let code = format_code(totp(&RustCrypto, SECRET, far));
    assert_eq!(verify(&RustCrypto, SECRET, &code, far, None), Ok(step(far)));
}

#[test]
fn otpauth_uri_is_what_authenticator_apps_read() {
    assert_eq!(
        otpauth_uri("koi", "pi@lab", b"12345678901234567890"),
        "otpauth://totp/koi:pi%40lab?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
         &issuer=koi&algorithm=SHA1&digits=6&period=30"
    );
    assert_eq!(
        otpauth_uri("My Lab: CA", "alice smith", b"\xff"),
        "otpauth://totp/My%20Lab%3A%20CA:alice%20smith?secret=74\
         &issuer=My%20Lab%3A%20CA&algorithm=SHA1&digits=6&period=30"
    );
}
