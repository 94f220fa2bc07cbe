//! Text encodings for the slot table: standard base64 with padding (RFC 4648 §4) and
//! lower-case hex. Decoders are strict (one accepted spelling per byte string) and return
//! `None` instead of panicking.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes padded standard base64; `None` for anything [`b64_encode`] would not write.
pub(crate) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.chunks_exact(4);
    let count = quads.len();
    for (i, quad) in quads.enumerate() {
        let pads = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pads > 2 || (pads > 0 && i + 1 != count) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &quad[..4 - pads] {
            n = n << 6 | b64_value(c)?;
        }
        n <<= 6 * pads as u32;
        let produced = 3 - pads;
        // The bits below the last produced byte must be zero.
        if n & ((1u32 << (8 * pads as u32)) - 1) != 0 {
            return None;
        }
        out.extend_from_slice(&n.to_be_bytes()[1..1 + produced]);
    }
    Some(out)
}

/// Decodes lower- or upper-case hex with an even number of digits.
pub(super) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors_both_ways() {
        let table = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (data, text) in table {
            assert_eq!(b64_encode(data.as_bytes()), text);
            assert_eq!(b64_decode(text).as_deref(), Some(data.as_bytes()));
        }
    }

    #[test]
    fn base64_refuses_non_canonical_text() {
        for bad in [
            "Zg", "Zh==", "Zg=a", "Zg==Zg==", "Z===", "Zm9v\n", "Zm-v", "====",
        ] {
            assert_eq!(b64_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base64_round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).collect();
        for len in 0..data.len() {
            assert_eq!(
                b64_decode(&b64_encode(&data[..len])).as_deref(),
                Some(&data[..len])
            );
        }
    }

    #[test]
    fn hex_decodes_what_base_hex_writes() {
        let data = [0x00, 0x0f, 0xa5, 0xff];
        assert_eq!(
            hex_decode(&crate::base::hex(&data)).as_deref(),
            Some(&data[..])
        );
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode("0g"), None);
    }
}
