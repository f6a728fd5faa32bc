//! The reasons a verifier cannot trust a peer (and the warnings), and a cell of the matrix.

use std::fmt;

use mesh_model::{ClusterId, TrustDomain};

use crate::bundle::BundleFile;
use crate::date::utc_date;
use crate::verify::VerifyError;

/// How much longer than its root an intermediate may be valid before
/// [`TrustProblem::IntermediateOutlivesRoot`] is reported: one hour. Istio's `tools/certs`
/// makes the root and each intermediate in separate `openssl` runs with the same lifetime, so
/// an intermediate typically ends 1–3 seconds after its root; that is clock skew, not a plan.
pub const OUTLIVES_ROOT_TOLERANCE_SECS: i64 = 3600;

/// One reason a verifier cannot trust a peer (or, for warnings, a risk that does not break trust
/// yet). Each names the cluster whose material is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustProblem {
    /// The peer's chain ends at a root the verifier does not trust.
    DifferentRoots {
        /// The verifying cluster.
        verifier: ClusterId,
        /// The peer cluster.
        peer: ClusterId,
        /// The root the peer's chain leads to: subject and fingerprint prefix
        /// ([`crate::Certificate::label`]).
        peer_root: String,
    },
    /// A certificate names an issuer that is present, but the issuer's key did not sign it.
    IntermediateNotSignedByRoot {
        /// The cluster whose certificate it is.
        cluster: ClusterId,
        /// Its subject.
        certificate: String,
        /// The subject of the root (or intermediate) that should have signed it.
        issuer: String,
    },
    /// The issuer of a certificate is nowhere: not among the roots, not in `cert-chain.pem`.
    ChainIncomplete {
        /// The cluster.
        cluster: ClusterId,
        /// Subject of the certificate whose issuer is missing.
        certificate: String,
        /// The issuer name that could not be found.
        missing_issuer: String,
    },
    /// A file of the plug-in bundle is absent or empty.
    MissingBundlePart {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
    },
    /// `ca-key.pem` is not the key of `ca-cert.pem`.
    KeyMismatch {
        /// The cluster.
        cluster: ClusterId,
    },
    /// A certificate used as a CA is not one (`CA:false`, no basicConstraints, or keyUsage
    /// without `keyCertSign`).
    NotCa {
        /// The cluster.
        cluster: ClusterId,
        /// The file it came from.
        file: BundleFile,
        /// Its subject.
        certificate: String,
    },
    /// A CA's `pathlen` is smaller than the number of intermediates below it.
    PathLenExceeded {
        /// The cluster.
        cluster: ClusterId,
        /// Subject of the constrained CA.
        certificate: String,
        /// Its `pathlen`.
        path_len: u32,
        /// Intermediates between it and the workload.
        intermediates_below: u32,
    },
    /// A certificate of the path has expired at `now`.
    Expired {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
        /// Its subject.
        certificate: String,
        /// Its `notAfter`, unix seconds.
        not_after: i64,
        /// The time of the check.
        now: i64,
    },
    /// A certificate of the path is not valid yet at `now`.
    NotYetValid {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
        /// Its subject.
        certificate: String,
        /// Its `notBefore`, unix seconds.
        not_before: i64,
        /// The time of the check.
        now: i64,
    },
    /// An intermediate is valid longer than the root it chains to, by more than
    /// [`OUTLIVES_ROOT_TOLERANCE_SECS`](crate::OUTLIVES_ROOT_TOLERANCE_SECS): it will stop
    /// verifying when the root expires. A warning: trust is not broken yet.
    IntermediateOutlivesRoot {
        /// The cluster.
        cluster: ClusterId,
        /// The intermediate's subject.
        certificate: String,
        /// The intermediate's `notAfter`.
        not_after: i64,
        /// The root's `notAfter`.
        root_not_after: i64,
    },
    /// The peer's trust domain is neither the verifier's nor one of its aliases.
    TrustDomainNotAccepted {
        /// The verifying cluster.
        verifier: ClusterId,
        /// The peer cluster.
        peer: ClusterId,
        /// The peer's trust domain.
        trust_domain: TrustDomain,
        /// What the verifier accepts.
        accepted: Vec<TrustDomain>,
    },
    /// A certificate uses an algorithm this crate cannot check (it checks ECDSA P-256 and RSA
    /// PKCS #1 v1.5, with SHA-256).
    UnsupportedAlgorithm {
        /// The cluster.
        cluster: ClusterId,
        /// The file.
        file: BundleFile,
        /// Its subject.
        certificate: String,
        /// The algorithm OID.
        algorithm: String,
    },
    /// rustls-webpki rejected the end-to-end probe for a reason the diagnosis did not name.
    VerifierRejected {
        /// The verifying cluster.
        verifier: ClusterId,
        /// The peer cluster.
        peer: ClusterId,
        /// webpki's answer.
        error: VerifyError,
    },
}

impl TrustProblem {
    /// Whether the problem breaks trust now (all but [`TrustProblem::IntermediateOutlivesRoot`]).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Self::IntermediateOutlivesRoot { .. })
    }

    /// The cluster a warning is about (`None` for the fatal problems): what
    /// [`TrustReport::warnings`] groups by.
    pub(super) fn warning_cluster(&self) -> Option<&ClusterId> {
        match self {
            Self::IntermediateOutlivesRoot { cluster, .. } => Some(cluster),
            _ => None,
        }
    }

    /// A stable kebab-case name of the variant, for diagnostics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DifferentRoots { .. } => "different-roots",
            Self::IntermediateNotSignedByRoot { .. } => "intermediate-not-signed-by-root",
            Self::ChainIncomplete { .. } => "chain-incomplete",
            Self::MissingBundlePart { .. } => "missing-bundle-part",
            Self::KeyMismatch { .. } => "key-mismatch",
            Self::NotCa { .. } => "not-a-ca",
            Self::PathLenExceeded { .. } => "path-length-exceeded",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not-yet-valid",
            Self::IntermediateOutlivesRoot { .. } => "intermediate-outlives-root",
            Self::TrustDomainNotAccepted { .. } => "trust-domain-not-accepted",
            Self::UnsupportedAlgorithm { .. } => "unsupported-algorithm",
            Self::VerifierRejected { .. } => "verifier-rejected",
        }
    }
}

impl fmt::Display for TrustProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DifferentRoots {
                verifier,
                peer,
                peer_root,
            } => write!(
                f,
                "{peer}'s chain ends at a root ({peer_root}) that {verifier}'s root-cert.pem does not hold"
            ),
            Self::IntermediateNotSignedByRoot {
                cluster,
                certificate,
                issuer,
            } => write!(
                f,
                "{cluster}: {certificate} names {issuer} as issuer but is not signed by its key"
            ),
            Self::ChainIncomplete {
                cluster,
                certificate,
                missing_issuer,
            } => write!(
                f,
                "{cluster}: the issuer of {certificate} ({missing_issuer}) is in neither root-cert.pem nor cert-chain.pem"
            ),
            Self::MissingBundlePart { cluster, file } => {
                write!(f, "{cluster}: {file} is missing or empty")
            }
            Self::KeyMismatch { cluster } => {
                write!(f, "{cluster}: ca-key.pem is not the key of ca-cert.pem")
            }
            Self::NotCa {
                cluster,
                file,
                certificate,
            } => write!(
                f,
                "{cluster}: {file}: {certificate} is not a CA (basicConstraints CA:true and keyCertSign needed)"
            ),
            Self::PathLenExceeded {
                cluster,
                certificate,
                path_len,
                intermediates_below,
            } => write!(
                f,
                "{cluster}: {certificate} has pathlen:{path_len} but {} below it",
                mesh_model::counted(
                    usize::try_from(*intermediates_below).unwrap_or(usize::MAX),
                    "intermediate"
                )
            ),
            Self::Expired {
                cluster,
                file,
                certificate,
                not_after,
                now,
            } => write!(
                f,
                "{cluster}: {file}: {certificate} expired at {} (now {})",
                utc_date(*not_after),
                utc_date(*now)
            ),
            Self::NotYetValid {
                cluster,
                file,
                certificate,
                not_before,
                now,
            } => write!(
                f,
                "{cluster}: {file}: {certificate} is not valid before {} (now {})",
                utc_date(*not_before),
                utc_date(*now)
            ),
            Self::IntermediateOutlivesRoot {
                cluster,
                certificate,
                not_after,
                root_not_after,
            } => write!(
                f,
                "{cluster}: {certificate} is valid until {}, after its root ({}, by more than the {}-second tolerance)",
                utc_date(*not_after),
                utc_date(*root_not_after),
                OUTLIVES_ROOT_TOLERANCE_SECS
            ),
            Self::TrustDomainNotAccepted {
                verifier,
                peer,
                trust_domain,
                accepted,
            } => {
                let accepted: Vec<&str> = accepted.iter().map(TrustDomain::as_str).collect();
                write!(
                    f,
                    "{verifier} does not accept {peer}'s trust domain {trust_domain} (accepts {})",
                    accepted.join(", ")
                )
            }
            Self::UnsupportedAlgorithm {
                cluster,
                file,
                certificate,
                algorithm,
            } => write!(
                f,
                "{cluster}: {file}: {certificate} uses algorithm {algorithm}, which mesh-ca cannot verify (ECDSA P-256 or RSA with SHA-256 only)"
            ),
            Self::VerifierRejected {
                verifier,
                peer,
                error,
            } => write!(f, "{verifier} rejects {peer}'s chain: {error}"),
        }
    }
}

/// One cell of the matrix: can workloads of `verifier` verify workloads of `peer`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustCell {
    /// The verifying cluster.
    pub verifier: ClusterId,
    /// The presenting cluster.
    pub peer: ClusterId,
    /// Everything found, fatal problems and warnings, in a stable order.
    pub problems: Vec<TrustProblem>,
}

impl TrustCell {
    /// No fatal problem.
    pub fn trusted(&self) -> bool {
        !self.problems.iter().any(TrustProblem::is_fatal)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn path_length_counts_intermediates_in_words() {
        let p = |below| TrustProblem::PathLenExceeded {
            cluster: ClusterId::new("c").unwrap(),
            certificate: "CN=I".into(),
            path_len: 0,
            intermediates_below: below,
        };
        assert_eq!(
            p(1).to_string(),
            "c: CN=I has pathlen:0 but 1 intermediate below it"
        );
        assert!(p(2).to_string().ends_with("but 2 intermediates below it"));
    }

    #[test]
    fn codes_are_distinct_and_only_outliving_is_a_warning() {
        let c = ClusterId::new("c").unwrap();
        let td = TrustDomain::new("td").unwrap();
        let s = String::new;
        let all = [
            TrustProblem::DifferentRoots {
                verifier: c.clone(),
                peer: c.clone(),
                peer_root: s(),
            },
            TrustProblem::IntermediateNotSignedByRoot {
                cluster: c.clone(),
                certificate: s(),
                issuer: s(),
            },
            TrustProblem::ChainIncomplete {
                cluster: c.clone(),
                certificate: s(),
                missing_issuer: s(),
            },
            TrustProblem::MissingBundlePart {
                cluster: c.clone(),
                file: BundleFile::CaKey,
            },
            TrustProblem::KeyMismatch { cluster: c.clone() },
            TrustProblem::NotCa {
                cluster: c.clone(),
                file: BundleFile::CaCert,
                certificate: s(),
            },
            TrustProblem::PathLenExceeded {
                cluster: c.clone(),
                certificate: s(),
                path_len: 0,
                intermediates_below: 1,
            },
            TrustProblem::Expired {
                cluster: c.clone(),
                file: BundleFile::CaCert,
                certificate: s(),
                not_after: 0,
                now: 1,
            },
            TrustProblem::NotYetValid {
                cluster: c.clone(),
                file: BundleFile::CaCert,
                certificate: s(),
                not_before: 1,
                now: 0,
            },
            TrustProblem::IntermediateOutlivesRoot {
                cluster: c.clone(),
                certificate: s(),
                not_after: 2,
                root_not_after: 1,
            },
            TrustProblem::TrustDomainNotAccepted {
                verifier: c.clone(),
                peer: c.clone(),
                trust_domain: td.clone(),
                accepted: vec![td],
            },
            TrustProblem::UnsupportedAlgorithm {
                cluster: c.clone(),
                file: BundleFile::CaCert,
                certificate: s(),
                algorithm: s(),
            },
            TrustProblem::VerifierRejected {
                verifier: c.clone(),
                peer: c,
                error: VerifyError::NoTrustAnchor,
            },
        ];
        let codes: BTreeSet<&str> = all.iter().map(TrustProblem::code).collect();
        assert_eq!(codes.len(), all.len());
        let warnings: Vec<&str> = all
            .iter()
            .filter(|p| !p.is_fatal())
            .map(TrustProblem::code)
            .collect();
        assert_eq!(warnings, ["intermediate-outlives-root"]);
        assert!(all.iter().all(|p| !p.to_string().is_empty()));
        assert!(
            all.iter()
                .all(|p| p.is_fatal() == p.warning_cluster().is_none())
        );
    }
}
