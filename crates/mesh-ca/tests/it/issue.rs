//! Issuing: roots, intermediates and leaves with Istio's profiles, seeded runs byte-identical.

use super::*;

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
