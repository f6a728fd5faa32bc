//! # mesh-ca
//!
//! One root of trust for every cluster of a multicluster mesh: issue it, verify it, and say
//! exactly why trust breaks. No I/O: the caller passes file contents, `now` (unix seconds) and an
//! RNG; the library returns bytes and reports.
//!
//! - **Issue** ([`RootCa`], [`IntermediateCa`]): a self-signed root, a per-cluster intermediate in
//!   Istio's plug-in layout (`root-cert.pem`, `ca-cert.pem`, `ca-key.pem`, `cert-chain.pem`) with
//!   the extensions of Istio's `tools/certs`, and SPIFFE workload leaves from a CSR or a public
//!   key ([`PublicKey`]). ECDSA P-256 (RustCrypto, RFC 6979): a seeded run is byte-identical.
//! - **Verify** ([`TrustBundle`]): rustls-webpki chain building against one or more roots,
//!   SPIFFE ID extraction, trust-domain check with aliases. ECDSA P-256 and RSA (PKCS #1 v1.5)
//!   chains with SHA-256 are checked, so bundles made by Istio's own OpenSSL tooling work too.
//! - **Report** ([`TrustReport`]): from each cluster's bundle, the matrix "can a workload of A
//!   verify a workload of B", each failure with typed reasons ([`TrustProblem`]), and the
//!   [`ExpiryHorizon`].
//! - **Rotate** ([`plan_root_rotation`]): the ordered steps that roll a new root through every
//!   cluster with multi-root trust bundles, each step checked by recomputing the matrix.
//!
//! ```
//! use mesh_ca::{ClusterBundle, ReportOptions, RootCa, TrustReport};
//! use mesh_model::{ClusterId, TrustDomain};
//! use rand_chacha::ChaCha20Rng;
//! use rand_core::SeedableRng;
//!
//! let now = 1_767_225_600; // the caller's clock
//! let mut rng = ChaCha20Rng::seed_from_u64(42); // the caller's randomness
//! let root = RootCa::generate(&mut rng, now)?;
//! let mut bundles = Vec::new();
//! for name in ["east", "west"] {
//!     let cluster = ClusterId::new(name)?;
//!     let ca = root.generate_intermediate(&cluster, &mut rng, now)?;
//!     // ca.plugin_files() holds the four files of Istio's `cacerts` secret.
//!     bundles.push(ClusterBundle::new(cluster, TrustDomain::new("cluster.local")?, ca.plugin_files()));
//! }
//! let report = TrustReport::build(&bundles, now, &ReportOptions::default())?;
//! assert!(report.all_trusted());
//! assert_eq!(report.expiry().first().map(|e| e.cluster.as_str()), Some("east"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bundle;
mod cert;
mod date;
mod issue;
mod key;
mod pem;
mod report;
mod rotation;
mod verify;

pub use bundle::{BundleError, BundleFile, ClusterBundle, PluginFiles, parse_certificates};
pub use cert::{Certificate, CertificateError};
pub use date::utc_date;
pub use issue::{
    INTERMEDIATE_COMMON_NAME, INTERMEDIATE_LIFETIME_SECS, ISTIOD_SAN, IntermediateCa, IssueError,
    ORGANIZATION, ROOT_COMMON_NAME, ROOT_LIFETIME_SECS, RootCa, RootProblem, Validity,
    WORKLOAD_TTL_SECS, WorkloadCert,
};
pub use key::{KeyError, KeyPair, PublicKey};
pub use pem::PemProblem;
pub use report::{
    ExpiryEntry, ExpiryHorizon, OUTLIVES_ROOT_TOLERANCE_SECS, ReportOptions, TrustCell,
    TrustProblem, TrustReport,
};
pub use rotation::{RotationAction, RotationError, RotationPlan, RotationStep, plan_root_rotation};
pub use verify::{TrustBundle, VerifyError};
