//! What an import did besides the document: the values it inferred (and from what), the objects it
//! read, skipped, recognised without modelling, or did not recognise. Nothing is dropped silently.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::object::ObjectRef;

/// The account of one import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImportReport {
    /// Values of the document no object states directly, and where they came from.
    pub inferred: Vec<Inferred>,
    /// Objects read, per dump and kind.
    pub read: BTreeMap<String, BTreeMap<String, usize>>,
    /// Objects (or parts of them) read and deliberately left out, with Istio's reason.
    pub skipped: Vec<Skipped>,
    /// Istio objects recognised but not modelled by the mesh document, per kind.
    pub not_modelled: BTreeMap<String, Vec<String>>,
    /// Why each kind of [`Self::not_modelled`] is not modelled.
    pub not_modelled_reasons: BTreeMap<String, String>,
    /// Objects of kinds the importer does not know, per kind (`cluster: kind/namespace/name`).
    pub unrecognised: BTreeMap<String, Vec<String>>,
}

/// A value the importer had to infer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inferred {
    /// The dump (cluster) it concerns; empty for the whole mesh.
    pub cluster: String,
    /// The document field (`clusters[cluster1].podCidrs`).
    pub field: String,
    /// The value chosen.
    pub value: String,
    /// From what (an object, a rule of Istio's, a command-line option).
    pub from: String,
}

/// Something read and left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The dump.
    pub cluster: String,
    /// The object.
    pub object: ObjectRef,
    /// Why, citing Istio's rule.
    pub reason: String,
}

impl ImportReport {
    pub(crate) fn infer(
        &mut self,
        cluster: &str,
        field: impl Into<String>,
        value: impl fmt::Display,
        from: impl Into<String>,
    ) {
        self.inferred.push(Inferred {
            cluster: cluster.to_owned(),
            field: field.into(),
            value: value.to_string(),
            from: from.into(),
        });
    }

    pub(crate) fn skip(&mut self, cluster: &str, object: &ObjectRef, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            cluster: cluster.to_owned(),
            object: object.clone(),
            reason: reason.into(),
        });
    }

    pub(crate) fn list(into: &mut BTreeMap<String, Vec<String>>, cluster: &str, o: &ObjectRef) {
        into.entry(o.kind.clone())
            .or_default()
            .push(format!("{cluster}: {o}"));
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (cluster, kinds) in &self.read {
            let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
            writeln!(f, "read {cluster}: {}", parts.join(", "))?;
        }
        for i in &self.inferred {
            let at = if i.cluster.is_empty() {
                String::new()
            } else {
                format!("{}: ", i.cluster)
            };
            writeln!(
                f,
                "inferred {at}{} = {} (from {})",
                i.field, i.value, i.from
            )?;
        }
        for s in &self.skipped {
            writeln!(f, "skipped {}: {}: {}", s.cluster, s.object, s.reason)?;
        }
        for (kind, list) in &self.not_modelled {
            writeln!(
                f,
                "not modelled: {} {kind}: {}",
                list.len(),
                list.join(", ")
            )?;
            if let Some(why) = self.not_modelled_reasons.get(kind) {
                writeln!(f, "  ({why})")?;
            }
        }
        for (kind, list) in &self.unrecognised {
            writeln!(
                f,
                "unrecognised: {} {kind}: {}",
                list.len(),
                list.join(", ")
            )?;
        }
        Ok(())
    }
}
