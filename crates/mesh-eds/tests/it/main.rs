//! mesh-eds integration tests (one binary; add modules here).

mod incremental;
mod invariants;
mod lifecycle;
mod locality;
mod oracle_vs_engine;
mod readers;
mod scale;
mod scope;
mod selection;
