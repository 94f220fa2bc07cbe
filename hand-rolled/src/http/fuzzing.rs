//! Fuzz entry for the HTTP codec: every parser, decoder and writer driven from one input.
//!
//! Panics only when an invariant of the codec breaks:
//! - a head that parses writes back and re-parses to the same head and length;
//! - tighter limits never accept a head that the defaults parse differently;
//! - every proper prefix of a complete head is "incomplete", never an error;
//! - a body decodes the same whether fed whole or one byte at a time, and a decoded chunked
//!   body re-encodes and decodes to the same bytes;
//! - whatever a writer accepts, the parser reads back; whatever it refuses leaves no output.

use super::{
    parse_request_head, parse_response_head, reason_phrase, write_chunk, write_last_chunk,
    write_request_head, write_response_head, BodyDecoder, BodyKind, Error, Limits, Version,
};

/// Runs `data` through every HTTP parser, decoder and writer, checking the invariants above.
pub fn http_head(data: &[u8]) {
    request(data);
    response(data);
    body(BodyKind::Chunked, data, 1 << 16);
    body(BodyKind::Chunked, data, u64::MAX);
    body(BodyKind::Length(data.len() as u64 / 2), data, 1 << 16);
    writers(data);
}

const TINY: Limits = Limits {
    max_head: 96,
    max_headers: 3,
    max_request_line: 48,
};

/// Limits that any head of `len` bytes and `headers` fields just fits.
fn exact(len: usize, headers: usize) -> Limits {
    Limits {
        max_head: len,
        max_headers: headers,
        max_request_line: len,
    }
}

fn request(data: &[u8]) {
    let full = parse_request_head(data, &Limits::default());
    if let Ok(Some(small)) = parse_request_head(data, &TINY) {
        assert_eq!(full, Ok(Some(small)), "tighter limits changed the head");
    }
    let Ok(Some((head, n))) = full else { return };
    assert!(n <= data.len() && n <= Limits::default().max_head);
    for k in [n.saturating_sub(1), n / 2] {
        let prefix = data.get(..k).unwrap_or_default();
        let got = parse_request_head(prefix, &Limits::default());
        assert_eq!(got, Ok(None), "prefix of {k} bytes was not incomplete");
    }
    let mut bytes = Vec::new();
    if let Err(e) = head.write(&mut bytes) {
        panic!("parsed request head does not write: {e:?} {head:?}");
    }
    let again = parse_request_head(&bytes, &exact(bytes.len(), head.headers.len()));
    assert_eq!(
        again,
        Ok(Some((head.clone(), bytes.len()))),
        "request round trip"
    );
    let _ = head.keep_alive();
    if let Ok(kind) = head.body_kind() {
        assert_ne!(
            kind,
            BodyKind::UntilClose,
            "requests never read until close"
        );
        body(kind, data.get(n..).unwrap_or_default(), 1 << 16);
    }
}

fn response(data: &[u8]) {
    let full = parse_response_head(data, &Limits::default());
    if let Ok(Some(small)) = parse_response_head(data, &TINY) {
        assert_eq!(full, Ok(Some(small)), "tighter limits changed the head");
    }
    let Ok(Some((head, n))) = full else { return };
    assert!(n <= data.len());
    let mut bytes = Vec::new();
    if let Err(e) = head.write(&mut bytes) {
        panic!("parsed response head does not write: {e:?} {head:?}");
    }
    let again = parse_response_head(&bytes, &exact(bytes.len(), head.headers.len()));
    assert_eq!(
        again,
        Ok(Some((head.clone(), bytes.len()))),
        "response round trip"
    );
    let _ = head.keep_alive();
    assert_eq!(head.body_kind("HEAD"), Ok(BodyKind::Empty));
    if let Ok(kind) = head.body_kind("GET") {
        body(kind, data.get(n..).unwrap_or_default(), 1 << 16);
    }
}

/// Decodes `input` whole and byte by byte, and compares.
fn body(kind: BodyKind, input: &[u8], cap: u64) {
    let Ok(mut whole) = BodyDecoder::new(kind, cap) else {
        return;
    };
    let mut split = whole.clone();
    let mut out = Vec::new();
    let whole_result = whole.decode(input, &mut out);

    let mut split_out = Vec::new();
    let mut split_result = Ok(0);
    for byte in input.chunks(1) {
        match split.decode(byte, &mut split_out) {
            Ok(0) => {
                assert!(split.is_done(), "a stuck decoder refused a byte");
                break;
            }
            Ok(n) => split_result = split_result.map(|used| used + n),
            Err(e) => {
                split_result = Err(e);
                break;
            }
        }
    }
    match (whole_result, split_result) {
        (Ok(used), Ok(split_used)) => {
            assert_eq!(used, split_used, "consumed differs when split");
            assert_eq!(out, split_out, "output differs when split");
            assert_eq!(whole.is_done(), split.is_done());
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "error differs when split"),
        (a, b) => panic!("whole {a:?} but split {b:?}"),
    }
    if whole.is_done() && kind == BodyKind::Chunked {
        let mut encoded = Vec::new();
        for piece in out.chunks(7) {
            write_chunk(&mut encoded, piece);
        }
        write_last_chunk(&mut encoded);
        let mut decoder = BodyDecoder::new(kind, cap).unwrap_or_else(|e| panic!("{e:?}"));
        let mut again = Vec::new();
        assert_eq!(decoder.decode(&encoded, &mut again), Ok(encoded.len()));
        assert!(decoder.is_done());
        assert_eq!(again, out, "chunked re-encoding changed the body");
    } else if !whole.is_done() && whole_result.is_ok() {
        let expected = match kind {
            BodyKind::UntilClose => Ok(()),
            _ => Err(Error::Truncated),
        };
        assert_eq!(whole.finish_at_eof(), expected);
    }
}

/// Splits the input into method, target and `name:value` fields and writes them both ways.
fn writers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let fields: Vec<(&str, &str)> = parts
        .map(|p| p.split_once(':').unwrap_or((p, "")))
        .collect();
    let trimmed = |v: &str| v.trim_matches([' ', '\t']).to_owned();

    let mut out = Vec::new();
    match write_request_head(&mut out, method, target, &fields) {
        Ok(()) => {
            let parsed = parse_request_head(&out, &exact(out.len(), fields.len()));
            let Ok(Some((head, n))) = parsed else {
                panic!("written request does not parse: {parsed:?}");
            };
            assert_eq!(n, out.len());
            assert_eq!(
                (head.method.as_str(), head.target.as_str()),
                (method, target)
            );
            assert_eq!(head.version, Version::Http11);
            let got = head
                .headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.clone()));
            let want = fields.iter().map(|&(n, v)| (n, trimmed(v)));
            assert!(got.eq(want), "request headers changed");
        }
        Err(_) => assert!(out.is_empty(), "a refused write left output"),
    }

    let status = data
        .iter()
        .fold(0u16, |s, &b| s.wrapping_mul(31).wrapping_add(b.into()))
        % 1100;
    let mut out = Vec::new();
    match write_response_head(&mut out, status, &fields) {
        Ok(()) => {
            let parsed = parse_response_head(&out, &exact(out.len(), fields.len()));
            let Ok(Some((head, n))) = parsed else {
                panic!("written response does not parse: {parsed:?}");
            };
            assert_eq!(n, out.len());
            assert_eq!(
                (head.status, head.reason.as_str()),
                (status, reason_phrase(status))
            );
            let got = head
                .headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.clone()));
            let want = fields.iter().map(|&(n, v)| (n, trimmed(v)));
            assert!(got.eq(want), "response headers changed");
        }
        Err(_) => assert!(out.is_empty(), "a refused write left output"),
    }
}
