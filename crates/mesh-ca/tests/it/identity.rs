//! The identity property: the diagnosis agrees with webpki.

use super::*;

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
