//! Arbitrary bytes as a cluster's plug-in CA bundle (PEM or DER): parsing, the trust report
//! against a valid cluster, key and CSR parsing, and webpki verification never panic.
//!
//! Input layout: up to four files separated by the line `~~`, in the order `root-cert.pem`,
//! `ca-cert.pem`, `ca-key.pem`, `cert-chain.pem` (a missing part is an absent file).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mesh_ca::{
    BundleFile, Certificate, ClusterBundle, KeyPair, PluginFiles, PublicKey, ReportOptions, RootCa,
    TrustBundle, TrustReport, parse_certificates,
};
use mesh_model::{ClusterId, TrustDomain};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;

fn trust_domain() -> TrustDomain {
    TrustDomain::new("cluster.local").expect("valid")
}

/// A valid cluster to pair the fuzzed one with.
fn valid() -> &'static ClusterBundle {
    static VALID: OnceLock<ClusterBundle> = OnceLock::new();
    VALID.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let root = RootCa::generate(&mut rng, NOW).expect("root");
        let cluster = ClusterId::new("valid").expect("id");
        let ca = root
            .generate_intermediate(&cluster, &mut rng, NOW)
            .expect("intermediate");
        ClusterBundle::new(cluster, trust_domain(), ca.plugin_files())
    })
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(4).position(|w| w == b"\n~~\n") {
        parts.push(&rest[..at]);
        rest = &rest[at + 4..];
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    let mut files = PluginFiles::default();
    for (file, part) in BundleFile::ALL.into_iter().zip(&parts) {
        files.set(file, Some(part.to_vec()));
    }
    let fuzzed = ClusterBundle::new(ClusterId::new("fuzzed").expect("id"), trust_domain(), files);
    for at in [NOW, i64::MIN, i64::MAX] {
        if let Ok(report) = TrustReport::build(
            &[valid().clone(), fuzzed.clone()],
            at,
            &ReportOptions::default(),
        ) {
            assert_eq!(report.cells().len(), 4);
            let _ = report.failures().count();
            let _ = report.expiry().first();
        }
    }
    // The same bytes through the other entry points.
    let cluster = ClusterId::new("fuzzed").expect("id");
    let _ = KeyPair::from_pem_bytes(data);
    let _ = KeyPair::from_pkcs8_der(data);
    let _ = PublicKey::from_csr_der(data);
    let _ = PublicKey::from_spki_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PublicKey::from_pem(text);
    }
    if let Ok(cert) = Certificate::from_der(data) {
        let _ = cert.label();
        let roots = vec![cert.clone()];
        let _ = TrustBundle::new(roots, trust_domain()).verify(&[cert], NOW);
    }
    if let Ok(certs) = parse_certificates(&cluster, BundleFile::CertChain, data) {
        let _ = TrustBundle::new(certs.clone(), trust_domain()).verify(&certs, NOW);
    }
});
