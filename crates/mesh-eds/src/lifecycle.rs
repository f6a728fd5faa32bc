//! The remote-cluster lifecycle (rules S25–S37 of `spec/service-scope.md`): remote secrets (or
//! kubeconfig files) added, rotated and deleted, clusters syncing or timing out, and which
//! endpoint shards istiod serves after each event. A pure state machine: events in
//! ([`RemoteClusters::apply`]), the shard changes out, read from `pkg/kube/multicluster`
//! (`secretcontroller.go`, `cluster.go`, `clusterstore.go`, `component.go`) and the kube
//! registry's `multicluster.go` / the aggregate controller.
//!
//! A *generation* is one `multicluster.Cluster` built from one kubeconfig; generations are
//! numbered globally, the config cluster being 1. Each generation has a *view*: the hostnames
//! with endpoints its client lists, which its registry writes as shards `Kubernetes/<cluster>`
//! once synced. [`ShardChange`]s say which (cluster, hostname) shards appeared or went; a control
//! plane turns them into [`crate::Delta`]s with the endpoints it holds ([`shard_deltas`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use mesh_model::ClusterId;

use crate::input::{ClusterRequest, EdsEndpoint};
use crate::store::Delta;

/// Which istiod's lifecycle to reproduce (S29, S30).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LifecycleProfile {
    /// istio/istio master (`istio-modern`): rotation is make-before-break; the superseded
    /// registry's close leaves the shards the new one wrote (S29).
    #[default]
    IstioModern,
    /// Before istio/istio#61044 (1.30.x/1.31.x before their backports): closing a superseded
    /// registry removed the cluster's shard key unconditionally, so a rotated cluster stays
    /// empty until istiod restarts or its endpoints change (S30, istio/istio#61043).
    IstioPre61044,
}

impl LifecycleProfile {
    /// The name as the conformance cases write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IstioModern => "istio-modern",
            Self::IstioPre61044 => "istio-pre-61044",
        }
    }
}

impl fmt::Display for LifecycleProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lifecycle profile name that is not `istio-modern` or `istio-pre-61044`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("unknown lifecycle profile {value:?} (expected istio-modern or istio-pre-61044)")]
pub struct LifecycleProfileError {
    /// The offending value.
    pub value: String,
}

impl FromStr for LifecycleProfile {
    type Err = LifecycleProfileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::IstioModern, Self::IstioPre61044]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| LifecycleProfileError {
                value: s.to_owned(),
            })
    }
}

/// Where istiod reads remote clusters from (S26, S37).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClusterSource {
    /// Secrets labelled `istio/multiCluster=true` in istiod's namespace (the default).
    #[default]
    Secrets,
    /// Kubeconfig files in `PILOT_MULTICLUSTER_KUBECONFIG_PATH`.
    Files,
}

/// One remote secret as istiod's informer sees it. Its data keys are cluster ids, its values
/// kubeconfigs (compared, never printed: [`fmt::Debug`] shows their lengths only).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RemoteSecret {
    /// The secret's namespace.
    pub namespace: String,
    /// The secret's name.
    pub name: String,
    /// Whether it carries `istio/multiCluster=true`.
    pub labeled: bool,
    /// Cluster id → kubeconfig.
    pub data: BTreeMap<ClusterId, String>,
}

impl fmt::Debug for RemoteSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data: BTreeMap<&str, String> = self
            .data
            .iter()
            .map(|(c, k)| (c.as_str(), format!("<{} bytes>", k.len())))
            .collect();
        f.debug_struct("RemoteSecret")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("labeled", &self.labeled)
            .field("data", &data)
            .finish()
    }
}

/// One lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleEvent {
    /// A secret was added or updated (both are processed alike, S27). `views` overrides, for the
    /// generations this event creates, what each cluster's client lists.
    SecretChanged {
        /// The secret.
        secret: RemoteSecret,
        /// Cluster id → hostnames with endpoints (default: the cluster's current content).
        views: BTreeMap<ClusterId, BTreeSet<String>>,
    },
    /// A secret was deleted (S31).
    SecretDeleted {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The cluster's latest generation finished its informer and handler sync (S28, S29).
    ClusterSynced(ClusterId),
    /// `PILOT_REMOTE_CLUSTER_TIMEOUT` elapsed for the cluster's latest generation (S33).
    SyncTimeout(ClusterId),
    /// The config cluster's components synced (S34).
    ConfigClusterSynced,
    /// The remote cluster's content changed: live generations observe it (S35).
    ContentChanged {
        /// The cluster.
        cluster: ClusterId,
        /// Its hostnames with endpoints now.
        services: BTreeSet<String>,
    },
    /// A kubeconfig file was written; `None` = unparsable (the last good content stays, S37).
    FileWritten {
        /// The file name.
        file: String,
        /// Its cluster id and kubeconfig.
        content: Option<(ClusterId, String)>,
    },
    /// A kubeconfig file was removed (S37).
    FileRemoved {
        /// The file name.
        file: String,
    },
}

/// A shard `Kubernetes/<cluster>` of a hostname that appeared or went.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardChange {
    /// The cluster.
    pub cluster: ClusterId,
    /// The service hostname.
    pub hostname: String,
    /// Present after the event.
    pub present: bool,
}

/// Who registered a cluster id (first writer wins, S27).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Secret(String),
    File,
}

#[derive(Debug, Clone)]
struct Generation {
    cluster: ClusterId,
    kubeconfig: String,
    view: BTreeSet<String>,
    synced: bool,
    timed_out: bool,
    stopped: bool,
    /// The component this generation's replaced in the component map (a rotation, S29).
    replaced: Option<u32>,
}

#[derive(Debug, Clone)]
struct Stored {
    owner: Owner,
    generation: u32,
}

/// A remote cluster's status as `ListRemoteClusters` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ClusterStatus {
    /// Synced.
    Synced,
    /// Not synced yet.
    Syncing,
    /// Not synced within `PILOT_REMOTE_CLUSTER_TIMEOUT` (S33).
    Timeout,
    /// Stopped.
    Closed,
}

impl ClusterStatus {
    /// The text form (`synced`, `syncing`, `timeout`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::Syncing => "syncing",
            Self::Timeout => "timeout",
            Self::Closed => "closed",
        }
    }
}

/// The configuration of a [`RemoteClusters`] machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleConfig {
    /// istiod's own cluster id (generation 1; never rotates).
    pub config_cluster: Option<ClusterId>,
    /// The namespace watched for remote secrets.
    pub system_namespace: String,
    /// Whether the config cluster's components are synced at the start.
    pub config_cluster_synced: bool,
    /// Secrets or files.
    pub source: ClusterSource,
    /// Shards present at the start (normally the config cluster's): cluster → hostnames.
    pub initial_shards: BTreeMap<ClusterId, BTreeSet<String>>,
    /// Cluster → hostnames with endpoints there: what a new generation lists.
    pub content: BTreeMap<ClusterId, BTreeSet<String>>,
    /// Kubeconfigs whose client cannot be built (nothing is stored for them, S27).
    pub client_build_fails: BTreeSet<String>,
    /// Which istiod to reproduce.
    pub profile: LifecycleProfile,
    /// `PILOT_REMOTE_CLUSTER_TIMEOUT` is 0: generations never time out, and
    /// [`LifecycleEvent::SyncTimeout`] changes nothing (S33).
    pub sync_timeout_disabled: bool,
}

/// istiod's remote-cluster registry state (S25–S37).
///
/// ```
/// use std::collections::{BTreeMap, BTreeSet};
/// use mesh_eds::{LifecycleConfig, LifecycleEvent, RemoteClusters, RemoteSecret};
/// let west: mesh_model::ClusterId = "west".parse()?;
/// let mut mc = RemoteClusters::new(LifecycleConfig {
///     config_cluster: Some("east".parse()?),
///     system_namespace: "istio-system".into(),
///     config_cluster_synced: true,
///     content: BTreeMap::from([(west.clone(), BTreeSet::from(["reviews.bookinfo.svc.cluster.local".to_owned()]))]),
///     ..Default::default()
/// });
/// let secret = |kubeconfig: &str| LifecycleEvent::SecretChanged {
///     secret: RemoteSecret {
///         namespace: "istio-system".into(), name: "istio-remote-secret-west".into(), labeled: true,
///         data: BTreeMap::from([(west.clone(), kubeconfig.to_owned())]),
///     },
///     views: BTreeMap::new(),
/// };
/// mc.apply(&secret("v1"));
/// assert!(!mc.ready()); // west has not synced yet
/// let appeared = mc.apply(&LifecycleEvent::ClusterSynced(west.clone()));
/// assert_eq!(appeared.len(), 1);
/// // A rotation is make-before-break: nothing disappears, before or after the new sync.
/// assert!(mc.apply(&secret("v2")).is_empty());
/// assert!(mc.apply(&LifecycleEvent::ClusterSynced(west.clone())).is_empty());
/// assert_eq!(mc.shards_present(), vec![(west, "reviews.bookinfo.svc.cluster.local".to_owned())]);
/// # Ok::<(), mesh_model::IdError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RemoteClusters {
    config: LifecycleConfig,
    config_synced: bool,
    next: u32,
    generations: BTreeMap<u32, Generation>,
    store: BTreeMap<ClusterId, Stored>,
    components: BTreeMap<ClusterId, u32>,
    registries: BTreeMap<ClusterId, u32>,
    closed: BTreeSet<u32>,
    krt: BTreeMap<ClusterId, u32>,
    shards: BTreeMap<ClusterId, BTreeSet<String>>,
    files: BTreeMap<String, (ClusterId, String)>,
    /// The shards, before the current event, of each cluster it changed.
    before: BTreeMap<ClusterId, BTreeSet<String>>,
}

/// The config cluster's generation.
const CONFIG_GENERATION: u32 = 1;

impl RemoteClusters {
    /// The state before the first event.
    pub fn new(config: LifecycleConfig) -> Self {
        let mut components = BTreeMap::new();
        let mut registries = BTreeMap::new();
        if let Some(c) = &config.config_cluster {
            components.insert(c.clone(), CONFIG_GENERATION);
            registries.insert(c.clone(), CONFIG_GENERATION);
        }
        let shards = config
            .initial_shards
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(c, s)| (c.clone(), s.clone()))
            .collect();
        Self {
            config_synced: config.config_cluster_synced,
            config,
            next: CONFIG_GENERATION + 1,
            generations: BTreeMap::new(),
            store: BTreeMap::new(),
            components,
            registries,
            closed: BTreeSet::new(),
            krt: BTreeMap::new(),
            shards,
            files: BTreeMap::new(),
            before: BTreeMap::new(),
        }
    }

    /// Applies one event; returns the shards that appeared or went, sorted.
    pub fn apply(&mut self, event: &LifecycleEvent) -> Vec<ShardChange> {
        match event {
            LifecycleEvent::SecretChanged { secret, views } => {
                if self.config.source == ClusterSource::Secrets
                    && secret.namespace == self.config.system_namespace
                {
                    let key = format!("{}/{}", secret.namespace, secret.name);
                    if secret.labeled {
                        self.process_secret(&key, Some(&secret.data), views);
                    } else {
                        // An informer filtered by label sees the label's removal as a delete.
                        self.process_secret(&key, None, views);
                    }
                }
            }
            LifecycleEvent::SecretDeleted { namespace, name } => {
                if self.config.source == ClusterSource::Secrets
                    && *namespace == self.config.system_namespace
                {
                    let key = format!("{namespace}/{name}");
                    self.process_secret(&key, None, &BTreeMap::new());
                }
            }
            LifecycleEvent::ClusterSynced(c) => self.synced(c),
            LifecycleEvent::SyncTimeout(c) => self.timed_out(c),
            LifecycleEvent::ConfigClusterSynced => self.config_synced = true,
            LifecycleEvent::ContentChanged { cluster, services } => {
                self.content_changed(cluster, services);
            }
            LifecycleEvent::FileWritten { file, content } => {
                if self.config.source == ClusterSource::Files
                    && let Some((cluster, kubeconfig)) = content
                {
                    let previous = self
                        .files
                        .insert(file.clone(), (cluster.clone(), kubeconfig.clone()));
                    if let Some((p, _)) = previous {
                        self.reconcile_file_cluster(&p);
                    }
                    self.reconcile_file_cluster(cluster);
                }
            }
            LifecycleEvent::FileRemoved { file } => {
                if self.config.source == ClusterSource::Files
                    && let Some((p, _)) = self.files.remove(file)
                {
                    self.reconcile_file_cluster(&p);
                }
            }
        }
        let mut changes = Vec::new();
        for (c, before) in std::mem::take(&mut self.before) {
            let empty = BTreeSet::new();
            let after = self.shards.get(&c).unwrap_or(&empty);
            for h in before.difference(after) {
                changes.push(ShardChange {
                    cluster: c.clone(),
                    hostname: h.clone(),
                    present: false,
                });
            }
            for h in after.difference(&before) {
                changes.push(ShardChange {
                    cluster: c.clone(),
                    hostname: h.clone(),
                    present: true,
                });
            }
        }
        changes.sort();
        changes
    }

    /// S27: a secret's data (`None` = the secret is gone) under its informer key.
    fn process_secret(
        &mut self,
        key: &str,
        data: Option<&BTreeMap<ClusterId, String>>,
        views: &BTreeMap<ClusterId, BTreeSet<String>>,
    ) {
        let owner = Owner::Secret(key.to_owned());
        let registered: Vec<ClusterId> = self
            .store
            .iter()
            .filter(|(c, s)| s.owner == owner && data.is_none_or(|d| !d.contains_key(*c)))
            .map(|(c, _)| c.clone())
            .collect();
        for c in registered {
            self.delete(&c);
        }
        for (c, kubeconfig) in data.into_iter().flatten() {
            self.register(c, kubeconfig, &owner, views.get(c));
        }
    }

    /// One data entry (S27): ignored for the config cluster or a cluster another source
    /// registered; a no-op for an unchanged kubeconfig; else an update or an add.
    fn register(
        &mut self,
        c: &ClusterId,
        kubeconfig: &str,
        owner: &Owner,
        view: Option<&BTreeSet<String>>,
    ) {
        if self.config.config_cluster.as_ref() == Some(c) {
            return;
        }
        let rotation = match self.store.get(c) {
            Some(stored) if stored.owner != *owner => return,
            Some(stored) => {
                if self
                    .generations
                    .get(&stored.generation)
                    .is_some_and(|g| g.kubeconfig == kubeconfig)
                {
                    return;
                }
                true
            }
            None => false,
        };
        // A client that cannot be built stores nothing; the previous generation stays.
        if self.config.client_build_fails.contains(kubeconfig) {
            return;
        }
        let number = self.next;
        self.next += 1;
        let view = view
            .or_else(|| self.config.content.get(c))
            .cloned()
            .unwrap_or_default();
        let replaced = self.components.insert(c.clone(), number);
        self.generations.insert(
            number,
            Generation {
                cluster: c.clone(),
                kubeconfig: kubeconfig.to_owned(),
                view,
                synced: false,
                timed_out: false,
                stopped: false,
                replaced: if rotation { replaced } else { None },
            },
        );
        self.store.insert(
            c.clone(),
            Stored {
                owner: owner.clone(),
                generation: number,
            },
        );
        if !rotation {
            // S28: an added cluster's registry joins the aggregate at once (empty until synced).
            self.registries.insert(c.clone(), number);
        }
    }

    fn set_shards(&mut self, c: &ClusterId, hostnames: Option<BTreeSet<String>>) {
        if !self.before.contains_key(c) {
            let old = self.shards.get(c).cloned().unwrap_or_default();
            self.before.insert(c.clone(), old);
        }
        match hostnames.filter(|h| !h.is_empty()) {
            Some(h) => self.shards.insert(c.clone(), h),
            None => self.shards.remove(c),
        };
    }

    fn latest(&self, c: &ClusterId) -> Option<u32> {
        self.store.get(c).map(|s| s.generation)
    }

    /// S28/S29/S33: the latest generation synced; a pending rotation swaps, prunes and closes.
    fn synced(&mut self, c: &ClusterId) {
        let Some(number) = self.latest(c) else {
            return;
        };
        let Some(g) = self.generations.get_mut(&number) else {
            return;
        };
        if g.synced || g.stopped {
            return;
        }
        g.synced = true;
        let view = g.view.clone();
        let replaced = g.replaced;
        self.krt.insert(c.clone(), number);
        let swap = self.registries.get(c) != Some(&number);
        self.registries.insert(c.clone(), number);
        // The registry writes its view; a swap's PruneShard removes what it does not know.
        self.set_shards(c, Some(view));
        if swap {
            if let Some(old) = replaced {
                self.close(c, old, false);
            }
            self.stop_older(c, number);
        }
    }

    /// Closes component `number` of cluster `c`: it removes the shard key when its registry is
    /// the aggregate's (`DeleteRegistryIfCurrent`), and always before istio/istio#61044 (S30).
    fn close(&mut self, c: &ClusterId, number: u32, current: bool) {
        self.closed.insert(number);
        if let Some(g) = self.generations.get_mut(&number) {
            g.stopped = true;
        }
        if current || self.config.profile == LifecycleProfile::IstioPre61044 {
            self.set_shards(c, None);
        }
    }

    /// Stops every generation of `c` older than `number` (each stopped Run stops the one before).
    fn stop_older(&mut self, c: &ClusterId, number: u32) {
        for (_, g) in self.generations.range_mut(..number) {
            if g.cluster == *c {
                g.stopped = true;
            }
        }
    }

    /// S33: the latest generation did not sync in time.
    fn timed_out(&mut self, c: &ClusterId) {
        if self.config.sync_timeout_disabled {
            return;
        }
        let Some(number) = self.latest(c) else {
            return;
        };
        if let Some(g) = self.generations.get_mut(&number)
            && !g.synced
            && !g.stopped
        {
            g.timed_out = true;
            // S25: ambient's Clusters() omits it and forgets the previous generation.
            self.krt.remove(c);
        }
    }

    /// S31/S32: a cluster's registration is gone.
    fn delete(&mut self, c: &ClusterId) {
        let Some(stored) = self.store.remove(c) else {
            return;
        };
        if let Some(g) = self.generations.get_mut(&stored.generation) {
            g.stopped = true;
        }
        self.krt.remove(c);
        if let Some(component) = self.components.remove(c) {
            let current = self.registries.get(c) == Some(&component);
            if current {
                self.registries.remove(c);
            }
            self.close(c, component, current);
        }
        // S32: the stopped generation's Run stops the one before; a superseded registry still
        // in the aggregate stays there with frozen shards.
        self.stop_older(c, stored.generation);
    }

    /// S35: the remote cluster's content changed; running generations list it.
    fn content_changed(&mut self, c: &ClusterId, services: &BTreeSet<String>) {
        self.config.content.insert(c.clone(), services.clone());
        for g in self.generations.values_mut() {
            if g.cluster == *c && !g.stopped {
                g.view.clone_from(services);
            }
        }
        let serving = self
            .registries
            .get(c)
            .and_then(|n| self.generations.get(n))
            .is_some_and(|g| g.synced && !g.stopped);
        if serving {
            self.set_shards(c, Some(services.clone()));
        }
    }

    /// S37: reconcile one cluster id against the files naming it.
    fn reconcile_file_cluster(&mut self, c: &ClusterId) {
        let named: Vec<String> = self
            .files
            .values()
            .filter(|(fc, _)| fc == c)
            .map(|(_, k)| k.clone())
            .collect();
        match named.as_slice() {
            [] if self.store.get(c).is_some_and(|s| s.owner == Owner::File) => self.delete(c),
            [kubeconfig] => self.register(c, kubeconfig, &Owner::File, None),
            // No file and nothing registered, or a conflict: keep whatever exists.
            _ => {}
        }
    }

    /// Files present at start-up, reconciled once before the first event (S37): a cluster id
    /// two files name is a conflict that registers nothing.
    pub fn with_initial_files(
        mut self,
        files: impl IntoIterator<Item = (String, ClusterId, String)>,
    ) -> Self {
        for (file, cluster, kubeconfig) in files {
            self.files.insert(file, (cluster, kubeconfig));
        }
        let clusters: BTreeSet<ClusterId> = self.files.values().map(|(c, _)| c.clone()).collect();
        for c in &clusters {
            self.reconcile_file_cluster(c);
        }
        self.before.clear();
        self
    }

    /// Every (cluster, hostname) shard present, sorted.
    pub fn shards_present(&self) -> Vec<(ClusterId, String)> {
        self.shards
            .iter()
            .flat_map(|(c, hs)| hs.iter().map(move |h| (c.clone(), h.clone())))
            .collect()
    }

    /// The hostnames cluster `c`'s shards are present for.
    pub fn shards_of(&self, c: &ClusterId) -> Option<&BTreeSet<String>> {
        self.shards.get(c)
    }

    /// `Controller.HasSynced()` (S34): the config cluster synced and every stored generation
    /// synced, timed out or stopped.
    pub fn ready(&self) -> bool {
        self.config_synced
            && self.store.values().all(|s| {
                self.generations
                    .get(&s.generation)
                    .is_none_or(|g| g.synced || g.timed_out || g.stopped)
            })
    }

    /// The component map: cluster → generation (config cluster 1).
    pub fn components(&self) -> &BTreeMap<ClusterId, u32> {
        &self.components
    }

    /// The aggregate controller's registries: cluster → generation.
    pub fn registries(&self) -> &BTreeMap<ClusterId, u32> {
        &self.registries
    }

    /// The cluster store: remote cluster → latest generation.
    pub fn store(&self) -> BTreeMap<ClusterId, u32> {
        self.store
            .iter()
            .map(|(c, s)| (c.clone(), s.generation))
            .collect()
    }

    /// Ambient's KRT `Clusters()`: remote cluster → the generation it serves (S25).
    pub fn krt_clusters(&self) -> &BTreeMap<ClusterId, u32> {
        &self.krt
    }

    /// Generations whose component was closed, sorted.
    pub fn closed_components(&self) -> &BTreeSet<u32> {
        &self.closed
    }

    /// Generations whose client was stopped, sorted.
    pub fn stopped_generations(&self) -> Vec<u32> {
        self.generations
            .iter()
            .filter(|(_, g)| g.stopped)
            .map(|(n, _)| *n)
            .collect()
    }

    /// `ListRemoteClusters`: the config cluster and every stored remote cluster.
    pub fn cluster_status(&self) -> BTreeMap<ClusterId, ClusterStatus> {
        let mut out = BTreeMap::new();
        if let Some(c) = &self.config.config_cluster {
            let s = if self.config_synced {
                ClusterStatus::Synced
            } else {
                ClusterStatus::Syncing
            };
            out.insert(c.clone(), s);
        }
        for (c, s) in &self.store {
            let status = match self.generations.get(&s.generation) {
                Some(g) if g.stopped => ClusterStatus::Closed,
                Some(g) if g.synced => ClusterStatus::Synced,
                Some(g) if g.timed_out => ClusterStatus::Timeout,
                _ => ClusterStatus::Syncing,
            };
            out.insert(c.clone(), status);
        }
        out
    }

    /// Why cluster `c`'s endpoints are absent, when the lifecycle is the reason (for
    /// explanations); `None` when its shards are served.
    pub fn absence(&self, c: &ClusterId) -> Option<Absence> {
        if self.shards.contains_key(c) || self.config.config_cluster.as_ref() == Some(c) {
            return None;
        }
        let Some(stored) = self.store.get(c) else {
            return Some(Absence::NotRegistered);
        };
        let g = self.generations.get(&stored.generation)?;
        Some(if g.timed_out && !g.synced {
            Absence::SyncTimedOut
        } else if !g.synced {
            Absence::NotSynced
        } else {
            Absence::Wiped
        })
    }
}

/// Why a cluster's shards are absent (S27–S33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Absence {
    /// No remote secret (or file) registers the cluster id.
    NotRegistered,
    /// Its latest generation has not synced yet.
    NotSynced,
    /// Its latest generation did not sync within the timeout.
    SyncTimedOut,
    /// Synced, but its shards were removed (the pre-istio#61044 rotation, or empty content).
    Wiped,
}

impl Absence {
    /// The rules that decide it, as `describe` names them.
    pub fn rules(self) -> &'static str {
        match self {
            Self::NotRegistered => "S27, S36",
            Self::NotSynced => "S28",
            Self::SyncTimedOut => "S33",
            Self::Wiped => "S29, S30, S35",
        }
    }

    /// Text naming the rule, for `explain`.
    pub fn describe(self, cluster: &ClusterId) -> String {
        let rules = self.rules();
        match self {
            Self::NotRegistered => format!("no remote secret registers {cluster} ({rules})"),
            Self::NotSynced => format!("{cluster} not synced yet ({rules})"),
            Self::SyncTimedOut => {
                format!("{cluster} did not sync within PILOT_REMOTE_CLUSTER_TIMEOUT ({rules})")
            }
            Self::Wiped => format!("{cluster}'s shards were removed ({rules})"),
        }
    }
}

/// The [`Delta`]s that make a store's shards follow `changes`: a shard that appeared is
/// replaced by the endpoints `endpoints(cluster, hostname)` gives (one `ReplaceShard` per
/// service port the caller holds), a shard that went is removed.
pub fn shard_deltas(
    changes: &[ShardChange],
    mut endpoints: impl FnMut(&ClusterId, &str) -> Vec<(ClusterRequest, Vec<(String, EdsEndpoint)>)>,
    mut services: impl FnMut(&str) -> Vec<ClusterRequest>,
) -> Vec<Delta> {
    let mut out = Vec::new();
    for ch in changes {
        if ch.present {
            for (service, eps) in endpoints(&ch.cluster, &ch.hostname) {
                out.push(Delta::ReplaceShard {
                    service,
                    cluster: Some(ch.cluster.clone()),
                    endpoints: eps,
                });
            }
        } else {
            for service in services(&ch.hostname) {
                out.push(Delta::RemoveShard {
                    service,
                    cluster: Some(ch.cluster.clone()),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(s: &str) -> ClusterId {
        s.parse().unwrap()
    }

    fn hosts(h: &[&str]) -> BTreeSet<String> {
        h.iter().map(|h| (*h).to_owned()).collect()
    }

    fn machine(profile: LifecycleProfile) -> RemoteClusters {
        RemoteClusters::new(LifecycleConfig {
            config_cluster: Some(id("config")),
            system_namespace: "istio-system".into(),
            config_cluster_synced: true,
            initial_shards: BTreeMap::from([(id("config"), hosts(&["a.ns.svc.cluster.local"]))]),
            content: BTreeMap::from([
                (
                    id("west"),
                    hosts(&["a.ns.svc.cluster.local", "b.ns.svc.cluster.local"]),
                ),
                (id("south"), hosts(&["a.ns.svc.cluster.local"])),
            ]),
            client_build_fails: BTreeSet::from(["broken".to_owned()]),
            profile,
            ..Default::default()
        })
    }

    fn secret(name: &str, data: &[(&str, &str)]) -> LifecycleEvent {
        LifecycleEvent::SecretChanged {
            secret: RemoteSecret {
                namespace: "istio-system".into(),
                name: name.into(),
                labeled: true,
                data: data.iter().map(|(c, k)| (id(c), (*k).to_owned())).collect(),
            },
            views: BTreeMap::new(),
        }
    }

    fn deleted(name: &str) -> LifecycleEvent {
        LifecycleEvent::SecretDeleted {
            namespace: "istio-system".into(),
            name: name.into(),
        }
    }

    fn synced(c: &str) -> LifecycleEvent {
        LifecycleEvent::ClusterSynced(id(c))
    }

    fn west_shards(mc: &RemoteClusters) -> usize {
        mc.shards_of(&id("west")).map_or(0, BTreeSet::len)
    }

    #[test]
    fn an_overlapping_secret_does_not_take_over() {
        let mut mc = machine(LifecycleProfile::IstioModern);
        mc.apply(&secret("s0", &[("west", "k0")]));
        mc.apply(&synced("west"));
        assert_eq!(west_shards(&mc), 2);
        // s1 names west too: ignored (first writer wins, istio#36365).
        assert!(mc.apply(&secret("s1", &[("west", "k1")])).is_empty());
        assert_eq!(mc.store()[&id("west")], 2);
        // Deleting the winner unregisters west; s1 is not processed again.
        let gone = mc.apply(&deleted("s0"));
        assert_eq!(gone.len(), 2);
        assert!(gone.iter().all(|c| !c.present));
        assert_eq!(mc.absence(&id("west")), Some(Absence::NotRegistered));
        assert!(mc.store().is_empty());
        // ...until s1 next changes.
        mc.apply(&secret("s1", &[("west", "k1")]));
        assert_eq!(mc.store()[&id("west")], 3);
    }

    #[test]
    fn a_delete_during_a_pending_rotation_leaves_frozen_shards() {
        for (profile, left) in [
            (LifecycleProfile::IstioModern, 2),
            (LifecycleProfile::IstioPre61044, 0),
        ] {
            let mut mc = machine(profile);
            mc.apply(&secret("s0", &[("west", "k0")]));
            mc.apply(&synced("west"));
            mc.apply(&secret("s0", &[("west", "k1")]));
            assert!(!mc.ready(), "a rotation makes readiness false again (S34)");
            mc.apply(&deleted("s0"));
            // S32: the new, unsynced component is closed; the old registry stays registered.
            assert_eq!(west_shards(&mc), left, "{profile}");
            assert_eq!(mc.registries().get(&id("west")), Some(&2));
            assert_eq!(mc.stopped_generations(), vec![2, 3]);
            assert!(mc.ready());
        }
    }

    #[test]
    fn a_rotation_that_never_syncs_keeps_the_old_shards_but_leaves_ambient() {
        let mut mc = machine(LifecycleProfile::IstioModern);
        mc.apply(&secret("s0", &[("west", "k0")]));
        mc.apply(&synced("west"));
        assert_eq!(mc.krt_clusters().get(&id("west")), Some(&2));
        mc.apply(&secret("s0", &[("west", "k1")]));
        // While the rotation is in flight, ambient keeps the previous, ready generation.
        assert_eq!(mc.krt_clusters().get(&id("west")), Some(&2));
        assert!(
            mc.apply(&LifecycleEvent::SyncTimeout(id("west")))
                .is_empty()
        );
        assert_eq!(west_shards(&mc), 2, "the old registry keeps serving (S33)");
        assert!(mc.ready(), "a timed-out generation counts as synced");
        assert_eq!(mc.krt_clusters().get(&id("west")), None, "S25");
        assert_eq!(mc.cluster_status()[&id("west")], ClusterStatus::Timeout);
        // A sync after the timeout proceeds normally.
        assert!(mc.apply(&synced("west")).is_empty());
        assert_eq!(mc.registries()[&id("west")], 3);
        // An added cluster that times out has no shards; its absence says so.
        mc.apply(&secret("s1", &[("south", "k0")]));
        assert_eq!(mc.absence(&id("south")), Some(Absence::NotSynced));
        mc.apply(&LifecycleEvent::SyncTimeout(id("south")));
        assert_eq!(mc.absence(&id("south")), Some(Absence::SyncTimedOut));
        assert_eq!(mc.absence(&id("config")), None);
    }

    #[test]
    fn a_disabled_timeout_never_fires() {
        let mut mc = RemoteClusters::new(LifecycleConfig {
            sync_timeout_disabled: true,
            config_cluster_synced: true,
            system_namespace: "istio-system".into(),
            ..Default::default()
        });
        mc.apply(&secret("s0", &[("west", "k0")]));
        mc.apply(&LifecycleEvent::SyncTimeout(id("west")));
        assert!(!mc.ready(), "readiness still waits for west");
        assert_eq!(mc.cluster_status()[&id("west")], ClusterStatus::Syncing);
    }

    #[test]
    fn a_client_that_cannot_be_built_stores_nothing_and_the_config_cluster_is_ignored() {
        let mut mc = machine(LifecycleProfile::IstioModern);
        mc.apply(&secret("s0", &[("west", "broken")]));
        assert!(mc.store().is_empty());
        mc.apply(&secret("s0", &[("west", "k0")]));
        mc.apply(&synced("west"));
        mc.apply(&secret("s0", &[("west", "broken")]));
        assert_eq!(mc.store()[&id("west")], 2, "the previous generation stays");
        assert!(mc.ready());
        mc.apply(&secret("s2", &[("config", "k")]));
        assert_eq!(mc.components()[&id("config")], 1);
        assert!(!mc.store().contains_key(&id("config")));
        // Secrets in another namespace, or unlabelled, are invisible; losing the label deletes.
        let mut other = secret("s3", &[("south", "k")]);
        if let LifecycleEvent::SecretChanged { secret, .. } = &mut other {
            secret.namespace = "default".into();
        }
        mc.apply(&other);
        assert!(!mc.store().contains_key(&id("south")));
        let mut unlabelled = secret("s0", &[("west", "k0")]);
        if let LifecycleEvent::SecretChanged { secret, .. } = &mut unlabelled {
            secret.labeled = false;
        }
        mc.apply(&unlabelled);
        assert!(mc.store().is_empty());
        assert_eq!(west_shards(&mc), 0);
    }

    #[test]
    fn content_changes_reach_live_registries_only() {
        let mut mc = machine(LifecycleProfile::IstioModern);
        mc.apply(&secret("s0", &[("west", "k0")]));
        let only_a = LifecycleEvent::ContentChanged {
            cluster: id("west"),
            services: hosts(&["a.ns.svc.cluster.local"]),
        };
        assert!(
            mc.apply(&only_a).is_empty(),
            "not synced: nothing served yet"
        );
        assert_eq!(mc.apply(&synced("west")).len(), 1);
        let none = LifecycleEvent::ContentChanged {
            cluster: id("west"),
            services: BTreeSet::new(),
        };
        assert_eq!(mc.apply(&none).len(), 1);
        assert_eq!(mc.absence(&id("west")), Some(Absence::Wiped));
    }

    #[test]
    fn files_reconcile_by_cluster_id() {
        let mut mc = RemoteClusters::new(LifecycleConfig {
            config_cluster_synced: true,
            source: ClusterSource::Files,
            ..Default::default()
        })
        .with_initial_files([
            ("a.yaml".to_owned(), id("west"), "k0".to_owned()),
            ("b.yaml".to_owned(), id("west"), "k1".to_owned()),
        ]);
        assert!(
            mc.store().is_empty(),
            "a conflict at start-up registers nothing"
        );
        let write = |file: &str, c: &str, k: &str| LifecycleEvent::FileWritten {
            file: file.into(),
            content: Some((id(c), k.into())),
        };
        mc.apply(&LifecycleEvent::FileRemoved {
            file: "b.yaml".into(),
        });
        assert_eq!(mc.store()[&id("west")], 2);
        mc.apply(&write("b.yaml", "west", "k2"));
        assert_eq!(mc.store()[&id("west")], 2, "a conflict keeps what exists");
        mc.apply(&LifecycleEvent::FileWritten {
            file: "a.yaml".into(),
            content: None,
        });
        assert_eq!(
            mc.store()[&id("west")],
            2,
            "unparsable content keeps the last good"
        );
        // Rewritten to another id: both ids reconcile (west now has one file: b's k2).
        mc.apply(&write("a.yaml", "south", "k0"));
        assert_eq!(
            mc.store(),
            BTreeMap::from([(id("west"), 3), (id("south"), 4)])
        );
        // Secret events are not read with a file source.
        mc.apply(&deleted("s0"));
        assert_eq!(mc.store().len(), 2);
    }

    fn event() -> impl Strategy<Value = LifecycleEvent> {
        let cluster = prop::sample::select(vec!["west", "south", "config"]);
        prop_oneof![
            (0u8..2, cluster.clone(), 0u8..3).prop_map(|(s, c, k)| {
                let k = if k == 2 {
                    "broken".to_owned()
                } else {
                    format!("k{k}")
                };
                secret(&format!("s{s}"), &[(c, &k)])
            }),
            (0u8..2).prop_map(|s| deleted(&format!("s{s}"))),
            cluster.clone().prop_map(synced),
            cluster
                .clone()
                .prop_map(|c| LifecycleEvent::SyncTimeout(id(c))),
            (cluster, proptest::collection::btree_set("[ab]\\.ns", 0..3)).prop_map(|(c, s)| {
                LifecycleEvent::ContentChanged {
                    cluster: id(c),
                    services: s,
                }
            }),
        ]
    }

    proptest! {
        /// The changes an apply returns, applied to the shards before it, give the shards after
        /// it: a store fed only the changes equals one rebuilt from the state after every event.
        #[test]
        fn changes_equal_a_rebuild_after_every_event(
            events in proptest::collection::vec(event(), 0..24),
            pre in any::<bool>(),
        ) {
            let profile = if pre { LifecycleProfile::IstioPre61044 } else { LifecycleProfile::IstioModern };
            let mut mc = machine(profile);
            let mut followed: BTreeSet<(ClusterId, String)> = mc.shards_present().into_iter().collect();
            for e in &events {
                for ch in mc.apply(e) {
                    let key = (ch.cluster.clone(), ch.hostname.clone());
                    if ch.present {
                        prop_assert!(followed.insert(key), "{ch:?} was already present");
                    } else {
                        prop_assert!(followed.remove(&key), "{ch:?} was not present");
                    }
                }
                let rebuilt: BTreeSet<(ClusterId, String)> = mc.shards_present().into_iter().collect();
                prop_assert_eq!(&followed, &rebuilt);
                // The config cluster's shards never change.
                prop_assert_eq!(mc.shards_of(&id("config")).map(BTreeSet::len), Some(1));
            }
        }
    }
}
