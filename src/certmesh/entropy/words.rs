//! XKCD-style passphrases from the EFF short word list.
//!
//! Owns the embedded list and unbiased word selection. Randomness is passed in; it never
//! prints or stores what it generates.
//!
//! The list is the Electronic Frontier Foundation's "short word list 1" (1,296 words of 3-5
//! letters, CC BY 3.0 US, <https://www.eff.org/dice>), minus its one hyphenated word so that
//! the separator stays unambiguous: 1,295 words, about 10.3 bits each.

use crate::base::{RandomSource, Secret};

/// The embedded list, one word per line.
const LIST: &str = include_str!("eff_short_wordlist.txt");

/// Words in a generated passphrase: 7 × 10.3 ≈ 72 bits, beyond an offline guesser that must
/// pay an Argon2id evaluation (64 MiB, t=3) per guess.
pub const DEFAULT_WORDS: usize = 7;

/// The words of the list.
pub fn words() -> impl Iterator<Item = &'static str> {
    LIST.lines().filter(|w| !w.is_empty())
}

/// Bits of entropy in a passphrase of `n` words.
pub fn bits(n: usize) -> f64 {
    n as f64 * (words().count() as f64).log2()
}

/// A passphrase of `n` words joined by `-`, each drawn uniformly (rejection sampling, no
/// modulo bias).
pub fn passphrase(n: usize, rng: &mut dyn RandomSource) -> std::io::Result<Secret> {
    let list: Vec<&str> = words().collect();
    let count = list.len() as u32;
    // The largest multiple of `count` that fits in a u16 range of draws.
    let limit = (u32::from(u16::MAX) + 1) / count * count;
    let mut out = Vec::with_capacity(n * 6);
    for i in 0..n {
        let index = loop {
            let mut b = [0u8; 2];
            rng.fill(&mut b)?;
            let v = u32::from(u16::from_le_bytes(b));
            if v < limit {
                break (v % count) as usize;
            }
        };
        if i > 0 {
            out.push(b'-');
        }
        out.extend_from_slice(list.get(index).map_or(&b""[..], |w| w.as_bytes()));
    }
    Ok(Secret::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::OsRandom;
    use std::collections::HashSet;

    /// Replays fixed bytes, then fails.
    struct Fixed(Vec<u8>);

    impl RandomSource for Fixed {
        fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
            if self.0.len() < buf.len() {
                return Err(std::io::Error::other("out of bytes"));
            }
            let rest = self.0.split_off(buf.len());
            buf.copy_from_slice(&self.0);
            self.0 = rest;
            Ok(())
        }
    }

    #[test]
    fn the_list_is_1295_distinct_short_lowercase_words() {
        let all: Vec<&str> = words().collect();
        assert_eq!(all.len(), 1295);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 1295);
        assert!(all
            .iter()
            .all(|w| (3..=5).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase())));
        assert!(bits(DEFAULT_WORDS) > 72.0);
    }

    #[test]
    fn draws_map_to_words_and_biased_draws_are_rejected() {
        // 0 → first word; 65535 is past the last whole multiple of 1295 and is redrawn.
        let mut rng = Fixed(vec![0, 0, 0xff, 0xff, 1, 0]);
        let p = passphrase(2, &mut rng).unwrap();
        let first: Vec<&str> = words().take(2).collect();
        assert_eq!(p.expose(), format!("{}-{}", first[0], first[1]).as_bytes());
    }

    #[test]
    fn a_failing_source_is_an_error_not_a_weak_passphrase() {
        assert!(passphrase(3, &mut Fixed(vec![1, 0])).is_err());
    }

    #[test]
    fn generated_passphrases_have_the_asked_number_of_listed_words() {
        let known: HashSet<&str> = words().collect();
        let p = passphrase(DEFAULT_WORDS, &mut OsRandom).unwrap();
        let text = std::str::from_utf8(p.expose()).unwrap();
        let parts: Vec<&str> = text.split('-').collect();
        assert_eq!(parts.len(), DEFAULT_WORDS);
        assert!(parts.iter().all(|w| known.contains(w)), "{text}");
    }
}
