//! koi library (being written).
