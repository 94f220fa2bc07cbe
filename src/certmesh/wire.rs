//! The JSON bodies of the certmesh API (`/v1/certmesh/join` and its poll), shared by the CA
//! and the joiner. Decoding is miniserde's and never panics.

use miniserde::{Deserialize, Serialize};

/// `POST /v1/certmesh/join`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct JoinBody {
    /// Single-label host name.
    pub hostname: String,
    /// FQDN if known.
    pub fqdn: Option<String>,
    /// LAN addresses.
    pub ips: Vec<String>,
    /// Hex of the CSR's DER.
    pub csr: String,
    /// The six-digit TOTP code.
    pub code: String,
    /// Where the member keeps its cert files.
    pub cert_path: String,
}

/// The answer to a join or a poll.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct JoinReply {
    /// `issued` or `waiting`.
    pub status: String,
    /// Poll handle while waiting.
    pub request: Option<String>,
    /// Leaf PEM when issued.
    pub cert: Option<String>,
    /// Root PEM when issued.
    pub ca: Option<String>,
    /// SANs when issued.
    pub sans: Vec<String>,
    /// Expiry (Unix seconds) when issued.
    pub expires: u64,
}

/// `GET /v1/certmesh/health`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Hex SHA-256 of the root.
    pub ca_fingerprint: String,
    /// Whether the CA key is encrypted right now.
    pub locked: bool,
    /// `open` or `closed`.
    pub enrollment: String,
    /// Trust profile.
    pub profile: String,
}
