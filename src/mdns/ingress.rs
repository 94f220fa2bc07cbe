//! The ingress filter (being written).
