//! vendor-certs (being written).
