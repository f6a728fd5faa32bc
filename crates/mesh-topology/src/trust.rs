//! A common root of trust between replicated control planes, checked with mesh-ca from the
//! clusters' `caCerts`.
//!
//! Only primaries matter: a remote's workloads get certificates from its primary's istiod, so
//! its own `cacerts` are unused. With one control plane there is nothing to compare.

use std::collections::BTreeSet;

use mesh_ca::{BundleError, ClusterBundle, ReportOptions, TrustProblem, TrustReport};
use mesh_model::{Cluster, MeshSpec};

use crate::diagnostic::{Code, Diagnostic, Subject};

/// The trust diagnostics of a mesh whose primaries are `primaries`, verified at `now` (unix
/// seconds; `None` = no time given, nothing verified).
pub(crate) fn trust_diagnostics(
    spec: &MeshSpec,
    primaries: &[&Cluster],
    now: Option<i64>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if primaries.len() < 2 {
        return out;
    }
    let names =
        |cs: &[&Cluster]| -> Vec<String> { cs.iter().map(|c| c.name.to_string()).collect() };
    let (with, without): (Vec<&Cluster>, Vec<&Cluster>) =
        primaries.iter().partition(|c| c.ca_certs.is_some());
    if !without.is_empty() {
        let missing = names(&without);
        out.push(Diagnostic::new(
            Code::TrustUnverified,
            format!(
                "trust between the replicated control planes cannot be verified: {} carry no CA material",
                missing.join(", ")
            ),
            missing.iter().map(|c| Subject::Cluster(c.clone())).collect(),
            format!(
                "Replicated control planes each issue their workloads' certificates; cross-cluster mTLS works only when every primary's intermediate chains to one root. {}",
                if with.is_empty() {
                    "No primary carries caCerts in the document".to_owned()
                } else {
                    format!("Only {} carry caCerts in the document", names(&with).join(", "))
                }
            ),
            "Add caCerts (rootCert, caCert, certChain of each primary's cacerts secret) to these clusters, or generate one root and every bundle with `meshspan certs init`",
        ));
    }
    if with.len() < 2 {
        return out;
    }
    let Some(now) = now else {
        out.push(Diagnostic::new(
            Code::TrustUnverified,
            "the CA material of the replicated control planes was not verified: no time given",
            names(&with).into_iter().map(Subject::Cluster).collect(),
            "Certificate validity depends on the time of the check, and the library reads no clock",
            "Pass the time to check at (CheckOptions::at, or meshspan check --now)",
        ));
        return out;
    };
    let mut bundles: Vec<ClusterBundle> = ClusterBundle::from_mesh(spec)
        .into_iter()
        .filter(|b| with.iter().any(|c| c.name == b.cluster))
        .collect();
    let mut seen = BTreeSet::new();
    bundles.retain(|b| seen.insert(b.cluster.clone()));
    let options = ReportOptions::default().with_require_ca_key(false);
    // A malformed bundle fails the whole report: report it, leave it out, check the rest.
    let report = loop {
        match TrustReport::build(&bundles, now, &options) {
            Ok(r) => break Some(r),
            Err(e) => {
                let Some(cluster) = bundle_error_cluster(&e) else {
                    out.push(unreadable(None, &e));
                    break None;
                };
                out.push(unreadable(Some(cluster.as_str()), &e));
                bundles.retain(|b| b.cluster.as_str() != cluster);
                if bundles.len() < 2 {
                    break None;
                }
            }
        }
    };
    let Some(report) = report else { return out };
    for (verifier, peer, problems) in report.failures() {
        let fatal: Vec<&TrustProblem> = problems.iter().filter(|p| p.is_fatal()).collect();
        let why: Vec<String> = fatal
            .iter()
            .map(|p| format!("{} ({})", p, p.code()))
            .collect();
        let different_roots = fatal
            .iter()
            .any(|p| matches!(p, TrustProblem::DifferentRoots { .. }));
        let message = if verifier == peer {
            format!("workloads of cluster {verifier} cannot verify each other's certificates")
        } else {
            format!("workloads of cluster {verifier} cannot verify workloads of cluster {peer}")
        };
        let fix = if different_roots {
            format!(
                "Issue every primary's intermediate from one root (`meshspan certs init --clusters ...`), or, while migrating, add {peer}'s root to root-cert.pem of {verifier}"
            )
        } else {
            "Reissue the CA material the explanation names so that every chain leads to the common root"
                .to_owned()
        };
        out.push(Diagnostic::new(
            Code::TrustRootMismatch,
            message,
            vec![
                Subject::Cluster(verifier.to_string()),
                Subject::Cluster(peer.to_string()),
            ],
            format!(
                "checked with mesh-ca at {}: {}",
                mesh_ca::utc_date(now),
                why.join("; ")
            ),
            fix,
        ));
    }
    out
}

fn bundle_error_cluster(e: &BundleError) -> Option<String> {
    match e {
        BundleError::Pem { cluster, .. }
        | BundleError::NoCertificate { cluster, .. }
        | BundleError::Certificate { cluster, .. }
        | BundleError::Key { cluster, .. }
        | BundleError::DuplicateCluster { cluster } => Some(cluster.to_string()),
        _ => None,
    }
}

fn unreadable(cluster: Option<&str>, e: &BundleError) -> Diagnostic {
    Diagnostic::new(
        Code::TrustRootMismatch,
        match cluster {
            Some(c) => format!("the CA material of cluster {c} cannot be read"),
            None => "the CA material of the mesh cannot be read".to_owned(),
        },
        cluster
            .map(|c| vec![Subject::Cluster(c.to_owned())])
            .unwrap_or_default(),
        format!("{e}: no chain to a common root can be built from it"),
        "Give caCerts as the PEM text of the cacerts secret's files (rootCert, caCert, certChain)",
    )
}
