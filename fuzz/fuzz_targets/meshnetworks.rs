//! Istio's MeshNetworks parsing (P1) and validation (V1–V6): never a panic, and validation is a
//! pure function of the parsed document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_model::MeshNetworks;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mn) = MeshNetworks::from_yaml(text) else {
        return;
    };
    for resolve in [true, false] {
        let first = mn.validate(resolve);
        assert_eq!(first, mn.validate(resolve));
        if let Err(e) = first {
            assert!(!e.0.is_empty());
            let _ = e.to_string();
        }
    }
    let _ = mn.address_gateways();
});
