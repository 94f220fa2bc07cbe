//! Property tests with a tiny inline PRNG (fixed seeds, so failures reproduce): random valid
//! heads round-trip through the writers and parsers, random chunkings decode to the same
//! body, and random mutations of valid heads never panic nor break the fuzz invariants.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use koi_wire::http::{
    parse_request_head, parse_response_head, write_chunk, write_last_chunk, BodyDecoder, BodyKind,
    Header, Limits, RequestHead, ResponseHead, Version,
};

/// xorshift64: enough randomness for test inputs, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn string(&mut self, alphabet: &[char], min: usize, max: usize) -> String {
        let len = min + self.below(max - min + 1);
        (0..len).map(|_| *self.pick(alphabet)).collect()
    }
}

fn tchars() -> Vec<char> {
    let mut v: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    v.extend("!#$%&'*+-.^_`|~".chars());
    v
}

fn vchars() -> Vec<char> {
    (0x21u8..=0x7e).map(char::from).collect()
}

fn value_chars() -> Vec<char> {
    let mut v = vchars();
    v.extend([' ', '\t', ' ', 'é', 'ß', '→', '猫', '\u{fffd}']);
    v
}

fn random_headers(rng: &mut Rng) -> Vec<Header> {
    let (names, values) = (tchars(), value_chars());
    let mut well_known = vec![
        "Host",
        "User-Agent",
        "Accept",
        "Connection",
        "Content-Type",
        "Content-Length",
    ];
    (0..rng.below(20))
        .map(|_| {
            let name = if rng.below(3) == 0 && !well_known.is_empty() {
                well_known
                    .swap_remove(rng.below(well_known.len()))
                    .to_owned()
            } else {
                rng.string(&names, 1, 12)
            };
            // Values carry no surrounding whitespace: the parser trims it.
            let value = rng.string(&values, 0, 30);
            let value = value.trim_matches([' ', '\t']).to_owned();
            Header { name, value }
        })
        .collect()
}

fn random_version(rng: &mut Rng) -> Version {
    *rng.pick(&[Version::Http10, Version::Http11])
}

fn random_request(rng: &mut Rng) -> RequestHead {
    let methods = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "M-SEARCH",
    ];
    let method = if rng.below(2) == 0 {
        (*rng.pick(&methods)).to_owned()
    } else {
        rng.string(&tchars(), 1, 10)
    };
    let target = match rng.below(4) {
        0 => "*".to_owned(),
        1 => format!("http://koi.local{}", rng.string(&vchars(), 0, 40)),
        _ => format!("/{}", rng.string(&vchars(), 0, 60)),
    };
    RequestHead {
        method,
        target,
        version: random_version(rng),
        headers: random_headers(rng),
    }
}

fn random_response(rng: &mut Rng) -> ResponseHead {
    let reason = rng.string(&value_chars(), 0, 20);
    ResponseHead {
        version: random_version(rng),
        status: 100 + rng.below(900) as u16,
        reason,
        headers: random_headers(rng),
    }
}

#[test]
fn random_valid_heads_round_trip() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..10_000 {
        let head = random_request(&mut rng);
        let mut bytes = Vec::new();
        head.write(&mut bytes).unwrap();
        let got = parse_request_head(&bytes, &Limits::default()).unwrap();
        assert_eq!(got, Some((head.clone(), bytes.len())), "{bytes:?}");

        let head = random_response(&mut rng);
        let mut bytes = Vec::new();
        head.write(&mut bytes).unwrap();
        let got = parse_response_head(&bytes, &Limits::default()).unwrap();
        assert_eq!(got, Some((head.clone(), bytes.len())), "{bytes:?}");
    }
}

#[test]
fn random_chunked_bodies_decode_in_any_split() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..2_000 {
        let body: Vec<u8> = (0..rng.below(600)).map(|_| rng.next() as u8).collect();
        let mut encoded = Vec::new();
        let mut rest = &body[..];
        while !rest.is_empty() {
            let (piece, tail) = rest.split_at(1 + rng.below(rest.len().min(100)));
            write_chunk(&mut encoded, piece);
            rest = tail;
        }
        write_last_chunk(&mut encoded);
        encoded.extend_from_slice(b"GET /next");

        let mut decoder = BodyDecoder::new(BodyKind::Chunked, body.len() as u64).unwrap();
        let (mut out, mut used) = (Vec::new(), 0);
        while !decoder.is_done() {
            let end = (used + 1 + rng.below(40)).min(encoded.len());
            used += decoder.decode(&encoded[used..end], &mut out).unwrap();
        }
        assert_eq!(out, body);
        assert_eq!(&encoded[used..], b"GET /next");
    }
}

/// Bytes that tend to matter to an HTTP parser.
const INTERESTING: &[u8] = b"\r\n \t:;,0123456789abcdefxX-+\0\x7f\x80\xff";

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 if at < bytes.len() => bytes[at] = *rng.pick(INTERESTING),
            1 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => {
                let len = rng.below(bytes.len() - at + 1).min(64);
                let copy = bytes[at..at + len].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => bytes.insert(at, *rng.pick(INTERESTING)),
        }
    }
}

#[test]
fn random_mutations_never_panic() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let (mut parsed, mut refused) = (0, 0);
    for i in 0..10_000 {
        let mut bytes = Vec::new();
        if i % 2 == 0 {
            let mut head = random_request(&mut rng);
            let body: &[u8] = match rng.below(3) {
                0 => {
                    head.headers.push(Header::new("Content-Length", "5"));
                    b"hello"
                }
                1 => {
                    head.headers
                        .push(Header::new("Transfer-Encoding", "chunked"));
                    b"3\r\nabc\r\n0\r\nT: v\r\n\r\n"
                }
                _ => b"",
            };
            head.write(&mut bytes).unwrap();
            bytes.extend_from_slice(body);
        } else {
            random_response(&mut rng).write(&mut bytes).unwrap();
        }
        mutate(&mut rng, &mut bytes);
        // Parses, re-writes, re-parses, decodes whole and split: panics on any broken invariant.
        koi_wire::fuzzing::http::http_head(&bytes);
        let limits = Limits::default();
        let ok = if i % 2 == 0 {
            parse_request_head(&bytes, &limits).map(|h| h.is_some())
        } else {
            parse_response_head(&bytes, &limits).map(|h| h.is_some())
        };
        match ok {
            Ok(true) => parsed += 1,
            Err(_) => refused += 1,
            Ok(false) => {}
        }
    }
    // Both sides of the parser were exercised, not just its first error.
    assert!(
        parsed > 2_000 && refused > 2_000,
        "{parsed} parsed, {refused} refused"
    );
}
