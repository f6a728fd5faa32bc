//! A workload set up for the EDS benches: the engine's inputs, one view per network, the
//! incremental store, and the deltas of the churn and join variants (`shared/bench/WORKLOADS.md`).

use mesh_eds::wire::{self, EncodeOptions};
use mesh_eds::{
    ClusterRequest, Delta, DocumentEds, EdsEndpoint, EdsStore, EncodedService, Features,
    LoadAssignment, LocalityPolicy, PreparedService, Profile, ServicePortEndpoints, ServiceRequest,
    TrafficPolicy, View,
};
use mesh_model::{ClusterId, MeshDocument, NetworkId};

use crate::baseline::{self, IstioGateways};

/// A workload ready to push: the engine's inputs and one view per network.
#[derive(Debug)]
pub struct Workbench {
    /// The engine's inputs.
    pub eds: DocumentEds,
    /// The networks, sorted (one client view each).
    pub networks: Vec<NetworkId>,
    /// One view per network (modern profile), parallel to `networks`.
    pub views: Vec<View>,
    /// Endpoints over all service ports.
    pub endpoints: usize,
    /// Every service's locality policy (Istio's default unless [`Workbench::with_localities`]
    /// turns failover on).
    pub policy: LocalityPolicy,
}

/// One upsert of the churn variant: (service, shard, key, endpoint).
pub type Change = (ClusterRequest, Option<ClusterId>, String, EdsEndpoint);

impl Workbench {
    /// Sets up a document.
    pub fn new(doc: &MeshDocument) -> Self {
        let eds = DocumentEds::new(doc, Features::default());
        let index = eds.shared_index();
        let mut networks: Vec<NetworkId> = doc
            .spec
            .clusters
            .iter()
            .filter_map(|c| c.network.clone())
            .collect();
        networks.sort();
        networks.dedup();
        let views = networks
            .iter()
            .map(|n| {
                View::new(
                    &index,
                    DocumentEds::class_for_network(n, Profile::IstioModern),
                )
            })
            .collect();
        let endpoints = eds.services.iter().map(|s| s.endpoints.len()).sum();
        Self {
            eds,
            networks,
            views,
            endpoints,
            policy: LocalityPolicy::default(),
        }
    }

    /// The workload with its endpoints re-placed in `zones` localities a network (region = the
    /// endpoint's network, zone by position: `<network>/z<i mod zones>`), one view per (network,
    /// locality) instead of one per network, and with `failover` every service under a
    /// DestinationRule with outlier detection: Istio's default locality failover (L4, L8,
    /// L12–L14) for every class, so each view's groups get priorities 0 (its zone), 1 (its
    /// region) and 2 (other regions).
    pub fn with_localities(doc: &MeshDocument, zones: usize, failover: bool) -> Self {
        let mut w = Self::new(doc);
        let zones = zones.max(1);
        for s in &mut w.eds.services {
            for (i, e) in s.endpoints.iter_mut().enumerate() {
                let region = e.network.as_ref().map_or("none", |n| n.as_str());
                e.locality = format!("{region}/z{}", i % zones);
            }
        }
        let index = w.views[0].index().clone();
        w.views = w
            .networks
            .iter()
            .flat_map(|n| {
                let index = &index;
                (0..zones).map(move |z| {
                    let mut class = DocumentEds::class_for_network(n, Profile::IstioModern);
                    class.locality = format!("{}/z{z}", n.as_str());
                    View::new(index, class)
                })
            })
            .collect();
        if failover {
            w.policy.destination_rule = Some(TrafficPolicy {
                outlier_detection: true,
                ..TrafficPolicy::default()
            });
        }
        w
    }

    /// Endpoints × views: criterion's throughput unit (its inverse is the time an endpoint a view).
    pub fn endpoint_views(&self) -> u64 {
        (self.endpoints * self.views.len()) as u64
    }

    /// The request of one service port (mTLS allowed, the document's features).
    pub fn request<'a>(&'a self, s: &'a ServicePortEndpoints) -> ServiceRequest<'a> {
        ServiceRequest {
            locality: &self.policy,
            ..self.eds.request(s)
        }
    }

    /// A full push: every service prepared once ([`PreparedService`]) and shared by every view,
    /// each assignment encoded with `encode` (or only counted when `None`); returns the bytes
    /// written (or the endpoints emitted).
    pub fn push(&self, encode: Option<EncodeOptions>, buf: &mut Vec<u8>) -> usize {
        let index = self.views[0].index();
        self.eds
            .services
            .iter()
            .map(|s| self.push_prepared(&PreparedService::new(index, self.request(s)), encode, buf))
            .sum()
    }

    /// A full push through the fast path: every service prepared and encoded once
    /// ([`EncodedService`]), then each view's bytes written from the cached pieces; returns the
    /// bytes written.
    pub fn push_encoded(&self, options: EncodeOptions, buf: &mut Vec<u8>) -> usize {
        let index = self.views[0].index();
        let mut total = 0;
        for s in &self.eds.services {
            let prepared = PreparedService::new(index, self.request(s));
            total += self.push_encoded_service(&EncodedService::new(&prepared, options), buf);
        }
        total
    }

    /// [`Workbench::push_encoded`] on `threads` threads, each taking every `threads`-th service
    /// (an `EncodedService` is `Send + Sync`; the library itself starts no thread).
    pub fn push_encoded_parallel(&self, options: EncodeOptions, threads: usize) -> usize {
        let index = self.views[0].index();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut buf = Vec::with_capacity(1 << 20);
                        let mut total = 0;
                        for s in self.eds.services.iter().skip(t).step_by(threads) {
                            let prepared = PreparedService::new(index, self.request(s));
                            let encoded = EncodedService::new(&prepared, options);
                            total += self.push_encoded_service(&encoded, &mut buf);
                        }
                        total
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_default())
                .sum()
        })
    }

    /// Every service prepared and encoded once, for the views-only variants.
    pub fn encoded_services(&self, options: EncodeOptions) -> Vec<EncodedService> {
        let index = self.views[0].index();
        self.eds
            .services
            .iter()
            .map(|s| EncodedService::new(&PreparedService::new(index, self.request(s)), options))
            .collect()
    }

    /// Every view of one encoded service (see [`Workbench::push_encoded`]).
    pub fn push_encoded_service(&self, encoded: &EncodedService, buf: &mut Vec<u8>) -> usize {
        let mut total = 0;
        for view in &self.views {
            buf.clear();
            if encoded.encode_into(view, buf).is_ok() {
                total += buf.len();
            }
        }
        total
    }

    /// Every view of one prepared service (see [`Workbench::push`]).
    pub fn push_prepared(
        &self,
        prepared: &PreparedService<'_>,
        encode: Option<EncodeOptions>,
        buf: &mut Vec<u8>,
    ) -> usize {
        let mut total = 0;
        for view in &self.views {
            let Ok(cla) = view.assignment_prepared(prepared) else {
                continue;
            };
            total += match encode {
                Some(options) => {
                    buf.clear();
                    wire::encode_into_with(&cla, options, buf);
                    buf.len()
                }
                None => endpoints_of(&cla),
            };
        }
        total
    }

    /// Every (service, view) assignment (for the encode-only variant).
    pub fn assignments(&self) -> Vec<LoadAssignment> {
        let index = self.views[0].index();
        let mut out = Vec::new();
        for s in &self.eds.services {
            let prepared = PreparedService::new(index, self.request(s));
            out.extend(
                self.views
                    .iter()
                    .filter_map(|v| v.assignment_prepared(&prepared).ok()),
            );
        }
        out
    }

    /// A store holding the whole workload (every view, the gateways, every endpoint keyed by
    /// `address:port#position`), and every endpoint as a [`Change`].
    pub fn store(&self) -> (EdsStore, Vec<Change>) {
        let mut store = EdsStore::new(self.eds.features);
        let mut deltas: Vec<Delta> = self
            .views
            .iter()
            .map(|v| Delta::AddClass(v.class().clone()))
            .collect();
        deltas.push(Delta::Gateways(self.eds.gateways.gateways.clone()));
        let mut all = Vec::with_capacity(self.endpoints);
        for s in &self.eds.services {
            for (i, e) in s.endpoints.iter().enumerate() {
                let key = format!("{}:{}#{i}", e.address(), e.port);
                all.push((s.cluster.clone(), e.cluster.clone(), key, e.clone()));
            }
        }
        store.apply(deltas);
        store.apply(all.iter().cloned().map(upsert));
        (store, all)
    }

    /// A cluster of `n` endpoints joining the network of the first cluster: copies of that
    /// cluster's endpoints (cycled when it has fewer) under a new cluster id and fresh
    /// addresses, as one `ReplaceShard` per service; and the `RemoveShard`s that undo it.
    pub fn joining_cluster(&self, n: usize) -> (Vec<Delta>, Vec<Delta>) {
        let joining: ClusterId = "cluster-joining".parse().expect("a valid cluster id");
        let first = self
            .eds
            .services
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .find_map(|e| e.cluster.clone());
        let source: Vec<(&ClusterRequest, &EdsEndpoint)> = self
            .eds
            .services
            .iter()
            .flat_map(|s| s.endpoints.iter().map(move |e| (&s.cluster, e)))
            .filter(|(_, e)| e.cluster == first)
            .collect();
        let mut shards: Vec<(ClusterRequest, Vec<(String, EdsEndpoint)>)> = Vec::new();
        for i in 0..n {
            let (service, e) = source[i % source.len()];
            let mut e = e.clone();
            let address = format!(
                "100.{}.{}.{}",
                64 + ((i >> 16) & 63),
                (i >> 8) & 255,
                i & 255
            );
            e.addresses = vec![address.clone()];
            e.cluster = Some(joining.clone());
            e.workload_name = format!("joining-{i}");
            let key = format!("{address}:{}", e.port);
            match shards.last_mut() {
                Some((s, list)) if s == service => list.push((key, e)),
                _ => shards.push((service.clone(), vec![(key, e)])),
            }
        }
        // A service whose endpoints were cycled through twice appears twice: merge.
        shards.sort_by_key(|a| a.0.name());
        let mut merged: Vec<(ClusterRequest, Vec<(String, EdsEndpoint)>)> = Vec::new();
        for (service, list) in shards {
            match merged.last_mut() {
                Some((s, l)) if *s == service => l.extend(list),
                _ => merged.push((service, list)),
            }
        }
        let remove = merged
            .iter()
            .map(|(service, _)| Delta::RemoveShard {
                service: service.clone(),
                cluster: Some(joining.clone()),
            })
            .collect();
        let join = merged
            .into_iter()
            .map(|(service, endpoints)| Delta::ReplaceShard {
                service,
                cluster: Some(joining.clone()),
                endpoints,
            })
            .collect();
        (join, remove)
    }

    /// The Istio-shaped baseline's push to one proxy on each of `networks`: every service built
    /// and serialized for that proxy; returns the bytes written.
    pub fn baseline_push(&self, gateways: &IstioGateways, networks: &[NetworkId]) -> usize {
        let mut total = 0;
        for network in networks {
            for s in &self.eds.services {
                total +=
                    baseline::push(gateways, network, &s.cluster.name(), &s.endpoints, true).len();
            }
        }
        total
    }

    /// The Istio-shaped baseline with istiod's EDS cache: `per_network` proxies on each of
    /// `networks`, all in one cluster with no locality (so a network's proxies share one
    /// endpoint-builder key a service, the case most favourable to istiod; proxies in other
    /// clusters of the network would each add a computation). A new cache each push, as after a
    /// change of every service. Returns the bytes handed out and the computations made.
    pub fn baseline_push_cached(
        &self,
        gateways: &IstioGateways,
        networks: &[NetworkId],
        per_network: usize,
    ) -> (usize, usize) {
        let names: Vec<String> = self.eds.services.iter().map(|s| s.cluster.name()).collect();
        let services: Vec<baseline::CachedService<'_>> = self
            .eds
            .services
            .iter()
            .zip(&names)
            .map(|(s, name)| baseline::CachedService {
                cluster_name: name,
                hostname: &s.cluster.host,
                endpoints: &s.endpoints,
            })
            .collect();
        let proxies: Vec<baseline::Proxy> = networks
            .iter()
            .flat_map(|n| {
                std::iter::repeat_n(
                    baseline::Proxy {
                        network: n.clone(),
                        cluster_id: String::new(),
                        locality: String::new(),
                    },
                    per_network,
                )
            })
            .collect();
        let mut cache = baseline::XdsCache::default();
        let bytes = baseline::cached_push(&mut cache, gateways, &proxies, &services);
        (bytes, cache.len())
    }

    /// Endpoints the baseline and the engine emit over every (service, view): equal when the
    /// baseline does the same work.
    pub fn emitted(&self, gateways: &IstioGateways) -> (usize, usize) {
        let mut buf = Vec::new();
        let engine = self.push(None, &mut buf);
        let mut base = 0;
        for network in &self.networks {
            for s in &self.eds.services {
                let cla = baseline::build(gateways, network, &s.cluster.name(), &s.endpoints, true);
                base += cla
                    .endpoints
                    .iter()
                    .map(|g| g.lb_endpoints.len())
                    .sum::<usize>();
            }
        }
        (engine, base)
    }
}

/// The upsert of a [`Change`].
pub fn upsert((service, cluster, key, endpoint): Change) -> Delta {
    Delta::UpsertEndpoint {
        service,
        cluster,
        key,
        endpoint,
    }
}

fn endpoints_of(cla: &LoadAssignment) -> usize {
    cla.localities.iter().map(|l| l.endpoints.len()).sum()
}
