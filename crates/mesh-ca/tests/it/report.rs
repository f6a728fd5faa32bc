//! The trust report: every reason a pair fails, and the warnings.

use super::*;

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
fn intermediate_outliving_its_root_by_seconds_is_tolerated_and_dates_are_printed() {
    let mut rng = rng(38);
    let root = RootCa::new(
        KeyPair::generate(&mut rng),
        Validity::starting_at(NOW, 100 * DAY as u64),
        &mut rng,
    )
    .unwrap();
    // As Istio's tools/certs makes them: the intermediate a few seconds after the root.
    let skewed = |secs: i64, name: &str, rng: &mut _| {
        root.issue_intermediate(
            &cluster(name),
            KeyPair::generate(rng),
            Validity::starting_at(NOW + secs, 100 * DAY as u64),
            rng,
        )
        .unwrap()
    };
    let report = matrix(&[bundle_of(&skewed(3, "c1", &mut rng))], NOW + 10);
    assert_eq!(problems(&report, "c1", "c1"), []);
    let late = OUTLIVES_ROOT_TOLERANCE_SECS + 1;
    let report = matrix(&[bundle_of(&skewed(late, "c2", &mut rng))], NOW + late);
    let found = problems(&report, "c2", "c2");
    assert!(
        matches!(found, [TrustProblem::IntermediateOutlivesRoot { .. }]),
        "{found:?}"
    );
    assert_eq!(
        found[0].to_string(),
        format!(
            "c2: O=Istio, CN=Intermediate CA, L=c2 is valid until {}, after its root ({}, by more than the 3600-second tolerance)",
            mesh_ca::utc_date(NOW + late + 100 * DAY),
            mesh_ca::utc_date(NOW + 100 * DAY)
        )
    );
    assert!(found[0].to_string().contains("T01:00:01Z"), "{}", found[0]);
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
