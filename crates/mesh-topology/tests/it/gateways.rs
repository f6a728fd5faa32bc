//! Gateways and sidecars: network-without-gateway, remote-endpoint-without-sidecar, gateway-unresolved, gateway-shared-by-networks.

use super::*;

#[test]
fn network_without_gateway_when_consumed_from_unlinked_networks() {
    let with = mesh(SPLIT);
    assert!(of(&check(&with), Code::NetworkWithoutGateway).is_empty());
    let without = mesh(&SPLIT.replace(
        "gateways: [{address: 192.0.2.2, port: 15443}]",
        "gateways: []",
    ));
    let r = check(&without);
    let d = of(&r, Code::NetworkWithoutGateway);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(d[0].subjects, [network("n1"), network("n2")]);
    assert!(d[0].message.starts_with("network n2 has no usable gateway"));
    // Linked networks consume by IP: no gateway needed.
    let linked = mesh(&format!(
        "{}  links: [{{networks: [n1, n2]}}]\n",
        SPLIT.replace(
            "gateways: [{address: 192.0.2.2, port: 15443}]",
            "gateways: []"
        )
    ));
    assert!(of(&check(&linked), Code::NetworkWithoutGateway).is_empty());
}

#[test]
fn remote_endpoint_without_sidecar() {
    let r = check(&mesh(SPLIT));
    let d = of(&r, Code::RemoteEndpointWithoutSidecar);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [
            network("n1"),
            network("n2"),
            Subject::Service("foo.ns".into())
        ]
    );
    assert!(
        d[0].explanation
            .starts_with("10.2.0.6 (cluster r) has tlsMode disabled"),
        "{}",
        d[0]
    );
    let linked = check(&mesh(&format!(
        "{SPLIT}  links: [{{networks: [n1, n2]}}]\n"
    )));
    assert!(of(&linked, Code::RemoteEndpointWithoutSidecar).is_empty());
}

#[test]
fn gateway_unresolved_and_shared() {
    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}, {name: b, network: n2}]
  meshNetworks:
    networks:
      n1:
        endpoints: [{fromRegistry: a}]
        gateways:
        - {address: gw.example.com, port: 15443}
        - {registryServiceName: eastwest.istio-system.svc.cluster.local, port: 15443}
      n2: {gateways: [{address: gw2.example.com, port: 15443}]}
  dns: {gw2.example.com: [192.0.2.9], other.example.com: [192.0.2.9]}
  services:
  - {name: eastwest, namespace: istio-system, externalAddresses: {b: [192.0.2.9]}}
",
    ));
    let d = of(&r, Code::GatewayUnresolved);
    assert_eq!(d.len(), 2, "{r}");
    let names: BTreeSet<&Subject> = d.iter().flat_map(|d| &d.subjects).collect();
    assert!(names.contains(&Subject::Gateway("gw.example.com".into())));
    assert!(names.contains(&Subject::Gateway(
        "eastwest.istio-system.svc.cluster.local".into()
    )));
    assert!(d.iter().any(|d| d.explanation.contains("no DNS answer")));
    assert!(
        d.iter()
            .any(|d| d.explanation.contains("no external address"))
    );
    assert!(of(&r, Code::GatewaySharedByNetworks).is_empty());

    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}, {name: b, network: n2}]
  meshNetworks:
    networks:
      n1: {gateways: [{address: 192.0.2.9, port: 15443}]}
      n2: {gateways: [{address: 192.0.2.9, port: 15443}]}
",
    ));
    let d = of(&r, Code::GatewaySharedByNetworks);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].subjects,
        [
            network("n1"),
            network("n2"),
            Subject::Gateway("192.0.2.9".into())
        ]
    );
}

#[test]
fn gateway_unresolved_in_one_cluster_of_a_shared_network_names_that_cluster() {
    let r = check(&mesh(
        "  clusters: [{name: a, network: n1}, {name: b, network: n1}, {name: c, network: n2}]
  meshNetworks:
    networks:
      n1:
        endpoints: [{fromRegistry: a}, {fromRegistry: b}]
        gateways: [{registryServiceName: eastwest.istio-system.svc.cluster.local, port: 15443}]
      n2: {endpoints: [{fromRegistry: c}], gateways: [{address: 192.0.2.2, port: 15443}]}
  services:
  - {name: eastwest, namespace: istio-system, externalAddresses: {a: [192.0.2.1]}}
",
    ));
    let d = of(&r, Code::GatewayUnresolved);
    assert_eq!(d.len(), 1, "{r}");
    assert_eq!(
        d[0].message,
        "gateway eastwest.istio-system.svc.cluster.local of network n1 has no external address in cluster b (it resolves in cluster a)"
    );
    assert!(d[0].subjects.contains(&cluster("b")), "{}", d[0]);
}

/// `gateway-no-auto-passthrough`: only when the gateway's cluster records its Gateways
/// (`autoPassthrough`), and none has a server on the gateway's port.
#[test]
fn gateway_no_auto_passthrough_only_when_gateways_were_read() {
    let r_with = |servers: &str| {
        mesh(&SPLIT.replace(
            "controlPlane: p, apiServer",
            &format!("autoPassthrough: {servers}, controlPlane: p, apiServer"),
        ))
    };
    // Hand-written: nothing recorded, no warning.
    assert!(of(&check(&mesh(SPLIT)), Code::GatewayNoAutoPassthrough).is_empty());
    let ok = r_with("[{port: 15443, selector: {istio: eastwestgateway}}]");
    assert_eq!(
        ok.spec.clusters[1].auto_passthrough.as_ref().map(Vec::len),
        Some(1)
    );
    assert!(of(&check(&ok), Code::GatewayNoAutoPassthrough).is_empty());
    for servers in ["[]", "[{port: 15444}]"] {
        let r = check(&r_with(servers));
        let d = of(&r, Code::GatewayNoAutoPassthrough);
        assert_eq!(d.len(), 1, "{servers}: {r}");
        assert_eq!(
            d[0].subjects,
            [
                Subject::Cluster("r".into()),
                network("n2"),
                Subject::Gateway("192.0.2.2".into())
            ]
        );
        assert!(
            d[0].message
                .contains("gateway 192.0.2.2:15443 of network n2 has no AUTO_PASSTHROUGH Gateway server on port 15443 in cluster r"),
            "{}",
            d[0].message
        );
    }
}
