//! `/debug/networkz`: the cross-network gateways. `pilot/pkg/xds/debug.go` `networkz` writes
//! `NetworkManager.AllGateways()` (`pilot/pkg/model/network.go`): a sorted list of
//! `NetworkGateway` — no JSON tags, so Go's field names: `Network`, `Cluster`, `Addr`, `Port`,
//! `HBONEPort`, `ServiceAccount` (a `types.NamespacedName`, `{"Namespace", "Name"}`); `null`
//! when istiod knows no gateway. No credential is in it.

use super::error::IstiodError;
use super::json::{At, Unread};

/// One `NetworkGateway`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Gateway {
    pub network: String,
    pub cluster: String,
    pub address: String,
    pub port: u32,
    pub hbone_port: u32,
    pub path: String,
}

/// The gateways of `/debug/networkz`, in its order.
pub(super) fn read(root: At<'_>, unread: &mut Unread) -> Result<Vec<Gateway>, IstiodError> {
    let mut out = Vec::new();
    for (path, item) in root.list("$")? {
        let mut f = item.object(&path)?;
        let network = f.string("Network")?.to_owned();
        let cluster = f.string("Cluster")?.to_owned();
        let address = f.string("Addr")?.to_owned();
        if address.is_empty() {
            return Err(f.field("Addr").invalid(
                &f.path_of("Addr"),
                "",
                "a gateway has an address",
            ));
        }
        let port = f.uint("Port")?;
        let hbone_port = f.uint("HBONEPort")?;
        unread.count("NetworkGateway", &f);
        out.push(Gateway {
            network,
            cluster,
            address,
            port,
            hbone_port,
            path,
        });
    }
    Ok(out)
}
