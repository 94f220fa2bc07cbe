//! The enrollment vocabulary: requests, outcomes, refusals (with their HTTP status and the
//! message the joiner sees), waiting requests, and the per-CA failure rate limit.

use crate::base::format_utc;
use std::net::IpAddr;

/// Wrong codes before a lockout.
pub const MAX_FAILURES: u32 = 3;
/// The first lockout; each further one doubles.
pub const LOCKOUT_SECS: u64 = 300;

/// Failure counting per CA.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RateLimit {
    failures: u32,
    lockouts: u32,
    until: u64,
}

impl RateLimit {
    /// The end of the current lockout, if `now` is inside one.
    pub fn locked_until(&self, now: u64) -> Option<u64> {
        (now < self.until).then_some(self.until)
    }

    /// Counts a wrong code; returns the lockout end if this one started a lockout.
    pub fn fail(&mut self, now: u64) -> Option<u64> {
        self.failures += 1;
        if self.failures < MAX_FAILURES {
            return None;
        }
        self.failures = 0;
        let secs = LOCKOUT_SECS.saturating_mul(1u64 << self.lockouts.min(16));
        self.lockouts += 1;
        self.until = now + secs;
        Some(self.until)
    }

    /// A right code clears the failure count (not the doubling history).
    pub fn succeed(&mut self) {
        self.failures = 0;
    }
}

/// A join request as the joiner sends it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// Single-label host name.
    pub hostname: String,
    /// FQDN if known.
    pub fqdn: Option<String>,
    /// LAN addresses.
    pub ips: Vec<IpAddr>,
    /// The CSR's DER.
    pub csr: Vec<u8>,
    /// The TOTP code.
    pub code: String,
    /// Where the member will keep its files.
    pub cert_path: String,
}

/// What an issued join returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Leaf PEM.
    pub cert_pem: String,
    /// Root PEM.
    pub ca_pem: String,
    /// SANs.
    pub sans: Vec<String>,
    /// Expiry, Unix seconds.
    pub expires: u64,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The CA key is encrypted.
    Locked,
    /// The host is revoked.
    Revoked(String),
    /// No enrollment window is open.
    Closed,
    /// Too many wrong codes; until this Unix time.
    LockedOut(u64),
    /// Wrong, malformed or reused code.
    BadCode(String),
    /// Outside the CA's scope.
    Scope(String),
    /// Malformed request.
    Bad(String),
    /// The operator denied it.
    Denied,
    /// Something failed on the CA.
    Internal(String),
}

impl Refused {
    /// HTTP status for the API.
    pub fn status(&self) -> u16 {
        match self {
            Refused::Locked => 503,
            Refused::Revoked(_) | Refused::Closed | Refused::Scope(_) | Refused::Denied => 403,
            Refused::LockedOut(_) => 429,
            Refused::BadCode(_) => 401,
            Refused::Bad(_) => 400,
            Refused::Internal(_) => 500,
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Locked => write!(f, "the CA is locked; run `koi certmesh unlock` on the CA"),
            Refused::Revoked(h) => write!(f, "{h} is revoked and cannot enroll"),
            Refused::Closed => write!(
                f,
                "enrollment closed; ask the operator to run `koi certmesh open-enrollment`"
            ),
            Refused::LockedOut(t) => write!(
                f,
                "too many wrong codes: enrollment locked until {}",
                format_utc(*t)
            ),
            Refused::BadCode(why) => write!(f, "code refused: {why}"),
            Refused::Scope(why) => write!(f, "outside this CA's scope: {why}"),
            Refused::Bad(why) => write!(f, "bad request: {why}"),
            Refused::Denied => write!(f, "the CA operator denied this enrollment request"),
            Refused::Internal(why) => write!(f, "CA error: {why}"),
        }
    }
}

/// Where a waiting request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingState {
    /// Waiting for approve/deny.
    Waiting,
    /// Approved and issued.
    Issued(Issued),
    /// Denied or failed at approval.
    Refused(Refused),
}

/// A request waiting for approval.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Random id (also the joiner's polling handle).
    pub id: String,
    /// When it arrived.
    pub created: u64,
    /// The request (its code already consumed).
    pub request: JoinRequest,
    /// Its state.
    pub state: PendingState,
}

/// The outcome of an accepted join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// Issued now.
    Issued(Issued),
    /// Waiting for approval; poll with this id.
    Waiting(String),
}
