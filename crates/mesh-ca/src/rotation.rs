//! Root rotation: roll a new root through every cluster without breaking cross-cluster traffic.
//!
//! The safe order (Istio's documented multi-root procedure): first every cluster trusts old and
//! new (`root-cert.pem` holds both), then each intermediate is re-issued from the new root, then
//! each cluster drops the old root. Every step is checked by recomputing the trust matrix: a
//! step is safe when no pair that trusted each other before the rotation stops doing so.

use std::fmt;

use mesh_model::ClusterId;
use rand_core::CryptoRng;

use crate::bundle::{BundleError, BundleFile, ClusterBundle, parse_certificates};
use crate::issue::{IssueError, RootCa};
use crate::report::{ReportOptions, TrustReport};

/// One change to one cluster's bundle.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RotationAction {
    /// Append the new root to `root-cert.pem`: the cluster trusts old and new.
    TrustNewRoot {
        /// The cluster.
        cluster: ClusterId,
    },
    /// Replace `ca-cert.pem`, `ca-key.pem` and `cert-chain.pem` with an intermediate signed by the
    /// new root (`root-cert.pem` unchanged).
    ReissueIntermediate {
        /// The cluster.
        cluster: ClusterId,
    },
    /// Remove every root but the new one from `root-cert.pem`.
    DropOldRoot {
        /// The cluster.
        cluster: ClusterId,
    },
}

impl RotationAction {
    /// The cluster changed.
    pub fn cluster(&self) -> &ClusterId {
        match self {
            Self::TrustNewRoot { cluster }
            | Self::ReissueIntermediate { cluster }
            | Self::DropOldRoot { cluster } => cluster,
        }
    }
}

impl fmt::Display for RotationAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TrustNewRoot { cluster } => {
                write!(
                    f,
                    "{cluster}: add the new root to root-cert.pem (trust old and new)"
                )
            }
            Self::ReissueIntermediate { cluster } => write!(
                f,
                "{cluster}: replace ca-cert.pem, ca-key.pem, cert-chain.pem with an intermediate signed by the new root"
            ),
            Self::DropOldRoot { cluster } => {
                write!(f, "{cluster}: remove the old root from root-cert.pem")
            }
        }
    }
}

/// Why a rotation could not be simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// A bundle file is malformed.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// An action names a cluster that has no bundle.
    #[error("no bundle for cluster {cluster}")]
    UnknownCluster {
        /// The cluster.
        cluster: ClusterId,
    },
    /// Issuing a new intermediate failed.
    #[error("cluster {cluster}: {error}")]
    Issue {
        /// The cluster.
        cluster: ClusterId,
        /// Why.
        error: IssueError,
    },
}

/// The state after one action, with its trust matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStep {
    /// What was done.
    pub action: RotationAction,
    /// Every cluster's bundle after it.
    pub bundles: Vec<ClusterBundle>,
    /// The trust matrix after it.
    pub report: TrustReport,
    /// The (verifier, peer) pairs trusted before the rotation and not after this step.
    pub broken: Vec<(ClusterId, ClusterId)>,
}

impl RotationStep {
    /// No pair broken by this step.
    pub fn is_safe(&self) -> bool {
        self.broken.is_empty()
    }
}

/// A rotation, step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPlan {
    /// The matrix before the rotation.
    pub initial: TrustReport,
    /// The steps, in order.
    pub steps: Vec<RotationStep>,
}

impl RotationPlan {
    /// Every step safe.
    pub fn is_safe(&self) -> bool {
        self.steps.iter().all(RotationStep::is_safe)
    }

    /// The first step that breaks a pair.
    pub fn first_unsafe(&self) -> Option<&RotationStep> {
        self.steps.iter().find(|s| !s.is_safe())
    }

    /// The bundles at the end (the current ones when there is no step).
    pub fn final_bundles(&self) -> Option<&[ClusterBundle]> {
        self.steps.last().map(|s| s.bundles.as_slice())
    }

    /// Simulates `actions` in order from `current`, new intermediates drawn from `rng` at `now`.
    pub fn simulate<R: CryptoRng + ?Sized>(
        current: &[ClusterBundle],
        new_root: &RootCa,
        actions: &[RotationAction],
        rng: &mut R,
        now: i64,
        options: &ReportOptions,
    ) -> Result<Self, RotationError> {
        let initial = TrustReport::build(current, now, options)?;
        let mut state = current.to_vec();
        let mut steps = Vec::with_capacity(actions.len());
        for action in actions {
            let bundle = state
                .iter_mut()
                .find(|b| &b.cluster == action.cluster())
                .ok_or_else(|| RotationError::UnknownCluster {
                    cluster: action.cluster().clone(),
                })?;
            apply(bundle, action, new_root, rng, now)?;
            let report = TrustReport::build(&state, now, options)?;
            let broken = initial
                .cells()
                .iter()
                .filter(|before| before.trusted())
                .filter(|before| {
                    report
                        .cell(&before.verifier, &before.peer)
                        .is_none_or(|after| !after.trusted())
                })
                .map(|c| (c.verifier.clone(), c.peer.clone()))
                .collect();
            steps.push(RotationStep {
                action: action.clone(),
                bundles: state.clone(),
                report,
                broken,
            });
        }
        Ok(Self { initial, steps })
    }
}

/// The safe rotation of every cluster of `current` to `new_root`: all trust the new root, then
/// all re-issue their intermediate, then all drop the old root (clusters in sorted order within
/// each phase), each step simulated.
///
/// ```
/// use mesh_ca::{ClusterBundle, ReportOptions, RootCa, RotationAction, plan_root_rotation};
/// use mesh_model::{ClusterId, TrustDomain};
/// use rand_chacha::ChaCha20Rng;
/// use rand_core::SeedableRng;
///
/// let (now, mut rng) = (1_767_225_600, ChaCha20Rng::seed_from_u64(4));
/// let old = RootCa::generate(&mut rng, now)?;
/// let mut bundles = Vec::new();
/// for name in ["c1", "c2"] {
///     let cluster = ClusterId::new(name)?;
///     let ca = old.generate_intermediate(&cluster, &mut rng, now)?;
///     bundles.push(ClusterBundle::new(cluster, TrustDomain::new("cluster.local")?, ca.plugin_files()));
/// }
/// let new = RootCa::generate(&mut rng, now)?;
/// let plan = plan_root_rotation(&bundles, &new, &mut rng, now, &ReportOptions::default())?;
/// assert_eq!(plan.steps.len(), 6);
/// assert!(plan.is_safe());
/// assert!(matches!(plan.steps[0].action, RotationAction::TrustNewRoot { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan_root_rotation<R: CryptoRng + ?Sized>(
    current: &[ClusterBundle],
    new_root: &RootCa,
    rng: &mut R,
    now: i64,
    options: &ReportOptions,
) -> Result<RotationPlan, RotationError> {
    let mut clusters: Vec<ClusterId> = current.iter().map(|b| b.cluster.clone()).collect();
    clusters.sort();
    let phase = |make: fn(ClusterId) -> RotationAction| clusters.iter().cloned().map(make);
    let actions: Vec<RotationAction> = phase(|cluster| RotationAction::TrustNewRoot { cluster })
        .chain(phase(|cluster| RotationAction::ReissueIntermediate {
            cluster,
        }))
        .chain(phase(|cluster| RotationAction::DropOldRoot { cluster }))
        .collect();
    RotationPlan::simulate(current, new_root, &actions, rng, now, options)
}

fn apply<R: CryptoRng + ?Sized>(
    bundle: &mut ClusterBundle,
    action: &RotationAction,
    new_root: &RootCa,
    rng: &mut R,
    now: i64,
) -> Result<(), RotationError> {
    let new_fingerprint = new_root.certificate().fingerprint();
    match action {
        RotationAction::TrustNewRoot { .. } => {
            let mut roots = match bundle.files.get(BundleFile::RootCert) {
                Some(bytes) => parse_certificates(&bundle.cluster, BundleFile::RootCert, bytes)?,
                None => Vec::new(),
            };
            if !roots.iter().any(|r| r.fingerprint() == new_fingerprint) {
                roots.push(new_root.certificate().clone());
            }
            let pem: String = roots.iter().map(|r| r.to_pem()).collect();
            bundle.files.root_cert = Some(pem.into_bytes());
        }
        RotationAction::ReissueIntermediate { cluster } => {
            let ca = new_root
                .generate_intermediate(cluster, rng, now)
                .map_err(|error| RotationError::Issue {
                    cluster: cluster.clone(),
                    error,
                })?;
            let files = ca.plugin_files();
            bundle.files.ca_cert = files.ca_cert;
            bundle.files.ca_key = files.ca_key;
            bundle.files.cert_chain = files.cert_chain;
        }
        RotationAction::DropOldRoot { .. } => {
            bundle.files.root_cert = Some(new_root.cert_pem().as_bytes().to_vec());
        }
    }
    Ok(())
}
