//! Why a verifier cannot trust a peer: the walk of the peer's chain to the verifier's roots with
//! x509-parser facts and cached signature checks, and the webpki probe that has the last word.

use std::collections::HashMap;

use mesh_model::{ClusterId, SpiffeId};

use super::problem::{OUTLIVES_ROOT_TOLERANCE_SECS, TrustProblem};
use crate::bundle::{BundleFile, ParsedBundle};
use crate::cert::Certificate;
use crate::key::CaKey;
use crate::verify::{VerifyError, probe_leaf, verify_chain};

/// Signature checks already made: (subject fingerprint, issuer fingerprint) -> verified.
pub(super) type SignatureCache = HashMap<([u8; 32], [u8; 32]), Option<bool>>;

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

pub(super) fn diagnose(
    verifier: &ParsedBundle,
    peer: &ParsedBundle,
    now: i64,
    require_ca_key: bool,
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
    if peer.ca_key.is_none() && require_ca_key {
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
            if cert.not_after()
                > anchor
                    .not_after()
                    .saturating_add(OUTLIVES_ROOT_TOLERANCE_SECS)
            {
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
pub(super) fn probe(verifier: &ParsedBundle, peer: &ParsedBundle, now: i64) -> Option<VerifyError> {
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
