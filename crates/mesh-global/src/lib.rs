//! mesh-global (in progress).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
