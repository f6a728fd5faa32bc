//! Root rotation: the plan, and what a naive rotation breaks.

use super::*;

#[test]
fn root_rotation_plan_is_safe_and_ends_on_the_new_root() {
    let (_, cas) = mesh(44, &["c1", "c2", "c3"]);
    let bundles: Vec<_> = cas.iter().map(bundle_of).collect();
    let mut rng = rng(45);
    let new_root = RootCa::generate(&mut rng, NOW).unwrap();
    let plan = plan_root_rotation(
        &bundles,
        &new_root,
        &mut rng,
        NOW,
        &ReportOptions::default(),
    )
    .unwrap();
    assert_eq!(plan.steps.len(), 9);
    assert!(
        plan.is_safe(),
        "{:?}",
        plan.first_unsafe().map(|s| &s.broken)
    );
    assert!(plan.steps.iter().all(|s| s.report.all_trusted()));
    let order: Vec<String> = plan.steps.iter().map(|s| s.action.to_string()).collect();
    assert!(order[0].starts_with("c1: add the new root"));
    assert!(order[3].starts_with("c1: replace ca-cert.pem"));
    assert!(order[8].starts_with("c3: remove the old root"));
    // After phase one, every root-cert.pem holds old and new.
    for bundle in &plan.steps[2].bundles {
        let roots = mesh_ca::parse_certificates(
            &bundle.cluster,
            BundleFile::RootCert,
            bundle.files.root_cert.as_deref().unwrap(),
        )
        .unwrap();
        assert_eq!(roots.len(), 2);
    }
    // At the end: only the new root, every intermediate from it.
    let final_bundles = plan.final_bundles().unwrap();
    for bundle in final_bundles {
        assert_eq!(
            bundle.files.root_cert.as_deref(),
            Some(new_root.cert_pem().as_bytes())
        );
    }
    let (_, old_only) = mesh(44, &["c9"]);
    let mixed = [final_bundles[0].clone(), bundle_of(&old_only[0])];
    assert!(!matrix(&mixed, NOW).all_trusted(), "the old root is gone");
}

#[test]
fn naive_rotation_breaks_traffic_and_the_simulation_says_where() {
    let (_, cas) = mesh(46, &["c1", "c2"]);
    let bundles: Vec<_> = cas.iter().map(bundle_of).collect();
    let mut rng = rng(47);
    let new_root = RootCa::generate(&mut rng, NOW).unwrap();
    // Re-issue c1 from the new root before anyone trusts it.
    let actions = [RotationAction::ReissueIntermediate {
        cluster: cluster("c1"),
    }];
    let plan = RotationPlan::simulate(
        &bundles,
        &new_root,
        &actions,
        &mut rng,
        NOW,
        &ReportOptions::default(),
    )
    .unwrap();
    assert!(!plan.is_safe());
    assert_eq!(
        plan.first_unsafe().unwrap().broken,
        [
            (cluster("c1"), cluster("c1")),
            (cluster("c2"), cluster("c1"))
        ]
    );
    let unknown = [RotationAction::DropOldRoot {
        cluster: cluster("nope"),
    }];
    assert!(
        RotationPlan::simulate(
            &bundles,
            &new_root,
            &unknown,
            &mut rng,
            NOW,
            &ReportOptions::default()
        )
        .is_err()
    );
}
