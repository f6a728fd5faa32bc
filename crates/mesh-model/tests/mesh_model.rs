//! Integration tests of mesh-model: round trips, identifier rules, bad documents, and Istio's
//! MeshNetworks validation against the shared conformance cases.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
use mesh_model::strategies::{self, MeshSize, mesh_document};
use mesh_model::{
    ClusterId, DocumentError, Locality, MeshDocument, MeshNetworks, Namespace, NetworkId,
    ServiceKey, ServiceName, SpiffeId, TrustDomain,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_meshes_round_trip_through_yaml_and_json(doc in mesh_document(MeshSize::default())) {
        prop_assert!(doc.consistency_errors().is_empty(), "{:?}", doc.consistency_errors());
        let yaml = doc.to_yaml();
        prop_assert_eq!(&MeshDocument::from_yaml(&yaml).unwrap(), &doc, "yaml:\n{}", yaml);
        let json = doc.to_json();
        prop_assert_eq!(&MeshDocument::from_json(&json).unwrap(), &doc);
        prop_assert_eq!(&MeshDocument::parse(&json).unwrap(), &doc);
    }

    #[test]
    fn generated_identifiers_parse_back(
        c in strategies::cluster_id(),
        n in strategies::network_id(),
        key in strategies::service_key(),
        l in strategies::locality(),
        id in strategies::spiffe_id(),
    ) {
        prop_assert_eq!(c.as_str().parse::<ClusterId>().unwrap(), c);
        prop_assert_eq!(n.as_str().parse::<NetworkId>().unwrap(), n);
        prop_assert_eq!(key.to_string().parse::<ServiceKey>().unwrap(), key.clone());
        prop_assert_eq!(key.global_host().parse::<ServiceKey>().unwrap(), key.clone());
        prop_assert_eq!(key.cluster_host("cluster.local").parse::<ServiceKey>().unwrap(), key);
        prop_assert_eq!(l.as_str().parse::<Locality>().unwrap(), l);
        prop_assert_eq!(id.to_string().parse::<SpiffeId>().unwrap(), id);
    }

    /// Any string: the identifier accepts it exactly when the rule (written here independently, as a
    /// plain predicate) accepts it.
    #[test]
    fn identifiers_reject_what_the_rules_reject(s in "[a-zA-Z0-9._/:-]{0,70}|.{0,10}") {
        let alnum = |b: u8| b.is_ascii_alphanumeric();
        let bytes = s.as_bytes();
        let ends_ok = !bytes.is_empty() && alnum(bytes[0]) && alnum(bytes[bytes.len() - 1]);
        let istio_label = ends_ok && bytes.len() <= 63 && bytes.iter().all(|&b| alnum(b) || b == b'-');
        prop_assert_eq!(ClusterId::new(s.as_str()).is_ok(), istio_label);
        let lower_label = istio_label && !bytes.iter().any(u8::is_ascii_uppercase);
        prop_assert_eq!(Namespace::new(s.as_str()).is_ok(), lower_label);
        prop_assert_eq!(
            ServiceName::new(s.as_str()).is_ok(),
            lower_label && bytes[0].is_ascii_lowercase()
        );
        let label_value = ends_ok
            && bytes.len() <= 63
            && bytes.iter().all(|&b| alnum(b) || matches!(b, b'-' | b'_' | b'.'));
        prop_assert_eq!(NetworkId::new(s.as_str()).is_ok(), label_value);
        let td = !bytes.is_empty()
            && bytes.len() <= 255
            && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'));
        prop_assert_eq!(TrustDomain::new(s.as_str()).is_ok(), td);
        let locality = s.split('/').count() <= 3
            && s.split('/').all(|p| p.len() <= 63 && p.bytes().all(|b| alnum(b) || matches!(b, b'-' | b'_' | b'.')));
        prop_assert_eq!(Locality::new(s.as_str()).is_ok(), locality);
    }

    /// Arbitrary text never panics the parsers.
    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}") {
        let _ = MeshDocument::parse(&s);
        let _ = MeshNetworks::from_yaml(&s).map(|m| m.validate(true));
    }
}

const HEAD: &str = "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec:\n";

fn error_of(spec: &str) -> DocumentError {
    MeshDocument::from_yaml(&format!("{HEAD}{spec}")).unwrap_err()
}

#[test]
fn each_kind_of_bad_document_names_path_and_value() {
    // bad CIDR
    assert_eq!(
        error_of("  clusters:\n  - name: a\n    podCidrs: [10.0.0.0/8, 10.0.0.0/33]\n").to_string(),
        r#"spec.clusters[0].podCidrs[1]: "10.0.0.0/33" is not a valid CIDR (line 7, column 28)"#
    );
    // bad name
    assert_eq!(
        error_of("  services:\n  - {name: Foo, namespace: ns}\n").to_string(),
        r#"spec.services[0].name: service name "Foo" is invalid: only lower-case letters, digits and '-' are allowed (DNS-1123 label) (line 6, column 12)"#
    );
    // unknown field, with a suggestion
    assert_eq!(
        error_of("  clusters:\n  - name: a\n    controlplane: b\n").to_string(),
        r#"spec.clusters[0]: unknown field "controlplane" (did you mean "controlPlane"?) (line 7, column 5)"#
    );
    assert_eq!(
        error_of("  clusterz: []\n").to_string(),
        r#"spec: unknown field "clusterz" (did you mean "clusters"?) (line 5, column 3)"#
    );
    // wrong type
    assert_eq!(
        error_of("  clusters: {name: a}\n").to_string(),
        "spec.clusters: expected sequence start (line 5, column 13)"
    );
    // missing required field
    assert_eq!(
        error_of("  services:\n  - {name: foo}\n").to_string(),
        "spec.services[0]: missing field `namespace` (line 6, column 6)"
    );
    // duplicate cluster: a consistency error of the parsed document
    let doc = MeshDocument::from_yaml(&format!(
        "{HEAD}  clusters: [{{name: a}}, {{name: b}}, {{name: a}}]\n"
    ))
    .unwrap();
    let errors: Vec<String> = doc
        .consistency_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [r#"spec.clusters[2].name: cluster "a" is already defined at spec.clusters[0]"#]
    );
}

#[test]
fn unknown_meshnetworks_fields_are_ignored_like_istio() {
    let doc = MeshDocument::from_yaml(&format!(
        "{HEAD}  meshNetworks:\n    networks:\n      n1:\n        futureField: 1\n        gateways: [{{address: 1.1.1.1, port: 15443}}]\n"
    ))
    .unwrap();
    assert_eq!(doc.spec.mesh_networks.networks["n1"].gateways.len(), 1);
}

#[test]
fn references_to_missing_clusters_and_networks() {
    let doc = MeshDocument::from_yaml(&format!(
        "{HEAD}  clusters:\n  - {{name: a, network: n1, controlPlane: z}}\n  links: [{{networks: [n1, n9]}}]\n  services:\n  - name: foo\n    namespace: ns\n    endpoints: [{{cluster: q, address: 10.0.0.1}}]\n"
    ))
    .unwrap();
    let errors: Vec<String> = doc
        .consistency_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            r#"spec.clusters[0].controlPlane: "z" names no cluster of this mesh"#,
            r#"spec.links[0].networks[1]: "n9" names no network of this mesh"#,
            r#"spec.services[0].endpoints[0].cluster: "q" names no cluster of this mesh"#,
        ]
    );
}

#[test]
fn examples_are_valid_and_round_trip() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") || path.ends_with("broken.yaml") {
            continue;
        }
        let doc = MeshDocument::from_yaml(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            doc.consistency_errors().is_empty(),
            "{}: {:?}",
            path.display(),
            doc.consistency_errors()
        );
        assert_eq!(MeshDocument::from_yaml(&doc.to_yaml()).unwrap(), doc);
        seen += 1;
    }
    assert!(seen >= 4, "expected the topology examples, saw {seen}");
}

/// The `meshnetworks_validation` cases of the shared conformance file (skipped when the file is not
/// beside the project, as on a machine without `shared/`; CI has it).
#[test]
fn meshnetworks_validation_conformance() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/istio-eds-cases.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("skipped: {path} not found");
        return;
    };
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        if case["kind"] != "meshnetworks_validation" {
            continue;
        }
        let input = &case["input"];
        let mn: MeshNetworks = serde_json::from_value(input["mesh_networks"].clone()).unwrap();
        let resolve = input["features"]["resolve_hostname_gateways"]
            .as_bool()
            .unwrap_or(true);
        let expected = &case["expected"];
        let result = mn.validate(resolve);
        assert_eq!(
            result.is_ok(),
            expected["valid"].as_bool().unwrap(),
            "{}",
            case["id"]
        );
        let mut got: Vec<String> = result
            .err()
            .map(|e| e.0.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        let mut want: Vec<String> = expected["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_owned())
            .collect();
        if expected["errors_order"] != "exact" {
            got.sort();
            want.sort();
        }
        assert_eq!(got, want, "{}", case["id"]);
        checked += 1;
    }
    assert!(checked > 0);
}

/// A mesh of one service with `n` endpoints spread over two clusters, as YAML (block style, the
/// way people write it). Each endpoint is 5 nodes.
fn yaml_with_endpoints(n: usize) -> String {
    let mut s = format!(
        "{HEAD}  clusters:\n  - name: c1\n    podCidrs: [10.0.0.0/8]\n  - name: c2\n    podCidrs: [11.0.0.0/8]\n  services:\n  - name: big\n    namespace: ns\n    ports: [{{name: http, port: 80}}]\n    endpoints:\n"
    );
    for i in 0..n {
        let (a, b, c) = (i >> 16, (i >> 8) & 0xff, i & 0xff);
        s += &format!(
            "    - cluster: c{}\n      address: 10.{a}.{b}.{c}\n      labels: {{app: big}}\n",
            1 + i % 2
        );
    }
    s
}

#[test]
fn yaml_as_large_as_json_parses() {
    // 30,000 endpoints are about 150,000 nodes and 2.3 MB: past serde-saphyr's default budget of
    // 250,000 nodes and 1,000,000 events, which is not sized for data files.
    let n = 30_000;
    let yaml = yaml_with_endpoints(n);
    let doc = MeshDocument::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.spec.services[0].endpoints.len(), n);
    assert_eq!(MeshDocument::from_json(&doc.to_json()).unwrap(), doc);
}

#[test]
fn an_alias_bomb_is_refused_naming_the_limit() {
    // 2,000 services, each an alias of one whose endpoints are 2,000 aliases of one endpoint:
    // 4 million endpoints from 20 kB of text.
    let aliases = |name: &str, n: usize| vec![format!("*{name}"); n].join(", ");
    let bomb = format!(
        "{HEAD}  clusters: [{{name: c1, podCidrs: [10.0.0.0/8]}}]\n  services:\n  - &svc\n    name: big\n    namespace: ns\n    endpoints: [&ep {{cluster: c1, address: 10.0.0.1}}, {}]\n  - {}\n",
        aliases("ep", 1_999),
        aliases("svc", 1_999).replace(", ", "\n  - "),
    );
    assert!(bomb.len() < 30_000, "{}", bomb.len());
    let err = MeshDocument::from_yaml(&bomb).unwrap_err();
    let DocumentError::Limit {
        limit, value, max, ..
    } = &err
    else {
        panic!("not a limit: {err:?}");
    };
    assert!(value > max, "{err:?}");
    assert!(err.to_string().contains(limit), "{err}");
    // The limit of a text this short is serde-saphyr's default: the expansion stops there.
    assert!(
        err.to_string().starts_with(
            "YAML over the parser's limit max_nodes = 250000: 250001 (an alias counts everything"
        ),
        "{err}"
    );
}

#[test]
fn meshnetworks_in_a_document_read_as_istio_reads_them_with_warnings() {
    let doc = MeshDocument::from_yaml(&format!(
        "{HEAD}  clusters: [{{name: a, network: n1}}]\n  meshNetworks:\n    networks:\n      n1:\n        endpoints: [{{fromRegistry: a}}]\n        gateways:\n        - {{registryServiceName: gw.ns.svc.cluster.local, address: 192.0.2.1, port: 0443}}\n"
    ))
    .unwrap();
    let gw = &doc.spec.mesh_networks.networks["n1"].gateways[0];
    assert_eq!(gw.port, 291);
    assert_eq!(
        gw.gw,
        Some(mesh_model::GatewayAddress::Address("192.0.2.1".into()))
    );
    let errors: Vec<String> = doc
        .consistency_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            r#"spec.meshNetworks.networks.n1.gateways[0]: both "registryServiceName" and "address" are set, members of one oneof: Istio keeps "address" (declared later) and drops "registryServiceName" without an error"#,
            "spec.meshNetworks.networks.n1.gateways[0].port: port 0443 (line 11) is a YAML 1.1 octal number: Istio reads it as 291",
        ]
    );
}

/// Locality settings from a small alphabet, so that Istio's validation both accepts and rejects
/// many of them (weights off 100, overlapping or empty patterns, failover to itself, …).
fn locality_setting() -> impl Strategy<Value = mesh_model::LocalityLbSetting> {
    let pattern = prop::sample::select(vec![
        "r1", "r1/z1", "r1/z1/s1", "r2/*", "*", "r1//s1", "r*/z1",
    ]);
    let region = prop::sample::select(vec!["r1", "r2", "", "r1/z1", "*"]);
    let key = prop::sample::select(vec![
        "topology.istio.io/network",
        "topology.kubernetes.io/region",
        "app",
        "version=v1",
    ]);
    (
        prop::option::of(any::<bool>()),
        prop::collection::vec(
            (
                pattern.clone(),
                prop::collection::vec((pattern, 0u32..=101), 0..3),
            ),
            0..2,
        ),
        prop::collection::vec((region.clone(), region), 0..2),
        prop::collection::vec(key, 0..3),
    )
        .prop_map(|(enabled, distribute, failover, failover_priority)| {
            mesh_model::LocalityLbSetting {
                enabled,
                distribute: distribute
                    .into_iter()
                    .map(|(from, to)| {
                        let mut seen = Vec::new();
                        let to = to
                            .into_iter()
                            .filter(|(p, _)| {
                                let fresh = !seen.contains(p);
                                seen.push(*p);
                                fresh
                            })
                            .map(|(p, w)| (p.to_owned(), w))
                            .collect();
                        mesh_model::Distribute {
                            from: from.to_owned(),
                            to: mesh_model::Weights(to),
                        }
                    })
                    .collect(),
                failover: failover
                    .into_iter()
                    .map(|(from, to)| mesh_model::Failover {
                        from: from.to_owned(),
                        to: to.to_owned(),
                    })
                    .collect(),
                failover_priority: failover_priority.into_iter().map(str::to_owned).collect(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A DestinationRule parses exactly when Istio's validation accepts its policy, the error
    /// names its path, and what parses round-trips through YAML and JSON.
    #[test]
    fn destination_rules_parse_iff_istio_accepts_them(
        setting in locality_setting(),
        outlier in any::<bool>(),
        port_level in any::<bool>(),
    ) {
        let policy = mesh_model::TrafficPolicy {
            load_balancer: (!port_level).then(|| mesh_model::LoadBalancerSettings {
                locality_lb_setting: Some(setting.clone()),
                ..Default::default()
            }),
            outlier_detection: outlier.then(mesh_model::OutlierDetection::default),
            port_level_settings: if port_level {
                vec![mesh_model::PortTrafficPolicy {
                    port: mesh_model::PortSelector { number: 9080 },
                    load_balancer: Some(mesh_model::LoadBalancerSettings {
                        locality_lb_setting: Some(setting.clone()),
                        ..Default::default()
                    }),
                    outlier_detection: None,
                    tls: None,
                }]
            } else {
                Vec::new()
            },
            tls: None,
        };
        let mut doc = MeshDocument::from_yaml(
            "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {name: m}\nspec: {}\n",
        ).unwrap();
        doc.spec.destination_rules.push(mesh_model::DestinationRule {
            host: "a.b".parse().unwrap(),
            traffic_policy: Some(policy),
            subsets: Vec::new(),
        });
        let accepted = setting.validate();
        for text in [doc.to_yaml(), doc.to_json()] {
            match (&accepted, MeshDocument::parse(&text)) {
                (Ok(()), Ok(back)) => prop_assert_eq!(&back, &doc),
                (Err(why), Err(DocumentError::Invalid { path, message, .. })) => {
                    let at = if port_level {
                        "spec.destinationRules[0].trafficPolicy.portLevelSettings[0].loadBalancer"
                    } else {
                        "spec.destinationRules[0].trafficPolicy.loadBalancer"
                    };
                    prop_assert_eq!(path.as_str(), at);
                    let want = if why.at.is_empty() {
                        format!("localityLbSetting: {}", why.kind)
                    } else {
                        format!("localityLbSetting.{why}")
                    };
                    prop_assert_eq!(message.as_str(), want.as_str());
                }
                (a, b) => prop_assert!(false, "validate {:?}, parse {:?}\n{}", a, b, text),
            }
        }
    }
}
#[test]
fn scope_fields_round_trip_and_are_checked() {
    let text = format!(
        "{HEAD}  mcs: {{serviceDiscovery: true, host: true}}
  meshConfig:
    serviceSettings: [{{settings: {{clusterLocal: true}}, hosts: ['*.infra.svc.cluster.local']}}]
    serviceScopeConfigs: [{{scope: GLOBAL, servicesSelector: {{matchLabels: {{istio.io/global: 'true'}}}}}}]
  clusters:
  - name: a
    proxyClusterId: cluster-a
    meshConfig: {{serviceSettings: [{{hosts: [kubernetes.default.svc.cluster.local]}}]}}
  - {{name: b, controlPlane: a}}
  services:
  - {{name: db, namespace: infra, serviceExports: [a, z], endpoints: [{{cluster: a, address: 10.0.0.1}}]}}
"
    );
    let doc = MeshDocument::from_yaml(&text).unwrap();
    let again = MeshDocument::from_yaml(&doc.to_yaml()).unwrap();
    assert_eq!(doc, again);
    assert!(doc.spec.mcs.effective().host);
    assert_eq!(
        doc.spec.clusters[0].proxy_cluster_id().as_str(),
        "cluster-a"
    );
    assert_eq!(doc.spec.clusters[1].proxy_cluster_id().as_str(), "b");
    // b is served by a's istiod: a's own meshConfig, where kubernetes.default is global (S3).
    let hosts = doc
        .spec
        .mesh_config_of(&doc.spec.clusters[1])
        .cluster_local_hosts(&doc.spec.domain_suffix);
    assert!(!hosts.is_cluster_local("kubernetes.default.svc.cluster.local"));
    assert!(!hosts.is_cluster_local("db.infra.svc.cluster.local"));
    let spec_wide = doc.spec.mesh_config.cluster_local_hosts("cluster.local");
    assert!(spec_wide.is_cluster_local("db.infra.svc.cluster.local"));
    let errors: Vec<String> = doc
        .consistency_errors()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [r#"spec.services[0].serviceExports[1]: "z" names no cluster of this mesh"#]
    );
    assert_eq!(
        error_of("  meshConfig: {serviceSetting: []}\n").to_string(),
        r#"spec.meshConfig: unknown field "serviceSetting" (did you mean "serviceSettings"?) (line 5, column 16)"#
    );
}
