//! No token, key, client certificate or CA data of a Secret reaches any output.

use super::*;

#[test]
fn no_secret_value_in_any_output() {
    let dumps = [MP1, MP2, PR1, PR2, VPN1, VPN3];
    let canaries = test_support::secret_canaries(&dumps);
    assert!(
        canaries.len() > 10,
        "the dumps hold secrets: {}",
        canaries.len()
    );
    let mut outputs = Vec::new();
    for pair in [
        [("cluster1", MP1), ("cluster2", MP2)],
        [("cluster1", PR1), ("cluster2", PR2)],
        [("cluster1", VPN1), ("cluster3", VPN3)],
    ] {
        let i = run(&pair);
        let report = mesh_topology::check(&i.document);
        outputs.push(i.document.to_yaml());
        outputs.push(i.document.to_json());
        outputs.push(i.report.to_string());
        outputs.push(serde_json::to_string(&i.report).unwrap());
        outputs.push(report.to_string());
        outputs.push(serde_json::to_string(&report).unwrap());
    }
    // Errors about Secrets: a broken kubeconfig, a value of the wrong type, broken base64.
    let broken = [
        MP1.replacen("\"cluster2\": \"", "\"cluster2\": \"!!", 1),
        MP1.replacen("\"cluster2\": \"", "\"cluster2\": 5, \"x\": \"", 1),
        MP2.replacen(
            "istio/multiCluster: 'true'",
            "istio/multiCluster: 'true'\n  x: [",
            1,
        ),
    ];
    for dump in &broken {
        let e = import(ImportOptions::default(), vec![ClusterInput::new("c", dump)]).unwrap_err();
        outputs.push(e.to_string());
        outputs.push(format!("{e:?}"));
    }
    for out in &outputs {
        for c in &canaries {
            assert!(
                !out.contains(c.as_str()),
                "secret value {c} in output:\n{out}"
            );
        }
    }
}
