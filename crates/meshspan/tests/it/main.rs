//! Integration tests of the `meshspan` binary.

mod certs;
mod conformance;
mod eds;
mod readme;
mod stdout;
mod topology;
