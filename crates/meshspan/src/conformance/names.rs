//! How a conformance case's network and cluster names become the library's ids: the one naming
//! every case kind shares (EDS, locality, scope, lifecycle), below all of them.

use mesh_model::{ClusterId, NetworkId};

/// Why a case cannot be run.
type Unsupported = String;

/// Network and cluster names only matter by equality (and in output fields `check` does not
/// compare), so a name the id types reject is mapped to a valid, injective stand-in instead of
/// failing the case: `x` + hex of its bytes (or of a 64-bit FNV-1a hash when that is too long).
fn stand_in(s: &str) -> String {
    let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
    if hex.len() < 62 {
        return format!("x{hex}");
    }
    let hash = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("x{hash:016x}h")
}

pub(super) fn network(s: &str) -> Result<Option<NetworkId>, Unsupported> {
    if s.is_empty() {
        return Ok(None);
    }
    NetworkId::new(s)
        .or_else(|_| NetworkId::new(stand_in(s)))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The MeshNetworks network keys under the same naming as [`network`].
pub(super) fn network_key(s: &str) -> String {
    if NetworkId::new(s).is_ok() {
        s.to_owned()
    } else {
        stand_in(s)
    }
}

pub(super) fn cluster_id(s: &str) -> Result<Option<ClusterId>, Unsupported> {
    if s.is_empty() {
        return Ok(None);
    }
    ClusterId::new(s)
        .or_else(|_| ClusterId::new(stand_in(s)))
        .map(Some)
        .map_err(|e| e.to_string())
}
