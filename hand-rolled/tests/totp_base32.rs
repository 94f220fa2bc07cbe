//! Base32 (RFC 4648 §6): the §10 vectors both ways, the leniencies people need when typing a
//! TOTP secret, strict refusals, round trips, and 10,000 random strings that never panic.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use koi_wire::base32::{decode, encode, Base32Error};

/// RFC 4648 §10: (data, padded encoding).
const RFC4648: [(&str, &str); 7] = [
    ("", ""),
    ("f", "MY======"),
    ("fo", "MZXQ===="),
    ("foo", "MZXW6==="),
    ("foob", "MZXW6YQ="),
    ("fooba", "MZXW6YTB"),
    ("foobar", "MZXW6YTBOI======"),
];

#[test]
fn rfc4648_vectors_encode_without_padding() {
    for (data, padded) in RFC4648 {
        assert_eq!(
            encode(data.as_bytes()),
            padded.trim_end_matches('='),
            "{data:?}"
        );
    }
}

#[test]
fn rfc4648_vectors_decode_with_and_without_padding_in_either_case() {
    for (data, padded) in RFC4648 {
        let bare = padded.trim_end_matches('=');
        for text in [
            padded.to_string(),
            bare.to_string(),
            padded.to_ascii_lowercase(),
            bare.to_ascii_lowercase(),
        ] {
            assert_eq!(decode(&text).unwrap(), data.as_bytes(), "{text:?}");
        }
    }
}

#[test]
fn spaces_between_groups_are_ignored() {
    assert_eq!(decode("mzxw 6ytb oi").unwrap(), b"foobar");
    assert_eq!(
        decode(" GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ ").unwrap(),
        b"12345678901234567890"
    );
    assert_eq!(decode("MZXW6YTBOI ====== ").unwrap(), b"foobar");
}

#[test]
fn refusals_are_errors_not_panics() {
    let table: [(&str, Base32Error); 9] = [
        ("M", Base32Error::InvalidLength),
        ("MZX", Base32Error::InvalidLength),
        ("MZXW6Y", Base32Error::InvalidLength),
        ("MZXW1", Base32Error::InvalidChar { position: 4 }),
        ("MZ-XW", Base32Error::InvalidChar { position: 2 }),
        ("MZ\tXW", Base32Error::InvalidChar { position: 2 }),
        ("MZXQ==", Base32Error::InvalidPadding),
        ("MY======MY", Base32Error::InvalidPadding),
        ("MZXR", Base32Error::NonCanonical),
    ];
    for (text, want) in table {
        assert_eq!(decode(text), Err(want), "{text:?}");
    }
    assert!(matches!(
        decode("MZ\u{e9}XW"),
        Err(Base32Error::InvalidChar { position: 2 })
    ));
}

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
}

#[test]
fn random_bytes_round_trip() {
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..2_000 {
        let len = rng.below(70);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let text = encode(&data);
        assert!(text
            .bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)));
        assert_eq!(decode(&text).unwrap(), data);
        assert_eq!(decode(&text.to_ascii_lowercase()).unwrap(), data);
    }
}

#[test]
fn ten_thousand_random_strings_never_panic_and_accepted_ones_are_canonical() {
    // Mostly alphabet characters, so many inputs get deep into the decoder.
    let alphabet: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz234567= 0189-\t\u{e9}\u{732b}"
            .chars()
            .collect();
    let mut rng = Rng(0x5eed_0002);
    let mut accepted = 0;
    for _ in 0..10_000 {
        let len = rng.below(40);
        let text: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        if let Ok(bytes) = decode(&text) {
            accepted += 1;
            let canonical: String = text
                .chars()
                .filter(|&c| c != ' ' && c != '=')
                .collect::<String>()
                .to_ascii_uppercase();
            assert_eq!(encode(&bytes), canonical, "{text:?}");
        }
    }
    assert!(accepted > 0);
}
