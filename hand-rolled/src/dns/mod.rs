//! DNS and mDNS messages (placeholder; being written).

#[doc(hidden)]
pub mod fuzzing {}
