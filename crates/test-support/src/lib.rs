//! Shared fixtures for tests and benches.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
