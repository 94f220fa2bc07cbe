//! Open enums for the DNS wire values: record types, classes, opcodes and response codes.
//!
//! Each is a newtype over the raw wire integer with named constants, so a value this crate has
//! no name for still decodes, compares and round-trips unchanged (RFC 3597). `Display` prints the
//! mnemonic where there is one and the RFC 3597 generic form (`TYPE65280`, `CLASS7`) otherwise.

use core::fmt;

/// Declares an open enum: `pub struct $name(pub $int)` with named constants and a mnemonic table.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident($int:ty), generic = $generic:literal {
            $( $(#[$cmeta:meta])* $konst:ident = $value:literal => $mnemonic:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $int);

        impl $name {
            $( $(#[$cmeta])* pub const $konst: $name = $name($value); )*

            /// The mnemonic for a value this crate has a name for.
            pub fn mnemonic(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($mnemonic), )*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.mnemonic() {
                    Some(m) => f.write_str(m),
                    None => write!(f, concat!($generic, "{}"), self.0),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                $name(v)
            }
        }

        impl From<$name> for $int {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

open_enum! {
    /// A resource record type (RFC 1035 §3.2.2) or question type (§3.2.3).
    RecordType(u16), generic = "TYPE" {
        /// IPv4 host address.
        A = 1 => "A",
        /// Authoritative name server.
        NS = 2 => "NS",
        /// Canonical name for an alias.
        CNAME = 5 => "CNAME",
        /// Start of a zone of authority.
        SOA = 6 => "SOA",
        /// Domain name pointer; in DNS-SD, service type → instance.
        PTR = 12 => "PTR",
        /// Host information (CPU and OS strings).
        HINFO = 13 => "HINFO",
        /// Mail exchange.
        MX = 15 => "MX",
        /// Text strings; in DNS-SD, the key=value metadata of an instance.
        TXT = 16 => "TXT",
        /// IPv6 host address (RFC 3596).
        AAAA = 28 => "AAAA",
        /// Service location (RFC 2782).
        SRV = 33 => "SRV",
        /// EDNS0 pseudo-record (RFC 6891).
        OPT = 41 => "OPT",
        /// Next secure record; mDNS uses it for negative answers (RFC 6762 §6.1).
        NSEC = 47 => "NSEC",
        /// Question type: any record type.
        ANY = 255 => "ANY",
    }
}

open_enum! {
    /// A record or question class with the mDNS top bit (cache-flush / QU) already removed.
    Class(u16), generic = "CLASS" {
        /// The Internet.
        IN = 1 => "IN",
        /// Chaos.
        CH = 3 => "CH",
        /// Hesiod.
        HS = 4 => "HS",
        /// Question class NONE (RFC 2136).
        NONE = 254 => "NONE",
        /// Question class: any class.
        ANY = 255 => "ANY",
    }
}

open_enum! {
    /// The four-bit header opcode.
    Opcode(u8), generic = "OPCODE" {
        /// Standard query; the only opcode mDNS uses.
        QUERY = 0 => "QUERY",
        /// Inverse query (obsolete).
        IQUERY = 1 => "IQUERY",
        /// Server status request.
        STATUS = 2 => "STATUS",
        /// Zone change notification (RFC 1996).
        NOTIFY = 4 => "NOTIFY",
        /// Dynamic update (RFC 2136).
        UPDATE = 5 => "UPDATE",
    }
}

open_enum! {
    /// A response code: four bits in the header, twelve with the EDNS0 extension.
    Rcode(u16), generic = "RCODE" {
        /// No error.
        NOERROR = 0 => "NOERROR",
        /// The query could not be parsed.
        FORMERR = 1 => "FORMERR",
        /// The server failed.
        SERVFAIL = 2 => "SERVFAIL",
        /// The name does not exist.
        NXDOMAIN = 3 => "NXDOMAIN",
        /// The server does not implement this kind of query.
        NOTIMP = 4 => "NOTIMP",
        /// The server refuses to answer.
        REFUSED = 5 => "REFUSED",
        /// The EDNS version is not supported (RFC 6891; needs the extension bits).
        BADVERS = 16 => "BADVERS",
    }
}

/// The mDNS top bit of a class field: cache-flush on records, QU (unicast response) on questions.
pub const MDNS_CLASS_TOP_BIT: u16 = 0x8000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_known_and_generic() {
        assert_eq!(RecordType::SRV.to_string(), "SRV");
        assert_eq!(RecordType(65280).to_string(), "TYPE65280");
        assert_eq!(Class(7).to_string(), "CLASS7");
        assert_eq!(format!("{:?}", Rcode::NXDOMAIN), "Rcode(NXDOMAIN)");
        assert_eq!(u16::from(RecordType::from(47)), 47);
    }
}
