//! Certmesh: the private CA, its envelope-encrypted key, TOTP enrollment, the roster and the
//! audit log (spec §4). Being built; the envelope store comes first.

pub mod entropy;
pub mod envelope;
