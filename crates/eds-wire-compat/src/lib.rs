//! Test-only crate: the differential wire-compatibility tests of `mesh-eds` against the `envoy-types`
//! crate live in `tests/`. This library is intentionally empty.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
