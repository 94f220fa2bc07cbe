//! Certmesh: the private CA, its envelope-encrypted key, TOTP enrollment, the roster and the
//! audit log (spec §4).

pub mod ca;
pub mod envelope;
pub mod audit;
pub mod roster;
pub mod entropy;
pub mod netinfo;
pub mod payload;
pub mod files;
pub mod authority;
pub mod profile;
pub mod create;
pub mod tls;
pub mod service;
pub mod wire;
pub mod join;
pub mod trust;
