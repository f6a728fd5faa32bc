//! What a proxy holds against what meshspan computes for it: per cluster, the endpoints missing,
//! extra, or with another weight, locality or priority, each with meshspan's explanation.
//!
//! Meaning, not bytes: the proxy's side is Envoy's host set (localities reordered, defaults added,
//! emptied groups and second copies of an address gone), so meshspan's side is first turned into
//! the host set Envoy would keep ([`crate::envoy_host_set`]) and both are matched by `address:port`.

use std::collections::BTreeMap;
use std::fmt;

use mesh_eds::{Explanation, LoadAssignment, Outcome};
use serde::Serialize;

use crate::consumers::envoy_host_set;
use crate::held::{HeldCluster, HeldEndpoint};

/// One difference between the proxy and meshspan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Difference {
    /// meshspan sends the endpoint; the proxy does not hold it.
    Missing {
        /// What meshspan computes.
        computed: HeldEndpoint,
        /// Why meshspan sends it.
        why: String,
    },
    /// The proxy holds an endpoint meshspan does not send.
    Extra {
        /// What the proxy holds.
        held: HeldEndpoint,
        /// What meshspan does with that address instead.
        why: String,
    },
    /// Both have it, with another weight, locality or priority.
    Changed {
        /// What the proxy holds.
        held: HeldEndpoint,
        /// What meshspan computes.
        computed: HeldEndpoint,
        /// Why meshspan computes it so.
        why: String,
    },
    /// A locality group's weight differs (only where the dump has locality weights).
    LocalityWeight {
        /// The group.
        locality: String,
        /// The proxy's weight.
        held: Option<u32>,
        /// meshspan's.
        computed: Option<u32>,
    },
}

/// The comparison of one Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterDiff {
    /// The Envoy cluster.
    pub cluster: String,
    /// The differences (empty: the proxy holds what meshspan computes).
    pub differences: Vec<Difference>,
    /// What is not a difference but worth knowing (a second copy Envoy dropped).
    pub notes: Vec<String>,
}

fn socket(e: &HeldEndpoint) -> String {
    if e.address.contains(':') {
        format!("[{}]:{}", e.address, e.port)
    } else {
        format!("{}:{}", e.address, e.port)
    }
}

fn facts(e: &HeldEndpoint) -> String {
    let locality = if e.locality.is_empty() {
        "\"\""
    } else {
        &e.locality
    };
    format!(
        "weight {}, locality {locality}, priority {}",
        e.weight, e.priority
    )
}

/// Why meshspan sends `e` (an endpoint of its output): the input endpoints behind it.
fn why_sent(e: &HeldEndpoint, why: &Explanation) -> String {
    let mut parts = Vec::new();
    for x in &why.endpoints {
        match &x.outcome {
            Outcome::Direct { .. } if x.address == e.address && x.port == e.port => {
                parts.push(format!("{} is {}", x.address, x.outcome));
            }
            Outcome::ViaGateways {
                contributions,
                rule,
                ..
            } if x.locality == e.locality => {
                for c in contributions {
                    if c.gateway.address == e.address && c.gateway.port == e.port {
                        parts.push(format!(
                            "{}:{} goes through gateway {} with weight +{} ({rule})",
                            x.address, x.port, c.gateway, c.weight
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        "meshspan computes it; no input endpoint explains it".into()
    } else {
        parts.join("; ")
    }
}

/// What meshspan does with an address the proxy holds but meshspan does not send.
fn why_not_sent(e: &HeldEndpoint, why: &Explanation) -> String {
    let mut parts = Vec::new();
    for x in &why.endpoints {
        if x.address != e.address {
            continue;
        }
        match &x.outcome {
            Outcome::ViaGateways { contributions, .. } => {
                let gateways: Vec<String> = contributions
                    .iter()
                    .map(|c| format!("{}:{}", c.gateway.address, c.gateway.port))
                    .collect();
                parts.push(format!(
                    "meshspan sends {} through gateway {} ({}) — the proxy may hold a config older than the gateway",
                    x.address,
                    gateways.join(", "),
                    x.outcome.rule()
                ));
            }
            other => parts.push(format!("meshspan: {} is {other}", x.address)),
        }
    }
    if parts.is_empty() {
        let gateway = why.endpoints.iter().any(|x| match &x.outcome {
            Outcome::ViaGateways { contributions, .. } => {
                contributions.iter().any(|c| c.gateway.address == e.address)
            }
            _ => false,
        });
        if gateway {
            format!(
                "meshspan sends nothing through gateway {} in locality {} — the proxy may hold a config older than the endpoints",
                socket(e),
                e.locality
            )
        } else {
            "no endpoint of this service in the mesh document has this address — the proxy may hold a stale endpoint, or the document is out of date".into()
        }
    } else {
        parts.join("; ")
    }
}

/// Compares what the proxy holds for one cluster with what meshspan computes (`computed`, and
/// `why`, the explanation of the same view and service).
///
/// ```
/// use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, ProxyClass, ServiceRequest, View};
/// let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local".parse()?;
/// let endpoints = [EdsEndpoint { addresses: vec!["10.0.0.1".into()], port: 80, ..Default::default() }];
/// let request = ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(), cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default() };
/// let view = View::new(&std::sync::Arc::new(GatewayIndex::new([])), ProxyClass::default());
/// let (cla, why) = view.explain(&request)?;
/// let held = mesh_proxy::parse_dump(r#"[{"name": "outbound|80||foo.ns1.svc.cluster.local", "hostStatuses": [
///     {"address": {"socketAddress": {"address": "10.0.0.1", "portValue": 80}}, "weight": 7}]}]"#)?;
/// let diff = mesh_proxy::diff_cluster(&held.clusters[0], &cla, &why);
/// assert_eq!(diff.differences.len(), 1);
/// assert!(diff.to_string().contains("weight 7"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff_cluster(
    held: &HeldCluster,
    computed: &LoadAssignment,
    why: &Explanation,
) -> ClusterDiff {
    let kept = envoy_host_set(computed);
    let mut notes = Vec::new();
    let copies: usize = computed.localities.iter().map(|g| g.endpoints.len()).sum();
    if copies > kept.len() {
        for w in crate::consumers::consumer_warnings(computed, Some(why)) {
            if let crate::ConsumerProblem::DuplicateAddress { .. } = w.problem {
                notes.push(w.to_string());
            }
        }
    }
    let key = |e: &HeldEndpoint| (e.address.clone(), e.port);
    let mut mine: BTreeMap<_, &HeldEndpoint> = kept.iter().map(|e| (key(e), e)).collect();
    let mut differences = Vec::new();
    for h in &held.endpoints {
        match mine.remove(&key(h)) {
            Some(c) if c == h => {}
            Some(c) => differences.push(Difference::Changed {
                held: h.clone(),
                computed: c.clone(),
                why: why_sent(c, why),
            }),
            None => differences.push(Difference::Extra {
                held: h.clone(),
                why: why_not_sent(h, why),
            }),
        }
    }
    for c in kept.iter().filter(|c| mine.contains_key(&key(c))) {
        differences.push(Difference::Missing {
            computed: c.clone(),
            why: why_sent(c, why),
        });
    }
    if let Some(weights) = &held.locality_weights {
        // Envoy's dump shows only groups that kept a host.
        let held_by: BTreeMap<&str, Option<u32>> =
            weights.iter().map(|(l, w)| (l.as_str(), *w)).collect();
        for g in &computed.localities {
            if !kept.iter().any(|e| e.locality == g.locality) {
                continue;
            }
            if let Some(&w) = held_by.get(g.locality.as_str())
                && w != g.weight
            {
                differences.push(Difference::LocalityWeight {
                    locality: g.locality.clone(),
                    held: w,
                    computed: g.weight,
                });
            }
        }
    }
    ClusterDiff {
        cluster: held.name.clone(),
        differences,
        notes,
    }
}

/// A cluster meshspan computes that the proxy does not hold at all.
pub fn missing_cluster(computed: &LoadAssignment, why: &Explanation) -> ClusterDiff {
    let held = HeldCluster {
        name: computed.cluster_name.clone(),
        endpoints: Vec::new(),
        locality_weights: None,
    };
    let mut d = diff_cluster(&held, computed, why);
    d.notes
        .push("the proxy holds no endpoints for this cluster".into());
    d
}

impl fmt::Display for ClusterDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.differences.is_empty() {
            writeln!(f, "{}: as meshspan computes", self.cluster)?;
        } else {
            writeln!(
                f,
                "{}: {}",
                self.cluster,
                mesh_model::counted(self.differences.len(), "difference")
            )?;
        }
        for d in &self.differences {
            match d {
                Difference::Missing { computed, why } => writeln!(
                    f,
                    "  missing  {} ({}) is absent in the proxy; {why}",
                    socket(computed),
                    facts(computed)
                )?,
                Difference::Extra { held, why } => writeln!(
                    f,
                    "  extra    {} ({}) is in the proxy; {why}",
                    socket(held),
                    facts(held)
                )?,
                Difference::Changed {
                    held,
                    computed,
                    why,
                } => writeln!(
                    f,
                    "  changed  {}: the proxy has {}, meshspan computes {}; {why}",
                    socket(held),
                    facts(held),
                    facts(computed)
                )?,
                Difference::LocalityWeight {
                    locality,
                    held,
                    computed,
                } => writeln!(
                    f,
                    "  locality {locality}: the proxy has weight {held:?}, meshspan computes {computed:?} (M12: the sum of the group's endpoint weights)"
                )?,
            }
        }
        for n in &self.notes {
            writeln!(f, "  note     {n}")?;
        }
        Ok(())
    }
}
