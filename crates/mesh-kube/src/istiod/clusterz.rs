//! `/debug/clusterz`: the clusters istiod reads. `pilot/pkg/xds/debug.go` `clusterz` writes
//! `ListRemoteClusters()` (`pkg/kube/multicluster/secretcontroller.go`): first the config cluster
//! (istiod's own, no secret), then one entry per cluster of each remote secret, each a
//! `cluster.DebugInfo` (`pkg/cluster/debug.go`: `id`, `secretName`, `syncStatus`, no `omitempty`).
//! `syncStatus` is `synced`, `syncing`, `timeout` or `closed` (`pkg/kube/multicluster/cluster.go`).
//! No credential is in it: `secretName` is the remote secret's `namespace/name`, never its data.

use mesh_model::ClusterId;

use super::error::IstiodError;
use super::json::{At, Unread};

/// One `cluster.DebugInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClusterInfo {
    pub id: ClusterId,
    /// `namespace/name` of the remote secret; empty for the config cluster.
    pub secret_name: String,
    pub sync_status: String,
}

/// The entries of `/debug/clusterz`, in its order.
pub(super) fn read(root: At<'_>, unread: &mut Unread) -> Result<Vec<ClusterInfo>, IstiodError> {
    let mut out = Vec::new();
    for (path, item) in root.list("$")? {
        let mut f = item.object(&path)?;
        let id = f.string("id")?;
        let id = ClusterId::new(id)
            .map_err(|e| f.field("id").invalid(&f.path_of("id"), id, e.to_string()))?;
        let secret_name = f.string("secretName")?.to_owned();
        let sync_status = f.string("syncStatus")?.to_owned();
        unread.count("cluster.DebugInfo", &f);
        out.push(ClusterInfo {
            id,
            secret_name,
            sync_status,
        });
    }
    Ok(out)
}
