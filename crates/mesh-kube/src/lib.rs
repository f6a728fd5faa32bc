//! # mesh-kube
//!
//! Reads a mesh as it really is: Kubernetes and Istio objects — `kubectl get
//! namespaces,nodes,pods,services,endpointslices,configmaps,secrets -A -o json|yaml` dumps (with,
//! where the mesh has them, `destinationrules,serviceentries,workloadentries`), one per
//! cluster, with Helm values or an IstioOperator — turned into a [`mesh_model::MeshDocument`] by
//! Istio's own derivation rules, so `mesh-topology` can check it and `mesh-eds` compute its EDS.
//!
//! No I/O: it takes the dumps' text. Each rule cites the Istio file and function it restates (in
//! the module docs); the document's fields are described in `docs/mesh-document.md`.
//!
//! | what | from | Istio |
//! |---|---|---|
//! | cluster ID | values `global.multiCluster.clusterName`, istiod's `CLUSTER_ID`, `Kubernetes` | `features.ClusterName` |
//! | cluster network | label `topology.istio.io/network` of istiod's namespace, values `global.network` | `network.go` `setNetworkFromNamespace` |
//! | endpoints | EndpointSlices (not MCS, not FQDN) and their pods | `endpointslice.go` |
//! | endpoint network | pod label, else cluster, else meshNetworks | `controller.go` `Controller.Network` |
//! | locality | pod label, else node labels | `controller.go` `getPodLocality` |
//! | gateways | Services labelled `topology.istio.io/network`, and meshNetworks | `network.go` `getGatewayDetails` |
//! | watched clusters, API servers | remote secrets (`istio/multiCluster: "true"`) | `secretcontroller.go` `addRemoteConfig` |
//! | plug-in CA | the `cacerts` Secret (public files only) | |
//! | DestinationRules | `DestinationRule` (host resolved in its namespace; rules of one host merged) | `config.go` `ResolveShortnameToFQDN`, `destination_rule.go` `mergeDestinationRule` |
//! | PeerAuthentications | `PeerAuthentication` (v1, v1beta1; oldest first; `targetRef` ones reported), the `istio` ConfigMap's `rootNamespace` | `authentication.go` `initAuthenticationPolicies`, `policy_applier.go` `ComposePeerAuthentication` |
//! | services from ServiceEntries | `ServiceEntry` (`STATIC`, `MESH_INTERNAL`, hosts `name.namespace.svc.cluster.local`) | `serviceentry/conversion.go` `convertServices` |
//! | their endpoints | inline `endpoints`, or `WorkloadEntry`s the `workloadSelector` picks | `conversion.go` `convertWorkloadEntryToWorkloadInstance`, `convertWorkloadInstanceToServiceInstance` |
//! | pod / service CIDRs | nodes' `spec.podCIDRs`, `ServiceCIDR` objects, else the caller | |
//!
//! Or from one istiod's debug endpoints ([`import_istiod`], no I/O either: the caller fetches the
//! JSON), each shape restated from the Go type it marshals:
//!
//! | what | from | Istio |
//! |---|---|---|
//! | clusters, who manages them, sync status | `/debug/clusterz` | `cluster.DebugInfo`, `ListRemoteClusters` |
//! | gateways, cluster networks | `/debug/networkz` | `NetworkGateway` (`network.go`) |
//! | services, endpoints (network, locality, labels, tlsMode, service account, workload, weight, health) | `/debug/endpointShardz` | `EndpointShards`, `ShardKey`, `IstioEndpoint` (`endpointshards.go`, `service.go`) |
//! | trust domain, mesh ID, locality and scope settings | `/debug/mesh` | `MeshConfig` (protobuf JSON) |
//!
//! Every value no object states directly is listed in the [`ImportReport`] with where it came
//! from; objects of kinds it does not read are counted and listed there too. Secrets' tokens, keys
//! and client certificates are never read into a field, so they cannot reach the document, the
//! report or an error.
//!
//! ```
//! use mesh_kube::{ClusterInput, ImportOptions, import};
//! let dump = r#"
//! apiVersion: v1
//! kind: Node
//! metadata: {name: node-1, labels: {topology.kubernetes.io/region: us-east1}}
//! spec: {podCIDR: 10.10.0.0/24}
//! "#;
//! let import = import(ImportOptions::default(), vec![ClusterInput::new("cluster1", dump)])?;
//! assert_eq!(import.document.spec.clusters[0].pod_cidrs[0].to_string(), "10.10.0.0/24");
//! assert!(import.report.inferred.iter().any(|i| i.field.ends_with("podCidrs")));
//! # Ok::<(), mesh_kube::ImportError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod assemble;
mod dump;
mod endpoints;
mod error;
mod gateway;
mod identity;
mod istio;
mod istiod;
mod label;
mod locality;
mod network;
mod object;
mod report;
mod secret;
mod workload;

pub use assemble::{ClusterInput, Import, ImportOptions, Importer, import};
pub use error::ImportError;
pub use identity::{ClusterValues, DEFAULT_CLUSTER_ID};
pub use istiod::{DebugEndpoint, IstiodError, UnknownDebugEndpoint, import_istiod};
pub use object::ObjectRef;
pub use report::{ImportReport, Inferred, Skipped};
