//! Which debug endpoint a text came from, and why one could not be read: each error names the
//! endpoint and the JSON path of the offending value.

use std::fmt;
use std::str::FromStr;

/// One of istiod's debug endpoints this crate reads (`pilot/pkg/xds/debug.go`, `InitDebug`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DebugEndpoint {
    /// `/debug/endpointShardz` (and its obsolete alias `/debug/endpointz`): `EndpointIndex.Shardz`,
    /// hostname → namespace → `EndpointShards`.
    EndpointShardz,
    /// `/debug/networkz`: `NetworkManager.AllGateways`, a list of `NetworkGateway`.
    Networkz,
    /// `/debug/clusterz`: `ListRemoteClusters`, a list of `cluster.DebugInfo`.
    Clusterz,
    /// `/debug/mesh`: the active `MeshConfig`, as protobuf JSON.
    Mesh,
}

impl DebugEndpoint {
    /// Every endpoint, in the order they are read.
    pub const ALL: [Self; 4] = [
        Self::Clusterz,
        Self::Networkz,
        Self::Mesh,
        Self::EndpointShardz,
    ];

    /// The name `FromStr` takes (`endpointShardz`).
    pub fn name(self) -> &'static str {
        match self {
            Self::EndpointShardz => "endpointShardz",
            Self::Networkz => "networkz",
            Self::Clusterz => "clusterz",
            Self::Mesh => "mesh",
        }
    }
}

impl fmt::Display for DebugEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/debug/{}", self.name())
    }
}

/// A name that is none of [`DebugEndpoint`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an istiod debug endpoint meshspan reads: endpointShardz, networkz, clusterz or mesh"
)]
pub struct UnknownDebugEndpoint(pub String);

impl FromStr for DebugEndpoint {
    type Err = UnknownDebugEndpoint;

    /// `endpointShardz`, `networkz`, `clusterz` or `mesh`, with or without `/debug/`
    /// (`endpointz`, the obsolete alias, is `endpointShardz`).
    fn from_str(s: &str) -> Result<Self, UnknownDebugEndpoint> {
        match s.strip_prefix("/debug/").unwrap_or(s) {
            "endpointShardz" | "endpointz" => Ok(Self::EndpointShardz),
            "networkz" => Ok(Self::Networkz),
            "clusterz" => Ok(Self::Clusterz),
            "mesh" => Ok(Self::Mesh),
            _ => Err(UnknownDebugEndpoint(s.to_owned())),
        }
    }
}

/// Why istiod's debug JSON could not be imported. The JSON path is `$` for the whole text,
/// then `.key` / `["key"]` and `[index]` (`$["reviews.bookinfo.svc.cluster.local"].bookinfo.Shards["Kubernetes/cluster1"][0].Addresses[0]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IstiodError {
    /// The text is not JSON.
    #[error("{endpoint}: not valid JSON: {message}")]
    Syntax {
        /// The endpoint the text was given as.
        endpoint: DebugEndpoint,
        /// The parser's message and position.
        message: String,
    },
    /// A value has the wrong JSON type.
    #[error("{endpoint}: {path}: expected {expected}, found {found}")]
    Shape {
        /// The endpoint.
        endpoint: DebugEndpoint,
        /// The value's JSON path.
        path: String,
        /// The JSON type the Go type marshals to.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A value has the right type but is not valid (an IP, a cluster ID, a port).
    #[error("{endpoint}: {path}: {value:?}: {message}")]
    Value {
        /// The endpoint.
        endpoint: DebugEndpoint,
        /// The value's JSON path.
        path: String,
        /// The value as written.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// A setting the document models is one Istio would refuse (mesh-model's validation).
    #[error("{endpoint}: {path}: {message}")]
    Invalid {
        /// The endpoint.
        endpoint: DebugEndpoint,
        /// The setting's JSON path.
        path: String,
        /// Why.
        message: String,
    },
    /// The same endpoint was given twice.
    #[error("{endpoint} was given twice")]
    Duplicate {
        /// The endpoint.
        endpoint: DebugEndpoint,
    },
    /// Nothing was given.
    #[error("no istiod debug output given (endpointShardz, networkz, clusterz or mesh)")]
    Empty,
}
