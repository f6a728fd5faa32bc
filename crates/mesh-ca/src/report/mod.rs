//! The cross-cluster trust report: for every ordered pair of clusters, can a workload of the
//! first (the verifier, trusting its `root-cert.pem`) verify a workload of the second (the peer,
//! presenting a leaf signed by its `ca-cert.pem` plus its `cert-chain.pem`)? And if not, exactly
//! why. Plus the expiry horizon of all the material.
//!
//! Diagnosis walks the peer's chain up to the verifier's roots with x509-parser facts and
//! RustCrypto signature checks, so it can name the broken link; when the peer's key is present
//! and the walk finds nothing, a probe leaf signed with that key is verified end to end by
//! rustls-webpki, so the answer "trusted" is webpki's, not only ours.
//!
//! Modules flow one way: this one builds the matrix from [`chain`] (why a pair fails: the chain
//! walk and the webpki probe), [`problem`] (the reasons), [`expiry`] and [`warnings`].

mod chain;
mod expiry;
mod problem;
mod warnings;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mesh_model::{ClusterId, MeshSpec};

use crate::bundle::{BundleError, ClusterBundle, ParsedBundle};
use crate::cert::Certificate;
use crate::verify::VerifyError;
use chain::{SignatureCache, diagnose, probe};
pub use expiry::{ExpiryEntry, ExpiryHorizon};
pub use problem::{OUTLIVES_ROOT_TOLERANCE_SECS, TrustCell, TrustProblem};

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
                let mut problems =
                    diagnose(verifier, peer, now, options.require_ca_key, &mut signatures);
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
        warnings::distinct(&self.cells, &mut |a, b| a == b)
    }

    /// The expiry horizon.
    pub fn expiry(&self) -> &ExpiryHorizon {
        &self.expiry
    }
}
