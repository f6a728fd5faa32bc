//! Bundles from a mesh document.

use super::*;

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
