//! Envelope encryption of the CA key (being written).
