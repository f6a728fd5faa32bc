//! The mesh document parser (YAML and JSON) and its consistency check: never a panic, and whatever
//! parses serializes and parses back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_model::{MeshDocument, NetworkResolver};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [MeshDocument::from_yaml(text), MeshDocument::from_json(text)] {
        let Ok(doc) = parsed else { continue };
        let _ = doc.consistency_errors();
        let _ = doc.spec.gateways(true);
        let resolver = NetworkResolver::new(&doc.spec);
        for s in &doc.spec.services {
            for e in &s.endpoints {
                let _ = resolver.network_of(e);
            }
        }
        let again = MeshDocument::from_json(&doc.to_json()).expect("our own JSON parses");
        assert_eq!(again, doc, "JSON round trip");
        let again = MeshDocument::from_yaml(&doc.to_yaml()).expect("our own YAML parses");
        assert_eq!(again, doc, "YAML round trip");
    }
});
