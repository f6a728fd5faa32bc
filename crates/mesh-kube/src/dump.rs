//! A dump's text → its objects, sorted by kind: the output of `kubectl get ... -A -o json` (a
//! `List`), `-o yaml` (a `List`, or several documents separated by `---`), a single object, or a
//! JSON array of objects.
//!
//! JSON items are split as raw text and each is read straight into the typed struct of its kind,
//! so a large dump never becomes a tree of values; YAML (small dumps, hand-written files) goes
//! through a JSON value first. Kinds the importer does not read are counted and listed, not dropped.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::ImportError;
use crate::istio::IstioObjects;
use crate::object::{
    ConfigMap, EndpointSlice, Head, Namespace, Node, ObjectRef, Pod, Secret, Service, ServiceCidr,
};

/// Istio kinds the importer recognises but does not turn into the document (yet), each with why:
/// listed in the report as read and not modelled.
const NOT_MODELLED: &[(&str, &str)] = &[
    (
        "WorkloadGroup",
        "a template from which istiod creates WorkloadEntries for auto-registered VMs; the WorkloadEntries themselves are read",
    ),
    ("VirtualService", "routing, which does not change EDS"),
    (
        "Sidecar",
        "client scoping (egress hosts) is not modelled: every client is taken to see every service",
    ),
    (
        "AuthorizationPolicy",
        "authorization, which does not change EDS",
    ),
    (
        "IstioOperator",
        "read as a cluster's values when given as such (ClusterValues), not from a dump",
    ),
];

/// Why the importer does not model `kind`, if it is one of [`NOT_MODELLED`].
pub(crate) fn not_modelled_reason(kind: &str) -> Option<&'static str> {
    NOT_MODELLED
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, why)| *why)
}

/// The objects of one dump, by kind, each with its reference.
#[derive(Default)]
pub(crate) struct Objects {
    pub namespaces: Vec<(ObjectRef, Namespace)>,
    pub nodes: Vec<(ObjectRef, Node)>,
    pub pods: Vec<(ObjectRef, Pod)>,
    pub services: Vec<(ObjectRef, Service)>,
    pub slices: Vec<(ObjectRef, EndpointSlice)>,
    pub config_maps: Vec<(ObjectRef, ConfigMap)>,
    pub secrets: Vec<(ObjectRef, Secret)>,
    pub service_cidrs: Vec<(ObjectRef, ServiceCidr)>,
    /// The Istio objects of the kinds the importer models.
    pub istio: IstioObjects,
    /// Istio objects recognised and not modelled.
    pub not_modelled: Vec<ObjectRef>,
    /// Objects of kinds the importer does not know.
    pub unrecognised: Vec<ObjectRef>,
    /// How many objects of each kind were read.
    pub counts: BTreeMap<String, usize>,
}

/// Reads a dump. `cluster` names it in errors.
pub(crate) fn read(cluster: &str, text: &str) -> Result<Objects, ImportError> {
    let mut objects = Objects::default();
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        for (index, raw) in json_items(cluster, text)?.into_iter().enumerate() {
            let head: Head<'_> =
                serde_json::from_str(raw.get()).map_err(|_| ImportError::NotAnObject {
                    cluster: cluster.to_owned(),
                    index,
                })?;
            objects.add(cluster, index, head, Item::Json(raw))?;
        }
    } else {
        for (index, value) in yaml_items(cluster, text)?.into_iter().enumerate() {
            let head = Head::deserialize(&value)
                .map_err(|_| ImportError::NotAnObject {
                    cluster: cluster.to_owned(),
                    index,
                })?
                .into_owned();
            objects.add(cluster, index, head, Item::Value(value))?;
        }
    }
    Ok(objects)
}

/// The items of a JSON dump: a `List`'s `items`, an array, or the one object.
fn json_items<'a>(cluster: &str, text: &'a str) -> Result<Vec<&'a RawValue>, ImportError> {
    #[derive(Deserialize)]
    struct List<'a> {
        #[serde(default)]
        kind: String,
        #[serde(borrow, default)]
        items: Vec<&'a RawValue>,
    }
    let syntax = |e: serde_json::Error| ImportError::Syntax {
        cluster: cluster.to_owned(),
        format: "JSON",
        message: format!(
            "line {}, column {}: {}",
            e.line(),
            e.column(),
            json_category(&e)
        ),
    };
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(syntax);
    }
    let list: List<'a> = serde_json::from_str(text).map_err(syntax)?;
    if list.kind.ends_with("List") {
        Ok(list.items)
    } else {
        Ok(vec![serde_json::from_str(text).map_err(syntax)?])
    }
}

/// serde_json's message without the value it may quote (a dump holds Secrets).
fn json_category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "cannot be read",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "a value of the wrong type",
        serde_json::error::Category::Eof => "unexpected end of the text",
    }
}

/// The objects of a YAML dump: every document, a `List` document contributing its `items`.
fn yaml_items(cluster: &str, text: &str) -> Result<Vec<serde_json::Value>, ImportError> {
    let mut options = serde_saphyr::Options::default();
    let mut budget = serde_saphyr::Budget::default();
    // A dump is data, not configuration: let its size, not the defaults, bound the work (as the
    // mesh document's reader does); aliases stay limited.
    budget.max_nodes = budget.max_nodes.max(text.len().saturating_mul(2));
    budget.max_events = budget.max_events.max(text.len().saturating_mul(4) + 4);
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(text.len() * 5);
    budget.max_documents = budget.max_documents.max(text.len() / 3 + 1);
    options.budget = Some(budget);
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| ImportError::Syntax {
            cluster: cluster.to_owned(),
            format: "YAML",
            message: yaml_message(&e),
        })?;
    let mut out = Vec::new();
    for doc in docs {
        match doc {
            serde_json::Value::Null => {}
            serde_json::Value::Object(mut map)
                if map
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                if let Some(serde_json::Value::Array(items)) = map.remove("items") {
                    out.extend(items);
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// serde-saphyr's message without its snippet of the text (which could show a Secret's value).
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let mut inner = e;
    while let serde_saphyr::Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let at = e
        .location()
        .map(|l| format!("line {}, column {}: ", l.line(), l.column()))
        .unwrap_or_default();
    let text = inner.to_string();
    // Keep the parser's words, never a quoted value.
    let text = text.split(['"', '`', '\'']).next().unwrap_or("").trim();
    format!("{at}{text}")
}

/// serde_json's message without its ` at line L column C`, which counts within the item.
fn without_position(message: &str) -> String {
    message
        .rsplit_once(" at line ")
        .map_or(message, |(m, _)| m)
        .to_owned()
}

/// One item, as raw JSON text or a parsed value.
enum Item<'a> {
    Json(&'a RawValue),
    Value(serde_json::Value),
}

impl Objects {
    fn add(
        &mut self,
        cluster: &str,
        index: usize,
        head: Head<'_>,
        item: Item<'_>,
    ) -> Result<(), ImportError> {
        if head.kind.is_empty() {
            return Err(ImportError::NotAnObject {
                cluster: cluster.to_owned(),
                index,
            });
        }
        let object = ObjectRef {
            kind: head.kind.into_owned(),
            namespace: head.metadata.namespace.into_owned(),
            name: head.metadata.name.into_owned(),
        };
        // Counted without a new key string for every item of a kind already seen.
        match self.counts.get_mut(object.kind.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(object.kind.clone(), 1);
            }
        }
        if let Some(into) = self.istio.slot(&object.kind, &head.api_version) {
            return push(into, cluster, object, item);
        }
        let core = |group: &str| head.api_version == group;
        match object.kind.as_str() {
            "Namespace" if core("v1") => push(&mut self.namespaces, cluster, object, item)?,
            "Node" if core("v1") => push(&mut self.nodes, cluster, object, item)?,
            "Pod" if core("v1") => push(&mut self.pods, cluster, object, item)?,
            "Service" if core("v1") => push(&mut self.services, cluster, object, item)?,
            "ConfigMap" if core("v1") => push(&mut self.config_maps, cluster, object, item)?,
            "Secret" if core("v1") => push(&mut self.secrets, cluster, object, item)?,
            "EndpointSlice" if head.api_version.starts_with("discovery.k8s.io/") => {
                push(&mut self.slices, cluster, object, item)?;
            }
            "ServiceCIDR" if head.api_version.starts_with("networking.k8s.io/") => {
                push(&mut self.service_cidrs, cluster, object, item)?;
            }
            k if not_modelled_reason(k).is_some() && head.api_version.contains("istio.io/") => {
                self.not_modelled.push(object);
            }
            _ => self.unrecognised.push(object),
        }
        Ok(())
    }
}

fn push<T: DeserializeOwned>(
    into: &mut Vec<(ObjectRef, T)>,
    cluster: &str,
    object: ObjectRef,
    item: Item<'_>,
) -> Result<(), ImportError> {
    let decoded = match item {
        // Read without tracking the path (a bookkeeping step per value, a large share of
        // the time on the 1M-endpoint bench, see BENCHMARKS.md); only a failed item is read again
        // to name its field, with the same message.
        Item::Json(raw) => serde_json::from_str(raw.get()).or_else(|_| {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            serde_path_to_error::deserialize(&mut de).map_err(|e| {
                (
                    e.path().to_string(),
                    without_position(&e.inner().to_string()),
                )
            })
        }),
        Item::Value(v) => serde_path_to_error::deserialize(v)
            .map_err(|e| (e.path().to_string(), e.inner().to_string())),
    };
    match decoded {
        Ok(value) => {
            into.push((object, value));
            Ok(())
        }
        Err((field, message)) => Err(ImportError::field(cluster, &object, field, message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_list_yaml_documents_and_unknown_kinds() {
        let json = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"istio-system"}},
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"x"}}]}"#;
        let o = read("c", json).unwrap();
        assert_eq!(o.namespaces.len(), 1);
        assert_eq!(o.unrecognised[0].to_string(), "Deployment/x/d");
        let yaml = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.0.0.0/24}\n---\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: sc, namespace: ns}\n---\napiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: dr, namespace: ns}\nspec: {host: a}\n";
        let o = read("c", yaml).unwrap();
        assert_eq!(o.nodes[0].1.spec.pod_cidr, "10.0.0.0/24");
        assert_eq!(o.not_modelled[0].to_string(), "Sidecar/ns/sc");
        assert_eq!(
            o.istio.destination_rules[0].0.to_string(),
            "DestinationRule/ns/dr"
        );
    }

    #[test]
    fn escaped_heads_are_read_and_counted() {
        // The head borrows from the text; a JSON escape makes it own its text instead.
        let json = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"\u0050od","metadata":{"name":"a\/b","namespace":"n\u0073"}},
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"c","namespace":"ns"}}]}"#;
        let o = read("c", json).unwrap();
        assert_eq!(o.pods[0].0.to_string(), "Pod/ns/a/b");
        assert_eq!(o.pods[1].0.to_string(), "Pod/ns/c");
        assert_eq!(o.counts.get("Pod"), Some(&2));
        assert_eq!(o.counts.len(), 1);
    }

    #[test]
    fn wrong_field_names_object_and_path() {
        let json = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"ns"},"spec":{"ports":[{"port":"http"}]}}]}"#;
        let e = read("c1", json).err().unwrap();
        assert_eq!(
            e.to_string(),
            "c1: Service/ns/s: spec.ports[0].port: invalid type: string \"http\", expected u16"
        );
        let e = read("c1", "[{\"metadata\":{}}]").err().unwrap();
        assert_eq!(
            e,
            ImportError::NotAnObject {
                cluster: "c1".into(),
                index: 0
            }
        );
    }
}
