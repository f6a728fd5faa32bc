//! Integration tests of the `meshspan` binary.

mod certs;
mod conformance;
mod dumps;
mod eds;
mod readme;
mod stdout;
mod topology;
