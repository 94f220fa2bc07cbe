//! Argon2id parameters for passphrase slots, sized to the machine, and the derivation itself.
//!
//! A slot stores the parameters it was made with, so unlocking never depends on today's
//! defaults. New slots use [`KdfParams::DEFAULT`] (64 MiB, t=3, p=1) clamped to a quarter of the
//! memory the kernel reports available, and never below [`KdfParams::MIN_M_COST_KIB`] (19 MiB,
//! the OWASP floor). Stored parameters are bounded ([`KdfParams::validate`]) so a damaged or
//! hostile slot cannot make unlocking allocate gigabytes or run for hours.

use super::seal::Key;
use super::EnvelopeError;
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes over memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// What new passphrase slots use when memory allows: 64 MiB, three passes, one lane.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    /// The least memory a new slot is given, whatever the machine reports (19 MiB).
    pub const MIN_M_COST_KIB: u32 = 19 * 1024;

    /// The most memory a stored slot may ask for (1 GiB).
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;

    /// The most passes a stored slot may ask for.
    pub const MAX_T_COST: u32 = 64;

    /// The most lanes a stored slot may ask for.
    pub const MAX_P_COST: u32 = 16;

    /// Parameters for a new slot on a machine with `mem_available_kib` available (`None` when
    /// unknown): the defaults, with memory at most a quarter of what is available but never
    /// below 19 MiB.
    pub fn for_available_memory(mem_available_kib: Option<u64>) -> KdfParams {
        let mut p = KdfParams::DEFAULT;
        if let Some(avail) = mem_available_kib {
            let quarter = u32::try_from(avail / 4).unwrap_or(u32::MAX);
            // The floor wins over the quarter: below 19 MiB Argon2id is too cheap to be worth it.
            p.m_cost_kib = quarter.clamp(KdfParams::MIN_M_COST_KIB, KdfParams::DEFAULT.m_cost_kib);
        }
        p
    }

    /// Parameters for a new slot on this machine (reads `/proc/meminfo`).
    pub fn recommended() -> KdfParams {
        KdfParams::for_available_memory(read_mem_available_kib())
    }

    /// Checks that Argon2 accepts these parameters and that they are within koi's bounds.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        let why = if self.t_cost == 0 || self.t_cost > KdfParams::MAX_T_COST {
            "t_cost must be 1 to 64"
        } else if self.p_cost == 0 || self.p_cost > KdfParams::MAX_P_COST {
            "p_cost must be 1 to 16"
        } else if self.m_cost_kib > KdfParams::MAX_M_COST_KIB {
            "m_cost_kib must be at most 1 GiB"
        } else if u64::from(self.m_cost_kib) < 8 * u64::from(self.p_cost) {
            "m_cost_kib must be at least 8 KiB per lane"
        } else {
            return Ok(());
        };
        Err(EnvelopeError::InvalidKdfParams(why))
    }
}

/// The `MemAvailable` figure (KiB) from the text of `/proc/meminfo`.
pub fn parse_mem_available_kib(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix("MemAvailable:")?;
        let mut words = rest.split_whitespace();
        let n = words.next()?.parse().ok()?;
        match words.next() {
            Some("kB") | None => Some(n),
            Some(_) => None,
        }
    })
}

/// Available memory in KiB as the kernel reports it, or `None` where there is no
/// `/proc/meminfo` (macOS, Windows).
pub fn read_mem_available_kib() -> Option<u64> {
    let text = crate::state::read_bounded(std::path::Path::new("/proc/meminfo"), 64 * 1024).ok()?;
    parse_mem_available_kib(std::str::from_utf8(&text).ok()?)
}

/// Derives a key-encryption key from a passphrase with Argon2id.
pub(super) fn derive(
    params: KdfParams,
    salt: &[u8],
    passphrase: &[u8],
) -> Result<Key, EnvelopeError> {
    params.validate()?;
    let p = Params::new(
        params.m_cost_kib,
        params.t_cost,
        params.p_cost,
        Some(super::seal::KEY_LEN),
    )
    .map_err(|_| EnvelopeError::InvalidKdfParams("Argon2 refused the parameters"))?;
    let mut kek = Key::zero();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(passphrase, salt, kek.bytes_mut())
        .map_err(|_| EnvelopeError::InvalidKdfParams("Argon2 refused the salt or passphrase"))?;
    Ok(kek)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024;

    #[test]
    fn memory_is_a_quarter_of_available_between_19_and_64_mib() {
        let m = |avail| KdfParams::for_available_memory(avail).m_cost_kib;
        assert_eq!(m(None), 64 * 1024);
        assert_eq!(m(Some(8192 * MIB)), 64 * 1024, "big machine: the default");
        assert_eq!(
            m(Some(256 * MIB)),
            64 * 1024,
            "exactly four times the default"
        );
        assert_eq!(m(Some(100 * MIB)), 25 * 1024, "a quarter of 100 MiB");
        assert_eq!(
            m(Some(76 * MIB)),
            19 * 1024,
            "a quarter is exactly the floor"
        );
        assert_eq!(m(Some(40 * MIB)), 19 * 1024, "tiny router: the floor");
        assert_eq!(m(Some(0)), 19 * 1024);
        assert_eq!(m(Some(u64::MAX)), 64 * 1024);
        let p = KdfParams::for_available_memory(Some(40 * MIB));
        assert_eq!((p.t_cost, p.p_cost), (3, 1));
    }

    #[test]
    fn mem_available_is_read_from_meminfo_text() {
        let text = "MemTotal:        3884196 kB\nMemFree:          180312 kB\n\
                    MemAvailable:    2395728 kB\nBuffers:          120536 kB\n";
        assert_eq!(parse_mem_available_kib(text), Some(2_395_728));
        assert_eq!(parse_mem_available_kib("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available_kib("MemAvailable: lots kB\n"), None);
        assert_eq!(parse_mem_available_kib("MemAvailable: 5 MB\n"), None);
    }

    #[test]
    fn stored_parameters_are_bounded() {
        let ok = KdfParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        };
        assert!(ok.validate().is_ok());
        assert!(KdfParams::DEFAULT.validate().is_ok());
        for bad in [
            KdfParams { t_cost: 0, ..ok },
            KdfParams { t_cost: 65, ..ok },
            KdfParams { p_cost: 0, ..ok },
            KdfParams { p_cost: 17, ..ok },
            KdfParams {
                m_cost_kib: 7,
                ..ok
            },
            KdfParams {
                m_cost_kib: 16,
                p_cost: 4,
                ..ok
            },
            KdfParams {
                m_cost_kib: u32::MAX,
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
