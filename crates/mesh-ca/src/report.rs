//! The cross-cluster trust report: for every ordered pair of clusters, can a workload of the
//! first (the verifier, trusting its `root-cert.pem`) verify a workload of the second (the peer,
//! presenting a leaf signed by its `ca-cert.pem` plus its `cert-chain.pem`)? And if not, exactly
//! why. Plus the expiry horizon of all the material.
//!
//! Diagnosis walks the peer's chain up to the verifier's roots with x509-parser facts and
//! RustCrypto signature checks, so it can name the broken link; when the peer's key is present
//! and the walk finds nothing, a probe leaf signed with that key is verified end to end by
//! rustls-webpki, so the answer "trusted" is webpki's, not only ours.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use mesh_model::{ClusterId, MeshSpec, SpiffeId, TrustDomain};

use crate::bundle::{BundleError, BundleFile, ClusterBundle, ParsedBundle};
use crate::cert::Certificate;
use crate::key::CaKey;
use crate::verify::{VerifyError, probe_leaf, verify_chain};

/// How the report is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportOptions {
    /// Whether a missing `ca-key.pem` is a problem (it is for a `cacerts` secret: istiod then
    /// falls back to a self-signed CA). Off for mesh documents, which carry no keys.
    pub require_ca_key: bool,
    /// Remaining lifetime below which a certificate is flagged in the expiry horizon.
    pub expiry_warning_secs: u64,
}

impl Default for ReportOptions {
    /// Keys required; warn 30 days before expiry.
    fn default() -> Self {
        Self {
            require_ca_key: true,
            expiry_warning_secs: 30 * 86_400,
        }
    }
}

impl ReportOptions {
    /// Sets [`ReportOptions::require_ca_key`].
    pub fn with_require_ca_key(mut self, require: bool) -> Self {
        self.require_ca_key = require;
        self
    }

    /// Sets [`ReportOptions::expiry_warning_secs`].
    pub fn with_expiry_warning_secs(mut self, secs: u64) -> Self {
        self.expiry_warning_secs = secs;
        self
    }
}

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
        /// ([`Certificate::label`]).
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
    /// An intermediate is valid longer than the root it chains to: it will stop verifying when
    /// the root expires. A warning: trust is not broken yet.
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
    fn warning_cluster(&self) -> Option<&ClusterId> {
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
                "{cluster}: {certificate} has pathlen:{path_len} but {intermediates_below} intermediate(s) below it"
            ),
            Self::Expired {
                cluster,
                file,
                certificate,
                not_after,
                now,
            } => write!(
                f,
                "{cluster}: {file}: {certificate} expired at {not_after} (now {now})"
            ),
            Self::NotYetValid {
                cluster,
                file,
                certificate,
                not_before,
                now,
            } => write!(
                f,
                "{cluster}: {file}: {certificate} is not valid before {not_before} (now {now})"
            ),
            Self::IntermediateOutlivesRoot {
                cluster,
                certificate,
                not_after,
                root_not_after,
            } => write!(
                f,
                "{cluster}: {certificate} is valid until {not_after}, after its root ({root_not_after})"
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
    fn build(bundles: &[ParsedBundle], now: i64, warn_below: u64) -> Self {
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

/// The trust matrix of a set of clusters, with reasons, and the expiry horizon.
///
/// ```
/// use mesh_ca::{ClusterBundle, ReportOptions, RootCa, TrustProblem, TrustReport};
/// use mesh_model::{ClusterId, TrustDomain};
/// use rand_chacha::ChaCha20Rng;
/// use rand_core::SeedableRng;
///
/// let (now, mut rng) = (1_767_225_600, ChaCha20Rng::seed_from_u64(3));
/// let td = TrustDomain::new("cluster.local")?;
/// let shared = RootCa::generate(&mut rng, now)?;
/// let other = RootCa::generate(&mut rng, now)?; // same name "O=Istio, CN=Root CA", other key
/// let bundle = |root: &RootCa, name: &str, rng: &mut ChaCha20Rng| -> Result<_, Box<dyn std::error::Error>> {
///     let cluster = ClusterId::new(name)?;
///     let ca = root.generate_intermediate(&cluster, rng, now)?;
///     Ok(ClusterBundle::new(cluster, td.clone(), ca.plugin_files()))
/// };
/// let bundles = vec![
///     bundle(&shared, "c1", &mut rng)?,
///     bundle(&shared, "c2", &mut rng)?,
///     bundle(&other, "c3", &mut rng)?,
/// ];
/// let report = TrustReport::build(&bundles, now, &ReportOptions::default())?;
/// let c1 = ClusterId::new("c1")?;
/// let c3 = ClusterId::new("c3")?;
/// assert!(report.cell(&c1, &ClusterId::new("c2")?).unwrap().trusted());
/// let failures: Vec<_> = report.failures().map(|(from, to, _)| (from.as_str(), to.as_str())).collect();
/// assert_eq!(failures, [("c1", "c3"), ("c2", "c3"), ("c3", "c1"), ("c3", "c2")]);
/// let (_, _, reasons) = report.failures().next().unwrap();
/// assert!(matches!(&reasons[0], TrustProblem::DifferentRoots { verifier, peer, .. } if *verifier == c1 && *peer == c3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustReport {
    clusters: Vec<ClusterId>,
    cells: Vec<TrustCell>,
    expiry: ExpiryHorizon,
}

/// Signature checks already made: (subject fingerprint, issuer fingerprint) -> verified.
type SignatureCache = HashMap<([u8; 32], [u8; 32]), Option<bool>>;

impl TrustReport {
    /// Checks every ordered pair of `bundles` (sorted by cluster) at `now` (unix seconds).
    ///
    /// Fails only when a present file is malformed (or a cluster appears twice); absent files,
    /// wrong keys and broken chains are problems in the matrix.
    pub fn build(
        bundles: &[ClusterBundle],
        now: i64,
        options: &ReportOptions,
    ) -> Result<Self, BundleError> {
        let mut parsed: BTreeMap<ClusterId, ParsedBundle> = BTreeMap::new();
        for bundle in bundles {
            let p = ParsedBundle::parse(bundle)?;
            if parsed.insert(bundle.cluster.clone(), p).is_some() {
                return Err(BundleError::DuplicateCluster {
                    cluster: bundle.cluster.clone(),
                });
            }
        }
        let parsed: Vec<ParsedBundle> = parsed.into_values().collect();
        let mut signatures = SignatureCache::new();
        // The webpki probe depends only on the verifier's roots and the peer.
        let mut probes: HashMap<(Vec<[u8; 32]>, usize), Option<VerifyError>> = HashMap::new();
        let mut cells = Vec::with_capacity(parsed.len() * parsed.len());
        for verifier in &parsed {
            let root_set: Vec<[u8; 32]> = verifier
                .roots
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(Certificate::fingerprint)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            for (peer_index, peer) in parsed.iter().enumerate() {
                let mut problems = diagnose(verifier, peer, now, options, &mut signatures);
                if !problems.iter().any(TrustProblem::is_fatal)
                    && let Some(error) = probes
                        .entry((root_set.clone(), peer_index))
                        .or_insert_with(|| probe(verifier, peer, now))
                        .clone()
                {
                    problems.push(TrustProblem::VerifierRejected {
                        verifier: verifier.cluster.clone(),
                        peer: peer.cluster.clone(),
                        error,
                    });
                }
                cells.push(TrustCell {
                    verifier: verifier.cluster.clone(),
                    peer: peer.cluster.clone(),
                    problems,
                });
            }
        }
        Ok(Self {
            clusters: parsed.iter().map(|b| b.cluster.clone()).collect(),
            expiry: ExpiryHorizon::build(&parsed, now, options.expiry_warning_secs),
            cells,
        })
    }

    /// The report over the clusters of a mesh document that carry `caCerts`, with the mesh's
    /// trust domain and aliases; keys are not required (a document never carries them). `None`
    /// when no cluster carries CA material. This is what a `trust-root-mismatch` check runs.
    pub fn from_mesh(spec: &MeshSpec, now: i64) -> Result<Option<Self>, BundleError> {
        let bundles = ClusterBundle::from_mesh(spec);
        if bundles.is_empty() {
            return Ok(None);
        }
        let options = ReportOptions::default().with_require_ca_key(false);
        Self::build(&bundles, now, &options).map(Some)
    }

    /// The clusters, sorted.
    pub fn clusters(&self) -> &[ClusterId] {
        &self.clusters
    }

    /// All cells, verifier-major, both sorted by cluster.
    pub fn cells(&self) -> &[TrustCell] {
        &self.cells
    }

    /// The cell of a pair.
    pub fn cell(&self, verifier: &ClusterId, peer: &ClusterId) -> Option<&TrustCell> {
        let row = self.clusters.binary_search(verifier).ok()?;
        let column = self.clusters.binary_search(peer).ok()?;
        self.cells.get(row * self.clusters.len() + column)
    }

    /// The pairs that cannot trust each other: (verifier, peer, every problem of the cell).
    pub fn failures(&self) -> impl Iterator<Item = (&ClusterId, &ClusterId, &[TrustProblem])> {
        self.cells
            .iter()
            .filter(|c| !c.trusted())
            .map(|c| (&c.verifier, &c.peer, c.problems.as_slice()))
    }

    /// Whether every cluster can verify every cluster (itself included).
    pub fn all_trusted(&self) -> bool {
        self.cells.iter().all(TrustCell::trusted)
    }

    /// The non-fatal problems, each once, in the order of the cells (verifier-major) they first
    /// appear in. One pass over the matrix: a warning is compared only with the distinct ones
    /// naming its cluster, so n clusters with one warning each cost n² comparisons, not n³.
    pub fn warnings(&self) -> Vec<&TrustProblem> {
        self.warnings_by(&mut |a, b| a == b)
    }

    /// [`TrustReport::warnings`], equality decided by `same` (tests count the comparisons).
    /// Equal problems name the same cluster, so a warning is compared only with the distinct
    /// ones kept for its cluster: one per certificate of the peer's path and root it chains to,
    /// a handful.
    fn warnings_by(
        &self,
        same: &mut impl FnMut(&TrustProblem, &TrustProblem) -> bool,
    ) -> Vec<&TrustProblem> {
        let mut kept: HashMap<Option<&ClusterId>, Vec<&TrustProblem>> = HashMap::new();
        let mut out = Vec::new();
        for problem in self.cells.iter().flat_map(|c| &c.problems) {
            if problem.is_fatal() {
                continue;
            }
            let bucket = kept.entry(problem.warning_cluster()).or_default();
            if !bucket.iter().any(|k| same(k, problem)) {
                bucket.push(problem);
                out.push(problem);
            }
        }
        out
    }

    /// The expiry horizon.
    pub fn expiry(&self) -> &ExpiryHorizon {
        &self.expiry
    }
}

fn signed_by(
    cache: &mut SignatureCache,
    subject: &Certificate,
    issuer: &Certificate,
) -> Option<bool> {
    *cache
        .entry((subject.fingerprint(), issuer.fingerprint()))
        .or_insert_with(|| subject.signed_by(issuer))
}

/// The most links a path may have before the walk gives up (a loop guard; real meshes use 1–3).
const MAX_PATH: usize = 8;

fn diagnose(
    verifier: &ParsedBundle,
    peer: &ParsedBundle,
    now: i64,
    options: &ReportOptions,
    cache: &mut SignatureCache,
) -> Vec<TrustProblem> {
    let v = &verifier.cluster;
    let p = &peer.cluster;
    let mut problems = Vec::new();
    let missing = |cluster: &ClusterId, file| TrustProblem::MissingBundlePart {
        cluster: cluster.clone(),
        file,
    };
    if verifier.roots.is_none() {
        problems.push(missing(v, BundleFile::RootCert));
    }
    if peer.ca_cert.is_none() {
        problems.push(missing(p, BundleFile::CaCert));
    }
    if peer.ca_key.is_none() && options.require_ca_key {
        problems.push(missing(p, BundleFile::CaKey));
    }
    if peer.chain.is_none() {
        problems.push(missing(p, BundleFile::CertChain));
    }
    if let (Some(key), Some(ca)) = (&peer.ca_key, &peer.ca_cert)
        && !ca.matches_key(key)
    {
        problems.push(TrustProblem::KeyMismatch { cluster: p.clone() });
    }
    if !verifier.accepts(&peer.trust_domain) {
        problems.push(TrustProblem::TrustDomainNotAccepted {
            verifier: v.clone(),
            peer: p.clone(),
            trust_domain: peer.trust_domain.clone(),
            accepted: std::iter::once(verifier.trust_domain.clone())
                .chain(verifier.trust_domain_aliases.iter().cloned())
                .collect(),
        });
    }
    let (Some(roots), Some(ca)) = (verifier.roots.as_deref(), peer.ca_cert.as_ref()) else {
        return problems;
    };
    let chain = peer.chain.as_deref().unwrap_or_default();
    let own_roots = peer.roots.as_deref().unwrap_or_default();

    // Walk up from the intermediate to one of the verifier's roots.
    let mut path: Vec<(&Certificate, BundleFile)> = vec![(ca, BundleFile::CaCert)];
    let anchor = loop {
        let Some(&(current, file)) = path.last() else {
            break None;
        };
        if let Some(algorithm) = current.unsupported_algorithm() {
            problems.push(TrustProblem::UnsupportedAlgorithm {
                cluster: p.clone(),
                file,
                certificate: current.subject().to_owned(),
                algorithm,
            });
            break None;
        }
        if let Some(root) = roots
            .iter()
            .find(|r| current.names_issuer(r) && signed_by(cache, current, r) == Some(true))
        {
            break Some(root);
        }
        let next = chain.iter().find(|c| {
            !path
                .iter()
                .any(|(seen, _)| seen.fingerprint() == c.fingerprint())
                && current.names_issuer(c)
                && signed_by(cache, current, c) == Some(true)
        });
        match next {
            Some(next) if next.is_self_issued() => {
                // The peer's chain goes on to its own root, which the verifier does not hold.
                problems.push(TrustProblem::DifferentRoots {
                    verifier: v.clone(),
                    peer: p.clone(),
                    peer_root: next.label(),
                });
                path.push((next, BundleFile::CertChain));
                break None;
            }
            Some(next) if path.len() < MAX_PATH => {
                path.push((next, BundleFile::CertChain));
                continue;
            }
            _ => {}
        }
        // Stuck: say why.
        let problem =
            if current.is_self_issued() && signed_by(cache, current, current) == Some(true) {
                // A self-signed "intermediate": istiod's own self-signed CA, say.
                TrustProblem::DifferentRoots {
                    verifier: v.clone(),
                    peer: p.clone(),
                    peer_root: current.label(),
                }
            } else if let Some(own) = own_roots
                .iter()
                .find(|r| current.names_issuer(r) && signed_by(cache, current, r) == Some(true))
            {
                TrustProblem::DifferentRoots {
                    verifier: v.clone(),
                    peer: p.clone(),
                    peer_root: own.label(),
                }
            } else if let Some(named) = roots
                .iter()
                .chain(own_roots)
                .chain(chain)
                .find(|c| current.names_issuer(c) && c.fingerprint() != current.fingerprint())
            {
                TrustProblem::IntermediateNotSignedByRoot {
                    cluster: p.clone(),
                    certificate: current.subject().to_owned(),
                    issuer: named.subject().to_owned(),
                }
            } else if current.is_self_issued() {
                // Names itself as issuer, but its own key did not sign it.
                TrustProblem::IntermediateNotSignedByRoot {
                    cluster: p.clone(),
                    certificate: current.subject().to_owned(),
                    issuer: current.subject().to_owned(),
                }
            } else {
                TrustProblem::ChainIncomplete {
                    cluster: p.clone(),
                    certificate: current.subject().to_owned(),
                    missing_issuer: current.issuer().to_owned(),
                }
            };
        problems.push(problem);
        break None;
    };

    // Check every CA of the path, the anchor included.
    let mut full: Vec<(&Certificate, &ClusterId, BundleFile)> =
        path.iter().map(|&(c, f)| (c, p, f)).collect();
    if let Some(anchor) = anchor {
        full.push((anchor, v, BundleFile::RootCert));
    }
    let mut below = 0u32;
    for &(cert, cluster, file) in &full {
        if now < cert.not_before() {
            problems.push(TrustProblem::NotYetValid {
                cluster: cluster.clone(),
                file,
                certificate: cert.subject().to_owned(),
                not_before: cert.not_before(),
                now,
            });
        }
        if now > cert.not_after() {
            problems.push(TrustProblem::Expired {
                cluster: cluster.clone(),
                file,
                certificate: cert.subject().to_owned(),
                not_after: cert.not_after(),
                now,
            });
        }
        if !cert.may_sign_certificates() {
            problems.push(TrustProblem::NotCa {
                cluster: cluster.clone(),
                file,
                certificate: cert.subject().to_owned(),
            });
        }
        if let Some(path_len) = cert.path_len()
            && below > path_len
        {
            problems.push(TrustProblem::PathLenExceeded {
                cluster: cluster.clone(),
                certificate: cert.subject().to_owned(),
                path_len,
                intermediates_below: below,
            });
        }
        if !cert.is_self_issued() {
            below += 1;
        }
    }
    if let Some(anchor) = anchor {
        for &(cert, _) in &path {
            if cert.not_after() > anchor.not_after() {
                problems.push(TrustProblem::IntermediateOutlivesRoot {
                    cluster: p.clone(),
                    certificate: cert.subject().to_owned(),
                    not_after: cert.not_after(),
                    root_not_after: anchor.not_after(),
                });
            }
        }
    }
    problems
}

/// webpki's verdict on a probe leaf signed with the peer's key, when the key is there.
fn probe(verifier: &ParsedBundle, peer: &ParsedBundle, now: i64) -> Option<VerifyError> {
    // RSA CA keys are only checked against their certificate: the probe signs with P-256 keys.
    let (Some(roots), Some(ca), Some(CaKey::P256(key))) = (
        verifier.roots.as_deref(),
        peer.ca_cert.as_ref(),
        peer.ca_key.as_ref(),
    ) else {
        return None;
    };
    let id = SpiffeId::new(&format!(
        "spiffe://{}/ns/istio-system/sa/mesh-ca-probe",
        peer.trust_domain
    ))
    .ok()?;
    let leaf = probe_leaf(ca, key, &id, now)?;
    let mut intermediates = vec![ca.clone()];
    intermediates.extend(peer.chain.iter().flatten().cloned());
    verify_chain(roots, &leaf, &intermediates, now).err()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The first `warnings()`, kept as the oracle: each non-fatal problem compared with every
    /// distinct one seen so far (n³ comparisons for n clusters with one warning each).
    fn naive_warnings<'a>(
        report: &'a TrustReport,
        same: &mut impl FnMut(&TrustProblem, &TrustProblem) -> bool,
    ) -> Vec<&'a TrustProblem> {
        let mut seen: Vec<&TrustProblem> = Vec::new();
        for problem in report.cells.iter().flat_map(|c| &c.problems) {
            if !problem.is_fatal() && !seen.iter().any(|s| same(s, problem)) {
                seen.push(problem);
            }
        }
        seen
    }

    /// A report over `n` clusters where every peer's intermediate outlives the shared root (and,
    /// for every third peer, a second certificate of its path too), and every third verifier
    /// does not accept the peer's trust domain (fatal, left out of the warnings).
    fn outliving_report(n: usize) -> TrustReport {
        let clusters: Vec<ClusterId> = (0..n)
            .map(|i| ClusterId::new(format!("c{i:03}")).unwrap())
            .collect();
        let td = TrustDomain::new("td").unwrap();
        let mut cells = Vec::with_capacity(n * n);
        for (v, verifier) in clusters.iter().enumerate() {
            for (p, peer) in clusters.iter().enumerate() {
                let outlives = |certificate: &str| TrustProblem::IntermediateOutlivesRoot {
                    cluster: peer.clone(),
                    certificate: certificate.to_owned(),
                    not_after: 2,
                    root_not_after: 1,
                };
                let mut problems = vec![outlives("CN=Intermediate CA")];
                if p % 3 == 0 {
                    problems.push(outlives("CN=Second CA"));
                }
                if v % 3 == 0 {
                    problems.insert(
                        0,
                        TrustProblem::TrustDomainNotAccepted {
                            verifier: verifier.clone(),
                            peer: peer.clone(),
                            trust_domain: td.clone(),
                            accepted: vec![td.clone()],
                        },
                    );
                }
                cells.push(TrustCell {
                    verifier: verifier.clone(),
                    peer: peer.clone(),
                    problems,
                });
            }
        }
        TrustReport {
            clusters,
            cells,
            expiry: ExpiryHorizon::default(),
        }
    }

    #[test]
    fn warnings_are_the_naive_ones_with_quadratic_comparisons() {
        for n in [0, 1, 2, 5, 17] {
            let report = outliving_report(n);
            assert_eq!(
                report.warnings(),
                naive_warnings(&report, &mut |a, b| a == b),
                "{n}"
            );
        }
        // 200 clusters with the same problem: 200 + 67 warnings, one per (peer, certificate),
        // found with about one comparison per warning of the matrix (n² of them), where the
        // oracle makes one per warning and distinct warning seen before it (≈ n³/2).
        let n = 200;
        let report = outliving_report(n);
        let (mut fast, mut slow) = (0usize, 0usize);
        let warnings = report.warnings_by(&mut |a, b| {
            fast += 1;
            a == b
        });
        assert_eq!(warnings.len(), n + n.div_ceil(3));
        let naive = naive_warnings(&report, &mut |a, b| {
            slow += 1;
            a == b
        });
        assert_eq!(warnings, naive);
        let in_matrix = n * (n + n.div_ceil(3));
        assert!(fast <= 2 * in_matrix, "{fast} comparisons");
        assert!(slow > 50 * in_matrix, "the oracle is cubic: {slow}");
    }
}
