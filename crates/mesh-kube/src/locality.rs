//! An endpoint's locality, as Istio derives it for a pod (`controller.go`,
//! `Controller.getPodLocality`):
//! 1. the pod label `topology.istio.io/locality`, else the legacy `istio-locality`
//!    (`pkg/model/proxy.go`, `GetLocalityLabel`), with dots standing for slashes unless the value
//!    already has a slash (`SanitizeLocalityLabel`);
//! 2. else its node's labels: region `topology.kubernetes.io/region` (fallback
//!    `failure-domain.beta.kubernetes.io/region`), zone likewise, subzone
//!    `topology.istio.io/subzone` (`util.go`, `getLabelValue`), written `region/zone/subzone`, or
//!    none when all three are empty.

use std::collections::BTreeMap;

use crate::label;

/// The locality of a pod with `labels` on a node whose locality is `node` (see [`node_locality`];
/// `None`: node unknown or without locality labels).
pub(crate) fn pod_locality(
    labels: &BTreeMap<String, String>,
    node: Option<&str>,
) -> Option<String> {
    if let Some(l) = labels
        .get(label::TOPOLOGY_LOCALITY)
        .or_else(|| labels.get(label::LEGACY_LOCALITY))
        .filter(|l| !l.is_empty())
    {
        return Some(if l.contains('/') {
            l.clone()
        } else {
            l.replace('.', "/")
        });
    }
    node.map(str::to_owned)
}

/// The locality a node's labels give its pods (`None` when all three are empty): computed once a
/// node, not once an endpoint.
pub(crate) fn node_locality(node: &BTreeMap<String, String>) -> Option<String> {
    let get = |names: &[&str]| {
        names
            .iter()
            .filter_map(|n| node.get(*n))
            .find(|v| !v.is_empty())
            .map_or("", String::as_str)
    };
    let (region, zone) = (get(&label::NODE_REGION), get(&label::NODE_ZONE));
    let subzone = get(&[label::TOPOLOGY_SUBZONE]);
    if region.is_empty() && zone.is_empty() && subzone.is_empty() {
        return None;
    }
    Some(format!("{region}/{zone}/{subzone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pod_label_then_node_labels() {
        let pod = labels(&[(label::TOPOLOGY_LOCALITY, "us-east1.us-east1-b")]);
        assert_eq!(
            pod_locality(&pod, None).as_deref(),
            Some("us-east1/us-east1-b")
        );
        let pod = labels(&[(label::LEGACY_LOCALITY, "r/z.1")]);
        assert_eq!(pod_locality(&pod, None).as_deref(), Some("r/z.1"));
        let node = labels(&[
            ("failure-domain.beta.kubernetes.io/region", "old"),
            ("topology.kubernetes.io/zone", "z1"),
        ]);
        let node = node_locality(&node);
        assert_eq!(node.as_deref(), Some("old/z1/"));
        assert_eq!(
            pod_locality(&labels(&[]), node.as_deref()).as_deref(),
            Some("old/z1/")
        );
        // The pod's label wins over its node's.
        assert_eq!(
            pod_locality(&pod, node.as_deref()).as_deref(),
            Some("r/z.1")
        );
        assert_eq!(node_locality(&labels(&[])), None);
        assert_eq!(pod_locality(&labels(&[]), None), None);
    }
}
