//! mesh-ca integration tests: issuing, verifying, every trust failure reason, malformed input,
//! expiry, rotation, determinism and the identity property.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use mesh_ca::{
    BundleError, BundleFile, Certificate, ClusterBundle, IntermediateCa, IssueError, KeyPair,
    PemProblem, PluginFiles, PublicKey, ReportOptions, RootCa, RotationAction, RotationPlan,
    TrustBundle, TrustProblem, TrustReport, Validity, VerifyError, plan_root_rotation,
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

// --- issuing -------------------------------------------------------------------------------------

#[test]
fn issued_chain_verifies_and_yields_the_spiffe_id() {
    let (root, cas) = mesh(1, &["c1"]);
    let mut rng = rng(2);
    let key = KeyPair::generate(&mut rng);
    let who = id("spiffe://cluster.local/ns/ns1/sa/foo");
    let leaf = cas[0]
        .issue_workload(&who, key.public_key(), NOW, 3600, &mut rng)
        .unwrap();
    let bundle = TrustBundle::new(vec![root.certificate().clone()], td("cluster.local"));
    let chain = [leaf.certificate().unwrap(), cas[0].certificate().clone()];
    assert_eq!(bundle.verify(&chain, NOW + 10), Ok(who.clone()));
    // The leaf alone (no intermediate) does not chain.
    assert!(matches!(
        bundle.verify(&chain[..1], NOW + 10),
        Err(VerifyError::Rejected(webpki::Error::UnknownIssuer))
    ));
    assert!(matches!(
        bundle.verify(&chain, NOW + 3601),
        Err(VerifyError::Rejected(_))
    ));
    assert_eq!(bundle.verify(&[], NOW), Err(VerifyError::EmptyChain));
    assert_eq!(
        bundle.verify(&chain, -1),
        Err(VerifyError::InvalidTime { now: -1 })
    );
}

#[test]
fn trust_domain_check_honours_aliases() {
    let (root, cas) = mesh(3, &["c1"]);
    let mut rng = rng(4);
    let key = KeyPair::generate(&mut rng);
    let who = id("spiffe://old.example/ns/a/sa/b");
    let leaf = cas[0]
        .issue_workload(&who, key.public_key(), NOW, 3600, &mut rng)
        .unwrap();
    let chain = [leaf.certificate().unwrap(), cas[0].certificate().clone()];
    let bundle = TrustBundle::new(vec![root.certificate().clone()], td("new.example"));
    assert_eq!(
        bundle.verify(&chain, NOW),
        Err(VerifyError::TrustDomainNotAccepted {
            trust_domain: td("old.example"),
            accepted: vec![td("new.example")],
        })
    );
    let bundle = bundle.with_aliases(vec![td("old.example")]);
    assert_eq!(bundle.verify(&chain, NOW), Ok(who));
}

#[test]
fn leaf_from_a_csr_verifies_and_ttl_is_cut_to_the_issuer() {
    let (root, cas) = mesh(5, &["c1"]);
    let mut rng = rng(6);
    let workload = KeyPair::generate(&mut rng);
    let csr = CertificateParams::default()
        .serialize_request(&workload)
        .unwrap()
        .pem()
        .unwrap();
    let key = PublicKey::from_pem(&csr).unwrap();
    let who = id("spiffe://cluster.local/ns/ns1/sa/csr");
    let ca_end = cas[0].certificate().not_after();
    let leaf = cas[0]
        .issue_workload(&who, &key, NOW, u64::MAX, &mut rng)
        .unwrap()
        .certificate()
        .unwrap();
    assert_eq!(leaf.not_after(), ca_end);
    assert_eq!(leaf.public_key(), Some(workload.public_key()));
    let bundle = TrustBundle::new(vec![root.certificate().clone()], td("cluster.local"));
    assert_eq!(
        bundle.verify(&[leaf, cas[0].certificate().clone()], NOW + 1),
        Ok(who.clone())
    );
    // An expired CA issues nothing.
    assert_eq!(
        cas[0]
            .issue_workload(&who, &key, ca_end + 1, 60, &mut rng)
            .unwrap_err(),
        IssueError::IssuerNotValid {
            now: ca_end + 1,
            not_before: NOW,
            not_after: ca_end,
        }
    );
}

/// `openssl req -new -key <c1's ca-key.pem from `meshspan certs init --seed 1`> -subj /CN=workload`.
const OPENSSL_CSR: &str = "-----BEGIN CERTIFICATE REQUEST-----\nMIHNMHUCAQAwEzERMA8GA1UEAwwId29ya2xvYWQwWTATBgcqhkjOPQIBBggqhkjO\nPQMBBwNCAAT8nhoEl1hy0zgHlWQtpePg4wEqAPaqW3xO5qmzNf57kWm2hs+EnchX\nG/IGY7gPPYuMGf1vqbTWVkasPO+rEpdHoAAwCgYIKoZIzj0EAwIDSAAwRQIhAISA\nf3P9fM4gRPljrZvXfmpDpCI8XAO98Xg4IkS4h4QEAiASWoc2HMmeP4kCMj/EyWQk\n5dJqNCOtGhava8hOYvJzQA==\n-----END CERTIFICATE REQUEST-----\n";

#[test]
fn openssl_csr_is_accepted() {
    // The same seed and order as the CLI: root first, then c1's intermediate.
    let (_, cas) = mesh(1, &["c1"]);
    let key = PublicKey::from_pem(OPENSSL_CSR).unwrap();
    assert_eq!(&key, cas[0].key().public_key());
    let mut tampered = OPENSSL_CSR.replace("d29ya2xvYWQw", "d29ya2xvYWUw");
    assert_eq!(
        PublicKey::from_pem(&tampered),
        Err(mesh_ca::KeyError::BadCsrSignature)
    );
    tampered.truncate(40);
    assert!(PublicKey::from_pem(&tampered).is_err());
}

#[test]
fn certificates_follow_istio_tools_certs() {
    let (root, cas) = mesh(7, &["east-1"]);
    let (_, root_x509) = x509_parser::parse_x509_certificate(root.certificate().der()).unwrap();
    let (_, ca_x509) = x509_parser::parse_x509_certificate(cas[0].certificate().der()).unwrap();
    assert_eq!(root_x509.subject().to_string(), "O=Istio, CN=Root CA");
    assert_eq!(
        ca_x509.subject().to_string(),
        "O=Istio, CN=Intermediate CA, L=east-1"
    );
    let root_bc = root_x509.basic_constraints().unwrap().unwrap();
    assert!(root_bc.critical && root_bc.value.ca && root_bc.value.path_len_constraint.is_none());
    let ca_bc = ca_x509.basic_constraints().unwrap().unwrap();
    assert!(ca_bc.critical && ca_bc.value.ca);
    assert_eq!(ca_bc.value.path_len_constraint, Some(0));
    for cert in [&root_x509, &ca_x509] {
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.critical);
        let v = ku.value;
        assert!(v.digital_signature() && v.non_repudiation() && v.key_encipherment());
        assert!(v.key_cert_sign() && !v.crl_sign());
    }
    let san = ca_x509.subject_alternative_name().unwrap().unwrap();
    assert_eq!(
        format!("{:?}", san.value.general_names),
        r#"[DNSName("istiod.istio-system.svc")]"#
    );
    assert_eq!(
        root.certificate().not_after() - NOW,
        3650 * DAY,
        "root lifetime"
    );
    assert_eq!(cas[0].certificate().not_after() - NOW, 730 * DAY);
    // The plug-in files: cert-chain.pem is the intermediate then the root.
    let files = cas[0].plugin_files();
    assert_eq!(
        files.cert_chain_text(),
        format!("{}{}", cas[0].cert_pem(), root.cert_pem())
    );
    assert_eq!(files.root_cert.as_deref(), Some(root.cert_pem().as_bytes()));
    assert!(
        String::from_utf8(files.ca_key.unwrap())
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );

    // Workload leaves, as istiod issues them.
    let mut rng = rng(8);
    let leaf = cas[0]
        .issue_workload(
            &id("spiffe://cluster.local/ns/ns1/sa/foo"),
            KeyPair::generate(&mut rng).public_key(),
            NOW,
            3600,
            &mut rng,
        )
        .unwrap();
    let (_, leaf_x509) = x509_parser::parse_x509_certificate(leaf.der()).unwrap();
    assert_eq!(leaf_x509.subject().to_string(), "");
    let bc = leaf_x509.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && !bc.value.ca);
    let san = leaf_x509.subject_alternative_name().unwrap().unwrap();
    assert!(san.critical, "SAN is critical with an empty subject");
    let eku = leaf_x509.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    assert_eq!(
        leaf_x509.validity().not_after.timestamp() - NOW,
        3600,
        "TTL"
    );
}

#[test]
fn seeded_runs_are_byte_identical() {
    let run = |seed: u64| {
        let mut rng = rng(seed);
        let root = RootCa::generate(&mut rng, NOW).unwrap();
        let ca = root
            .generate_intermediate(&cluster("c1"), &mut rng, NOW)
            .unwrap();
        let key = KeyPair::generate(&mut rng);
        let leaf = ca
            .issue_workload(
                &id("spiffe://cluster.local/ns/a/sa/b"),
                key.public_key(),
                NOW,
                3600,
                &mut rng,
            )
            .unwrap();
        (
            root.cert_pem().to_owned(),
            root.key().to_pem(),
            ca.plugin_files(),
            leaf.to_pem(),
        )
    };
    let a = run(11);
    assert_eq!(a, run(11));
    let b = run(12);
    assert_ne!(a.0, b.0);
    assert_ne!(a.3, b.3);
}

// --- the trust report: every reason --------------------------------------------------------------

#[test]
fn shared_root_trusts_everywhere() {
    let (_, cas) = mesh(20, &["c1", "c2", "c3"]);
    let bundles: Vec<_> = cas.iter().map(bundle_of).collect();
    let report = matrix(&bundles, NOW + DAY);
    assert!(
        report.all_trusted(),
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );
    assert_eq!(report.cells().len(), 9);
    assert_eq!(report.failures().count(), 0);
    assert!(report.cells().iter().all(|c| c.problems.is_empty()));
}

#[test]
fn different_roots() {
    let (_, a) = mesh(21, &["c1"]);
    let (root_b, b) = mesh(22, &["c2"]);
    let report = matrix(&[bundle_of(&a[0]), bundle_of(&b[0])], NOW);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::DifferentRoots {
            verifier: cluster("c1"),
            peer: cluster("c2"),
            peer_root: root_b.certificate().label(),
        }]
    );
    assert!(problems(&report, "c1", "c1").is_empty());
    // Both roots are "O=Istio, CN=Root CA": the label tells them apart.
    let label_b = root_b.certificate().label();
    assert!(
        label_b.starts_with("O=Istio, CN=Root CA [sha256:"),
        "{label_b}"
    );
    assert_eq!(label_b.len(), "O=Istio, CN=Root CA [sha256:]".len() + 16);
    assert_ne!(label_b, mesh(21, &[]).0.certificate().label());
    let failures: Vec<_> = report
        .failures()
        .map(|(from, to, reasons)| (from.as_str(), to.as_str(), reasons[0].code()))
        .collect();
    assert_eq!(
        failures,
        [
            ("c1", "c2", "different-roots"),
            ("c2", "c1", "different-roots")
        ]
    );
}

#[test]
fn istiod_self_signed_fallback_is_a_different_root() {
    // A cluster whose "intermediate" is its own self-signed root (what istiod does without
    // plugged certificates).
    let (_, a) = mesh(23, &["c1"]);
    let mut rng = rng(24);
    let own = RootCa::generate(&mut rng, NOW).unwrap();
    let files = PluginFiles {
        root_cert: pem(own.cert_pem()),
        ca_cert: pem(own.cert_pem()),
        ca_key: pem(&own.key().to_pem()),
        cert_chain: pem(own.cert_pem()),
    };
    let report = beside(&a[0], files);
    assert!(matches!(
        problems(&report, "c1", "c2"),
        [TrustProblem::DifferentRoots { .. }]
    ));
    assert!(
        report
            .cell(&cluster("c2"), &cluster("c2"))
            .unwrap()
            .trusted()
    );
}

#[test]
fn intermediate_not_signed_by_root() {
    let (root_a, a) = mesh(25, &["c1"]);
    let (_, b) = mesh(26, &["c2"]);
    // c2 plugged root A's files around an intermediate signed by another root.
    let mut files = b[0].plugin_files();
    files.root_cert = pem(root_a.cert_pem());
    files.cert_chain = pem(&format!("{}{}", b[0].cert_pem(), root_a.cert_pem()));
    let bundles = [
        bundle_of(&a[0]),
        ClusterBundle::new(cluster("c2"), td("cluster.local"), files),
    ];
    let report = matrix(&bundles, NOW);
    let expected = TrustProblem::IntermediateNotSignedByRoot {
        cluster: cluster("c2"),
        certificate: "O=Istio, CN=Intermediate CA, L=c2".to_owned(),
        issuer: "O=Istio, CN=Root CA".to_owned(),
    };
    assert_eq!(
        problems(&report, "c1", "c2"),
        std::slice::from_ref(&expected)
    );
    assert_eq!(problems(&report, "c2", "c2"), [expected]);
    assert!(problems(&report, "c2", "c1").is_empty());
}

#[test]
fn self_issued_ca_with_a_broken_signature() {
    let (_, a) = mesh(52, &["c1"]);
    let mut rng = rng(53);
    let key = KeyPair::generate(&mut rng);
    let params = ca_params("Lone CA", &key, Some(BasicConstraints::Unconstrained));
    let mut der = params.self_signed(&key).unwrap().der().to_vec();
    // The last byte belongs to the signature's `s`: still DER, no longer a valid signature.
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let lone = Certificate::from_der(&der).unwrap().to_pem();
    let files = PluginFiles {
        root_cert: pem(&lone),
        ca_cert: pem(&lone),
        ca_key: pem(&key.to_pem()),
        cert_chain: pem(&lone),
    };
    let report = beside(&a[0], files);
    let expected = TrustProblem::IntermediateNotSignedByRoot {
        cluster: cluster("c2"),
        certificate: "O=Istio, CN=Lone CA".to_owned(),
        issuer: "O=Istio, CN=Lone CA".to_owned(),
    };
    assert_eq!(
        problems(&report, "c1", "c2"),
        std::slice::from_ref(&expected)
    );
}

/// root -> sub (hand-made, `pathlen`) -> the cluster's CA, returning (sub, cluster CA cert, key).
fn two_level(
    root: &RootCa,
    sub_path_len: Option<BasicConstraints>,
    seed: u64,
) -> (Certificate, Certificate, KeyPair) {
    let mut rng = rng(seed);
    let sub_key = KeyPair::generate(&mut rng);
    let sub_params = ca_params("Sub CA", &sub_key, sub_path_len);
    let sub = sub_params.signed_by(&sub_key, &root_issuer(root)).unwrap();
    let sub_issuer = Issuer::new(sub_params, sub_key);
    let ca_key = KeyPair::generate(&mut rng);
    let ca_params = ca_params(
        "Intermediate CA",
        &ca_key,
        Some(BasicConstraints::Constrained(0)),
    );
    let ca = ca_params.signed_by(&ca_key, &sub_issuer).unwrap();
    (
        Certificate::from_der(sub.der()).unwrap(),
        Certificate::from_der(ca.der()).unwrap(),
        ca_key,
    )
}

#[test]
fn chain_incomplete_and_two_level_chain() {
    let (root, a) = mesh(27, &["c1"]);
    let (sub, ca, key) = two_level(&root, Some(BasicConstraints::Constrained(1)), 28);
    let files = |chain: String| PluginFiles {
        root_cert: pem(root.cert_pem()),
        ca_cert: pem(&ca.to_pem()),
        ca_key: pem(&key.to_pem()),
        cert_chain: pem(&chain),
    };
    // Complete: ca, sub, root.
    let complete = ClusterBundle::new(
        cluster("c2"),
        td("cluster.local"),
        files(format!(
            "{}{}{}",
            ca.to_pem(),
            sub.to_pem(),
            root.cert_pem()
        )),
    );
    let report_ok = matrix(&[bundle_of(&a[0]), complete], NOW);
    assert!(report_ok.all_trusted(), "{:?}", report_ok.cells());
    // Without the sub-CA.
    let incomplete = ClusterBundle::new(
        cluster("c2"),
        td("cluster.local"),
        files(format!("{}{}", ca.to_pem(), root.cert_pem())),
    );
    let report = matrix(&[bundle_of(&a[0]), incomplete], NOW);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::ChainIncomplete {
            cluster: cluster("c2"),
            certificate: "O=Istio, CN=Intermediate CA".to_owned(),
            missing_issuer: "O=Istio, CN=Sub CA".to_owned(),
        }]
    );
}

#[test]
fn path_length_exceeded() {
    let (root, a) = mesh(29, &["c1"]);
    // A sub-CA with pathlen:0 above the cluster's CA.
    let (sub, ca, key) = two_level(&root, Some(BasicConstraints::Constrained(0)), 30);
    let files = PluginFiles {
        root_cert: pem(root.cert_pem()),
        ca_cert: pem(&ca.to_pem()),
        ca_key: pem(&key.to_pem()),
        cert_chain: pem(&format!(
            "{}{}{}",
            ca.to_pem(),
            sub.to_pem(),
            root.cert_pem()
        )),
    };
    let report = beside(&a[0], files);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::PathLenExceeded {
            cluster: cluster("c2"),
            certificate: "O=Istio, CN=Sub CA".to_owned(),
            path_len: 0,
            intermediates_below: 1,
        }]
    );

    // A root with pathlen:0 above Istio's intermediate: webpki ignores trust-anchor constraints,
    // the report does not.
    let mut rng = rng(31);
    let root_key = KeyPair::generate(&mut rng);
    let strict_params = ca_params(
        "Strict Root",
        &root_key,
        Some(BasicConstraints::Constrained(0)),
    );
    let strict_root = strict_params.self_signed(&root_key).unwrap();
    let strict = Issuer::new(strict_params, root_key);
    let ca_key = KeyPair::generate(&mut rng);
    let ca = ca_params(
        "Intermediate CA",
        &ca_key,
        Some(BasicConstraints::Constrained(0)),
    )
    .signed_by(&ca_key, &strict)
    .unwrap();
    let root_pem = Certificate::from_der(strict_root.der()).unwrap().to_pem();
    let ca_pem = Certificate::from_der(ca.der()).unwrap().to_pem();
    let files = PluginFiles {
        root_cert: pem(&root_pem),
        ca_cert: pem(&ca_pem),
        ca_key: pem(&ca_key.to_pem()),
        cert_chain: pem(&format!("{ca_pem}{root_pem}")),
    };
    let report = matrix(
        &[ClusterBundle::new(
            cluster("c3"),
            td("cluster.local"),
            files,
        )],
        NOW,
    );
    assert_eq!(
        problems(&report, "c3", "c3"),
        [TrustProblem::PathLenExceeded {
            cluster: cluster("c3"),
            certificate: "O=Istio, CN=Strict Root".to_owned(),
            path_len: 0,
            intermediates_below: 1,
        }]
    );
}

#[test]
fn not_a_ca() {
    let (root, a) = mesh(32, &["c1"]);
    let mut rng = rng(33);
    let key = KeyPair::generate(&mut rng);
    let ca = ca_params("Intermediate CA", &key, None)
        .signed_by(&key, &root_issuer(&root))
        .unwrap();
    let files = plugged(root.cert_pem(), ca.der(), &key);
    let report = beside(&a[0], files);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::NotCa {
            cluster: cluster("c2"),
            file: BundleFile::CaCert,
            certificate: "O=Istio, CN=Intermediate CA".to_owned(),
        }]
    );
}

#[test]
fn missing_bundle_parts() {
    let (_, cas) = mesh(34, &["c1", "c2"]);
    let mut files = cas[1].plugin_files();
    files.ca_key = None;
    files.root_cert = Some(b"  \n".to_vec()); // blank counts as missing
    let bundles = [
        bundle_of(&cas[0]),
        ClusterBundle::new(cluster("c2"), td("cluster.local"), files.clone()),
    ];
    let report = matrix(&bundles, NOW);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::MissingBundlePart {
            cluster: cluster("c2"),
            file: BundleFile::CaKey,
        }]
    );
    assert_eq!(
        problems(&report, "c2", "c1"),
        [TrustProblem::MissingBundlePart {
            cluster: cluster("c2"),
            file: BundleFile::RootCert,
        }]
    );
    // Without keys required (a mesh document), only the missing root remains.
    let options = ReportOptions::default().with_require_ca_key(false);
    let report = TrustReport::build(&bundles, NOW, &options).unwrap();
    assert!(problems(&report, "c1", "c2").is_empty());
    // No intermediate, no chain.
    files.ca_cert = None;
    files.cert_chain = None;
    let report = beside(&cas[0], files);
    let codes: Vec<_> = problems(&report, "c1", "c2")
        .iter()
        .map(|p| match p {
            TrustProblem::MissingBundlePart { file, .. } => *file,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [BundleFile::CaCert, BundleFile::CaKey, BundleFile::CertChain]
    );
}

#[test]
fn key_not_matching_certificate() {
    let (_, cas) = mesh(35, &["c1", "c2"]);
    let mut files = cas[1].plugin_files();
    files.ca_key = pem(&cas[0].key().to_pem());
    let report = beside(&cas[0], files);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::KeyMismatch {
            cluster: cluster("c2"),
        }]
    );
    assert!(problems(&report, "c2", "c1").is_empty());
}

#[test]
fn expired_and_not_yet_valid() {
    let (_, cas) = mesh(36, &["c1"]);
    let bundles = [bundle_of(&cas[0])];
    let end = cas[0].certificate().not_after();
    let report = matrix(&bundles, end + 1);
    assert_eq!(
        problems(&report, "c1", "c1"),
        [TrustProblem::Expired {
            cluster: cluster("c1"),
            file: BundleFile::CaCert,
            certificate: "O=Istio, CN=Intermediate CA, L=c1".to_owned(),
            not_after: end,
            now: end + 1,
        }]
    );
    let early = matrix(&bundles, NOW - 5);
    let found = problems(&early, "c1", "c1");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(matches!(
        &found[0],
        TrustProblem::NotYetValid { file: BundleFile::CaCert, not_before, now, .. } if *not_before == NOW && *now == NOW - 5
    ));
    assert!(matches!(
        &found[1],
        TrustProblem::NotYetValid {
            file: BundleFile::RootCert,
            ..
        }
    ));
}

#[test]
fn intermediate_outliving_its_root_is_a_warning() {
    let mut rng = rng(37);
    let root = RootCa::new(
        KeyPair::generate(&mut rng),
        Validity::starting_at(NOW, 100 * DAY as u64),
        &mut rng,
    )
    .unwrap();
    let ca = root
        .issue_intermediate(
            &cluster("c1"),
            KeyPair::generate(&mut rng),
            Validity::starting_at(NOW, 200 * DAY as u64),
            &mut rng,
        )
        .unwrap();
    let report = matrix(&[bundle_of(&ca)], NOW);
    let warning = TrustProblem::IntermediateOutlivesRoot {
        cluster: cluster("c1"),
        certificate: "O=Istio, CN=Intermediate CA, L=c1".to_owned(),
        not_after: NOW + 200 * DAY,
        root_not_after: NOW + 100 * DAY,
    };
    assert_eq!(
        problems(&report, "c1", "c1"),
        std::slice::from_ref(&warning)
    );
    assert!(!warning.is_fatal());
    assert!(report.all_trusted());
    assert_eq!(report.warnings(), [&warning]);
    // generate_intermediate never outlives its root.
    let capped = root
        .generate_intermediate(&cluster("c2"), &mut rng, NOW)
        .unwrap();
    assert_eq!(capped.certificate().not_after(), NOW + 100 * DAY);
}

#[test]
fn warnings_are_each_problem_once_in_cell_order() {
    // Root a (100 days): c0..c2 outlive it, c3 does not. Root b: c4 outlives it; only c4 holds
    // root b, so its warning comes from its own cell (the others see different roots: fatal).
    let mut rng = rng(39);
    let short_root = |rng: &mut ChaCha20Rng| {
        RootCa::new(
            KeyPair::generate(rng),
            Validity::starting_at(NOW, 100 * DAY as u64),
            rng,
        )
        .unwrap()
    };
    let (a, b) = (short_root(&mut rng), short_root(&mut rng));
    let mut bundles = Vec::new();
    for (i, root) in [&a, &a, &a, &a, &b].into_iter().enumerate() {
        let name = cluster(&format!("c{i}"));
        let ca = if i == 3 {
            root.generate_intermediate(&name, &mut rng, NOW).unwrap()
        } else {
            let validity = Validity::starting_at(NOW, 200 * DAY as u64);
            root.issue_intermediate(&name, KeyPair::generate(&mut rng), validity, &mut rng)
                .unwrap()
        };
        bundles.push(bundle_of(&ca));
    }
    let report = matrix(&bundles, NOW);
    // The oracle: every non-fatal problem of every cell, verifier-major, first of equal ones.
    let mut naive: Vec<&TrustProblem> = Vec::new();
    for problem in report.cells().iter().flat_map(|c| &c.problems) {
        if !problem.is_fatal() && !naive.contains(&problem) {
            naive.push(problem);
        }
    }
    let warnings = report.warnings();
    assert_eq!(warnings, naive);
    let named: Vec<&str> = warnings
        .iter()
        .map(|w| match w {
            TrustProblem::IntermediateOutlivesRoot { cluster, .. } => cluster.as_str(),
            other => panic!("not a warning: {other}"),
        })
        .collect();
    assert_eq!(named, ["c0", "c1", "c2", "c4"]);
}

#[test]
fn trust_domain_not_accepted_unless_aliased() {
    let (_, cas) = mesh(38, &["c1", "c2"]);
    let mut other = bundle_of(&cas[1]);
    other.trust_domain = td("other.example");
    let bundles = [bundle_of(&cas[0]), other];
    let report = matrix(&bundles, NOW);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::TrustDomainNotAccepted {
            verifier: cluster("c1"),
            peer: cluster("c2"),
            trust_domain: td("other.example"),
            accepted: vec![td("cluster.local")],
        }]
    );
    let mut aliased = bundles.clone();
    aliased[0].trust_domain_aliases = vec![td("other.example")];
    aliased[1].trust_domain_aliases = vec![td("cluster.local")];
    assert!(report_all(&aliased));
}

fn report_all(bundles: &[ClusterBundle]) -> bool {
    matrix(bundles, NOW).all_trusted()
}

/// A key that claims P-384: the certificates it makes carry `ecdsa-with-SHA384`, which mesh-ca
/// does not verify.
struct ClaimsP384(KeyPair);

impl rcgen::PublicKeyData for ClaimsP384 {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key().sec1_bytes()
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P384_SHA384
    }
}

impl rcgen::SigningKey for ClaimsP384 {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.0.sign(msg))
    }
}

#[test]
fn unsupported_algorithm() {
    let (root, a) = mesh(39, &["c1"]);
    let mut rng = rng(40);
    let key = ClaimsP384(KeyPair::generate(&mut rng));
    let p384_root = ca_params("P-384 Root", &key.0, Some(BasicConstraints::Unconstrained));
    let p384_root_cert = p384_root.self_signed(&key).unwrap();
    let p384_pem = Certificate::from_der(p384_root_cert.der())
        .unwrap()
        .to_pem();
    let files = PluginFiles {
        root_cert: pem(root.cert_pem()),
        ca_cert: pem(&p384_pem),
        ca_key: None,
        cert_chain: pem(&p384_pem),
    };
    let options = ReportOptions::default().with_require_ca_key(false);
    let report = TrustReport::build(
        &[
            bundle_of(&a[0]),
            ClusterBundle::new(cluster("c2"), td("cluster.local"), files),
        ],
        NOW,
        &options,
    )
    .unwrap();
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::UnsupportedAlgorithm {
            cluster: cluster("c2"),
            file: BundleFile::CaCert,
            certificate: "O=Istio, CN=P-384 Root".to_owned(),
            algorithm: "1.2.840.10045.4.3.3".to_owned(),
        }]
    );
}

// --- malformed input -----------------------------------------------------------------------------

#[test]
fn malformed_files_are_typed_errors_naming_cluster_and_file() {
    let (_, cas) = mesh(41, &["c1"]);
    let with = |file: BundleFile, bytes: &[u8]| {
        let mut files = cas[0].plugin_files();
        files.set(file, Some(bytes.to_vec()));
        TrustReport::build(
            &[ClusterBundle::new(
                cluster("c1"),
                td("cluster.local"),
                files,
            )],
            NOW,
            &ReportOptions::default(),
        )
        .unwrap_err()
    };
    assert_eq!(
        with(BundleFile::RootCert, b"-----BEGIN CERTIFICATE-----\nAAAA\n"),
        BundleError::Pem {
            cluster: cluster("c1"),
            file: BundleFile::RootCert,
            problem: PemProblem::MissingEnd {
                label: "CERTIFICATE".to_owned()
            },
        }
    );
    assert_eq!(
        with(BundleFile::CaCert, b"hello, not a certificate"),
        BundleError::Certificate {
            cluster: cluster("c1"),
            file: BundleFile::CaCert,
            index: 0,
            problem: mesh_ca::CertificateError::InvalidDer,
        }
    );
    assert!(matches!(
        with(
            BundleFile::CertChain,
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ),
        BundleError::NoCertificate {
            file: BundleFile::CertChain,
            ..
        }
    ));
    let err = with(
        BundleFile::CaKey,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    assert!(matches!(
        &err,
        BundleError::Key {
            file: BundleFile::CaKey,
            ..
        }
    ));
    assert!(
        err.to_string().starts_with("cluster c1: ca-key.pem: "),
        "{err}"
    );
    // A second certificate that is broken is named by index.
    let mut chain = cas[0].chain_pem().to_owned();
    chain.push_str("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n");
    assert!(matches!(
        with(BundleFile::CertChain, chain.as_bytes()),
        BundleError::Certificate { index: 2, .. }
    ));
    // Duplicate clusters.
    let twice = [bundle_of(&cas[0]), bundle_of(&cas[0])];
    assert_eq!(
        TrustReport::build(&twice, NOW, &ReportOptions::default()).unwrap_err(),
        BundleError::DuplicateCluster {
            cluster: cluster("c1")
        }
    );
}

#[test]
fn der_files_are_accepted() {
    let (_, cas) = mesh(42, &["c1"]);
    let mut files = cas[0].plugin_files();
    files.ca_cert = Some(cas[0].certificate().der().to_vec());
    let report = matrix(
        &[ClusterBundle::new(
            cluster("c1"),
            td("cluster.local"),
            files,
        )],
        NOW,
    );
    assert!(report.all_trusted());
}

// --- expiry ---------------------------------------------------------------------------------------

#[test]
fn expiry_horizon_orders_and_warns() {
    let mut rng = rng(43);
    let root = RootCa::generate(&mut rng, NOW).unwrap();
    let short = root
        .issue_intermediate(
            &cluster("c2"),
            KeyPair::generate(&mut rng),
            Validity::starting_at(NOW, 10 * DAY as u64),
            &mut rng,
        )
        .unwrap();
    let long = root
        .generate_intermediate(&cluster("c1"), &mut rng, NOW)
        .unwrap();
    let report = matrix(&[bundle_of(&long), bundle_of(&short)], NOW);
    let horizon = report.expiry();
    let first = horizon.first().unwrap();
    assert_eq!(
        (first.cluster.as_str(), first.file, first.remaining_secs),
        ("c2", BundleFile::CaCert, 10 * DAY)
    );
    let warned: Vec<_> = horizon.warnings().map(|e| e.cluster.as_str()).collect();
    assert_eq!(warned, ["c2"]);
    // Each certificate once per cluster: root, intermediate (the chain repeats both).
    assert_eq!(horizon.entries().len(), 4);
    assert!(
        horizon
            .entries()
            .windows(2)
            .all(|w| w[0].not_after <= w[1].not_after)
    );
}

// --- rotation -------------------------------------------------------------------------------------

#[test]
fn root_rotation_plan_is_safe_and_ends_on_the_new_root() {
    let (_, cas) = mesh(44, &["c1", "c2", "c3"]);
    let bundles: Vec<_> = cas.iter().map(bundle_of).collect();
    let mut rng = rng(45);
    let new_root = RootCa::generate(&mut rng, NOW).unwrap();
    let plan = plan_root_rotation(
        &bundles,
        &new_root,
        &mut rng,
        NOW,
        &ReportOptions::default(),
    )
    .unwrap();
    assert_eq!(plan.steps.len(), 9);
    assert!(
        plan.is_safe(),
        "{:?}",
        plan.first_unsafe().map(|s| &s.broken)
    );
    assert!(plan.steps.iter().all(|s| s.report.all_trusted()));
    let order: Vec<String> = plan.steps.iter().map(|s| s.action.to_string()).collect();
    assert!(order[0].starts_with("c1: add the new root"));
    assert!(order[3].starts_with("c1: replace ca-cert.pem"));
    assert!(order[8].starts_with("c3: remove the old root"));
    // After phase one, every root-cert.pem holds old and new.
    for bundle in &plan.steps[2].bundles {
        let roots = mesh_ca::parse_certificates(
            &bundle.cluster,
            BundleFile::RootCert,
            bundle.files.root_cert.as_deref().unwrap(),
        )
        .unwrap();
        assert_eq!(roots.len(), 2);
    }
    // At the end: only the new root, every intermediate from it.
    let final_bundles = plan.final_bundles().unwrap();
    for bundle in final_bundles {
        assert_eq!(
            bundle.files.root_cert.as_deref(),
            Some(new_root.cert_pem().as_bytes())
        );
    }
    let (_, old_only) = mesh(44, &["c9"]);
    let mixed = [final_bundles[0].clone(), bundle_of(&old_only[0])];
    assert!(!matrix(&mixed, NOW).all_trusted(), "the old root is gone");
}

#[test]
fn naive_rotation_breaks_traffic_and_the_simulation_says_where() {
    let (_, cas) = mesh(46, &["c1", "c2"]);
    let bundles: Vec<_> = cas.iter().map(bundle_of).collect();
    let mut rng = rng(47);
    let new_root = RootCa::generate(&mut rng, NOW).unwrap();
    // Re-issue c1 from the new root before anyone trusts it.
    let actions = [RotationAction::ReissueIntermediate {
        cluster: cluster("c1"),
    }];
    let plan = RotationPlan::simulate(
        &bundles,
        &new_root,
        &actions,
        &mut rng,
        NOW,
        &ReportOptions::default(),
    )
    .unwrap();
    assert!(!plan.is_safe());
    assert_eq!(
        plan.first_unsafe().unwrap().broken,
        [
            (cluster("c1"), cluster("c1")),
            (cluster("c2"), cluster("c1"))
        ]
    );
    let unknown = [RotationAction::DropOldRoot {
        cluster: cluster("nope"),
    }];
    assert!(
        RotationPlan::simulate(
            &bundles,
            &new_root,
            &unknown,
            &mut rng,
            NOW,
            &ReportOptions::default()
        )
        .is_err()
    );
}

// --- mesh document --------------------------------------------------------------------------------

#[test]
fn bundles_from_a_mesh_document() {
    let (_, cas) = mesh(48, &["c1", "c2"]);
    let (_, other) = mesh(49, &["c3"]);
    let entry = |ca: &IntermediateCa| {
        let f = ca.plugin_files();
        let text = |b: Option<Vec<u8>>| {
            serde_json::to_string(&String::from_utf8(b.unwrap()).unwrap()).unwrap()
        };
        format!(
            "{{\"name\": \"{}\", \"caCerts\": {{\"rootCert\": {}, \"caCert\": {}, \"certChain\": {}}}}}",
            ca.cluster(),
            text(f.root_cert),
            text(f.ca_cert),
            text(f.cert_chain)
        )
    };
    let doc = format!(
        "{{\"apiVersion\": \"meshspan/v1alpha1\", \"kind\": \"Mesh\", \"metadata\": {{\"name\": \"m\"}}, \"spec\": {{\"clusters\": [{}, {}, {}, {{\"name\": \"c4\"}}]}}}}",
        entry(&cas[0]),
        entry(&cas[1]),
        entry(&other[0])
    );
    let doc = MeshDocument::from_yaml(&doc).unwrap();
    let bundles = ClusterBundle::from_mesh(&doc.spec);
    assert_eq!(bundles.len(), 3, "c4 carries no caCerts");
    assert!(bundles.iter().all(|b| b.files.ca_key.is_none()));
    let options = ReportOptions::default().with_require_ca_key(false);
    let report = TrustReport::build(&bundles, NOW, &options).unwrap();
    let failures: Vec<_> = report
        .failures()
        .map(|(a, b, _)| format!("{a}->{b}"))
        .collect();
    assert_eq!(failures, ["c1->c3", "c2->c3", "c3->c1", "c3->c2"]);
    assert_eq!(
        TrustReport::from_mesh(&doc.spec, NOW).unwrap(),
        Some(report)
    );
    let bare = MeshDocument::from_yaml(
        "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n  clusters: [{name: c1}]\n",
    )
    .unwrap();
    assert_eq!(TrustReport::from_mesh(&bare.spec, NOW), Ok(None));
}

// --- the identity property ------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random identities issued by one mesh verify against its root with their own SPIFFE ID,
    /// and never against another mesh's root, though both roots carry the same name.
    #[test]
    fn identities_verify_against_the_right_root_only(
        seed in any::<u64>(),
        ns in "[a-z][a-z0-9-]{0,20}[a-z0-9]",
        sa in "[a-z][a-z0-9.-]{0,20}[a-z0-9]",
        ttl in 60u64..86_400,
        at in 0i64..60,
    ) {
        let mut rng = rng(seed);
        let right = RootCa::generate(&mut rng, NOW).unwrap();
        let wrong = RootCa::generate(&mut rng, NOW).unwrap();
        let ca = right.generate_intermediate(&cluster("c1"), &mut rng, NOW).unwrap();
        let who = id(&format!("spiffe://cluster.local/ns/{ns}/sa/{sa}"));
        let key = KeyPair::generate(&mut rng);
        let leaf = ca.issue_workload(&who, key.public_key(), NOW, ttl, &mut rng).unwrap();
        let chain = [leaf.certificate().unwrap(), ca.certificate().clone()];
        let trusted = TrustBundle::new(vec![right.certificate().clone()], td("cluster.local"));
        prop_assert_eq!(trusted.verify(&chain, NOW + at), Ok(who));
        let other = TrustBundle::new(vec![wrong.certificate().clone()], td("cluster.local"));
        prop_assert!(other.verify(&chain, NOW + at).is_err());
        // Both in the bundle (a rotation): trusted.
        let both = TrustBundle::new(
            vec![wrong.certificate().clone(), right.certificate().clone()],
            td("cluster.local"),
        );
        prop_assert!(both.verify(&chain, NOW + at).is_ok());
    }
}

#[test]
fn webpki_rejection_the_diagnosis_does_not_name() {
    // An intermediate with an unknown critical extension: every link checks out, but webpki (as
    // any TLS stack) refuses the chain. The report says so from webpki's own answer.
    let (root, a) = mesh(50, &["c1"]);
    let mut rng = rng(51);
    let key = KeyPair::generate(&mut rng);
    let mut params = ca_params(
        "Intermediate CA",
        &key,
        Some(BasicConstraints::Constrained(0)),
    );
    let mut odd =
        rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
    odd.set_criticality(true);
    params.custom_extensions = vec![odd];
    let ca = params.signed_by(&key, &root_issuer(&root)).unwrap();
    let files = plugged(root.cert_pem(), ca.der(), &key);
    let report = beside(&a[0], files);
    assert_eq!(
        problems(&report, "c1", "c2"),
        [TrustProblem::VerifierRejected {
            verifier: cluster("c1"),
            peer: cluster("c2"),
            error: VerifyError::Rejected(webpki::Error::UnsupportedCriticalExtension),
        }]
    );
}

// --- Istio's own tools/certs output (RSA, OpenSSL) ------------------------------------------------

fn istio_rsa(file: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/istio-rsa")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn istio_rsa_files() -> PluginFiles {
    PluginFiles {
        root_cert: Some(istio_rsa("root-cert.pem")),
        ca_cert: Some(istio_rsa("ca-cert.pem")),
        ca_key: Some(istio_rsa("ca-key.pem")),
        cert_chain: Some(istio_rsa("cert-chain.pem")),
    }
}

/// A time at which the whole fixture is valid: an hour after the workload certificate's start.
fn istio_rsa_now() -> i64 {
    mesh_ca::parse_certificates(
        &cluster("cluster1"),
        BundleFile::CaCert,
        &istio_rsa("workload-cert.pem"),
    )
    .unwrap()[0]
        .not_before()
        + 3600
}

#[test]
fn istio_tools_certs_rsa_bundle_is_trusted_and_its_leaf_verifies() {
    let now = istio_rsa_now();
    let bundle = ClusterBundle::new(cluster("cluster1"), td("cluster.local"), istio_rsa_files());
    let report = TrustReport::build(&[bundle], now, &ReportOptions::default()).unwrap();
    assert!(problems(&report, "cluster1", "cluster1").is_empty());

    // webpki over RSA: the Makefile's workload certificate verifies against the RSA root.
    let parse = |file: &str| {
        mesh_ca::parse_certificates(
            &cluster("cluster1"),
            BundleFile::CertChain,
            &istio_rsa(file),
        )
        .unwrap()
    };
    let mut chain = parse("workload-cert.pem");
    chain.extend(parse("ca-cert.pem"));
    let trust = TrustBundle::new(parse("root-cert.pem"), td("cluster.local"));
    assert_eq!(
        trust.verify(&chain, now),
        Ok(id("spiffe://cluster.local/ns/foo/sa/default"))
    );
    // ... and not against a P-256 root of the same name.
    let (p256_root, _) = mesh(60, &[]);
    let other = TrustBundle::new(vec![p256_root.certificate().clone()], td("cluster.local"));
    assert!(other.verify(&chain, now).is_err());
}

#[test]
fn istio_rsa_bundle_beside_a_p256_mesh() {
    let now = istio_rsa_now();
    let mut rng = rng(61);
    let root = RootCa::generate(&mut rng, now).unwrap();
    let ca = root
        .generate_intermediate(&cluster("c1"), &mut rng, now)
        .unwrap();
    let rsa = ClusterBundle::new(cluster("cluster1"), td("cluster.local"), istio_rsa_files());
    let report = TrustReport::build(
        &[bundle_of(&ca), rsa.clone()],
        now,
        &ReportOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        problems(&report, "c1", "cluster1"),
        [TrustProblem::DifferentRoots { peer_root, .. }] if peer_root.starts_with("O=Istio, CN=Root CA [sha256:")
    ));
    assert!(matches!(
        problems(&report, "cluster1", "c1"),
        [TrustProblem::DifferentRoots { .. }]
    ));

    // The root's key plugged as the intermediate's key.
    let mut wrong_key = rsa;
    wrong_key.files.ca_key = Some(istio_rsa("root-key.pem"));
    let report = TrustReport::build(&[wrong_key], now, &ReportOptions::default()).unwrap();
    assert_eq!(
        problems(&report, "cluster1", "cluster1"),
        [TrustProblem::KeyMismatch {
            cluster: cluster("cluster1")
        }]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Clusters spread over independent roots (all named "O=Istio, CN=Root CA"): the matrix is
    /// exactly "same root", and every failure says different-roots.
    #[test]
    fn matrix_is_the_same_root_relation(
        seed in any::<u64>(),
        roots_of in proptest::collection::vec(0usize..3, 1..5),
    ) {
        let mut rng = rng(seed);
        let roots: Vec<RootCa> = (0..3).map(|_| RootCa::generate(&mut rng, NOW).unwrap()).collect();
        let bundles: Vec<ClusterBundle> = roots_of
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                let ca = roots[r]
                    .generate_intermediate(&cluster(&format!("c{i}")), &mut rng, NOW)
                    .unwrap();
                bundle_of(&ca)
            })
            .collect();
        let report = matrix(&bundles, NOW + 1);
        prop_assert_eq!(report.cells().len(), roots_of.len() * roots_of.len());
        for (i, &ri) in roots_of.iter().enumerate() {
            for (j, &rj) in roots_of.iter().enumerate() {
                let cell = report.cell(&cluster(&format!("c{i}")), &cluster(&format!("c{j}"))).unwrap();
                prop_assert_eq!(cell.trusted(), ri == rj, "c{} -> c{}: {:?}", i, j, cell.problems);
                if ri != rj {
                    let different = matches!(
                        cell.problems.as_slice(),
                        [TrustProblem::DifferentRoots { .. }]
                    );
                    prop_assert!(different, "{:?}", cell.problems);
                }
            }
        }
    }
}
