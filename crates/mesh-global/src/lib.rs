//! # mesh-global
//!
//! Istio's first multicluster topology, **replicated control planes**: every cluster runs its own
//! control plane; a service `foo.ns1` of another cluster is reached as `foo.ns1.global` through
//! that cluster's gateway, described to the local control plane by a ServiceEntry and resolved by a
//! DNS server that answers `*.global`. This crate computes all of it from the mesh document, with no
//! I/O:
//!
//! - [`allocate`] / [`allocate_for_mesh`]: one virtual IP per service from a non-routable range
//!   (default `240.0.0.0/4`), unique, stable across runs and across services added or removed;
//! - [`plan_for_cluster`]: the ServiceEntries and the `*.global` mTLS DestinationRule of one cluster,
//!   with the remote instances it could not point at and why, and the services left out because
//!   Istio would refuse their ports ([`port_rejection`]: the webhook's and the CRD's rules);
//! - [`address_for`], [`resolve_global`], [`global_name_of`]: name resolution;
//! - [`coredns_global_zone`] (the plan's names only), [`coredns_forward_global`],
//!   [`global_dns_configmap`], and, replacing the cluster's own and saying so,
//!   [`coredns_configmap`] and [`kube_dns_stub_domain`]: DNS configuration.
//!
//! ```
//! use mesh_global::{Allocations, ApiVersion, Selector, allocate_for_mesh, plan_for_cluster};
//! let doc = mesh_model::MeshDocument::from_yaml(test_support::EXAMPLE_REPLICATED)?;
//! let vips = allocate_for_mesh(&doc.spec, &Allocations::default())?;
//! let plan = plan_for_cluster(&doc.spec, &"east".parse()?, &Selector::default(), &vips, ApiVersion::V1Alpha3)?;
//! let yaml = plan.to_yaml();
//! assert!(yaml.contains("httpbin.bar.global"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod dns;
mod entries;
mod names;
mod ports;
mod vip;

pub use dns::{
    coredns_configmap, coredns_forward_global, coredns_global_zone, global_dns_configmap,
    kube_dns_stub_domain, kubernetes_default_server_block,
};
pub use entries::{
    ApiVersion, ClusterPlan, DestinationRule, DestinationRuleSpec, ENTRY_NAMESPACE, GlobalError,
    ObjectMeta, RejectedPort, Selector, ServiceEntry, ServiceEntryEndpoint, ServiceEntryPort,
    ServiceEntrySpec, TlsSettings, TrafficPolicy, Unreachable, UnreachableReason,
    allocate_for_mesh, plan_for_cluster,
};
pub use names::{ServiceAddress, address_for, global_name_of, resolve_global};
pub use ports::{
    ISTIO_PROTOCOLS, MAX_PORT_NAME_LEN, PortRejection, entry_port_name, entry_protocol,
    known_protocol, port_rejection, valid_port_name,
};
pub use vip::{AllocationError, Allocations, allocate};

impl ClusterPlan {
    /// The plan as Kubernetes YAML documents (`---`-separated): the ServiceEntries, then the
    /// DestinationRule.
    pub fn to_yaml(&self) -> String {
        let mut docs: Vec<String> = self
            .service_entries
            .iter()
            .map(|e| serde_saphyr::to_string(e).unwrap_or_default())
            .collect();
        docs.push(serde_saphyr::to_string(&self.destination_rule).unwrap_or_default());
        docs.join("---\n")
    }
}
