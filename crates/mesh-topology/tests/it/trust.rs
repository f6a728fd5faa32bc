//! Trust between replicated control planes (with mesh-ca).

use super::*;

/// The CA material of the broken example: east's and west's bundles come from two roots.
fn ca_material() -> (mesh_model::CaCerts, mesh_model::CaCerts) {
    let broken = MeshDocument::parse(BROKEN).expect("the broken example parses");
    let of = |name: &str| {
        broken
            .spec
            .clusters
            .iter()
            .find(|c| c.name.as_str() == name)
            .and_then(|c| c.ca_certs.clone())
            .expect("the example's primaries carry caCerts")
    };
    (of("east"), of("west"))
}

fn two_primaries(a: Option<mesh_model::CaCerts>, b: Option<mesh_model::CaCerts>) -> MeshDocument {
    let mut doc = mesh("  clusters: [{name: a}, {name: b}]\n");
    doc.spec.clusters[0].ca_certs = a;
    doc.spec.clusters[1].ca_certs = b;
    doc
}

#[test]
fn trust_root_mismatch_between_replicated_control_planes() {
    let (east, west) = ca_material();
    let r = check_with(
        &two_primaries(Some(east.clone()), Some(west)),
        &CheckOptions::at(NOW),
    );
    let d = of(&r, Code::TrustRootMismatch);
    assert_eq!(d.len(), 2, "{r}");
    assert_eq!(
        d[0].message,
        "workloads of cluster a cannot verify workloads of cluster b"
    );
    assert_eq!(
        d[1].message,
        "workloads of cluster b cannot verify workloads of cluster a"
    );
    assert!(d[0].explanation.contains("(different-roots)"), "{}", d[0]);
    assert_eq!(r.diagnostics.len(), 2, "{r}");
    // One root for both: nothing to report.
    let r = check_with(
        &two_primaries(Some(east.clone()), Some(east.clone())),
        &CheckOptions::at(NOW),
    );
    assert!(r.diagnostics.is_empty(), "{r}");
    // Expired by 2030: the chains break.
    let r = check_with(
        &two_primaries(Some(east.clone()), Some(east)),
        &CheckOptions::at(1_900_000_000),
    );
    let d = of(&r, Code::TrustRootMismatch);
    assert!(
        !d.is_empty() && d.iter().all(|d| d.explanation.contains("(expired)")),
        "{r}"
    );
}

#[test]
fn trust_unreadable_material_is_a_mismatch_naming_the_cluster() {
    let (east, _) = ca_material();
    let garbage = mesh_model::CaCerts {
        root_cert: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".into(),
        ca_cert: east.ca_cert.clone(),
        cert_chain: east.cert_chain.clone(),
    };
    let r = check_with(
        &two_primaries(Some(east), Some(garbage)),
        &CheckOptions::at(NOW),
    );
    let d = of(&r, Code::TrustRootMismatch);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].message, "the CA material of cluster b cannot be read");
    assert_eq!(d[0].subjects, [cluster("b")]);
}

#[test]
fn trust_unverified_without_material_or_time() {
    let (east, west) = ca_material();
    let r = check_with(
        &two_primaries(Some(east.clone()), None),
        &CheckOptions::at(NOW),
    );
    let d = of(&r, Code::TrustUnverified);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].subjects, [cluster("b")]);
    assert_eq!(d[0].severity, Severity::Info);
    assert!(
        d[0].explanation
            .ends_with("Only a carry caCerts in the document"),
        "{}",
        d[0]
    );
    assert!(of(&r, Code::TrustRootMismatch).is_empty());
    // No time given: material present but not verified.
    let r = check(&two_primaries(Some(east), Some(west)));
    let d = of(&r, Code::TrustUnverified);
    assert_eq!(d.len(), 1, "{r}");
    assert!(d[0].message.contains("no time given"));
    // One control plane: its istiod issues every certificate, nothing to compare.
    let mut single = two_primaries(None, None);
    single.spec.clusters[1].control_plane = Some("a".parse().unwrap());
    assert!(
        check_with(&single, &CheckOptions::at(NOW))
            .diagnostics
            .is_empty()
    );
}

#[test]
fn trust_diagnostics_print_dates_not_unix_seconds() {
    let r = check_with(
        &MeshDocument::parse(BROKEN).unwrap(),
        &CheckOptions::at(NOW),
    );
    let d = of(&r, Code::TrustRootMismatch);
    assert!(!d.is_empty(), "{r}");
    for d in d {
        assert!(d.explanation.contains("at 2026-01-01T00:00:00Z"), "{d}");
        assert!(!d.to_string().contains(&NOW.to_string()), "{d}");
    }
}
