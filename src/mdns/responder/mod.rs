//! The responder (being written).
