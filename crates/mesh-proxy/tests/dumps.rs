//! `diff` on dumps a real Envoy 1.40 wrote from meshspan's own output (tests/data, see its README):
//! no differences; and every planted difference (a missing endpoint, a stale gateway, a wrong
//! weight) found and explained, in each of the three input formats.

use mesh_eds::{DocumentEds, Explanation, Features, LoadAssignment, Profile, View};
use mesh_model::MeshDocument;
use mesh_proxy::{ClusterDiff, Difference, DumpFormat, ProxyDump, parse_dump};
use serde_json::Value;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What meshspan computes for the sidecars of `cluster`, by Envoy cluster name.
fn computed(mesh: &str, cluster: &str) -> Result<Vec<(LoadAssignment, Explanation)>> {
    let doc = MeshDocument::parse(mesh)?;
    let eds = DocumentEds::new(&doc, Features::default());
    let class = eds.class_for_cluster(&cluster.parse()?, Profile::default());
    let view = View::new(&eds.shared_index(), class);
    let mut out = Vec::new();
    for s in &eds.services {
        out.push(view.explain(&eds.request(s))?);
    }
    Ok(out)
}

fn diff(dump: &ProxyDump, mesh: &str, cluster: &str) -> Result<Vec<ClusterDiff>> {
    let computed = computed(mesh, cluster)?;
    let mut out = Vec::new();
    for held in &dump.clusters {
        if let Some((cla, why)) = computed.iter().find(|(c, _)| c.cluster_name == held.name) {
            out.push(mesh_proxy::diff_cluster(held, cla, why));
        }
    }
    Ok(out)
}

fn differences(diffs: &[ClusterDiff]) -> Vec<&Difference> {
    diffs.iter().flat_map(|d| &d.differences).collect()
}

const MIXED: &str = include_str!("data/mixed.loopback.yaml");
const SPLIT: &str = include_str!("data/split-horizon.loopback.yaml");
const REVIEWS: &str = "outbound|9080||reviews.bookinfo.svc.cluster.local";

#[test]
fn config_dump_of_meshspans_output_has_no_difference() -> Result {
    let dump = parse_dump(include_str!("data/mixed-cloud.config_dump.json"))?;
    assert_eq!(dump.format, DumpFormat::ConfigDump);
    assert_eq!(dump.identity.network.as_deref(), Some("cloud"));
    assert_eq!(dump.identity.cluster.as_deref(), Some("cloud"));
    assert_eq!(
        dump.identity.locality.as_deref(),
        Some("eu-west1/eu-west1-b")
    );
    let diffs = diff(&dump, MIXED, "cloud")?;
    assert_eq!(diffs.len(), 2);
    assert!(differences(&diffs).is_empty(), "{diffs:?}");
    // The gateway of two locality groups: Envoy kept the first copy, which is not a difference.
    assert!(
        diffs
            .iter()
            .flat_map(|d| &d.notes)
            .any(|n| n.contains("Envoy keeps only the first copy"))
    );
    let dump = parse_dump(include_str!("data/split-horizon-cluster1.config_dump.json"))?;
    assert!(differences(&diff(&dump, SPLIT, "cluster1")?).is_empty());
    Ok(())
}

#[test]
fn clusters_dump_of_meshspans_output_has_no_difference() -> Result {
    for (text, mesh, cluster) in [
        (
            include_str!("data/mixed-cloud.clusters.json"),
            MIXED,
            "cloud",
        ),
        (
            include_str!("data/split-horizon-cluster1.clusters.json"),
            SPLIT,
            "cluster1",
        ),
    ] {
        let dump = parse_dump(text)?;
        assert_eq!(dump.format, DumpFormat::Clusters);
        assert_eq!(dump.identity, mesh_proxy::ProxyIdentity::default());
        let diffs = diff(&dump, mesh, cluster)?;
        assert!(!diffs.is_empty());
        assert!(differences(&diffs).is_empty(), "{diffs:?}");
    }
    Ok(())
}

/// The host statuses of reviews in a real /clusters dump of the split-horizon mesh's cluster1.
fn reviews_hosts(clusters: &mut Value) -> Option<&mut Vec<Value>> {
    clusters["cluster_statuses"]
        .as_array_mut()?
        .iter_mut()
        .find(|c| c["name"] == REVIEWS)?["host_statuses"]
        .as_array_mut()
}

#[test]
fn planted_differences_in_a_clusters_dump_are_explained() -> Result {
    let mut dump: Value =
        serde_json::from_str(include_str!("data/split-horizon-cluster1.clusters.json"))?;
    let hosts = reviews_hosts(&mut dump).ok_or("no reviews")?;
    let at = |hosts: &[Value], address: &str| {
        hosts
            .iter()
            .position(|h| h["address"]["socket_address"]["address"] == address)
    };
    let gateway = at(hosts, "127.51.100.7").ok_or("no gateway")?;
    let mut stale = hosts.remove(gateway); // the gateway is missing ...
    stale["address"]["socket_address"]["address"] = "127.20.3.7".into(); // ... the proxy holds the remote pod
    stale["address"]["socket_address"]["port_value"] = 9080.into();
    hosts.push(stale);
    let direct = at(hosts, "127.10.1.5").ok_or("no direct endpoint")?;
    hosts[direct]["weight"] = 9.into(); // a wrong weight
    let dump = parse_dump(&dump.to_string())?;
    let diffs = diff(&dump, SPLIT, "cluster1")?;
    let reviews = diffs
        .iter()
        .find(|d| d.cluster == REVIEWS)
        .ok_or("no diff")?;
    let text = reviews.to_string();
    assert_eq!(reviews.differences.len(), 3, "{text}");
    assert!(
        text.contains("changed  127.10.1.5:9080: the proxy has weight 9"),
        "{text}"
    );
    assert!(text.contains("meshspan computes weight 3, locality us-east1/us-east1-b, priority 0; 127.10.1.5 is kept direct, weight 3: on the proxy's network (M8)"), "{text}");
    assert!(
        text.contains("extra    127.20.3.7:9080 (weight 5, locality eu-west1/eu-west1-a, priority 0) is in the proxy; meshspan sends 127.20.3.7 through gateway 127.51.100.7:15443, 127.51.100.8:15443 (M11) — the proxy may hold a config older than the gateway"),
        "{text}"
    );
    assert!(text.contains("missing  127.51.100.7:15443"), "{text}");
    assert!(
        text.contains("goes through gateway 127.51.100.7:15443"),
        "{text}"
    );
    Ok(())
}

#[test]
fn planted_differences_in_a_config_dump_are_explained() -> Result {
    let mut dump: Value =
        serde_json::from_str(include_str!("data/split-horizon-cluster1.config_dump.json"))?;
    let configs = dump["configs"].as_array_mut().ok_or("no configs")?;
    let endpoints = configs
        .iter_mut()
        .find(|c| {
            c["@type"]
                .as_str()
                .is_some_and(|t| t.ends_with("EndpointsConfigDump"))
        })
        .ok_or("no endpoints")?;
    let reviews = endpoints["dynamic_endpoint_configs"]
        .as_array_mut()
        .ok_or("no list")?
        .iter_mut()
        .find(|e| e["endpoint_config"]["cluster_name"] == REVIEWS)
        .ok_or("no reviews")?;
    let groups = reviews["endpoint_config"]["endpoints"]
        .as_array_mut()
        .ok_or("no groups")?;
    // A stale gateway: an address no longer in the mesh, where the proxy should have 127.51.100.7.
    for g in groups.iter_mut() {
        for lb in g["lb_endpoints"].as_array_mut().ok_or("no lb")? {
            let sa = &mut lb["endpoint"]["address"]["socket_address"];
            if sa["address"] == "127.51.100.7" {
                sa["address"] = "127.51.100.99".into();
            }
        }
        g["load_balancing_weight"] = 77.into(); // a wrong locality weight
    }
    // A missing endpoint: the second direct endpoint.
    let local = groups
        .iter_mut()
        .find(|g| g["lb_endpoints"].as_array().is_some_and(|l| l.len() == 2))
        .ok_or("no local group")?;
    local["lb_endpoints"].as_array_mut().ok_or("no lb")?.pop();
    let dump = parse_dump(&dump.to_string())?;
    let diffs = diff(&dump, SPLIT, "cluster1")?;
    let text: String = diffs.iter().map(ToString::to_string).collect();
    assert!(text.contains("extra    127.51.100.99:15443"), "{text}");
    assert!(
        text.contains("no endpoint of this service in the mesh document has this address"),
        "{text}"
    );
    assert!(text.contains("missing  127.51.100.7:15443"), "{text}");
    assert!(text.contains("missing  127.10.1.6:9080 (weight 3, locality us-east1/us-east1-b, priority 0) is absent in the proxy; 127.10.1.6 is kept direct"), "{text}");
    assert!(
        text.contains(
            "locality us-east1/us-east1-b: the proxy has weight Some(77), meshspan computes Some(6)"
        ),
        "{text}"
    );
    assert_eq!(differences(&diffs).len(), 5, "{text}");
    Ok(())
}

#[test]
fn istioctl_endpoint_list_by_its_documented_shape() -> Result {
    // `istioctl proxy-config endpoint <pod> -o json`: ClusterStatus in camelCase.
    let list = format!(
        r#"[{{"name": "{REVIEWS}", "hostStatuses": [
          {{"address": {{"socketAddress": {{"address": "127.10.1.5", "portValue": 9080}}}},
            "healthStatus": {{"edsHealthStatus": "HEALTHY"}}, "weight": 3,
            "locality": {{"region": "us-east1", "zone": "us-east1-b"}}}},
          {{"address": {{"socketAddress": {{"address": "127.10.1.6", "portValue": 9080}}}},
            "weight": 3, "locality": {{"region": "us-east1", "zone": "us-east1-b"}}}},
          {{"address": {{"socketAddress": {{"address": "127.51.100.7", "portValue": 15443}}}},
            "weight": 5, "locality": {{"region": "eu-west1", "zone": "eu-west1-a"}}}},
          {{"address": {{"socketAddress": {{"address": "127.51.100.8", "portValue": 15443}}}},
            "weight": 5, "locality": {{"region": "eu-west1", "zone": "eu-west1-a"}}, "priority": 1}}]}},
         {{"name": "BlackHoleCluster"}}]"#
    );
    let dump = parse_dump(&list)?;
    assert_eq!(dump.format, DumpFormat::Istioctl);
    let diffs = diff(&dump, SPLIT, "cluster1")?;
    let text: String = diffs.iter().map(ToString::to_string).collect();
    assert_eq!(differences(&diffs).len(), 1, "{text}");
    assert!(text.contains("changed  127.51.100.8:15443: the proxy has weight 5, locality eu-west1/eu-west1-a, priority 1, meshspan computes weight 5, locality eu-west1/eu-west1-a, priority 0"), "{text}");
    Ok(())
}
