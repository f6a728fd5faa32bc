//! mesh-eds integration tests (one binary; add modules here).

mod invariants;
mod oracle_vs_engine;
