//! The registry of discovered services (being written).
