//! "What if this remote secret changes?": a remote-cluster lifecycle event (`--event
//! secret-rotated:<cluster> | secret-deleted:<cluster> | sync-timeout:<cluster>`) run through
//! mesh-eds' `RemoteClusters` (rules S25–S37 of `spec/service-scope.md`) for every control plane
//! that reads the cluster, and, per client cluster and service, the endpoints its proxies are
//! handed (after the scope stage, before split-horizon) that go missing in each phase, and until
//! when. The lifecycle profile decides which istiod is simulated.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use mesh_eds::{
    Absence, DocumentEds, EdsEndpoint, Features, LifecycleConfig, LifecycleEvent, LifecycleProfile,
    Profile, RemoteClusters, RemoteSecret,
};
use mesh_model::{ClusterId, MeshDocument};
use serde::{Deserialize, Serialize};

use crate::what_if::{Impact, LossReason, LostEndpoints};

/// A remote-cluster lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum ClusterEvent {
    /// The cluster's remote secret gets new credentials (`secret-rotated:<cluster>`).
    SecretRotated {
        /// The cluster.
        cluster: String,
    },
    /// The cluster's remote secret is deleted (`secret-deleted:<cluster>`).
    SecretDeleted {
        /// The cluster.
        cluster: String,
    },
    /// istiod (re)starts and the cluster does not sync within `PILOT_REMOTE_CLUSTER_TIMEOUT`
    /// (`sync-timeout:<cluster>`).
    SyncTimeout {
        /// The cluster.
        cluster: String,
    },
}

impl ClusterEvent {
    fn cluster(&self) -> &str {
        match self {
            Self::SecretRotated { cluster }
            | Self::SecretDeleted { cluster }
            | Self::SyncTimeout { cluster } => cluster,
        }
    }
}

impl fmt::Display for ClusterEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretRotated { cluster } => write!(f, "secret-rotated:{cluster}"),
            Self::SecretDeleted { cluster } => write!(f, "secret-deleted:{cluster}"),
            Self::SyncTimeout { cluster } => write!(f, "sync-timeout:{cluster}"),
        }
    }
}

/// An event spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error(
    "{input:?}: expected secret-rotated:<cluster>, secret-deleted:<cluster> or sync-timeout:<cluster>"
)]
pub struct ClusterEventParseError {
    /// The whole input.
    pub input: String,
}

impl FromStr for ClusterEvent {
    type Err = ClusterEventParseError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = || ClusterEventParseError {
            input: input.to_owned(),
        };
        let (kind, cluster) = input.split_once(':').ok_or_else(err)?;
        if cluster.is_empty() || cluster.contains([',', '/', ' ', ':']) {
            return Err(err());
        }
        let cluster = cluster.to_owned();
        match kind {
            "secret-rotated" => Ok(Self::SecretRotated { cluster }),
            "secret-deleted" => Ok(Self::SecretDeleted { cluster }),
            "sync-timeout" => Ok(Self::SyncTimeout { cluster }),
            _ => Err(err()),
        }
    }
}

/// An event that names nothing a control plane reads through a remote secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterEventError {
    /// The cluster is not in the mesh.
    #[error("{event}: there is no cluster {cluster} in this mesh")]
    UnknownCluster {
        /// The event as given.
        event: String,
        /// The cluster.
        cluster: String,
    },
    /// No other control plane reads the cluster, so no remote secret names it.
    #[error(
        "{event}: no control plane reads {cluster} through a remote secret (it is a primary no one watches)"
    )]
    NoRemoteSecret {
        /// The event as given.
        event: String,
        /// The cluster.
        cluster: String,
    },
}

/// What one phase of an event does to one service as one client cluster's proxies see it: the
/// other what-ifs' [`Impact`] (its `clientNetwork` the cluster's network; the endpoints counted
/// are those handed to the proxies, before split-horizon), and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventImpact {
    /// The clients' cluster.
    pub client_cluster: String,
    /// What they miss.
    #[serde(flatten)]
    pub impact: Impact,
}

impl Impact {
    /// `address (cluster)` of every endpoint lost, by cluster.
    pub(crate) fn lost_addresses(&self) -> Vec<String> {
        self.lost
            .iter()
            .flat_map(|l| {
                l.addresses
                    .iter()
                    .map(move |a| format!("{a} ({})", l.cluster))
            })
            .collect()
    }
}

/// One phase of an event: its state, and what clients miss while it lasts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPhase {
    /// What has happened.
    pub when: String,
    /// How long what is lost stays lost.
    pub until: String,
    /// Whether istiod reports ready (S34).
    pub ready: bool,
    /// Per (client cluster, service) that misses endpoints, sorted.
    pub impacts: Vec<EventImpact>,
}

/// The answer to "what if this lifecycle event happens?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventWhatIf {
    /// The event.
    pub event: ClusterEvent,
    /// The istiod simulated.
    pub profile: String,
    /// Its phases, in order.
    pub phases: Vec<EventPhase>,
}

impl EventWhatIf {
    /// Whether some service becomes unreachable for some client cluster in some phase.
    pub fn any_unreachable(&self) -> bool {
        self.phases
            .iter()
            .any(|p| p.impacts.iter().any(|i| i.impact.unreachable))
    }
}

impl fmt::Display for EventWhatIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "what if {} ({}):", self.event, self.profile)?;
        for p in &self.phases {
            let ready = if p.ready { "ready" } else { "not ready" };
            writeln!(f, "  {} (istiod {ready}):", p.when)?;
            if p.impacts.is_empty() {
                writeln!(f, "    no client loses an endpoint")?;
            }
            for i in &p.impacts {
                let lost = i.impact.lost_addresses();
                writeln!(
                    f,
                    "    clients in {} -> {}: lose {} endpoint(s) [{}] {}, {} left{}",
                    i.client_cluster,
                    i.impact.service,
                    lost.len(),
                    lost.join(", "),
                    p.until,
                    i.impact.remaining,
                    if i.impact.unreachable {
                        " — UNREACHABLE"
                    } else {
                        ""
                    }
                )?;
            }
        }
        Ok(())
    }
}

/// One phase of an event: what has happened, how long a loss lasts, and the events that make it.
type Phase<'a> = (&'a str, &'a str, Vec<LifecycleEvent>);

/// One phase of an event as the control planes that read its cluster hold the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseAbsences {
    /// What has happened.
    pub when: String,
    /// How long what is absent stays absent.
    pub until: String,
    /// Whether every control plane reading the cluster reports ready (S34).
    pub ready: bool,
    /// Per control plane reading the cluster that holds none of its shards in this phase: why.
    pub absent: BTreeMap<ClusterId, Absence>,
}

/// Per phase of an event, which control planes hold none of the cluster's shards, and why: what
/// [`simulate_event`] counts and `meshspan explain --event` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAbsences {
    /// The event.
    pub event: ClusterEvent,
    /// The istiod simulated.
    pub profile: LifecycleProfile,
    /// The event's cluster.
    pub cluster: ClusterId,
    /// Every client cluster served by a control plane that reads the cluster through a remote
    /// secret: that control plane.
    pub control_planes: BTreeMap<ClusterId, ClusterId>,
    /// The phases, in order.
    pub phases: Vec<PhaseAbsences>,
}

impl EventAbsences {
    /// Why, in `phase`, the proxies of cluster `client` get none of the cluster's endpoints;
    /// `None` when they get them (or their control plane does not read the cluster).
    pub fn absence(&self, phase: &PhaseAbsences, client: &ClusterId) -> Option<Absence> {
        self.control_planes
            .get(client)
            .and_then(|cp| phase.absent.get(cp))
            .copied()
    }

    /// Splits the endpoints the proxies of `client` would be handed into those istiod pushes in
    /// `phase` and those it withholds because the cluster's shards are absent, with why.
    pub fn withhold(
        &self,
        phase: &PhaseAbsences,
        client: &ClusterId,
        endpoints: Vec<EdsEndpoint>,
    ) -> (Vec<EdsEndpoint>, Vec<(EdsEndpoint, Absence)>) {
        let Some(why) = self.absence(phase, client) else {
            return (endpoints, Vec::new());
        };
        let (gone, kept): (Vec<_>, Vec<_>) = endpoints
            .into_iter()
            .partition(|e| e.cluster.as_ref() == Some(&self.cluster));
        (kept, gone.into_iter().map(|e| (e, why)).collect())
    }
}

/// Runs `event` through mesh-eds' `RemoteClusters` for every control plane that reads its
/// cluster through a remote secret, under `profile`: per phase, which of them hold none of the
/// cluster's shards, and why.
///
/// ```
/// use mesh_eds::{Absence, LifecycleProfile};
/// use mesh_model::MeshDocument;
/// use mesh_topology::event_absences;
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: demo}
/// spec:
///   clusters: [{name: east}, {name: west, controlPlane: east}]
///   services:
///   - {name: foo, namespace: ns, ports: [{port: 80}], endpoints: [{cluster: west, address: 10.2.0.1}]}
/// "#)?;
/// let old = event_absences(&doc, &"secret-rotated:west".parse()?, LifecycleProfile::IstioPre61044)?;
/// let east = "east".parse()?;
/// // The old credentials serve until the new ones sync; then the shards are wiped.
/// assert_eq!(old.absence(&old.phases[0], &east), None);
/// assert_eq!(old.absence(&old.phases[1], &east), Some(Absence::Wiped));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn event_absences(
    doc: &MeshDocument,
    event: &ClusterEvent,
    profile: LifecycleProfile,
) -> Result<EventAbsences, ClusterEventError> {
    let spec = &doc.spec;
    let name = event.cluster();
    let Some(target) = spec.clusters.iter().find(|c| c.name.as_str() == name) else {
        return Err(ClusterEventError::UnknownCluster {
            event: event.to_string(),
            cluster: name.to_owned(),
        });
    };
    let x = target.name.clone();
    // The control planes that read x through a remote secret: its primary when it is a remote,
    // and every primary that watches it.
    let readers: BTreeSet<&ClusterId> = spec
        .clusters
        .iter()
        .filter(|p| p.control_plane.is_none() && p.name != x)
        .filter(|p| target.control_plane.as_ref() == Some(&p.name) || p.watches.contains(&x))
        .map(|p| &p.name)
        .collect();
    if readers.is_empty() {
        return Err(ClusterEventError::NoRemoteSecret {
            event: event.to_string(),
            cluster: name.to_owned(),
        });
    }
    // What x's registry lists: the hosts of the services with endpoints there.
    let content: BTreeSet<String> = DocumentEds::new(doc, Features::default())
        .services
        .iter()
        .filter(|s| s.endpoints.iter().any(|e| e.cluster.as_ref() == Some(&x)))
        .map(|s| s.cluster.host.clone())
        .collect();
    let secret = |kubeconfig: &str| LifecycleEvent::SecretChanged {
        secret: RemoteSecret {
            namespace: "istio-system".into(),
            name: format!("istio-remote-secret-{x}"),
            labeled: true,
            data: BTreeMap::from([(x.clone(), kubeconfig.to_owned())]),
        },
        views: BTreeMap::new(),
    };
    let (steady, phases): (Vec<LifecycleEvent>, Vec<Phase<'_>>) = match event {
        ClusterEvent::SecretRotated { .. } => (
            vec![secret("before"), LifecycleEvent::ClusterSynced(x.clone())],
            vec![
                (
                    "the new credentials are stored, not synced yet",
                    "until the new credentials sync",
                    vec![secret("after")],
                ),
                (
                    "the new credentials synced",
                    "until istiod restarts or the endpoints change",
                    vec![LifecycleEvent::ClusterSynced(x.clone())],
                ),
            ],
        ),
        ClusterEvent::SecretDeleted { .. } => (
            vec![secret("before"), LifecycleEvent::ClusterSynced(x.clone())],
            vec![(
                "the remote secret is deleted",
                "until a remote secret for the cluster is added again",
                vec![LifecycleEvent::SecretDeleted {
                    namespace: "istio-system".into(),
                    name: format!("istio-remote-secret-{x}"),
                }],
            )],
        ),
        ClusterEvent::SyncTimeout { .. } => (
            // Before: served as if x had synced.
            vec![],
            vec![
                (
                    "istiod started, the cluster not synced yet",
                    "until the cluster syncs",
                    vec![secret("before")],
                ),
                (
                    "PILOT_REMOTE_CLUSTER_TIMEOUT elapsed without a sync",
                    "until the cluster syncs",
                    vec![LifecycleEvent::SyncTimeout(x.clone())],
                ),
            ],
        ),
    };
    let mut out: Vec<PhaseAbsences> = phases
        .iter()
        .map(|(when, until, _)| PhaseAbsences {
            when: (*when).to_owned(),
            until: (*until).to_owned(),
            ready: true,
            absent: BTreeMap::new(),
        })
        .collect();
    for &reader in &readers {
        let mut mc = RemoteClusters::new(LifecycleConfig {
            config_cluster: Some(reader.clone()),
            system_namespace: "istio-system".into(),
            config_cluster_synced: true,
            content: BTreeMap::from([(x.clone(), content.clone())]),
            profile,
            ..LifecycleConfig::default()
        });
        for e in &steady {
            mc.apply(e);
        }
        for ((_, _, events), phase) in phases.iter().zip(&mut out) {
            for e in events {
                mc.apply(e);
            }
            phase.ready &= mc.ready();
            if let Some(why) = mc.absence(&x) {
                phase.absent.insert(reader.clone(), why);
            }
        }
    }
    // The clients each reader serves.
    let control_planes = spec
        .clusters
        .iter()
        .filter(|c| readers.contains(c.managing_control_plane()))
        .map(|c| (c.name.clone(), c.managing_control_plane().clone()))
        .collect();
    Ok(EventAbsences {
        event: event.clone(),
        profile,
        cluster: x,
        control_planes,
        phases: out,
    })
}

/// Runs `event` for every control plane that reads its cluster through a remote secret, under
/// `profile` ([`event_absences`]), and compares each phase with the steady state before it.
///
/// ```
/// use mesh_eds::LifecycleProfile;
/// use mesh_model::MeshDocument;
/// use mesh_topology::simulate_event;
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: demo}
/// spec:
///   clusters: [{name: east}, {name: west, controlPlane: east}]
///   services:
///   - {name: foo, namespace: ns, ports: [{port: 80}], endpoints: [{cluster: west, address: 10.2.0.1}]}
/// "#)?;
/// let modern = simulate_event(&doc, &"secret-rotated:west".parse()?, LifecycleProfile::IstioModern)?;
/// assert!(modern.phases.iter().all(|p| p.impacts.is_empty())); // make-before-break
/// let old = simulate_event(&doc, &"secret-rotated:west".parse()?, LifecycleProfile::IstioPre61044)?;
/// assert!(old.any_unreachable()); // wiped until istiod restarts
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn simulate_event(
    doc: &MeshDocument,
    event: &ClusterEvent,
    profile: LifecycleProfile,
) -> Result<EventWhatIf, ClusterEventError> {
    let absences = event_absences(doc, event, profile)?;
    let x = &absences.cluster;
    let eds = DocumentEds::new(doc, Features::default());
    let mut out = Vec::new();
    for phase in &absences.phases {
        let mut impacts: Vec<EventImpact> = Vec::new();
        for c in absences.control_planes.keys() {
            if absences.absence(phase, c).is_none() {
                continue;
            }
            let class = eds.class_for_cluster(c, Profile::IstioModern);
            for s in &eds.services {
                let visible = eds.scoped_endpoints(s, &class).visible;
                let total = visible.len();
                let (_, withheld) = absences.withhold(phase, c, visible);
                let lost: Vec<IpAddr> = withheld
                    .iter()
                    .filter_map(|(e, _)| e.address().parse().ok())
                    .collect();
                if lost.is_empty() {
                    continue;
                }
                let remaining = total - withheld.len();
                let key = s.service.to_string();
                if impacts
                    .iter()
                    .any(|i| i.client_cluster == c.as_str() && i.impact.service == key)
                {
                    continue; // another port of the same service
                }
                impacts.push(EventImpact {
                    client_cluster: c.to_string(),
                    impact: Impact {
                        client_network: class
                            .network
                            .as_ref()
                            .map_or(String::new(), |n| n.to_string()),
                        service: key,
                        lost: vec![LostEndpoints {
                            cluster: x.to_string(),
                            // istiod holds no registry of the cluster at this phase, so it
                            // does not publish its endpoints.
                            reason: LossReason::NotPublished {
                                cluster: x.to_string(),
                            },
                            addresses: lost,
                        }],
                        remaining,
                        unreachable: remaining == 0,
                        last_config: false,
                    },
                });
            }
        }
        impacts.sort_by(|a, b| {
            (&a.client_cluster, &a.impact.service).cmp(&(&b.client_cluster, &b.impact.service))
        });
        out.push(EventPhase {
            when: phase.when.clone(),
            until: phase.until.clone(),
            ready: phase.ready,
            impacts,
        });
    }
    Ok(EventWhatIf {
        event: event.clone(),
        profile: profile.to_string(),
        phases: out,
    })
}
