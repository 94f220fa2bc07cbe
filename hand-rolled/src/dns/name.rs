//! Domain names: construction, display, comparison, and decompression on read.
//!
//! A [`Name`] is a sequence of labels, each 1..=63 arbitrary bytes (RFC 6763 §4.3 instance names
//! may hold dots, spaces and UTF-8), whose uncompressed wire form is at most 255 bytes including
//! the root terminator. Those limits are checked whenever a `Name` is built, so every `Name` can
//! be written. Comparison and hashing ignore ASCII case only (RFC 4343, RFC 6762 §16); bytes
//! outside ASCII compare exactly. The original case is kept and written back unchanged.
//!
//! Decompression (RFC 1035 §4.1.4) is made to terminate: the first pointer must point strictly
//! before the offset where the name started, and every further pointer strictly before the
//! previous pointer's target, so the walk only moves backwards; it also stops after
//! [`MAX_POINTERS`] pointers and as soon as the expanded name would pass 255 bytes.
//! Compression on write lives in the writer, which owns the offsets.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use super::error::DecodeError;
use super::reader::Reader;

/// The longest label, in bytes.
pub const MAX_LABEL_LEN: usize = 63;
/// The longest name in uncompressed wire form, including length bytes and the root terminator.
pub const MAX_NAME_LEN: usize = 255;
/// The most compression pointers one name may follow (a 255-byte name has at most 127 labels).
pub const MAX_POINTERS: usize = 128;

/// A domain name whose labels are arbitrary bytes; equality ignores ASCII case.
#[derive(Clone, Default)]
pub struct Name {
    /// Length-prefixed labels without the root terminator. Invariant: each label is 1..=63
    /// bytes and `wire.len() + 1 <= MAX_NAME_LEN`.
    wire: Vec<u8>,
}

/// Why a name could not be built from labels or from a dotted string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameError {
    /// A label of zero bytes (`a..b`), which the wire format reserves for the root.
    EmptyLabel,
    /// A label over 63 bytes.
    LabelTooLong,
    /// A name over 255 bytes in wire form.
    NameTooLong,
    /// A `\` at the end of the string, or a `\DDD` escape that is not three digits ≤ 255.
    BadEscape,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::EmptyLabel => "empty label in DNS name",
            NameError::LabelTooLong => "DNS label longer than 63 bytes",
            NameError::NameTooLong => "DNS name longer than 255 bytes",
            NameError::BadEscape => "bad escape in DNS name",
        })
    }
}

impl std::error::Error for NameError {}

impl Name {
    /// The root name `.`, which has no labels.
    pub fn root() -> Name {
        Name { wire: Vec::new() }
    }

    /// Builds a name from raw labels, most specific first (`["My Printer", "_ipp", "_tcp",
    /// "local"]`); a label may contain any byte, dots included.
    pub fn from_labels<I>(labels: I) -> Result<Name, NameError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut name = Name::root();
        for label in labels {
            name.push_label(label.as_ref())?;
        }
        Ok(name)
    }

    /// Parses presentation form: labels separated by `.`, an optional trailing `.`, `\.` for a
    /// dot inside a label, `\\` for a backslash, `\DDD` for any byte; `""` and `"."` are the root.
    pub fn from_dotted(s: &str) -> Result<Name, NameError> {
        let mut name = Name::root();
        if s == "." {
            return Ok(name);
        }
        let mut label = Vec::new();
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'.' => {
                    name.push_label(&label)?;
                    label.clear();
                }
                b'\\' => match bytes.next() {
                    Some(d @ b'0'..=b'9') => {
                        let mut value = u32::from(d - b'0');
                        for _ in 0..2 {
                            match bytes.next() {
                                Some(d @ b'0'..=b'9') => value = value * 10 + u32::from(d - b'0'),
                                _ => return Err(NameError::BadEscape),
                            }
                        }
                        label.push(u8::try_from(value).map_err(|_| NameError::BadEscape)?);
                    }
                    Some(other) => label.push(other),
                    None => return Err(NameError::BadEscape),
                },
                other => label.push(other),
            }
        }
        if !label.is_empty() {
            name.push_label(&label)?;
        }
        Ok(name)
    }

    fn push_label(&mut self, label: &[u8]) -> Result<(), NameError> {
        let len = u8::try_from(label.len()).map_err(|_| NameError::LabelTooLong)?;
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if self.wire.len() + 1 + label.len() + 1 > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        self.wire.push(len);
        self.wire.extend_from_slice(label);
        Ok(())
    }

    /// The name with `label` in front, as an instance name is built on a service type.
    pub fn prepend_label(&self, label: impl AsRef<[u8]>) -> Result<Name, NameError> {
        let mut name = Name::root();
        name.push_label(label.as_ref())?;
        name.concat(self)
    }

    /// This name followed by all labels of `suffix`.
    pub fn concat(&self, suffix: &Name) -> Result<Name, NameError> {
        let mut name = self.clone();
        for label in suffix.labels() {
            name.push_label(label)?;
        }
        Ok(name)
    }

    /// The labels, most specific first.
    pub fn labels(&self) -> Labels<'_> {
        Labels { rest: &self.wire }
    }

    /// The most specific label (the instance name of a DNS-SD service name), or `None` for root.
    pub fn first_label(&self) -> Option<&[u8]> {
        self.labels().next()
    }

    /// The name without its first label, or `None` for root.
    pub fn parent(&self) -> Option<Name> {
        let (&len, tail) = self.wire.split_first()?;
        let rest = tail.get(usize::from(len)..)?;
        Some(Name {
            wire: rest.to_vec(),
        })
    }

    /// How many labels the name has (0 for root).
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.wire.is_empty()
    }

    /// The uncompressed wire length, including the root terminator (1..=255).
    pub fn wire_len(&self) -> usize {
        self.wire.len() + 1
    }

    /// Whether `suffix` is this name or one of its ancestors, label by label, ignoring ASCII case.
    pub fn ends_with(&self, suffix: &Name) -> bool {
        let mut rest: &[u8] = &self.wire;
        loop {
            if rest.len() == suffix.wire.len() {
                return rest.eq_ignore_ascii_case(&suffix.wire);
            }
            match rest.split_first() {
                Some((&len, tail)) if rest.len() > suffix.wire.len() => {
                    rest = tail.get(usize::from(len)..).unwrap_or(&[]);
                }
                _ => return false,
            }
        }
    }

    /// The length-prefixed labels without the terminator, for the writer's compression map.
    pub(crate) fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Reads a possibly compressed name at the reader's position; the bytes of the name itself
    /// (up to its terminator or first pointer) must lie inside the reader's window, pointers may
    /// point anywhere earlier in the whole message.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Name, DecodeError> {
        let msg = r.message();
        let mut limit = r.offset();
        let mut name = Name::root();
        let mut step = read_labels(r, &mut name.wire)?;
        let mut pointers = 0;
        while let Some(target) = step {
            if target >= limit || pointers >= MAX_POINTERS {
                return Err(DecodeError::BadPointer);
            }
            pointers += 1;
            limit = target;
            let mut at = Reader::new(msg);
            at.take(target)?;
            step = read_labels(&mut at, &mut name.wire)?;
        }
        Ok(name)
    }
}

/// Appends labels to `wire` until the terminator (`None`) or a pointer (`Some(target)`).
fn read_labels(r: &mut Reader<'_>, wire: &mut Vec<u8>) -> Result<Option<usize>, DecodeError> {
    loop {
        let len = r.u8()?;
        match len >> 6 {
            0 if len == 0 => return Ok(None),
            0 => {
                let label = r.take(usize::from(len))?;
                if wire.len() + 1 + label.len() + 1 > MAX_NAME_LEN {
                    return Err(DecodeError::NameTooLong);
                }
                wire.push(len);
                wire.extend_from_slice(label);
            }
            3 => {
                let low = r.u8()?;
                return Ok(Some(usize::from(u16::from_be_bytes([len & 0x3f, low]))));
            }
            _ => return Err(DecodeError::ReservedLabelType),
        }
    }
}

/// Iterator over a name's labels, most specific first.
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        let (label, rest) = tail.split_at_checked(usize::from(len))?;
        self.rest = rest;
        Some(label)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        // Length bytes are at most 63, below b'A', so they compare exactly.
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.wire.len());
        for b in &self.wire {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl FromStr for Name {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Name, NameError> {
        Name::from_dotted(s)
    }
}

/// Presentation form without the trailing dot (`.` for root); `.` and `\` inside a label are
/// escaped, UTF-8 is shown as is, control characters and invalid UTF-8 as `\DDD`, so the output
/// parses back with [`Name::from_dotted`] to an identical name.
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for chunk in label.utf8_chunks() {
                for c in chunk.valid().chars() {
                    match c {
                        '.' => f.write_str("\\.")?,
                        '\\' => f.write_str("\\\\")?,
                        c if c.is_control() => {
                            let mut buf = [0; 4];
                            for b in c.encode_utf8(&mut buf).bytes() {
                                write!(f, "\\{b:03}")?;
                            }
                        }
                        c => fmt::Write::write_char(f, c)?,
                    }
                }
                for b in chunk.invalid() {
                    write!(f, "\\{b:03}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name(\"{self}\")")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dotted_round_trips_through_display() {
        let cases: &[(&str, &[&[u8]], &str)] = &[
            ("", &[], "."),
            (".", &[], "."),
            ("local.", &[b"local"], "local"),
            (
                "_http._tcp.local",
                &[b"_http", b"_tcp", b"local"],
                "_http._tcp.local",
            ),
            (
                "My\\.Printer (2)._ipp._tcp.local",
                &[b"My.Printer (2)", b"_ipp", b"_tcp", b"local"],
                "My\\.Printer (2)._ipp._tcp.local",
            ),
            (
                "caf\u{e9}.local",
                &["caf\u{e9}".as_bytes(), b"local"],
                "caf\u{e9}.local",
            ),
            ("a\\\\b\\009\\255", &[b"a\\b\t\xff"], "a\\\\b\\009\\255"),
        ];
        for (input, labels, shown) in cases {
            let name = Name::from_dotted(input).unwrap();
            assert_eq!(
                name.labels().collect::<Vec<_>>(),
                labels.to_vec(),
                "{input}"
            );
            assert_eq!(name.to_string(), *shown, "{input}");
            let again = Name::from_dotted(shown).unwrap();
            assert_eq!(again.wire, name.wire, "{input}");
        }
    }

    #[test]
    fn builders_refuse_what_the_wire_cannot_hold() {
        assert_eq!(Name::from_dotted("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(Name::from_dotted(".a"), Err(NameError::EmptyLabel));
        assert_eq!(Name::from_dotted("a\\"), Err(NameError::BadEscape));
        assert_eq!(Name::from_dotted("a\\25"), Err(NameError::BadEscape));
        assert_eq!(Name::from_dotted("a\\256"), Err(NameError::BadEscape));
        assert_eq!(
            Name::from_labels([[b'x'; 64]]),
            Err(NameError::LabelTooLong)
        );
        assert!(Name::from_labels([[b'x'; 63]]).is_ok());
        assert_eq!(
            Name::from_labels([vec![b'x'; 300]]),
            Err(NameError::LabelTooLong)
        );
        // 4 labels of 63 bytes = 256 bytes + terminator.
        assert_eq!(
            Name::from_labels([[b'x'; 63]; 4]),
            Err(NameError::NameTooLong)
        );
        let longest = Name::from_labels([&[b'x'; 63][..], &[b'x'; 63], &[b'x'; 63], &[b'x'; 61]]);
        assert_eq!(longest.map(|n| n.wire_len()), Ok(255));
    }

    #[test]
    fn comparison_ignores_ascii_case_only() {
        let a = Name::from_dotted("Grafana._HTTP._tcp.local").unwrap();
        let b = Name::from_dotted("grafana._http._TCP.LOCAL").unwrap();
        assert_eq!(a, b);
        let hash = |n: &Name| {
            use std::collections::hash_map::DefaultHasher;
            let mut h = DefaultHasher::new();
            n.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(
            Name::from_dotted("\u{c9}.local"),
            Name::from_dotted("\u{e9}.local")
        );
        assert_ne!(Name::from_dotted("a.b"), Name::from_dotted("a\\.b"));
    }

    #[test]
    fn structure_helpers() {
        let svc = Name::from_dotted("_ipp._tcp.local").unwrap();
        let inst = svc.prepend_label("Printer.2").unwrap();
        assert_eq!(inst.to_string(), "Printer\\.2._ipp._tcp.local");
        assert_eq!(inst.first_label(), Some(&b"Printer.2"[..]));
        assert_eq!(inst.parent(), Some(svc.clone()));
        assert_eq!(inst.label_count(), 4);
        assert!(inst.ends_with(&svc));
        assert!(inst.ends_with(&Name::from_dotted("LOCAL").unwrap()));
        assert!(inst.ends_with(&Name::root()));
        assert!(inst.ends_with(&inst));
        assert!(!inst.ends_with(&Name::from_dotted("cp.local").unwrap()));
        assert!(!svc.ends_with(&inst));
        assert_eq!(Name::root().parent(), None);
        assert_eq!(svc.concat(&Name::root()), Ok(svc.clone()));
    }
}
