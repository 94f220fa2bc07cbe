//! Sockets and interfaces (being written).
