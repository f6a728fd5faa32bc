//! Istio's own tools/certs output (RSA, OpenSSL).

use super::*;

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
