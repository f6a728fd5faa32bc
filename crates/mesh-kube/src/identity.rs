//! Who a cluster is: its cluster ID, default network, mesh ID and whether it runs a control plane,
//! from Helm values or an IstioOperator, istiod's own environment in the dump, and the caller.
//!
//! Istio's rules:
//! - The cluster ID is istiod's `CLUSTER_ID` environment variable, which the istiod chart sets from
//!   `values.global.multiCluster.clusterName`; unset, istiod uses `Kubernetes`
//!   (`pkg/config/constants`, `DefaultClusterName`; read by `pilot/pkg/features`). So a values file
//!   wins, then the `CLUSTER_ID` of an istiod pod in the dump, then Istio's default when the dump
//!   shows an istiod, and only for a cluster without istiod (a remote) the dump's own name.
//! - The network is `values.global.network`; istiod itself reads the `topology.istio.io/network`
//!   label of its namespace (`network.go`, `setNetworkFromNamespace`), which wins when present.
//! - A remote (`profile: remote`, `istiodRemote.enabled`) runs no control plane of its own.

use serde::Deserialize;

use crate::error::ImportError;
use crate::object::{ObjectRef, Pod};

/// Istio's cluster ID when none is configured (`constants.DefaultClusterName`).
pub const DEFAULT_CLUSTER_ID: &str = "Kubernetes";

/// What a Helm values file or an IstioOperator says about one cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterValues {
    /// `global.multiCluster.clusterName`.
    pub cluster_name: Option<String>,
    /// `global.network`.
    pub network: Option<String>,
    /// `global.meshID`.
    pub mesh_id: Option<String>,
    /// `profile: remote` or `istiodRemote.enabled: true`.
    pub remote: bool,
    /// `meshConfig.trustDomain`.
    pub trust_domain: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Values {
    global: Global,
    profile: String,
    istiod_remote: Enabled,
    mesh_config: MeshConfig,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Global {
    multi_cluster: MultiCluster,
    network: String,
    #[serde(rename = "meshID")]
    mesh_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MultiCluster {
    cluster_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Enabled {
    enabled: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MeshConfig {
    pub trust_domain: String,
    pub trust_domain_aliases: Vec<String>,
    /// `rootNamespace`: where PeerAuthentications are mesh-wide (empty = `istio-system`).
    pub root_namespace: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Operator {
    kind: String,
    spec: OperatorSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct OperatorSpec {
    profile: String,
    values: Values,
    mesh_config: MeshConfig,
}

impl ClusterValues {
    /// Reads Helm values (`values.yaml` as given to `helm install istiod -f`) or an IstioOperator
    /// (its `spec.values` and `spec.meshConfig`). `cluster` names the dump in errors.
    pub fn parse(cluster: &str, text: &str) -> Result<Self, ImportError> {
        let err = |e: serde_saphyr::Error| {
            let mut inner = &e;
            while let serde_saphyr::Error::WithSnippet { error, .. } = inner {
                inner = error;
            }
            ImportError::Values {
                cluster: cluster.to_owned(),
                field: ".".into(),
                message: inner.to_string(),
            }
        };
        let op: Operator = serde_saphyr::from_str(text).map_err(err)?;
        let values: Values = if op.kind == "IstioOperator" {
            let mut v = op.spec.values;
            if v.profile.is_empty() {
                v.profile = op.spec.profile;
            }
            if v.mesh_config.trust_domain.is_empty() {
                v.mesh_config = op.spec.mesh_config;
            }
            v
        } else {
            serde_saphyr::from_str(text).map_err(err)?
        };
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        Ok(Self {
            cluster_name: some(values.global.multi_cluster.cluster_name),
            network: some(values.global.network),
            mesh_id: some(values.global.mesh_id),
            remote: values.profile == "remote" || values.istiod_remote.enabled,
            trust_domain: some(values.mesh_config.trust_domain),
        })
    }
}

/// An istiod found in the dump.
#[derive(Debug, Clone)]
pub(crate) struct Istiod {
    pub pod: ObjectRef,
    /// Its `CLUSTER_ID` environment variable, when set.
    pub cluster_id: Option<String>,
}

/// The first istiod pod of the dump (label `app: istiod`, the chart's; or `istio: pilot`).
pub(crate) fn istiod(pods: &[(ObjectRef, Pod)]) -> Option<Istiod> {
    pods.iter()
        .find(|(_, p)| {
            let l = &p.metadata.labels;
            l.get("app").is_some_and(|v| v == "istiod")
                || l.get("istio").is_some_and(|v| v == "pilot")
        })
        .map(|(r, p)| Istiod {
            pod: r.clone(),
            cluster_id: p
                .spec
                .containers
                .iter()
                .flat_map(|c| &c.env)
                .find(|e| e.name == "CLUSTER_ID" && !e.value.is_empty())
                .map(|e| e.value.clone()),
        })
}

/// The cluster ID and where it came from (for the report; `None` = stated by the values).
pub(crate) fn cluster_id(
    name: &str,
    values: &ClusterValues,
    istiod: Option<&Istiod>,
) -> (String, Option<String>) {
    if let Some(id) = &values.cluster_name {
        return (id.clone(), None);
    }
    match istiod {
        Some(Istiod {
            pod,
            cluster_id: Some(id),
        }) => (id.clone(), Some(format!("env CLUSTER_ID of {pod}"))),
        Some(Istiod { pod, .. }) => (
            DEFAULT_CLUSTER_ID.to_owned(),
            Some(format!(
                "{pod} sets no CLUSTER_ID and no values give global.multiCluster.clusterName: Istio's default"
            )),
        ),
        None => (
            name.to_owned(),
            Some("the dump's name (no istiod in the dump, no values)".to_owned()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_values_and_istio_operator() {
        let v = ClusterValues::parse(
            "c",
            "global:\n  meshID: mesh1\n  multiCluster:\n    clusterName: cluster1\n  network: network1\n",
        )
        .unwrap();
        assert_eq!(v.cluster_name.as_deref(), Some("cluster1"));
        assert_eq!(v.network.as_deref(), Some("network1"));
        assert_eq!(v.mesh_id.as_deref(), Some("mesh1"));
        assert!(!v.remote);
        let v = ClusterValues::parse(
            "c",
            "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: remote\n  values:\n    global:\n      multiCluster: {clusterName: cluster2}\n",
        )
        .unwrap();
        assert_eq!(v.cluster_name.as_deref(), Some("cluster2"));
        assert!(v.remote);
    }

    #[test]
    fn cluster_id_precedence() {
        let none = ClusterValues::default();
        assert_eq!(cluster_id("dump", &none, None).0, "dump");
        let istiod = Istiod {
            pod: ObjectRef {
                kind: "Pod".into(),
                namespace: "istio-system".into(),
                name: "istiod-1".into(),
            },
            cluster_id: None,
        };
        assert_eq!(cluster_id("dump", &none, Some(&istiod)).0, "Kubernetes");
        let named = ClusterValues {
            cluster_name: Some("c9".into()),
            ..ClusterValues::default()
        };
        assert_eq!(
            cluster_id("dump", &named, Some(&istiod)),
            ("c9".into(), None)
        );
    }
}
