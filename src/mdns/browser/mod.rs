//! The querier and its cache (being written).
