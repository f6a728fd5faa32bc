//! `networking.istio.io` Gateways → `clusters[].autoPassthrough`: the servers with
//! `tls.mode: AUTO_PASSTHROUGH` (the east-west gateway's listener for cross-network mTLS,
//! Istio's `samples/multicluster/expose-services.yaml`), with their port and the Gateway's
//! selector, so that `check` can tell a network gateway that has none. Other servers route
//! ingress traffic, which EDS does not read; they are not recorded.

use std::collections::BTreeMap;

use mesh_model::AutoPassthroughServer;
use serde_json::Value;

use super::Config;
use crate::error::ImportError;
use crate::object::ObjectRef;

/// The AUTO_PASSTHROUGH servers of one dump's Gateways, sorted; `None` when it holds no Gateway.
pub(crate) fn auto_passthrough(
    dump: &str,
    objects: &[(ObjectRef, Config)],
) -> Result<Option<Vec<AutoPassthroughServer>>, ImportError> {
    if objects.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (object, config) in objects {
        let selector: BTreeMap<String, String> = match config.spec.get("selector") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| ImportError::field(dump, object, "spec.selector", e.to_string()))?,
        };
        let servers = config.spec.get("servers").and_then(Value::as_array);
        for (i, server) in servers.into_iter().flatten().enumerate() {
            let mode = server.pointer("/tls/mode").and_then(Value::as_str);
            if mode != Some("AUTO_PASSTHROUGH") {
                continue;
            }
            let port = server
                .pointer("/port/number")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok())
                .filter(|p| (1..=65535).contains(p))
                .ok_or_else(|| {
                    ImportError::field(
                        dump,
                        object,
                        format!("spec.servers[{i}].port.number"),
                        format!(
                            "{} is not a port (1..65535)",
                            server.pointer("/port/number").unwrap_or(&Value::Null)
                        ),
                    )
                })?;
            out.push(AutoPassthroughServer {
                port,
                selector: selector.clone(),
            });
        }
    }
    out.sort();
    out.dedup();
    Ok(Some(out))
}
