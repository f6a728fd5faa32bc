//! The expiry horizon: every certificate of every bundle by end of validity.

use std::collections::BTreeSet;

use mesh_model::ClusterId;

use crate::bundle::{BundleFile, ParsedBundle};

/// One certificate's end of validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryEntry {
    /// The cluster whose bundle holds it.
    pub cluster: ClusterId,
    /// The file (the first one holding it).
    pub file: BundleFile,
    /// Its subject.
    pub certificate: String,
    /// `notAfter`, unix seconds.
    pub not_after: i64,
    /// `not_after - now` (negative when expired).
    pub remaining_secs: i64,
    /// Whether `remaining_secs` is below the warning threshold.
    pub warning: bool,
}

/// Every certificate of every bundle by end of validity, soonest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpiryHorizon {
    entries: Vec<ExpiryEntry>,
}

impl ExpiryHorizon {
    pub(super) fn build(bundles: &[ParsedBundle], now: i64, warn_below: u64) -> Self {
        let warn_below = i64::try_from(warn_below).unwrap_or(i64::MAX);
        let mut entries = Vec::new();
        for bundle in bundles {
            let mut seen = BTreeSet::new();
            let files = [
                (
                    BundleFile::RootCert,
                    bundle.roots.as_deref().unwrap_or_default(),
                ),
                (BundleFile::CaCert, bundle.ca_cert.as_slice()),
                (
                    BundleFile::CertChain,
                    bundle.chain.as_deref().unwrap_or_default(),
                ),
            ];
            for (file, certs) in files {
                for cert in certs {
                    if seen.insert(cert.fingerprint()) {
                        let remaining_secs = cert.not_after().saturating_sub(now);
                        entries.push(ExpiryEntry {
                            cluster: bundle.cluster.clone(),
                            file,
                            certificate: cert.subject().to_owned(),
                            not_after: cert.not_after(),
                            remaining_secs,
                            warning: remaining_secs < warn_below,
                        });
                    }
                }
            }
        }
        entries.sort_by(|a, b| {
            (a.not_after, &a.cluster, a.file, &a.certificate).cmp(&(
                b.not_after,
                &b.cluster,
                b.file,
                &b.certificate,
            ))
        });
        Self { entries }
    }

    /// What expires first.
    pub fn first(&self) -> Option<&ExpiryEntry> {
        self.entries.first()
    }

    /// All entries, soonest first.
    pub fn entries(&self) -> &[ExpiryEntry] {
        &self.entries
    }

    /// The entries below the warning threshold (expired ones included), soonest first.
    pub fn warnings(&self) -> impl Iterator<Item = &ExpiryEntry> {
        self.entries.iter().filter(|e| e.warning)
    }
}
