//! Fuzz entry points for the mDNS state machines (being written).
