//! [`crate::EdsStore`]'s inputs as plain maps: each [`Delta`] restated without indexes, caches or
//! tombstones, and every (class, service) answered by the oracle from scratch. What the store's
//! incremental property test and its fuzz target compare the store against.

use std::collections::{BTreeMap, BTreeSet};

use mesh_model::{ClusterId, Gateway};

use super::{OracleError, assignment, legacy_assignment};
use crate::input::{ClusterRequest, EdsEndpoint, Features, ProxyClass, ServiceRequest};
use crate::legacy::LegacyNetworks;
use crate::policy::LocalityPolicy;
use crate::scope::{ScopeProxy, ServiceScope};
use crate::store::Delta;
use crate::wire::{self, EncodeOptions};

/// One service of the model: its latest request and its shards in cluster order.
#[derive(Debug, Clone)]
struct Service {
    request: ClusterRequest,
    shards: BTreeMap<Option<ClusterId>, Vec<(String, EdsEndpoint)>>,
}

/// The store's inputs as the deltas describe them.
///
/// ```
/// use mesh_eds::oracle::StoreModel;
/// use mesh_eds::{Delta, EdsEndpoint, EdsStore, Features, ProxyClass};
/// let deltas = vec![
///     Delta::AddClass(ProxyClass::default()),
///     Delta::UpsertEndpoint {
///         service: "outbound|80||foo.ns1".parse()?, cluster: None, key: "a".into(),
///         endpoint: EdsEndpoint { addresses: vec!["10.0.0.1".into()], port: 80, ..Default::default() },
///     },
/// ];
/// let mut store = EdsStore::new(Features::default());
/// let mut model = StoreModel::new(Features::default());
/// store.apply(deltas.clone());
/// model.apply(&deltas);
/// let class = ProxyClass::default();
/// let expected = model.expected(&class, "outbound|80||foo.ns1").and_then(Result::ok);
/// assert!(expected.is_some());
/// assert_eq!(store.load().encoded(&class, "outbound|80||foo.ns1").ok(), expected);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StoreModel {
    features: Features,
    options: EncodeOptions,
    services: BTreeMap<String, Service>,
    mtls: BTreeMap<String, bool>,
    scopes: BTreeMap<String, ServiceScope>,
    policies: BTreeMap<String, LocalityPolicy>,
    gateways: Vec<Gateway>,
    legacy: Option<LegacyNetworks>,
    classes: BTreeSet<ProxyClass>,
}

impl StoreModel {
    /// No inputs, as [`crate::EdsStore::new`].
    pub fn new(features: Features) -> Self {
        Self {
            features,
            ..Self::default()
        }
    }

    /// Encodes with `options`, as [`crate::EdsStore::with_encode_options`].
    pub fn with_encode_options(mut self, options: EncodeOptions) -> Self {
        self.options = options;
        self
    }

    /// One [`crate::EdsStore::apply`]: each delta in order, then every service left without
    /// endpoints dropped.
    pub fn apply<'d>(&mut self, deltas: impl IntoIterator<Item = &'d Delta>) {
        for d in deltas {
            self.delta(d);
        }
        self.services
            .retain(|_, s| s.shards.values().any(|shard| !shard.is_empty()));
    }

    fn service(&mut self, request: &ClusterRequest) -> &mut Service {
        let s = self
            .services
            .entry(request.name())
            .or_insert_with(|| Service {
                request: request.clone(),
                shards: BTreeMap::new(),
            });
        // The last request given for a cluster name wins.
        s.request = request.clone();
        s
    }

    fn delta(&mut self, d: &Delta) {
        match d {
            Delta::UpsertEndpoint {
                service,
                cluster,
                key,
                endpoint,
            } => {
                let shard = self
                    .service(service)
                    .shards
                    .entry(cluster.clone())
                    .or_default();
                upsert(shard, key, endpoint);
            }
            Delta::RemoveEndpoint {
                service,
                cluster,
                key,
            } => {
                if let Some(shard) = self
                    .services
                    .get_mut(&service.name())
                    .and_then(|s| s.shards.get_mut(cluster))
                {
                    shard.retain(|(k, _)| k != key);
                }
            }
            Delta::ReplaceShard {
                service,
                cluster,
                endpoints,
            } => {
                let mut shard = Vec::new();
                for (key, endpoint) in endpoints {
                    upsert(&mut shard, key, endpoint);
                }
                self.service(service).shards.insert(cluster.clone(), shard);
            }
            Delta::RemoveShard { service, cluster } => {
                if let Some(s) = self.services.get_mut(&service.name()) {
                    s.shards.remove(cluster);
                }
            }
            Delta::MtlsAllowed { service, allowed } => {
                self.mtls.insert(service.name(), *allowed);
            }
            Delta::Scope { service, scope } => {
                self.scopes.insert(service.name(), scope.clone());
            }
            Delta::Locality { service, policy } => match policy {
                Some(p) => {
                    self.policies.insert(service.name(), (**p).clone());
                }
                None => {
                    self.policies.remove(&service.name());
                }
            },
            Delta::Gateways(g) => self.gateways.clone_from(g),
            Delta::MeshNetworks(l) => self.legacy.clone_from(l),
            Delta::AddClass(c) => {
                self.classes.insert(c.clone());
            }
            Delta::RemoveClass(c) => {
                self.classes.remove(c);
            }
        }
    }

    /// The classes served, sorted.
    pub fn classes(&self) -> impl Iterator<Item = &ProxyClass> {
        self.classes.iter()
    }

    /// The services' cluster names, sorted.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.keys().map(String::as_str)
    }

    /// A service's endpoints in Istio's order (shards by cluster id, registry order within).
    pub fn endpoints(&self, name: &str) -> Option<Vec<EdsEndpoint>> {
        let s = self.services.get(name)?;
        Some(
            s.shards
                .values()
                .flat_map(|shard| shard.iter().map(|(_, e)| e.clone()))
                .collect(),
        )
    }

    /// The bytes `class` should receive for `name`, from the oracle: `None` when the class or
    /// the service is not served; the oracle's error where Istio fails (or where the oracle does
    /// not cover the class's profile: [`OracleError::ProfileNotCovered`]).
    pub fn expected(&self, class: &ProxyClass, name: &str) -> Option<Result<Vec<u8>, OracleError>> {
        if !self.classes.contains(class) {
            return None;
        }
        let service = self.services.get(name)?;
        let mut endpoints = self.endpoints(name)?;
        // The scope stage (S7–S24) itself is not restated: the model checks the store's
        // bookkeeping of it (which encoding each class reads), through the one rule function.
        if let Some(scope) = self.scopes.get(name)
            && !class.profile.is_legacy()
        {
            let sharded = service
                .shards
                .iter()
                .flat_map(|(c, shard)| shard.iter().map(move |(_, e)| (c.as_ref(), e)));
            endpoints = scope.visible(&ScopeProxy::of(class), sharded);
        }
        let request = ServiceRequest {
            locality: self
                .policies
                .get(name)
                .unwrap_or(LocalityPolicy::istio_default()),
            cluster: &service.request,
            endpoints: &endpoints,
            mtls_allowed: self.mtls.get(name).copied().unwrap_or(true),
            features: self.features,
        };
        let cla = if class.profile.is_legacy() {
            legacy_assignment(self.legacy.as_ref(), class, &request)
        } else {
            assignment(&self.gateways, class, &request)
        };
        Some(cla.map(|cla| {
            let mut buf = Vec::new();
            wire::encode_into_with(&cla, self.options, &mut buf);
            buf
        }))
    }
}

/// Replaces `key`'s endpoint in place, or appends it.
fn upsert(shard: &mut Vec<(String, EdsEndpoint)>, key: &str, endpoint: &EdsEndpoint) {
    match shard.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = endpoint.clone(),
        None => shard.push((key.to_owned(), endpoint.clone())),
    }
}
