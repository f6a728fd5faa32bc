//! `networking.istio.io` DestinationRules → the document's `spec.destinationRules`.
//!
//! * The host is resolved as istiod resolves it (`pilot/pkg/model/config.go`,
//!   `ResolveShortnameToFQDN`): a name without a dot is `<name>.<rule's namespace>.svc.<domain
//!   suffix>`; any other name is taken as written. Only `<name>.<namespace>.svc.<suffix>` names a
//!   Kubernetes service, which is what the document's rules are keyed by; a rule for another host
//!   (a wildcard, a ServiceEntry's host, `reviews.bookinfo`, which istiod does not expand) is
//!   reported as skipped with that reason.
//! * Of the spec, the document keeps what EDS reads: `trafficPolicy` (`loadBalancer.simple`,
//!   `localityLbSetting`, `zoneAwareLbSetting`, `outlierDetection`, `tls.mode`,
//!   `portLevelSettings` of those) and `subsets` (`name`, `labels`, `trafficPolicy`). Every other
//!   field is named in the report. A policy (or port-level entry) that held only such fields is
//!   left out as a whole, since it changes nothing the document models.
//! * Values are validated by mesh-model as Istio's webhook validates them; a rejected value is an
//!   error naming the object and the field (`spec.trafficPolicy.loadBalancer`).
//! * Rules with a `workloadSelector` apply to some client proxies only: the document cannot say
//!   which, so they are skipped and reported. `exportTo` other than `*` is reported and the rule
//!   applied to every namespace.
//! * Several rules for one host are merged as istiod merges them (`pilot/pkg/model/
//!   destination_rule.go`, `mergeDestinationRule`, after `sortConfigByCreationTime`): oldest
//!   first, a later rule adds the subsets whose names are new and its `trafficPolicy` only when
//!   the merged rule has none. The same object in several dumps (one per config cluster) counts
//!   once; a differing copy is reported and the first dump's kept.

use std::collections::BTreeMap;

use mesh_model::{DestinationRule, ServiceKey};
use serde_json::Value;

use super::{Config, DOMAIN_SUFFIX, ReadConfig, one_copy_each};
use crate::error::ImportError;
use crate::object::ObjectRef;
use crate::report::ImportReport;

/// A DestinationRule read from one dump, before the dumps' rules are merged.
pub(crate) type ReadRule = ReadConfig<DestinationRule>;

/// What the document keeps of a JSON object: its fields, each with what it keeps below.
enum Shape {
    /// Kept as written (mesh-model validates it).
    Value,
    /// An object: the fields kept, and when the object goes as a whole.
    Object(&'static [(&'static str, Shape)], Prune),
    /// A list of such objects.
    List(&'static Shape),
}

/// When an object whose unmodelled fields were removed is left out entirely.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prune {
    /// Never: its presence means something (`outlierDetection: {}` turns failover on, `tls: {}`
    /// is `DISABLE`).
    Never,
    /// When nothing is left but these fields (a `portLevelSettings` entry with only its `port`).
    WhenOnly(&'static [&'static str]),
}

const TLS: Shape = Shape::Object(&[("mode", Shape::Value)], Prune::Never);
const OUTLIER: Shape = Shape::Object(
    &[
        ("consecutive5xxErrors", Shape::Value),
        ("consecutiveGatewayErrors", Shape::Value),
        ("consecutiveLocalOriginFailures", Shape::Value),
        ("splitExternalLocalOriginErrors", Shape::Value),
        ("interval", Shape::Value),
        ("baseEjectionTime", Shape::Value),
        ("maxEjectionPercent", Shape::Value),
        ("minHealthPercent", Shape::Value),
    ],
    Prune::Never,
);
const LOAD_BALANCER: Shape = Shape::Object(
    &[
        ("simple", Shape::Value),
        (
            "localityLbSetting",
            Shape::Object(
                &[
                    ("enabled", Shape::Value),
                    ("distribute", Shape::Value),
                    ("failover", Shape::Value),
                    ("failoverPriority", Shape::Value),
                ],
                Prune::Never,
            ),
        ),
        (
            "zoneAwareLbSetting",
            Shape::Object(
                &[
                    ("enabled", Shape::Value),
                    ("failover", Shape::Value),
                    ("failoverPriority", Shape::Value),
                    ("minClusterSize", Shape::Value),
                ],
                Prune::Never,
            ),
        ),
    ],
    Prune::WhenOnly(&[]),
);
const PORT_POLICY: Shape = Shape::Object(
    &[
        (
            "port",
            Shape::Object(&[("number", Shape::Value)], Prune::Never),
        ),
        ("loadBalancer", LOAD_BALANCER),
        ("outlierDetection", OUTLIER),
        ("tls", TLS),
    ],
    Prune::WhenOnly(&["port"]),
);
const TRAFFIC_POLICY: Shape = Shape::Object(
    &[
        ("loadBalancer", LOAD_BALANCER),
        ("outlierDetection", OUTLIER),
        ("portLevelSettings", Shape::List(&PORT_POLICY)),
        ("tls", TLS),
    ],
    Prune::WhenOnly(&[]),
);
const SUBSET: Shape = Shape::Object(
    &[
        ("name", Shape::Value),
        ("labels", Shape::Value),
        ("trafficPolicy", TRAFFIC_POLICY),
    ],
    Prune::Never,
);
/// The spec; `exportTo` and `workloadSelector` are read before (reported, not silently dropped).
const SPEC: Shape = Shape::Object(
    &[
        ("host", Shape::Value),
        ("trafficPolicy", TRAFFIC_POLICY),
        ("subsets", Shape::List(&SUBSET)),
        ("exportTo", Shape::Value),
        ("workloadSelector", Shape::Value),
    ],
    Prune::Never,
);

/// Removes from `value` what `shape` does not keep, naming each removed field (its path under
/// `at`) in `dropped`; `true` when the value itself should go (see [`Prune`]).
fn keep(value: &mut Value, shape: &Shape, at: &str, dropped: &mut Vec<String>) -> bool {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match (shape, value) {
        (Shape::Object(fields, prune), Value::Object(map)) => {
            let before = map.len();
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let path = join(&key);
                match fields.iter().find(|(name, _)| *name == key) {
                    None => {
                        map.remove(&key);
                        dropped.push(path);
                    }
                    Some((_, below)) => {
                        let gone = map
                            .get_mut(&key)
                            .is_some_and(|v| keep(v, below, &path, dropped));
                        if gone {
                            map.remove(&key);
                        }
                    }
                }
            }
            match prune {
                Prune::Never => false,
                Prune::WhenOnly(rest) => {
                    map.len() < before && map.keys().all(|k| rest.contains(&k.as_str()))
                }
            }
        }
        // A list all of whose entries went goes too (its holder may then be emptied).
        (Shape::List(item), Value::Array(items)) => {
            let before = items.len();
            let mut i = 0;
            items.retain_mut(|v| {
                let gone = keep(v, item, &format!("{at}[{i}]"), dropped);
                i += 1;
                !gone
            });
            before > 0 && items.is_empty()
        }
        // A value of another type is left for mesh-model's reader to reject, at its path.
        _ => false,
    }
}

/// Why a host names no service of the document, or the service it names.
fn service_of(host: &str, namespace: &str) -> Result<ServiceKey, String> {
    if host == "*" || host.starts_with("*.") {
        return Err(format!(
            "host {host:?} is a wildcard: the document's DestinationRules each name one service"
        ));
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "host {host:?} is an IP address, not a Kubernetes service"
        ));
    }
    let fqdn = if host.contains('.') {
        host.to_owned()
    } else {
        format!("{host}.{namespace}.svc.{DOMAIN_SUFFIX}")
    };
    let not_service = || {
        format!(
            "host {fqdn:?} is not a Kubernetes service's name (<name>.<namespace>.svc.{DOMAIN_SUFFIX}; istiod expands only names without a dot, config.go ResolveShortnameToFQDN): the document keys DestinationRules by service"
        )
    };
    let short = fqdn
        .trim_end_matches('.')
        .strip_suffix(&format!(".svc.{DOMAIN_SUFFIX}"))
        .ok_or_else(not_service)?;
    match short.split_once('.') {
        Some((name, ns)) if !ns.contains('.') => {
            format!("{name}.{ns}").parse().map_err(|_| not_service())
        }
        _ => Err(not_service()),
    }
}

/// The DestinationRules of one dump, converted; skipped ones and unmodelled fields reported.
pub(crate) fn read(
    dump: &str,
    objects: &[(ObjectRef, Config)],
    report: &mut ImportReport,
) -> Result<Vec<ReadRule>, ImportError> {
    let mut out = Vec::with_capacity(objects.len());
    for (object, config) in objects {
        let mut spec = config.spec.clone();
        let Some(host) = spec.get("host").and_then(Value::as_str).map(str::to_owned) else {
            return Err(ImportError::field(
                dump,
                object,
                "spec.host",
                "is required (the service the rule applies to)",
            ));
        };
        if host.is_empty() {
            return Err(ImportError::field(dump, object, "spec.host", "is empty"));
        }
        if spec.get("workloadSelector").is_some_and(|v| !v.is_null()) {
            report.skip(
                dump,
                object,
                "spec.workloadSelector: the rule applies only to the client proxies it selects, which the document cannot express",
            );
            continue;
        }
        if object.namespace.is_empty() && !host.contains('.') {
            return Err(ImportError::field(
                dump,
                object,
                "metadata.namespace",
                format!("is empty: the short host {host:?} is resolved in the rule's namespace"),
            ));
        }
        let key = match service_of(&host, &object.namespace) {
            Ok(key) => key,
            Err(reason) => {
                report.skip(dump, object, reason);
                continue;
            }
        };
        let export_to: Vec<&str> = spec
            .get("exportTo")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !export_to.is_empty() && export_to != ["*"] {
            report.infer(
                dump,
                format!("spec.destinationRules[{key}]"),
                "visible to every namespace",
                format!(
                    "{object} has exportTo {export_to:?}: the document has no visibility, the rule is applied to every client"
                ),
            );
        }
        let mut dropped = Vec::new();
        keep(&mut spec, &SPEC, "", &mut dropped);
        if let Value::Object(map) = &mut spec {
            map.remove("exportTo");
            map.remove("workloadSelector");
            map.insert("host".into(), Value::String(key.to_string()));
        }
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
        let rule: DestinationRule = serde_path_to_error::deserialize(spec).map_err(|e| {
            ImportError::field(
                dump,
                object,
                format!("spec.{}", e.path()),
                e.inner().to_string(),
            )
        })?;
        // Istio's validateSubset, which the document's reader leaves to `check`.
        for (i, subset) in rule.subsets.iter().enumerate() {
            subset.validate().map_err(|e| {
                let at = if e.at.is_empty() {
                    format!("spec.subsets[{i}]")
                } else {
                    format!("spec.subsets[{i}].{}", e.at)
                };
                ImportError::field(dump, object, at, e.kind.to_string())
            })?;
        }
        out.push(ReadRule {
            dump: dump.to_owned(),
            object: object.clone(),
            created: config.metadata.creation_timestamp.clone(),
            value: rule,
        });
    }
    Ok(out)
}

/// The rules of all dumps, one per host, merged as istiod merges them; sorted by host.
pub(crate) fn merged(rules: Vec<ReadRule>, report: &mut ImportReport) -> Vec<DestinationRule> {
    let ordered = one_copy_each(rules, report, "rule", |first| {
        format!("spec.destinationRules[{}]", first.value.host)
    });
    let mut by_host: BTreeMap<String, (ObjectRef, DestinationRule)> = BTreeMap::new();
    for r in ordered {
        let host = r.value.host.to_string();
        let Some((first, merged)) = by_host.get_mut(&host) else {
            by_host.insert(host, (r.object, r.value));
            continue;
        };
        let mut duplicates = Vec::new();
        for subset in r.value.subsets {
            if merged.subset(&subset.name).is_some() {
                duplicates.push(subset.name);
            } else {
                merged.subsets.push(subset);
            }
        }
        let policy_ignored = merged.traffic_policy.is_some() && r.value.traffic_policy.is_some();
        if merged.traffic_policy.is_none() {
            merged.traffic_policy = r.value.traffic_policy;
        }
        let mut why = format!(
            "merged into {first} (same host {host}; destination_rule.go, mergeDestinationRule: the older rule's trafficPolicy wins, new subsets are added)"
        );
        if policy_ignored {
            why.push_str("; its trafficPolicy is ignored");
        }
        if !duplicates.is_empty() {
            why.push_str(&format!(
                "; its subsets {duplicates:?} are ignored (already defined)"
            ));
        }
        report.skip(&r.dump, &r.object, why);
    }
    by_host.into_values().map(|(_, rule)| rule).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_resolve_as_istiod_does() {
        let ok = |h: &str| service_of(h, "bookinfo").map(|k| k.to_string());
        assert_eq!(ok("reviews").unwrap(), "reviews.bookinfo");
        assert_eq!(
            ok("ratings.prod.svc.cluster.local").unwrap(),
            "ratings.prod"
        );
        assert_eq!(
            ok("ratings.prod.svc.cluster.local.").unwrap(),
            "ratings.prod"
        );
        for not_a_service in [
            "reviews.bookinfo",
            "*.bookinfo.svc.cluster.local",
            "*",
            "api.example.com",
            "a.b.c.svc.cluster.local",
            "10.0.0.1",
            "reviews.bookinfo.svc.other.local",
        ] {
            assert!(ok(not_a_service).is_err(), "{not_a_service}");
        }
    }

    fn read_one(dump: &str, name: &str, spec: &str, report: &mut ImportReport) -> Vec<ReadRule> {
        let object = ObjectRef {
            kind: "DestinationRule".into(),
            namespace: "bookinfo".into(),
            name: name.into(),
        };
        let config = Config {
            metadata: Default::default(),
            spec: serde_saphyr::from_str(spec).unwrap(),
            ..Config::default()
        };
        read(dump, &[(object, config)], report).unwrap()
    }

    #[test]
    fn one_object_in_several_dumps_counts_once_and_a_differing_copy_is_reported() {
        let mut report = ImportReport::default();
        let mut rules = read_one(
            "c1",
            "r",
            "{host: reviews, subsets: [{name: v1}]}",
            &mut report,
        );
        rules.extend(read_one(
            "c2",
            "r",
            "{host: reviews, subsets: [{name: v1}]}",
            &mut report,
        ));
        let merged_rules = merged(rules.clone(), &mut report);
        assert_eq!(merged_rules.len(), 1);
        assert_eq!(merged_rules[0].subsets.len(), 1);
        assert!(report.inferred.is_empty() && report.skipped.is_empty());
        rules.extend(read_one(
            "c3",
            "r",
            "{host: reviews, subsets: [{name: v2}]}",
            &mut report,
        ));
        let merged_rules = merged(rules, &mut report);
        assert_eq!(merged_rules[0].subsets[0].name, "v1");
        assert_eq!(report.inferred.len(), 1);
        assert_eq!(report.inferred[0].cluster, "c3");
        assert!(
            report.inferred[0].value.contains("of c1"),
            "{:?}",
            report.inferred
        );
    }

    #[test]
    fn unmodelled_fields_are_removed_and_named() {
        let mut value: Value = serde_saphyr::from_str(
            "{host: a, trafficPolicy: {connectionPool: {tcp: {}}, portLevelSettings: [{port: {number: 80}, connectionPool: {}}, {port: {number: 81}, tls: {mode: SIMPLE, sni: x}}]}, subsets: [{name: v1, trafficPolicy: {outlierDetection: {consecutiveErrors: 3}}}]}",
        )
        .unwrap();
        let mut dropped = Vec::new();
        assert!(!keep(&mut value, &SPEC, "", &mut dropped));
        assert_eq!(
            dropped,
            [
                "trafficPolicy.connectionPool",
                "trafficPolicy.portLevelSettings[0].connectionPool",
                "trafficPolicy.portLevelSettings[1].tls.sni",
                "subsets[0].trafficPolicy.outlierDetection.consecutiveErrors",
            ]
        );
        let expected: Value = serde_saphyr::from_str(
            "{host: a, trafficPolicy: {portLevelSettings: [{port: {number: 81}, tls: {mode: SIMPLE}}]}, subsets: [{name: v1, trafficPolicy: {outlierDetection: {}}}]}",
        )
        .unwrap();
        assert_eq!(value, expected);
        // A policy whose only port-level entries held nothing modelled goes as a whole.
        let mut value: Value = serde_saphyr::from_str(
            "{host: a, trafficPolicy: {portLevelSettings: [{port: {number: 80}, connectionPool: {tcp: {}}}]}}",
        )
        .unwrap();
        let mut dropped = Vec::new();
        keep(&mut value, &SPEC, "", &mut dropped);
        assert_eq!(value, serde_saphyr::from_str::<Value>("{host: a}").unwrap());
        assert_eq!(
            dropped,
            ["trafficPolicy.portLevelSettings[0].connectionPool"]
        );
        // Written empty, it stays, for mesh-model to refuse as Istio does.
        let mut value: Value = serde_saphyr::from_str("{host: a, trafficPolicy: {}}").unwrap();
        keep(&mut value, &SPEC, "", &mut Vec::new());
        assert!(value.get("trafficPolicy").is_some());
    }
}
