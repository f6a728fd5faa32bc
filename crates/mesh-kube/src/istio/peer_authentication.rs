//! `security.istio.io` PeerAuthentications (v1, v1beta1) → the document's
//! `spec.peerAuthentications`.
//!
//! * Of the spec, the document keeps what EDS reads (`mtls_checker.go`, `checkMtlsEnabled` →
//!   `authn.NewMtlsPolicy`): `selector.matchLabels`, `mtls.mode` and `portLevelMtls`, validated
//!   as Istio's webhook does (`ValidatePeerAuthentication`, in mesh-model); a rejected value is
//!   an error naming the object and the field (`spec.portLevelMtls[0]`).
//! * A policy with `targetRef`/`targetRefs` applies to waypoints and gateways, which EDS
//!   decisions for sidecar endpoints do not read: skipped and reported.
//! * Policies are written in istiod's order (`authentication.go`, `initAuthenticationPolicies`
//!   after `sortConfigByCreationTime`: creation time, then name, then namespace), which the
//!   document reads as precedence within one scope. The same object in several dumps (one per
//!   config cluster) counts once; a differing copy is reported and the first dump's kept.

use std::collections::BTreeMap;

use mesh_model::{PeerAuthentication, PeerMtls};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Config, ReadConfig, one_copy_each};
use crate::error::ImportError;
use crate::object::ObjectRef;
use crate::report::ImportReport;

/// A PeerAuthentication read from one dump, before the dumps' policies are joined.
pub(crate) type ReadPolicy = ReadConfig<PeerAuthentication>;

/// The fields of a PeerAuthentication's spec the document models.
const MODELLED: [&str; 3] = ["selector", "mtls", "portLevelMtls"];

/// Reads `spec.<field>` as `T`; an absent or null field is `None`.
fn field<T: DeserializeOwned>(
    dump: &str,
    object: &ObjectRef,
    spec: &Value,
    name: &str,
) -> Result<Option<T>, ImportError> {
    match spec.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_path_to_error::deserialize(v.clone())
            .map(Some)
            .map_err(|e| {
                let path = e.path().to_string();
                let at = if path == "." {
                    format!("spec.{name}")
                } else {
                    format!("spec.{name}.{path}")
                };
                ImportError::field(dump, object, at, e.inner().to_string())
            }),
    }
}

/// The PeerAuthentications of one dump, converted; skipped ones and unmodelled fields reported.
pub(crate) fn read(
    dump: &str,
    objects: &[(ObjectRef, Config)],
    report: &mut ImportReport,
) -> Result<Vec<ReadPolicy>, ImportError> {
    let mut out = Vec::with_capacity(objects.len());
    for (object, config) in objects {
        let spec = &config.spec;
        if ["targetRef", "targetRefs"]
            .iter()
            .any(|k| spec.get(*k).is_some_and(|v| !v.is_null()))
        {
            report.skip(
                dump,
                object,
                "spec.targetRef(s): the policy applies to the waypoints or gateways it names, not to sidecar endpoints (the document models the latter)",
            );
            continue;
        }
        if let Value::Object(map) = spec {
            let dropped: Vec<&str> = map
                .keys()
                .map(String::as_str)
                .filter(|k| !MODELLED.contains(k))
                .collect();
            if !dropped.is_empty() {
                report.skip(
                    dump,
                    object,
                    format!(
                        "fields the document does not model (EDS does not read them): {}",
                        dropped.join(", ")
                    ),
                );
            }
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Selector {
            #[serde(default)]
            match_labels: Option<BTreeMap<String, String>>,
        }
        let selector: Option<Selector> = field(dump, object, spec, "selector")?;
        let mtls: Option<PeerMtls> = field(dump, object, spec, "mtls")?;
        let ports: Option<BTreeMap<u32, PeerMtls>> = field(dump, object, spec, "portLevelMtls")?;
        let policy = PeerAuthentication::new(
            object.name.clone(),
            object.namespace.clone(),
            selector.and_then(|s| s.match_labels).unwrap_or_default(),
            mtls,
            ports,
        )
        .map_err(|e| {
            let at = if e.field == "namespace" {
                "metadata.namespace".to_owned()
            } else {
                format!("spec.{}", e.field)
            };
            ImportError::field(dump, object, at, e.kind.to_string())
        })?;
        out.push(ReadPolicy {
            dump: dump.to_owned(),
            object: object.clone(),
            created: config.metadata.creation_timestamp.clone(),
            value: policy,
        });
    }
    Ok(out)
}

/// The policies of all dumps, one copy of each object, in istiod's order.
pub(crate) fn joined(
    policies: Vec<ReadPolicy>,
    report: &mut ImportReport,
) -> Vec<PeerAuthentication> {
    let ordered = one_copy_each(policies, report, "policy", |first| {
        format!(
            "spec.peerAuthentications[{}/{}]",
            first.object.namespace, first.object.name
        )
    });
    ordered.into_iter().map(|p| p.value).collect()
}
