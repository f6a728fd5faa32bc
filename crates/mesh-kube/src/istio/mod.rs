//! Istio's own objects in a dump (custom resources of `networking.istio.io` and
//! `security.istio.io`): each kind the importer models is read into a [`Config`] (its metadata and
//! its `spec` as written) and turned into the document by its own module, after the istiod code
//! that consumes it.
//!
//! | kind | document | module |
//! |---|---|---|
//! | `DestinationRule` | `spec.destinationRules` | [`destination_rule`] |
//! | `ServiceEntry`, `WorkloadEntry` | `spec.services[]` and their endpoints | [`service_entry`] |
//! | `Gateway` (its `AUTO_PASSTHROUGH` servers) | `clusters[].autoPassthrough` | [`gateway`] |
//! | `PeerAuthentication` | `spec.peerAuthentications` | [`peer_authentication`] |

pub(crate) mod destination_rule;
pub(crate) mod gateway;
pub(crate) mod peer_authentication;
pub(crate) mod service_entry;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::object::ObjectRef;

/// The domain suffix of the document the importer writes (`spec.domainSuffix`), against which
/// hosts are resolved: Istio's default, which the dumps do not state.
pub(crate) const DOMAIN_SUFFIX: &str = "cluster.local";

/// An Istio object: its metadata and its `spec`, kept as written for the kind's module to read
/// (the API's fields the document does not model are reported there, by name).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    pub metadata: ConfigMeta,
    pub spec: serde_json::Value,
    /// `status` (a WorkloadEntry's health condition).
    pub status: serde_json::Value,
}

/// An Istio object's `metadata`: what istiod's config store keeps of it (`config.Meta`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ConfigMeta {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339, as the API server writes it (`2024-05-01T10:00:00Z`): istiod orders configs by
    /// it (`pilot/pkg/model/config.go`, `configCompareByCreationTime`).
    pub creation_timestamp: String,
}

/// The Istio objects of one dump the importer models, by kind.
#[derive(Debug, Default)]
pub(crate) struct IstioObjects {
    pub destination_rules: Vec<(ObjectRef, Config)>,
    pub service_entries: Vec<(ObjectRef, Config)>,
    pub workload_entries: Vec<(ObjectRef, Config)>,
    pub peer_authentications: Vec<(ObjectRef, Config)>,
    pub gateways: Vec<(ObjectRef, Config)>,
}

impl IstioObjects {
    /// Where an object of `kind` in `api_version` goes; `None`: not a kind read here.
    pub(crate) fn slot(
        &mut self,
        kind: &str,
        api_version: &str,
    ) -> Option<&mut Vec<(ObjectRef, Config)>> {
        let (group, version) = api_version.split_once('/')?;
        match (kind, group) {
            // networking.istio.io/v1, v1beta1 and v1alpha3 are one schema (Istio serves all three).
            ("DestinationRule", "networking.istio.io")
                if matches!(version, "v1" | "v1beta1" | "v1alpha3") =>
            {
                Some(&mut self.destination_rules)
            }
            ("ServiceEntry", "networking.istio.io")
                if matches!(version, "v1" | "v1beta1" | "v1alpha3") =>
            {
                Some(&mut self.service_entries)
            }
            ("WorkloadEntry", "networking.istio.io")
                if matches!(version, "v1" | "v1beta1" | "v1alpha3") =>
            {
                Some(&mut self.workload_entries)
            }
            ("Gateway", "networking.istio.io")
                if matches!(version, "v1" | "v1beta1" | "v1alpha3") =>
            {
                Some(&mut self.gateways)
            }
            ("PeerAuthentication", "security.istio.io") if matches!(version, "v1" | "v1beta1") => {
                Some(&mut self.peer_authentications)
            }
            _ => None,
        }
    }
}

/// An Istio object read from one dump: the value the document keeps, with what istiod orders it
/// by and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct ReadConfig<T> {
    /// The dump (cluster) it was read from.
    pub(crate) dump: String,
    /// `kind/namespace/name`.
    pub(crate) object: ObjectRef,
    /// `metadata.creationTimestamp` as written (RFC 3339, so text order is time order).
    pub(crate) created: String,
    /// What the document keeps of it.
    pub(crate) value: T,
}

/// One copy of each object (the first dump's), in istiod's `configCompareByCreationTime` order:
/// creation time, then name, then namespace. A copy that differs from the first is reported at
/// `field(first)`, as one the document keeps once (`what`: "rule", "policy").
pub(crate) fn one_copy_each<T: PartialEq>(
    read: Vec<ReadConfig<T>>,
    report: &mut crate::report::ImportReport,
    what: &str,
    field: impl Fn(&ReadConfig<T>) -> String,
) -> Vec<ReadConfig<T>> {
    let mut unique: BTreeMap<(String, String), ReadConfig<T>> = BTreeMap::new();
    for r in read {
        let id = (r.object.namespace.clone(), r.object.name.clone());
        match unique.get(&id) {
            Some(first) if first.value != r.value => report.infer(
                &r.dump,
                field(first),
                format!("{} of {}", first.object, first.dump),
                format!(
                    "{} differs in {}: the document has one copy of each {what}",
                    r.object, r.dump
                ),
            ),
            Some(_) => {}
            None => {
                unique.insert(id, r);
            }
        }
    }
    let mut ordered: Vec<ReadConfig<T>> = unique.into_values().collect();
    ordered.sort_by(|a, b| {
        (&a.created, &a.object.name, &a.object.namespace).cmp(&(
            &b.created,
            &b.object.name,
            &b.object.namespace,
        ))
    });
    ordered
}
