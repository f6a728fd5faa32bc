//! A request says what it selects (rule M1) where that may surprise its caller.

use std::collections::BTreeMap;
use std::sync::Arc;

use mesh_eds::{
    ClusterRequest, DropReason, EdsEndpoint, GatewayIndex, LocalityPolicy, Outcome, ProxyClass,
    SelectionNote, ServiceRequest, View,
};

fn endpoint(port_name: &str, version: &str) -> EdsEndpoint {
    EdsEndpoint {
        addresses: vec!["10.0.0.1".into()],
        port: 9080,
        service_port_name: port_name.into(),
        labels: Arc::new(BTreeMap::from([("version".to_owned(), version.to_owned())])),
        ..Default::default()
    }
}

fn explain(cluster: &ClusterRequest, endpoints: &[EdsEndpoint]) -> mesh_eds::Explanation {
    let view = View::new(&Arc::new(GatewayIndex::new([])), ProxyClass::default());
    let request = ServiceRequest {
        locality: LocalityPolicy::istio_default(),
        cluster,
        endpoints,
        mtls_allowed: true,
        features: Default::default(),
    };
    view.explain(&request)
        .map(|(_, ex)| ex)
        .expect("modern profile")
}

#[test]
fn a_parsed_request_says_it_selects_only_unnamed_ports_and_every_subset_member() {
    let parsed: ClusterRequest = "outbound|9080|v1|reviews.ns.svc.cluster.local"
        .parse()
        .expect("a cluster name");
    let endpoints = [endpoint("http", "v1"), endpoint("", "v2")];
    let ex = explain(&parsed, &endpoints);
    assert_eq!(
        ex.selection,
        [
            SelectionNote::UnnamedPort,
            SelectionNote::SubsetWithoutLabels {
                subset: "v1".into()
            }
        ]
    );
    // The named port's endpoint is dropped for its port; the v2 endpoint is selected by the
    // label-less subset: both outcomes are what the notes announce.
    assert!(matches!(
        ex.endpoints[0].outcome,
        Outcome::Dropped(DropReason::PortName { .. })
    ));
    assert!(!matches!(ex.endpoints[1].outcome, Outcome::Dropped(_)));
    let text = ex.to_string();
    assert!(
        text.contains("note: subset \"v1\" carries no labels"),
        "{text}"
    );
    assert!(
        text.contains("note: the request names no service port"),
        "{text}"
    );
}

#[test]
fn a_full_request_has_no_notes_and_an_unnamed_port_note_needs_a_drop() {
    let full = ClusterRequest::new(
        "outbound|9080|v1|reviews.ns.svc.cluster.local",
        "http",
        [("version", "v1")],
    )
    .expect("a cluster name");
    let ex = explain(&full, &[endpoint("http", "v1"), endpoint("http", "v2")]);
    assert!(ex.selection.is_empty(), "{:?}", ex.selection);
    // No port name, but every endpoint is of the unnamed port: nothing to warn about.
    let unnamed: ClusterRequest = "outbound|9080||reviews.ns.svc.cluster.local"
        .parse()
        .expect("a cluster name");
    assert!(
        explain(&unnamed, &[endpoint("", "v1")])
            .selection
            .is_empty()
    );
}
