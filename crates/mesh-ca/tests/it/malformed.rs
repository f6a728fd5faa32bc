//! Malformed input: typed errors naming cluster and file, never a panic.

use super::*;

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
