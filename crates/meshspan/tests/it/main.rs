//! Integration tests of the `meshspan` binary.

mod conformance;
