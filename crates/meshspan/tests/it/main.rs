//! Integration tests of the `meshspan` binary.

mod certs;
mod conformance;
mod eds;
mod stdout;
mod topology;
