//! mesh-ca integration tests: issuing, verifying, every trust failure reason, malformed input,
//! expiry, rotation, determinism and the identity property.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod expiry;
mod identity;
mod issue;
mod istio_rsa;
mod malformed;
mod mesh_document;
mod report;
mod rotation;

use mesh_ca::{
    BundleError, BundleFile, Certificate, ClusterBundle, IntermediateCa, IssueError, KeyPair,
    OUTLIVES_ROOT_TOLERANCE_SECS, PemProblem, PluginFiles, PublicKey, ReportOptions, RootCa,
    RotationAction, RotationPlan, TrustBundle, TrustProblem, TrustReport, Validity, VerifyError,
    plan_root_rotation,
};
use mesh_model::{ClusterId, MeshDocument, SpiffeId, TrustDomain};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyIdMethod};

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn cluster(name: &str) -> ClusterId {
    ClusterId::new(name).unwrap()
}

fn td(name: &str) -> TrustDomain {
    TrustDomain::new(name).unwrap()
}

fn id(s: &str) -> SpiffeId {
    s.parse().unwrap()
}

fn bundle_of(ca: &IntermediateCa) -> ClusterBundle {
    ClusterBundle::new(ca.cluster().clone(), td("cluster.local"), ca.plugin_files())
}

/// A root and the intermediates of `names`, all from one seed.
fn mesh(seed: u64, names: &[&str]) -> (RootCa, Vec<IntermediateCa>) {
    let mut rng = rng(seed);
    let root = RootCa::generate(&mut rng, NOW).unwrap();
    let cas = names
        .iter()
        .map(|n| {
            root.generate_intermediate(&cluster(n), &mut rng, NOW)
                .unwrap()
        })
        .collect();
    (root, cas)
}

fn matrix(bundles: &[ClusterBundle], now: i64) -> TrustReport {
    TrustReport::build(bundles, now, &ReportOptions::default()).unwrap()
}

/// The problems of cell (verifier, peer).
fn problems<'r>(report: &'r TrustReport, verifier: &str, peer: &str) -> &'r [TrustProblem] {
    &report
        .cell(&cluster(verifier), &cluster(peer))
        .unwrap()
        .problems
}

fn pem(text: &str) -> Option<Vec<u8>> {
    Some(text.as_bytes().to_vec())
}

/// Raw rcgen parameters for a hand-made CA (for the broken shapes the library never issues).
fn ca_params(cn: &str, key: &KeyPair, constraint: Option<BasicConstraints>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.not_before = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    params.not_after = time::OffsetDateTime::from_unix_timestamp(NOW + 365 * DAY).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from(7u64));
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Istio");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = match constraint {
        Some(c) => IsCa::Ca(c),
        None => IsCa::ExplicitNoCa,
    };
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::PreSpecified(key.public_key().key_identifier());
    params
}

/// An rcgen issuer for `root` (same subject, same key).
fn root_issuer(root: &RootCa) -> Issuer<'static, KeyPair> {
    let params = ca_params("Root CA", root.key(), Some(BasicConstraints::Unconstrained));
    Issuer::new(params, root.key().clone())
}

/// `files` as cluster c2 next to the valid cluster of `c1`.
fn beside(c1: &IntermediateCa, files: PluginFiles) -> TrustReport {
    matrix(
        &[
            bundle_of(c1),
            ClusterBundle::new(cluster("c2"), td("cluster.local"), files),
        ],
        NOW,
    )
}

/// The plug-in files of a hand-made intermediate `ca` (DER) with `key`, under the root `root_pem`.
fn plugged(root_pem: &str, ca: &[u8], key: &KeyPair) -> PluginFiles {
    let ca_pem = Certificate::from_der(ca).unwrap().to_pem();
    PluginFiles {
        root_cert: pem(root_pem),
        ca_cert: pem(&ca_pem),
        ca_key: pem(&key.to_pem()),
        cert_chain: pem(&format!("{ca_pem}{root_pem}")),
    }
}
