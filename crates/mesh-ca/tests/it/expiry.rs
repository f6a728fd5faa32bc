//! The expiry horizon.

use super::*;

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
