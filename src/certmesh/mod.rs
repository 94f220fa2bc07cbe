//! Certmesh: the private CA, its envelope-encrypted key, TOTP enrollment, the roster and the
//! audit log (spec §4).

pub mod audit;
pub mod authority;
pub mod ca;
pub mod create;
pub mod entropy;
pub mod envelope;
pub mod files;
pub mod fuzzing;
pub mod join;
pub mod netinfo;
pub mod payload;
pub mod profile;
pub mod roster;
pub mod service;
pub mod tls;
pub mod trust;
pub mod wire;
