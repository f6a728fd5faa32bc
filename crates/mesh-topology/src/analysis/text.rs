//! How diagnostics name networks and gateways, and list many members on one line.

use mesh_model::Gateway;

pub(crate) fn network_text(n: &str) -> String {
    if n.is_empty() {
        "the default network (no network set)".to_owned()
    } else {
        format!("network {n}")
    }
}

/// however large the group (its subjects name every member).
pub(crate) fn capped_list<T: std::fmt::Display>(items: impl ExactSizeIterator<Item = T>) -> String {
    let n = items.len();
    let mut text: Vec<String> = items.take(LISTED).map(|i| i.to_string()).collect();
    if n > LISTED {
        text.push(format!("… and {} more", n - LISTED));
    }
    text.join(", ")
}

/// How many members a message lists.
const LISTED: usize = 10;

/// `address:port` (`[v6]:port`).
pub(super) fn gateway_text(g: &Gateway) -> String {
    if g.address.contains(':') {
        format!("[{}]:{}", g.address, g.port)
    } else {
        format!("{}:{}", g.address, g.port)
    }
}
