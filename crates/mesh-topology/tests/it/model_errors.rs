//! Model errors become diagnostics.

use super::*;

#[test]
fn model_errors_become_diagnostics() {
    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}, {name: a}, {name: b, controlPlane: zz}]
  links: [{networks: [n1, n1]}, {networks: [n1, nope]}]
  services:
  - {name: foo, namespace: ns}
  - {name: foo, namespace: ns}
",
    ));
    let want = [
        (Code::DegenerateLink, vec![network("n1")]),
        (Code::DuplicateCluster, vec![cluster("a")]),
        (
            Code::DuplicateService,
            vec![Subject::Service("foo.ns".into())],
        ),
        (Code::UnknownCluster, vec![cluster("zz")]),
        (Code::UnknownNetwork, vec![network("nope")]),
    ];
    let got: Vec<(Code, Vec<Subject>)> = r
        .diagnostics
        .iter()
        .map(|d| (d.code, d.subjects.clone()))
        .collect();
    assert_eq!(got, want, "{r}");
}
