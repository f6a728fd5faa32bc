//! mesh-eds integration tests (one binary; add modules here).

mod oracle_vs_engine;
