//! Istio's custom resources in the dumps (`networking.istio.io`, `security.istio.io`), written
//! as `kubectl get destinationrules -A -o yaml` prints them: what reaches the document, what the
//! report says of the rest, errors naming the object and field, and that `check` and EDS see them.

use std::collections::BTreeMap;

use mesh_eds::{DocumentEds, EndpointKind, Features, Profile, View};
use mesh_model::ClientTlsMode;

use super::*;

/// The reviews DestinationRule of Istio's bookinfo samples (`samples/bookinfo/networking/
/// destination-rule-all-mtls.yaml`) with the fields a live cluster adds, and a policy.
fn reviews_rule(tls_mode: &str) -> String {
    format!(
        r#"
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule"}}
  creationTimestamp: "2024-05-02T09:14:07Z"
  generation: 1
  name: reviews
  namespace: bookinfo
  resourceVersion: "48213"
  uid: 7f0c1a52-3b0e-4c1a-9d3e-2f6b1c0e9a11
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {{maxConnections: 100}}
      http: {{http2MaxRequests: 1000, maxRequestsPerConnection: 10}}
    loadBalancer:
      simple: LEAST_REQUEST
      localityLbSetting:
        enabled: true
        failover:
        - from: us-east1
          to: us-west1
    outlierDetection:
      consecutive5xxErrors: 7
      interval: 5m
      baseEjectionTime: 15m
    tls:
      mode: {tls_mode}
      sni: reviews.bookinfo.svc.cluster.local
  subsets:
  - name: v1
    labels: {{version: v1}}
  - name: v2
    labels: {{version: v2}}
    trafficPolicy:
      loadBalancer:
        consistentHash: {{httpHeaderName: x-user}}
"#
    )
}

fn with(dump: &str, objects: &str) -> String {
    format!("{dump}\n{objects}")
}

/// The kinds of cluster1's endpoints for the first reviews cluster (port 9080, no subset).
fn reviews_endpoint_kinds(i: &Import) -> Vec<EndpointKind> {
    let eds = DocumentEds::new(&i.document, Features::default());
    let index = eds.shared_index();
    let class = eds.client_class(
        &mesh_model::ClusterId::new("cluster1").unwrap_or_else(|e| panic!("{e}")),
        None,
        &BTreeMap::new(),
        Profile::IstioModern,
    );
    let view = View::new(&index, class);
    let reviews = eds
        .services
        .iter()
        .find(|s| s.cluster.name() == "outbound|9080||reviews.bookinfo.svc.cluster.local")
        .expect("the reviews cluster");
    let cla = view
        .assignment(&eds.request(reviews))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut kinds: Vec<EndpointKind> = cla
        .localities
        .iter()
        .flat_map(|g| g.endpoints.iter().map(|e| e.kind))
        .collect();
    kinds.dedup();
    kinds
}

#[test]
fn destination_rule_reaches_the_document_and_the_report_names_the_rest() {
    let mp2 = with(MP2, &reviews_rule("ISTIO_MUTUAL"));
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    let rules = &i.document.spec.destination_rules;
    assert_eq!(rules.len(), 1);
    let dr = &rules[0];
    // The short host, in the rule's namespace (ResolveShortnameToFQDN).
    assert_eq!(dr.host.to_string(), "reviews.bookinfo");
    let names: Vec<&str> = dr.subsets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["v1", "v2"]);
    assert_eq!(dr.subsets[1].labels["version"], "v2");
    let policy = dr.policy_for(9080, None).unwrap();
    assert_eq!(
        policy.outlier_detection.unwrap().consecutive_5xx_errors,
        Some(7)
    );
    let lb = policy.load_balancer.unwrap();
    assert_eq!(lb.simple, Some(mesh_model::SimpleLb::LeastRequest));
    assert_eq!(lb.locality_lb_setting.unwrap().failover[0].to, "us-west1");
    assert_eq!(
        dr.tls_mode_for(9080, Some("v2")),
        Some(ClientTlsMode::IstioMutual)
    );
    // v2's policy held only consistentHash: nothing the document models, so no policy of its own.
    assert_eq!(dr.subsets[1].traffic_policy, None);
    // Not listed as "not modelled" any more; the unmodelled fields are named.
    assert!(
        !i.report.not_modelled.contains_key("DestinationRule"),
        "{}",
        i.report
    );
    let skipped = i
        .report
        .skipped
        .iter()
        .find(|s| s.object.to_string() == "DestinationRule/bookinfo/reviews")
        .unwrap_or_else(|| panic!("{}", i.report));
    for field in [
        "trafficPolicy.connectionPool",
        "trafficPolicy.tls.sni",
        "subsets[1].trafficPolicy.loadBalancer.consistentHash",
    ] {
        assert!(skipped.reason.contains(field), "{}", skipped.reason);
    }
    assert_eq!(skipped.cluster, "cluster2");
    // The document, written out, reads back the same (mesh-model accepts what was imported).
    let back = mesh_model::MeshDocument::parse(&i.document.to_yaml()).unwrap();
    assert_eq!(
        back.spec.destination_rules,
        i.document.spec.destination_rules
    );
}

#[test]
fn destination_rule_tls_mode_decides_whether_eds_sends_the_gateway() {
    let plain = run(&[("cluster1", MP1), ("cluster2", MP2)]);
    let gateway_and_local = reviews_endpoint_kinds(&plain);
    assert!(
        gateway_and_local.contains(&EndpointKind::Gateway)
            && gateway_and_local.contains(&EndpointKind::Direct),
        "{gateway_and_local:?}"
    );
    for (mode, gateway) in [
        ("ISTIO_MUTUAL", true),
        ("DISABLE", false),
        ("SIMPLE", false),
    ] {
        let mp2 = with(MP2, &reviews_rule(mode));
        let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
        let kinds = reviews_endpoint_kinds(&i);
        assert_eq!(
            kinds.contains(&EndpointKind::Gateway),
            gateway,
            "{mode}: {kinds:?}"
        );
        assert!(kinds.contains(&EndpointKind::Direct), "{mode}: {kinds:?}");
    }
}

#[test]
fn destination_rule_for_no_service_is_seen_by_check() {
    let rule = r#"
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: details, namespace: bookinfo, creationTimestamp: "2024-05-02T09:14:07Z"}
spec:
  host: details.bookinfo.svc.cluster.local
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5}
"#;
    let mp2 = with(MP2, rule);
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    assert_eq!(
        i.document.spec.destination_rules[0].host.to_string(),
        "details.bookinfo"
    );
    assert!(
        codes(&i).contains(&"destination-rule-unknown-host".to_owned()),
        "{:?}",
        codes(&i)
    );
}

#[test]
fn bad_destination_rules_name_object_and_field() {
    let bad = |spec: &str| {
        let rule = format!(
            "---\napiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {{name: reviews, namespace: bookinfo}}\nspec:\n{spec}\n"
        );
        let mp2 = with(MP2, &rule);
        let inputs = vec![
            ClusterInput::new("cluster1", MP1),
            ClusterInput::new("cluster2", &mp2),
        ];
        match import(ImportOptions::default(), inputs) {
            Err(ImportError::Field {
                cluster,
                object,
                field,
                message,
            }) => {
                assert_eq!(cluster, "cluster2");
                assert_eq!(object.to_string(), "DestinationRule/bookinfo/reviews");
                (field, message)
            }
            other => panic!("{other:?}"),
        }
    };
    let (field, message) = bad(
        "  host: reviews\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute: [{from: us-east1/*, to: {us-west1/*: 100}}]\n        failover: [{from: us-east1, to: us-west1}]",
    );
    assert_eq!(field, "spec.trafficPolicy.loadBalancer");
    assert!(
        message.contains("distribute") && message.contains("failover"),
        "{message}"
    );
    let (field, message) = bad("  host: reviews\n  trafficPolicy:\n    tls: {mode: STRICT}");
    assert_eq!(field, "spec.trafficPolicy.tls.mode");
    assert!(message.contains("STRICT"), "{message}");
    let (field, _) = bad("  trafficPolicy:\n    tls: {mode: DISABLE}");
    assert_eq!(field, "spec.host");
    let (field, message) = bad("  host: reviews\n  subsets: [{name: V1, labels: {version: v1}}]");
    assert_eq!(field, "spec.subsets[0].name");
    assert!(message.contains("V1"), "{message}");
}

#[test]
fn destination_rules_istiod_would_not_apply_to_one_service_are_reported() {
    let rules = r#"
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: all-bookinfo, namespace: bookinfo}
spec:
  host: "*.bookinfo.svc.cluster.local"
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: external, namespace: bookinfo}
spec:
  host: api.example.com
  trafficPolicy: {tls: {mode: SIMPLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dotted, namespace: bookinfo}
spec:
  host: reviews.bookinfo
  trafficPolicy: {tls: {mode: DISABLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: for-productpage, namespace: bookinfo}
spec:
  host: reviews
  workloadSelector: {matchLabels: {app: productpage}}
  trafficPolicy: {tls: {mode: DISABLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: local-only, namespace: bookinfo}
spec:
  host: reviews
  exportTo: ["."]
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 3}}
"#;
    let mp2 = with(MP2, rules);
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    let reason = |name: &str| -> String {
        i.report
            .skipped
            .iter()
            .find(|s| s.object.to_string() == format!("DestinationRule/bookinfo/{name}"))
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{name}: {}", i.report))
    };
    assert!(reason("all-bookinfo").contains("wildcard"));
    assert!(reason("external").contains("not a Kubernetes service"));
    assert!(reason("dotted").contains("not a Kubernetes service"));
    assert!(reason("for-productpage").contains("workloadSelector"));
    // Only the one the document can hold, with its exportTo reported.
    let hosts: Vec<String> = i
        .document
        .spec
        .destination_rules
        .iter()
        .map(|d| d.host.to_string())
        .collect();
    assert_eq!(hosts, ["reviews.bookinfo"]);
    assert!(
        i.report.inferred.iter().any(|x| x
            .from
            .contains("DestinationRule/bookinfo/local-only has exportTo")),
        "{}",
        i.report
    );
}

#[test]
fn destination_rules_for_one_host_merge_as_istiod_merges_them() {
    // Older rule: policy and v1; newer: its own policy (ignored), v1 again (ignored) and v2.
    let rules = r#"
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-b, namespace: bookinfo, creationTimestamp: "2024-05-03T00:00:00Z"}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: DISABLE}}
  subsets:
  - {name: v1, labels: {version: other}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-a, namespace: bookinfo, creationTimestamp: "2024-05-04T00:00:00Z"}
spec:
  host: reviews.bookinfo.svc.cluster.local
  subsets:
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-z, namespace: bookinfo, creationTimestamp: "2024-05-01T00:00:00Z"}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets:
  - {name: v1, labels: {version: v1}}
"#;
    let mp2 = with(MP2, rules);
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    let rules = &i.document.spec.destination_rules;
    assert_eq!(rules.len(), 1, "{rules:?}");
    let dr = &rules[0];
    let subsets: Vec<(&str, &str)> = dr
        .subsets
        .iter()
        .map(|s| (s.name.as_str(), s.labels["version"].as_str()))
        .collect();
    assert_eq!(subsets, [("v1", "v1"), ("v2", "v2"), ("v3", "v3")]);
    assert_eq!(
        dr.tls_mode_for(9080, None),
        Some(ClientTlsMode::IstioMutual)
    );
    let b = i
        .report
        .skipped
        .iter()
        .find(|s| s.object.name == "reviews-b")
        .unwrap_or_else(|| panic!("{}", i.report));
    assert!(
        b.reason
            .contains("merged into DestinationRule/bookinfo/reviews-z")
            && b.reason.contains("trafficPolicy is ignored")
            && b.reason.contains("[\"v1\"]"),
        "{}",
        b.reason
    );
    assert_eq!(
        i.report
            .skipped
            .iter()
            .filter(|s| s.object.name.starts_with("reviews-"))
            .count(),
        2,
        "{}",
        i.report
    );
}

/// A VM's workloads as Istio's VM guide registers them (`WorkloadEntry` per VM, a
/// `ServiceEntry` selecting them), an inline-endpoint entry, and entries the document cannot hold.
const ENTRIES: &str = r#"
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: details-vm, namespace: bookinfo, creationTimestamp: "2024-05-02T09:14:07Z"}
spec:
  hosts: [details.bookinfo.svc.cluster.local]
  location: MESH_INTERNAL
  ports:
  - {number: 9080, name: http, protocol: HTTP, targetPort: 8080}
  resolution: STATIC
  workloadSelector:
    labels: {app: details}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: details-vm-1
  namespace: bookinfo
  labels: {version: v1}
spec:
  address: 10.20.9.7
  labels: {app: details, version: v0}
  serviceAccount: bookinfo-details
  network: network2
  locality: us-west1/us-west1-a
  weight: 3
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata:
  name: details-vm-2
  namespace: bookinfo
  annotations: {proxy.istio.io/health-checks-enabled: "true"}
spec:
  address: 10.20.9.8
  labels: {app: details, istio-locality: us-west1.us-west1-b}
  ports: {http: 8081}
  serviceAccount: bookinfo-details
status:
  conditions:
  - {type: Healthy, status: "False", lastProbeTime: "2024-05-02T09:20:00Z"}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: details-elsewhere, namespace: default}
spec:
  address: 10.20.9.10
  labels: {app: details}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: legacy-vm, namespace: bookinfo}
spec:
  address: 10.20.9.9
  labels: {app: legacy}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ratings-static, namespace: bookinfo}
spec:
  hosts: [ratings.bookinfo.svc.cluster.local, ratings.example.com]
  location: MESH_INTERNAL
  ports: [{number: 9080, name: http}]
  resolution: STATIC
  endpoints:
  - address: 10.20.9.20
    labels: {security.istio.io/tlsMode: disabled}
  - address: ratings-vm.example.com
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external-api, namespace: bookinfo}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
"#;

#[test]
fn service_entries_and_workload_entries_become_services_and_endpoints() {
    let mp2 = with(MP2, ENTRIES);
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    let details = i
        .document
        .spec
        .services
        .iter()
        .find(|s| s.key().to_string() == "details.bookinfo")
        .unwrap_or_else(|| panic!("{}", i.report));
    assert_eq!(details.defined_in, ["cluster2".parse().unwrap()]);
    assert_eq!(details.ports[0].port, 9080);
    assert_eq!(details.ports[0].target_port, Some(8080));
    let eps = &details.endpoints;
    assert_eq!(eps.len(), 2);
    let vm1 = &eps[0];
    assert_eq!(vm1.addresses[0].to_string(), "10.20.9.7");
    assert_eq!(vm1.cluster.as_str(), "cluster2");
    assert_eq!(vm1.network.as_ref().unwrap().as_str(), "network2");
    assert_eq!(
        vm1.locality.as_ref().unwrap().to_string(),
        "us-west1/us-west1-a"
    );
    assert_eq!(vm1.weight, Some(3));
    assert_eq!(vm1.tls_mode, TlsMode::Istio); // a service account, no label
    assert_eq!(vm1.service_account.as_deref(), Some("bookinfo-details"));
    assert_eq!(vm1.workload.as_deref(), Some("details-vm-1"));
    assert_eq!(vm1.labels["version"], "v1"); // metadata labels win
    assert_eq!(vm1.port, None); // the port's targetPort
    assert!(vm1.healthy);
    let vm2 = &eps[1];
    assert_eq!(vm2.port, Some(8081)); // its own ports[http]
    assert_eq!(
        vm2.locality.as_ref().unwrap().to_string(),
        "us-west1/us-west1-b"
    );
    assert!(!vm2.healthy); // health checks on, condition Healthy False
    // Inline endpoints: the TLS label; the hostname address is reported.
    let ratings = i
        .document
        .spec
        .services
        .iter()
        .find(|s| s.key().to_string() == "ratings.bookinfo")
        .unwrap();
    assert_eq!(ratings.endpoints.len(), 1);
    assert_eq!(ratings.endpoints[0].tls_mode, TlsMode::Disabled);
    assert_eq!(
        ratings.endpoints[0].workload.as_deref(),
        Some("ratings-static-0")
    );
    let reasons: Vec<String> = i
        .report
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.object, s.reason))
        .collect();
    for expected in [
        "WorkloadEntry/bookinfo/legacy-vm: selected by no ServiceEntry",
        // The selector's labels, but another namespace.
        "WorkloadEntry/default/details-elsewhere: selected by no ServiceEntry",
        "ServiceEntry/bookinfo/ratings-static: endpoint ratings-static-1: address \"ratings-vm.example.com\" is not an IP",
        "ServiceEntry/bookinfo/ratings-static: host \"ratings.example.com\" is not of the form",
        "ServiceEntry/bookinfo/external-api: resolution DNS",
    ] {
        assert!(
            reasons.iter().any(|r| r.starts_with(expected)),
            "{expected}: {reasons:#?}"
        );
    }
    assert!(!i.report.not_modelled.contains_key("ServiceEntry"));
    assert!(!i.report.not_modelled.contains_key("WorkloadEntry"));
}

#[test]
fn service_entry_endpoints_reach_check_and_eds() {
    // A DestinationRule for the entry's host is no longer for an unknown service.
    let rule = "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: details, namespace: bookinfo}\nspec:\n  host: details\n  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}}\n";
    let without = run(&[("cluster1", MP1), ("cluster2", &with(MP2, rule))]);
    assert!(codes(&without).contains(&"destination-rule-unknown-host".to_owned()));
    let mp2 = with(MP2, &format!("{ENTRIES}{rule}"));
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    assert!(
        !codes(&i).contains(&"destination-rule-unknown-host".to_owned()),
        "{:?}",
        codes(&i)
    );
    // cluster1 (network1) reaches the VM on network2 through network2's gateway.
    let eds = DocumentEds::new(&i.document, Features::default());
    let index = eds.shared_index();
    let class = eds.client_class(
        &"cluster1".parse().unwrap(),
        None,
        &BTreeMap::new(),
        Profile::IstioModern,
    );
    let details = eds
        .services
        .iter()
        .find(|s| s.cluster.name() == "outbound|9080||details.bookinfo.svc.cluster.local")
        .unwrap();
    let cla = View::new(&index, class)
        .assignment(&eds.request(details))
        .unwrap();
    let kinds: Vec<EndpointKind> = cla
        .localities
        .iter()
        .flat_map(|g| g.endpoints.iter().map(|e| e.kind))
        .collect();
    assert_eq!(kinds, [EndpointKind::Gateway], "{cla:?}");
}

#[test]
fn bad_service_and_workload_entries_name_object_and_field() {
    let bad = |objects: &str| {
        let mp2 = with(MP2, objects);
        let inputs = vec![
            ClusterInput::new("cluster1", MP1),
            ClusterInput::new("cluster2", &mp2),
        ];
        match import(ImportOptions::default(), inputs) {
            Err(ImportError::Field {
                cluster,
                object,
                field,
                ..
            }) => {
                assert_eq!(cluster, "cluster2");
                (object.to_string(), field)
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        bad(
            "---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: vm, namespace: bookinfo}\nspec: {address: 10.0.0.1, weight: heavy}\n"
        ),
        (
            "WorkloadEntry/bookinfo/vm".to_owned(),
            "spec.weight".to_owned()
        )
    );
    assert_eq!(
        bad(
            "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: bookinfo}\nspec: {hosts: [a.bookinfo.svc.cluster.local], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 70000, name: http}]}\n"
        ),
        (
            "ServiceEntry/bookinfo/se".to_owned(),
            "spec.ports[0].number".to_owned()
        )
    );
    assert_eq!(
        bad(
            "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se, namespace: bookinfo}\nspec: {hosts: [a.bookinfo.svc.cluster.local], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http}], endpoints: [{address: 10.0.0.1, locality: us-west1/a/b/c}]}\n"
        ),
        (
            "ServiceEntry/bookinfo/se".to_owned(),
            "spec.endpoints[0].locality".to_owned()
        )
    );
}

/// PeerAuthentications as `kubectl get peerauthentications -A -o yaml` prints them: the mesh-wide
/// STRICT policy of Istio's docs, an older DISABLE for the reviews workload's port 9080, and a
/// newer namespace policy; v1 and v1beta1.
fn peer_authentications(reviews_mode: &str) -> String {
    format!(
        r#"
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {{"apiVersion":"security.istio.io/v1","kind":"PeerAuthentication"}}
  creationTimestamp: "2024-05-03T08:00:00Z"
  generation: 1
  name: default
  namespace: istio-system
  resourceVersion: "50111"
  uid: 0b7d2c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  creationTimestamp: "2024-05-01T10:00:00Z"
  name: reviews-legacy
  namespace: bookinfo
  resourceVersion: "40007"
  uid: 5a6b7c8d-1a2b-4c3d-8e9f-0a1b2c3d4e5f
spec:
  selector:
    matchLabels:
      app: reviews
  mtls:
    mode: STRICT
  portLevelMtls:
    "9080":
      mode: {reviews_mode}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  creationTimestamp: "2024-05-04T10:00:00Z"
  name: bookinfo
  namespace: bookinfo
spec:
  mtls: {{mode: PERMISSIVE}}
"#
    )
}

#[test]
fn peer_authentications_reach_the_document_in_istiods_order_and_decide_eds() {
    let mp2 = with(MP2, &peer_authentications("DISABLE"));
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    let policies = &i.document.spec.peer_authentications;
    let names: Vec<String> = policies
        .iter()
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .collect();
    // Oldest first (configCompareByCreationTime).
    assert_eq!(
        names,
        [
            "bookinfo/reviews-legacy",
            "istio-system/default",
            "bookinfo/bookinfo"
        ]
    );
    let legacy = &policies[0];
    assert_eq!(legacy.selector["app"], "reviews");
    assert_eq!(
        legacy.port_level_mtls[&9080].mode,
        mesh_model::PeerMtlsMode::Disable
    );
    assert!(
        !i.report.not_modelled.contains_key("PeerAuthentication"),
        "{}",
        i.report
    );
    // The document reads back the same.
    let back = mesh_model::MeshDocument::parse(&i.document.to_yaml()).unwrap();
    assert_eq!(back.spec.peer_authentications, *policies);
    // reviews' cluster2 endpoint is DISABLE on 9080: cluster1's client loses the gateway.
    assert_eq!(reviews_endpoint_kinds(&i), [EndpointKind::Direct]);
    // STRICT or UNSET on the port (inheriting STRICT): the gateway is back.
    for mode in ["STRICT", "UNSET"] {
        let mp2 = with(MP2, &peer_authentications(mode));
        let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
        let kinds = reviews_endpoint_kinds(&i);
        assert!(kinds.contains(&EndpointKind::Gateway), "{mode}: {kinds:?}");
    }
}

fn gateway_objects(mode: &str) -> String {
    format!(
        r#"
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: default, namespace: istio-system}}
spec:
  mtls: {{mode: STRICT}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: cross-network-gateway, namespace: istio-system}}
spec:
  selector: {{istio: eastwestgateway}}
  servers:
  - port: {{number: 15443, name: tls, protocol: TLS}}
    tls: {{mode: {mode}}}
    hosts: ["*.local"]
"#
    )
}

#[test]
fn gateway_and_peer_authentication_are_read_and_check_warns_without_auto_passthrough() {
    let mp2 = with(MP2, &gateway_objects("AUTO_PASSTHROUGH"));
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    // Both are read now, so neither is listed as not modelled.
    for kind in ["PeerAuthentication", "Gateway"] {
        assert!(!i.report.not_modelled.contains_key(kind), "{}", i.report);
        assert_eq!(i.report.not_modelled_reasons.get(kind), None);
    }
    assert_eq!(i.document.spec.peer_authentications.len(), 1);
    let cluster = |i: &Import, name: &str| {
        i.document
            .spec
            .clusters
            .iter()
            .find(|c| c.name.as_str() == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    // cluster1's dump holds no Gateway: nothing recorded.
    assert_eq!(cluster(&i, "cluster1").auto_passthrough, None);
    assert_eq!(
        cluster(&i, "cluster2").auto_passthrough,
        Some(vec![mesh_model::AutoPassthroughServer {
            port: 15443,
            selector: [("istio".to_owned(), "eastwestgateway".to_owned())].into(),
        }])
    );
    assert!(!codes(&i).contains(&"gateway-no-auto-passthrough".to_owned()));
    // The same Gateway without AUTO_PASSTHROUGH: read, recorded empty, and check warns.
    let mp2 = with(MP2, &gateway_objects("SIMPLE"));
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    assert_eq!(cluster(&i, "cluster2").auto_passthrough, Some(vec![]));
    let report = mesh_topology::check(&i.document);
    let warned: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.code.as_str() == "gateway-no-auto-passthrough")
        .map(|d| d.message.clone())
        .collect();
    assert!(!warned.is_empty(), "{report}");
    assert!(
        warned
            .iter()
            .all(|m| m.contains("network2") && m.contains("cluster cluster2")),
        "{warned:?}"
    );
}

#[test]
fn bad_gateway_port_names_object_and_field() {
    let gateway = "---\napiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: eastwest, namespace: istio-system}\nspec:\n  selector: {istio: eastwestgateway}\n  servers:\n  - port: {number: 0, name: tls, protocol: TLS}\n    tls: {mode: AUTO_PASSTHROUGH}\n";
    let mp2 = with(MP2, gateway);
    let inputs = vec![
        ClusterInput::new("cluster1", MP1),
        ClusterInput::new("cluster2", &mp2),
    ];
    match import(ImportOptions::default(), inputs) {
        Err(ImportError::Field {
            cluster,
            object,
            field,
            message,
        }) => {
            assert_eq!(cluster, "cluster2");
            assert_eq!(object.to_string(), "Gateway/istio-system/eastwest");
            assert_eq!(field, "spec.servers[0].port.number");
            assert!(message.contains("not a port"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_peer_authentications_name_object_and_field() {
    let bad = |spec: &str| {
        let policy = format!(
            "---\napiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata: {{name: reviews, namespace: bookinfo}}\nspec:\n{spec}\n"
        );
        let mp2 = with(MP2, &policy);
        let inputs = vec![
            ClusterInput::new("cluster1", MP1),
            ClusterInput::new("cluster2", &mp2),
        ];
        match import(ImportOptions::default(), inputs) {
            Err(ImportError::Field {
                cluster,
                object,
                field,
                message,
            }) => {
                assert_eq!(cluster, "cluster2");
                assert_eq!(object.to_string(), "PeerAuthentication/bookinfo/reviews");
                (field, message)
            }
            other => panic!("{other:?}"),
        }
    };
    let (field, message) = bad("  mtls: {mode: NONE}");
    assert_eq!(field, "spec.mtls.mode");
    assert!(message.contains("NONE"), "{message}");
    let (field, message) = bad("  portLevelMtls: {\"9080\": {mode: DISABLE}}");
    assert_eq!(field, "spec.portLevelMtls");
    assert!(message.contains("cannot have port level mTLS"), "{message}");
    let (field, message) = bad(
        "  selector: {matchLabels: {app: reviews}}\n  portLevelMtls: {\"70000\": {mode: DISABLE}}",
    );
    assert_eq!(field, "spec.portLevelMtls[70000]");
    assert!(message.contains("1..65535"), "{message}");
    let (field, _) = bad("  selector: {matchLabels: {app: reviews}}\n  portLevelMtls: {}");
    assert_eq!(field, "spec.portLevelMtls");
    let (field, _) = bad("  selector: {matchLabels: [app]}");
    assert_eq!(field, "spec.selector.matchLabels");
}

#[test]
fn peer_authentications_with_target_refs_or_unknown_fields_are_reported() {
    let objects = r#"
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: waypoint, namespace: bookinfo}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  mtls: {mode: DISABLE}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: future, namespace: bookinfo}
spec:
  mtls: {mode: STRICT}
  somethingNew: {a: 1}
"#;
    let mp2 = with(MP2, objects);
    let i = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    let names: Vec<&str> = i
        .document
        .spec
        .peer_authentications
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["future"]);
    let reason = |object: &str| {
        i.report
            .skipped
            .iter()
            .find(|s| s.object.to_string() == object)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{}", i.report))
    };
    assert!(reason("PeerAuthentication/bookinfo/waypoint").contains("targetRef"));
    assert!(reason("PeerAuthentication/bookinfo/future").contains("somethingNew"));
    // The waypoint policy's DISABLE is not applied: the gateway endpoint stays.
    assert!(reviews_endpoint_kinds(&i).contains(&EndpointKind::Gateway));
}

/// The first control plane's mesh config names the root namespace: the document says so, and
/// the istio-system policy is then a namespace policy of istio-system, not mesh-wide.
#[test]
fn root_namespace_comes_from_the_mesh_config() {
    let disable_in_istio_system = r#"
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: DISABLE}
"#;
    let mp2 = with(MP2, disable_in_istio_system);
    let mesh_wide = run(&[("cluster1", MP1), ("cluster2", &mp2)]);
    assert_eq!(mesh_wide.document.spec.mesh_config.root_namespace, None);
    assert_eq!(reviews_endpoint_kinds(&mesh_wide), [EndpointKind::Direct]);
    let mp1 = MP1.replacen(
        r"\ntrustDomain: cluster.local\n",
        r"\nrootNamespace: mesh-root\ntrustDomain: cluster.local\n",
        1,
    );
    assert_ne!(mp1, MP1);
    let rooted = run(&[("cluster1", &mp1), ("cluster2", &mp2)]);
    assert_eq!(
        rooted.document.spec.mesh_config.root_namespace.as_deref(),
        Some("mesh-root")
    );
    assert!(reviews_endpoint_kinds(&rooted).contains(&EndpointKind::Gateway));
}
