//! A view: everything one proxy class needs precomputed from the gateway index (candidate and
//! reachable gateways per endpoint network and cluster), built once per class and shared by every
//! proxy of that class.

use std::sync::Arc;

use crate::assignment::LoadAssignment;
use crate::error::EdsError;
use crate::explain::{
    DropReason, EndpointExplanation, Explanation, NoTrace, Outcome, Recorder, Trace,
};
use crate::index::GatewayIndex;
use crate::input::{ProxyClass, SelectionNote, ServiceRequest};
use crate::legacy::LegacyView;
use crate::locality::{EnginePairs, GroupReason, PartKey, Parts, apply_locality_stage, part_keys};
use crate::modern::{self, Routes};
use crate::prepared::PreparedService;
use crate::rules::selected;

/// One proxy class's view of the gateway index. Build it once per class ([`View::new`]) and
/// compute every service's assignment from it: the cost is one pass over the service's endpoints.
///
/// ```
/// use std::sync::Arc;
/// use mesh_eds::{ClusterRequest, EdsEndpoint, GatewayIndex, ProxyClass, ServiceRequest, View};
/// use mesh_model::Gateway;
/// let index = Arc::new(GatewayIndex::new([Gateway {
///     network: "n2".parse()?, cluster: None, address: "192.0.2.2".into(), port: 15443,
///     hbone_port: 0, service_account: String::new(),
/// }]));
/// let view = View::new(&index, ProxyClass { network: Some("n1".parse()?), ..Default::default() });
/// let cluster: ClusterRequest = "outbound|80||foo.ns1.svc.cluster.local".parse().unwrap();
/// let ep = |addr: &str, net: &str| EdsEndpoint {
///     addresses: vec![addr.into()], port: 8080, network: Some(net.parse().unwrap()),
///     ..Default::default()
/// };
/// let endpoints = [ep("10.0.0.1", "n1"), ep("10.1.0.1", "n2")];
/// let cla = view.assignment(&ServiceRequest { locality: mesh_eds::LocalityPolicy::istio_default(),
///     cluster: &cluster, endpoints: &endpoints, mtls_allowed: true, features: Default::default(),
/// })?;
/// let got: Vec<String> = cla.localities[0].endpoints.iter()
///     .map(|e| format!("{:?}", e.address)).collect();
/// assert_eq!(got.len(), 2); // 10.0.0.1 direct, 192.0.2.2 standing in for 10.1.0.1
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct View {
    class: ProxyClass,
    /// The class locality's region, zone and subzone (L28): split and keyed once for the
    /// locality stage of every service.
    locality_parts: [PartKey; 3],
    index: Arc<GatewayIndex>,
    algorithm: Algorithm,
}

/// A trace that also notes, in emission order, the input index of every endpoint sent directly:
/// what pairs the output's direct endpoints with their labels for the locality stage.
struct DirectOrder<'t, T> {
    inner: &'t mut T,
    order: Vec<usize>,
}

impl<T: Trace> Trace for DirectOrder<'_, T> {
    const ON: bool = true;
    fn record(&mut self, index: usize, outcome: Outcome) {
        if matches!(outcome, Outcome::Direct { .. }) {
            self.order.push(index);
        }
        if T::ON {
            self.inner.record(index, outcome);
        }
    }
}

/// What a class's profile computes with: the current rules over the class's routes to every
/// gateway list, or a pre-1.8 profile's reading of MeshNetworks.
#[derive(Debug, Clone)]
pub(crate) enum Algorithm {
    Modern(Routes),
    Legacy(LegacyView),
}

impl View {
    /// Precomputes the class's view of `index`.
    pub fn new(index: &Arc<GatewayIndex>, class: ProxyClass) -> Self {
        let algorithm = if class.profile.is_legacy() {
            Algorithm::Legacy(LegacyView::new(index.legacy_networks(), class.profile))
        } else {
            Algorithm::Modern(Routes::new(index, &class))
        };
        Self {
            locality_parts: part_keys(&class.locality, 0),
            class,
            index: Arc::clone(index),
            algorithm,
        }
    }

    /// The proxy class.
    pub fn class(&self) -> &ProxyClass {
        &self.class
    }

    /// The class locality's `(region, zone, subzone)`.
    pub(crate) fn locality_parts(&self) -> Parts<'_> {
        Parts::new(&self.locality_parts, &self.class.locality)
    }

    /// The gateway index the view was built from.
    pub fn index(&self) -> &Arc<GatewayIndex> {
        &self.index
    }

    /// The assignment this class receives for one cluster.
    pub fn assignment(&self, request: &ServiceRequest<'_>) -> Result<LoadAssignment, EdsError> {
        self.run(&PreparedService::new(&self.index, *request), &mut NoTrace)
    }

    /// The assignment for a service prepared once for every view ([`PreparedService`]): the fast
    /// path when many views need the same service. A service prepared for another gateway index
    /// is prepared again for this one.
    pub fn assignment_prepared(
        &self,
        prepared: &PreparedService<'_>,
    ) -> Result<LoadAssignment, EdsError> {
        if Arc::ptr_eq(&prepared.index, &self.index) {
            self.run(prepared, &mut NoTrace)
        } else {
            self.assignment(&prepared.request)
        }
    }

    /// The assignment and, for every input endpoint, why it is there, replaced or missing.
    pub fn explain(
        &self,
        request: &ServiceRequest<'_>,
    ) -> Result<(LoadAssignment, Explanation), EdsError> {
        let mut rec = Recorder(vec![None; request.endpoints.len()]);
        let prepared = PreparedService::new(&self.index, *request);
        for &i in &prepared.dropped {
            // Selection drops (M1, M2 health) are decided while preparing: record why.
            let i = i as usize;
            selected(request, i, &request.endpoints[i], &mut rec);
        }
        let (cla, locality) = self.run_staged(&prepared, &mut rec)?;
        let endpoints = request
            .endpoints
            .iter()
            .zip(rec.0)
            .enumerate()
            .filter_map(|(index, (e, o))| {
                Some(EndpointExplanation {
                    index,
                    address: e.address().to_owned(),
                    port: e.port,
                    network: e.network.clone(),
                    cluster: e.cluster.clone(),
                    locality: e.locality.clone(),
                    outcome: o?,
                })
            })
            .collect::<Vec<_>>();
        let port_drop = endpoints.iter().any(|e: &EndpointExplanation| {
            matches!(e.outcome, Outcome::Dropped(DropReason::PortName { .. }))
        });
        let mut selection = request.cluster.selection_notes();
        selection.retain(|n| port_drop || *n != SelectionNote::UnnamedPort);
        // What the stage ran with, and each output group's locality, for the reasons' wording.
        let (locality_setting, group_localities) = if locality.is_empty() {
            (None, Vec::new())
        } else {
            (
                Some(prepared.request.locality.effective()),
                cla.localities.iter().map(|g| g.locality.clone()).collect(),
            )
        };
        let explanation = Explanation {
            locality_setting,
            group_localities,
            cluster_name: cla.cluster_name.clone(),
            class: self.class.clone(),
            scale_factor: match &self.algorithm {
                Algorithm::Legacy(l) => l.multiplier(),
                Algorithm::Modern(_) => self.index.scale_factor().max(1),
            },
            selection,
            endpoints,
            locality,
        };
        Ok((cla, explanation))
    }

    fn run<T: Trace>(
        &self,
        prepared: &PreparedService<'_>,
        trace: &mut T,
    ) -> Result<LoadAssignment, EdsError> {
        Ok(self.run_staged(prepared, trace)?.0)
    }

    /// Split-horizon, then the locality stage (L1) when the cluster's policy can change the
    /// output: the assignment and why each group has its priority and weight (empty when the
    /// stage did not run). The pre-1.8 profiles predate the stage and skip it.
    fn run_staged<T: Trace>(
        &self,
        prepared: &PreparedService<'_>,
        trace: &mut T,
    ) -> Result<(LoadAssignment, Vec<GroupReason>), EdsError> {
        let routes = match &self.algorithm {
            Algorithm::Legacy(l) => {
                return Ok((
                    l.compute(&self.class, &prepared.request, trace)?,
                    Vec::new(),
                ));
            }
            Algorithm::Modern(routes) => routes,
        };
        let policy = prepared.request.locality;
        if policy.is_inert() {
            let cla = modern::compute(&self.class, &self.index, routes, prepared, trace);
            return Ok((cla, Vec::new()));
        }
        let effective = policy.effective();
        // Labels are read only by failoverPriority, and only for a proxy with labels (L19).
        let needs_labels = !effective.failover_priority().is_empty() && self.class.labels.is_some();
        let mut order = DirectOrder {
            inner: trace,
            order: Vec::new(),
        };
        let mut cla = if needs_labels {
            modern::compute(&self.class, &self.index, routes, prepared, &mut order)
        } else {
            modern::compute(&self.class, &self.index, routes, prepared, order.inner)
        };
        let pairs = EnginePairs::new(&cla, prepared.request.endpoints, &order.order);
        let reasons = apply_locality_stage(&mut cla, &pairs, &self.class, &effective);
        Ok((cla, reasons))
    }

    /// What the class's profile computes with.
    pub(crate) fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }
}
