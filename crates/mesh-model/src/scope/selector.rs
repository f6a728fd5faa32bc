//! Ambient service scope (`meshConfig.serviceScopeConfigs`), rule S21 of `spec/service-scope.md`:
//! Kubernetes label selectors (`pkg/config/mesh/labelselector/labelselector.go`) and
//! `matchServiceScope` (`pilot/pkg/serviceregistry/ambient/services.go`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A service's ambient scope (`ServiceScope` of a `serviceScopeConfigs` entry).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AmbientScope {
    /// Endpoints only from the proxy's own cluster (S24).
    #[default]
    Local,
    /// Endpoints from every cluster.
    Global,
}

impl fmt::Display for AmbientScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "LOCAL",
            Self::Global => "GLOBAL",
        })
    }
}

/// A Kubernetes `LabelSelector`: `matchLabels` and `matchExpressions`, all of which must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// Exact label values.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::null::empty_if_null"
    )]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::null::empty_if_null"
    )]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry. The operator is kept as written: one Kubernetes does not know
/// makes the selector fail to convert (S21), which skips its `serviceScopeConfigs` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values (`In`/`NotIn` need some, `Exists`/`DoesNotExist` none).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::null::empty_if_null"
    )]
    pub values: Vec<String>,
}

/// Why a selector does not convert (`metav1.LabelSelectorAsSelector` fails), naming the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// An operator other than In, NotIn, Exists, DoesNotExist.
    #[error("operator {0:?} is not In, NotIn, Exists or DoesNotExist")]
    Operator(String),
    /// In/NotIn without values, or Exists/DoesNotExist with values.
    #[error("operator {operator} on key {key:?} {problem}")]
    Values {
        /// The key.
        key: String,
        /// The operator.
        operator: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A label key that is not a Kubernetes qualified name.
    #[error("{0:?} is not a valid label key")]
    Key(String),
    /// A label value that is not a valid Kubernetes label value.
    #[error("{0:?} is not a valid label value")]
    Value(String),
}

impl LabelSelector {
    /// Whether the selector matches `labels`, or why it cannot be used.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use mesh_model::LabelSelector;
    /// let s: LabelSelector = serde_json::from_str(
    ///     r#"{"matchExpressions": [{"key": "istio.io/local", "operator": "DoesNotExist"}]}"#)?;
    /// assert_eq!(s.matches(&BTreeMap::new()), Ok(true));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> Result<bool, SelectorError> {
        let mut all = true;
        for (k, v) in &self.match_labels {
            check_key(k)?;
            check_value(v)?;
            all &= labels.get(k) == Some(v);
        }
        for r in &self.match_expressions {
            check_key(&r.key)?;
            for v in &r.values {
                check_value(v)?;
            }
            let needs_values = match r.operator.as_str() {
                "In" | "NotIn" => true,
                "Exists" | "DoesNotExist" => false,
                other => return Err(SelectorError::Operator(other.to_owned())),
            };
            if needs_values == r.values.is_empty() {
                return Err(SelectorError::Values {
                    key: r.key.clone(),
                    operator: r.operator.clone(),
                    problem: if needs_values {
                        "needs values"
                    } else {
                        "takes no values"
                    },
                });
            }
            let value = labels.get(&r.key);
            all &= match r.operator.as_str() {
                "In" => value.is_some_and(|v| r.values.contains(v)),
                // NotIn and DoesNotExist match an absent key.
                "NotIn" => value.is_none_or(|v| !r.values.contains(v)),
                "Exists" => value.is_some(),
                _ => value.is_none(),
            };
        }
        Ok(all)
    }
}

/// A Kubernetes qualified name: an optional DNS-1123 subdomain prefix and `/`, then a name of
/// 1–63 alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
fn check_key(key: &str) -> Result<(), SelectorError> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                let b = l.as_bytes();
                !b.is_empty()
                    && b.len() <= 63
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
            })
    });
    if prefix_ok && !name.is_empty() && is_label_text(name) {
        Ok(())
    } else {
        Err(SelectorError::Key(key.to_owned()))
    }
}

/// A label value: empty, or 1–63 characters as a qualified name's name part.
fn check_value(value: &str) -> Result<(), SelectorError> {
    if value.is_empty() || is_label_text(value) {
        Ok(())
    } else {
        Err(SelectorError::Value(value.to_owned()))
    }
}

fn is_label_text(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// One `meshConfig.serviceScopeConfigs` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceScopeConfig {
    /// Selects namespaces by their labels; absent = every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Selects services by their labels; absent = every service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services_selector: Option<LabelSelector>,
    /// The scope of the services it selects.
    pub scope: AmbientScope,
}

/// `matchServiceScope` (S21): `Global` iff some `Global` entry's selectors both match (an absent
/// selector matches everything); an entry whose selector does not convert, or whose namespace is
/// not found (`namespace_labels` `None`), is skipped; `Local` entries have no effect.
///
/// ```
/// use std::collections::BTreeMap;
/// use mesh_model::{AmbientScope, ServiceScopeConfig, match_service_scope};
/// let all_global = [ServiceScopeConfig { scope: AmbientScope::Global, ..Default::default() }];
/// let none = BTreeMap::new();
/// assert_eq!(match_service_scope(&all_global, Some(&none), &none), AmbientScope::Global);
/// assert_eq!(match_service_scope(&all_global, None, &none), AmbientScope::Local);
/// assert_eq!(match_service_scope(&[], Some(&none), &none), AmbientScope::Local);
/// ```
pub fn match_service_scope(
    configs: &[ServiceScopeConfig],
    namespace_labels: Option<&BTreeMap<String, String>>,
    service_labels: &BTreeMap<String, String>,
) -> AmbientScope {
    let Some(namespace_labels) = namespace_labels else {
        return AmbientScope::Local;
    };
    let selects =
        |s: &Option<LabelSelector>, labels| s.as_ref().map_or(Ok(true), |s| s.matches(labels));
    let global = configs.iter().any(|c| {
        c.scope == AmbientScope::Global
            && matches!(selects(&c.namespace_selector, namespace_labels), Ok(true))
            && matches!(selects(&c.services_selector, service_labels), Ok(true))
    });
    if global {
        AmbientScope::Global
    } else {
        AmbientScope::Local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn expr(key: &str, operator: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_expressions: vec![LabelSelectorRequirement {
                key: key.into(),
                operator: operator.into(),
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn operators_follow_kubernetes() {
        let with = labels(&[("a", "1")]);
        let without = labels(&[]);
        assert_eq!(expr("a", "In", &["1", "2"]).matches(&with), Ok(true));
        assert_eq!(expr("a", "In", &["2"]).matches(&with), Ok(false));
        assert_eq!(expr("a", "In", &["1"]).matches(&without), Ok(false));
        assert_eq!(expr("a", "NotIn", &["1"]).matches(&with), Ok(false));
        assert_eq!(expr("a", "NotIn", &["1"]).matches(&without), Ok(true));
        assert_eq!(expr("a", "Exists", &[]).matches(&with), Ok(true));
        assert_eq!(expr("a", "DoesNotExist", &[]).matches(&without), Ok(true));
        assert_eq!(expr("a", "DoesNotExist", &[]).matches(&with), Ok(false));
        let ml = LabelSelector {
            match_labels: labels(&[("a", "1")]),
            ..Default::default()
        };
        assert_eq!(ml.matches(&with), Ok(true));
        assert_eq!(ml.matches(&without), Ok(false));
        assert_eq!(LabelSelector::default().matches(&without), Ok(true));
    }

    #[test]
    fn selectors_that_do_not_convert_are_errors() {
        let l = labels(&[]);
        assert!(matches!(
            expr("a", "Gt", &["1"]).matches(&l),
            Err(SelectorError::Operator(_))
        ));
        assert!(matches!(
            expr("a", "In", &[]).matches(&l),
            Err(SelectorError::Values { .. })
        ));
        assert!(matches!(
            expr("a", "Exists", &["x"]).matches(&l),
            Err(SelectorError::Values { .. })
        ));
        assert!(matches!(
            expr("-a", "Exists", &[]).matches(&l),
            Err(SelectorError::Key(_))
        ));
        assert!(matches!(
            expr("A.b/c", "Exists", &[]).matches(&l),
            Err(SelectorError::Key(_))
        ));
        assert!(matches!(
            expr("a", "In", &["x y"]).matches(&l),
            Err(SelectorError::Value(_))
        ));
        assert_eq!(
            expr("istio.io/global", "In", &["true", ""]).matches(&l),
            Ok(false)
        );
    }

    #[test]
    fn a_broken_or_local_entry_is_skipped() {
        let ns = labels(&[("ns", "x")]);
        let svc = labels(&[("svc", "y")]);
        let broken = ServiceScopeConfig {
            services_selector: Some(expr("svc", "In", &[])),
            scope: AmbientScope::Global,
            ..Default::default()
        };
        let local = ServiceScopeConfig {
            scope: AmbientScope::Local,
            ..Default::default()
        };
        let by_ns = ServiceScopeConfig {
            namespace_selector: Some(expr("ns", "In", &["x"])),
            scope: AmbientScope::Global,
            ..Default::default()
        };
        assert_eq!(
            match_service_scope(std::slice::from_ref(&broken), Some(&ns), &svc),
            AmbientScope::Local
        );
        assert_eq!(
            match_service_scope(&[local, broken, by_ns.clone()], Some(&ns), &svc),
            AmbientScope::Global
        );
        assert_eq!(
            match_service_scope(&[by_ns], Some(&svc), &svc),
            AmbientScope::Local
        );
    }
}
