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
        // The missing cluster and the one whose controlPlane names it.
        (Code::UnknownCluster, vec![cluster("b"), cluster("zz")]),
        (Code::UnknownNetwork, vec![network("nope")]),
    ];
    let got: Vec<(Code, Vec<Subject>)> = r
        .diagnostics
        .iter()
        .map(|d| (d.code, d.subjects.clone()))
        .collect();
    assert_eq!(got, want, "{r}");
}

#[test]
fn endpoints_ports_and_pod_cidrs_that_cannot_be_right() {
    let r = check(&mesh(
        "  clusters:
  - {name: a, podCidrs: [10.1.0.0/16, 10.1.2.0/24]}
  - {name: b, podCidrs: [10.2.0.0/16]}
  - {name: c}
  services:
  - name: foo
    namespace: ns
    ports: [{name: http, port: 80}, {name: http, port: 8080}, {port: 90}, {port: 91}]
    endpoints:
    - {cluster: a, address: 10.1.0.5}
    - {cluster: a, address: 10.1.0.5}
    - {cluster: a, address: 10.1.0.5, port: 81}
    - {cluster: a, address: 10.9.0.5}
    - {cluster: a, address: 10.2.0.5}
    - {cluster: c, address: 10.9.0.6}
    - {cluster: c, address: 10.2.0.6}
",
    ));
    let foo = Subject::Service("foo.ns".into());
    // Sorted by code, subjects sorted.
    let want = [
        (Code::DuplicateEndpoint, vec![foo.clone()]),
        (Code::DuplicatePortName, vec![foo]),
        (Code::EndpointOutsidePodCidrs, vec![cluster("a")]),
        (
            Code::EndpointOutsidePodCidrs,
            vec![cluster("a"), cluster("b")],
        ),
        (
            Code::EndpointOutsidePodCidrs,
            vec![cluster("b"), cluster("c")],
        ),
        (
            Code::PodCidrsOverlap,
            vec![cluster("a"), cidr("10.1.0.0/16"), cidr("10.1.2.0/24")],
        ),
    ];
    let got: Vec<(Code, Vec<Subject>)> = r
        .diagnostics
        .iter()
        .filter(|d| want.iter().any(|w| w.0 == d.code))
        .map(|d| (d.code, d.subjects.clone()))
        .collect();
    assert_eq!(got, want, "{r}");
    let texts: Vec<String> = r.diagnostics.iter().map(|d| d.message.clone()).collect();
    assert!(
        texts.contains(
            &"endpoint 10.2.0.5 of cluster a is in the pod CIDRs of cluster b".to_owned()
        ),
        "{texts:?}"
    );
}

#[test]
fn a_network_meshnetworks_does_not_list_is_a_warning_and_none_without_meshnetworks() {
    let listed = "  meshNetworks:\n    networks:\n      n1: {endpoints: [{fromRegistry: a}], gateways: [{address: 192.0.2.1, port: 15443}]}\n";
    let doc = |meshnetworks: &str| {
        mesh(&format!(
            "  clusters: [{{name: a, network: n1}}, {{name: b, network: n2, controlPlane: a}}]
  services:
  - name: foo
    namespace: ns
    endpoints: [{{cluster: b, address: 10.0.0.1, network: n3}}]
{meshnetworks}"
        ))
    };
    let r = check(&doc(listed));
    let d = of(&r, Code::NetworkNotInMeshnetworks);
    assert_eq!(d.len(), 2, "{r}");
    assert_eq!(d[0].severity, Severity::Warning);
    assert!(d[0].explanation.contains("Istio accepts this"), "{}", d[0]);
    assert!(of(&r, Code::UnknownNetwork).is_empty(), "{r}");
    let r = check(&doc(""));
    assert!(of(&r, Code::NetworkNotInMeshnetworks).is_empty(), "{r}");
    assert!(of(&r, Code::UnknownNetwork).is_empty(), "{r}");
}

#[test]
fn meshnetworks_typos_are_warnings_with_did_you_mean() {
    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}]
  meshNetworks:
    networks:
      n1:
        endpoints: [{fromRegistery: a}]
        gateway: [{address: 192.0.2.1, port: 15443}]
",
    ));
    let d = of(&r, Code::MeshnetworksUnknownField);
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            r#"spec.meshNetworks.networks.n1.endpoints[0]: unknown field "fromRegistery" (did you mean "fromRegistry"?)"#,
            r#"spec.meshNetworks.networks.n1: unknown field "gateway" (did you mean "gateways"?)"#,
        ],
        "{r}"
    );
    assert!(d.iter().all(|d| d.severity == Severity::Warning));
    assert!(d.iter().all(|d| d.subjects == [network("n1")]));
}

#[test]
fn ports_istio_refuses_are_diagnosed_with_the_rule() {
    let r = check(&mesh(
        "  clusters: [{name: a}]
  services:
  - name: foo
    namespace: ns
    ports: [{name: http_alt, port: 8080}, {name: web, port: 8081, protocol: FOO}, {name: ok, port: 8082, protocol: grpc-web}]
",
    ));
    let name = of(&r, Code::PortNameInvalid);
    assert_eq!(name.len(), 1, "{r}");
    assert_eq!(
        name[0].message,
        "port 8080 of service foo.ns is named \"http_alt\", which Istio refuses"
    );
    assert!(
        name[0].explanation.starts_with(
            "spec.services[0].ports[0].name: port name \"http_alt\" is not a DNS-1123 label"
        ),
        "{}",
        name[0].explanation
    );
    assert!(name[0].explanation.contains("ValidatePortName"));
    assert_eq!(
        name[0].fix,
        "Rename the port to \"http-alt\" (or another DNS-1123 label)"
    );
    let protocol = of(&r, Code::PortProtocolUnsupported);
    assert_eq!(protocol.len(), 1, "{r}");
    assert_eq!(protocol[0].severity, Severity::Warning);
    assert!(
        protocol[0].explanation.starts_with(
            "spec.services[0].ports[1].protocol: protocol \"FOO\" is not one Istio knows"
        ),
        "{}",
        protocol[0].explanation
    );
    assert!(r.has_errors());
}
