//! `spec.peerAuthentications`: Istio's `security.istio.io` PeerAuthentication policies, the
//! fields istiod reads to decide whether an endpoint accepts Istio mTLS (`namespace`,
//! `selector.matchLabels`, `mtls.mode`, `portLevelMtls`), validated as Istio's webhook does
//! (`pkg/config/validation/validation.go`, `ValidatePeerAuthentication`).
//!
//! The effective mode of one endpoint is [`PeerAuthentications::mode_for`], after istiod
//! (`pilot/pkg/model/authentication.go`, `getConfigsForWorkload`;
//! `pilot/pkg/security/authn/policy_applier.go`, `ComposePeerAuthentication` and
//! `GetMutualTLSModeForPort`): the policies of the endpoint's namespace and of the root namespace
//! whose selector is a subset of its labels; the workload-level one (a selector, not in the root
//! namespace) over the namespace-level one (no selector) over the mesh-level one (no selector,
//! root namespace); `UNSET` inherits from the next wider scope, and the default is `PERMISSIVE`;
//! a port-level mode of the workload-level policy for the endpoint's port over all of them. Of
//! several policies of one scope, the first listed wins: istiod takes the oldest
//! (`configCompareByCreationTime`: creation time, then name, then namespace), the order the
//! importer writes them in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::null::empty_if_null;

/// The root namespace istiod uses when `meshConfig.rootNamespace` is not set
/// (`pkg/config/mesh/mesh.go`, `DefaultMeshConfig`).
pub const DEFAULT_ROOT_NAMESPACE: &str = "istio-system";

/// One PeerAuthentication.
///
/// ```
/// use mesh_model::{MeshDocument, PeerMtlsMode};
/// let doc = MeshDocument::from_yaml(r#"
/// apiVersion: meshspan/v1alpha1
/// kind: Mesh
/// metadata: {name: m}
/// spec:
///   peerAuthentications:
///   - {name: default, namespace: istio-system, mtls: {mode: STRICT}}
///   - name: legacy
///     namespace: shop
///     selector: {matchLabels: {app: cart}}
///     portLevelMtls: {8080: {mode: DISABLE}}
/// "#)?;
/// let policies = doc.spec.peer_authentication_index();
/// let cart = [("app".to_owned(), "cart".to_owned())].into();
/// assert_eq!(policies.mode_for("shop", &cart, 8080), PeerMtlsMode::Disable);
/// assert_eq!(policies.mode_for("shop", &cart, 9090), PeerMtlsMode::Strict);
/// # Ok::<(), mesh_model::DocumentError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    try_from = "RawPeerAuthentication"
)]
pub struct PeerAuthentication {
    /// `metadata.name` (kept for messages and the order of one scope).
    pub name: String,
    /// `metadata.namespace`: the root namespace makes it mesh-wide.
    pub namespace: String,
    /// `selector.matchLabels`: empty = the whole namespace (or mesh).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "match_labels"
    )]
    pub selector: BTreeMap<String, String>,
    /// `mtls.mode`; `None` = `UNSET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<PeerMtls>,
    /// `portLevelMtls`: by workload (endpoint) port; only with a selector.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub port_level_mtls: BTreeMap<u16, PeerMtls>,
}

/// `PeerAuthentication.MutualTLS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerMtls {
    /// The mode (`UNSET` when not written).
    #[serde(default)]
    pub mode: PeerMtlsMode,
}

/// `PeerAuthentication.MutualTLS.Mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum PeerMtlsMode {
    /// `UNSET`: inherit from the wider scope.
    #[default]
    Unset,
    /// `DISABLE`: the workload does not accept Istio mTLS.
    Disable,
    /// `PERMISSIVE`: mTLS and plain text.
    Permissive,
    /// `STRICT`: mTLS only.
    Strict,
}

/// The document's form before Istio's validation.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPeerAuthentication {
    name: String,
    namespace: String,
    #[serde(default)]
    selector: Option<Selector>,
    #[serde(default)]
    mtls: Option<PeerMtls>,
    #[serde(default)]
    port_level_mtls: Option<BTreeMap<u32, PeerMtls>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Selector {
    #[serde(default, deserialize_with = "empty_if_null")]
    match_labels: BTreeMap<String, String>,
}

/// Writes the selector as it is read: `{matchLabels: ...}`.
fn match_labels<S: serde::Serializer>(
    labels: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry("matchLabels", labels)?;
    map.end()
}

/// A PeerAuthentication Istio's webhook rejects (`ValidatePeerAuthentication`), in Istio's
/// words, with the field (relative to the policy's `spec`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {kind}")]
#[non_exhaustive]
pub struct PeerAuthenticationError {
    /// The field: `portLevelMtls`, `portLevelMtls[70000]`, `namespace`.
    pub field: String,
    /// Why.
    pub kind: PeerAuthenticationErrorKind,
}

/// Why a PeerAuthentication is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerAuthenticationErrorKind {
    /// Port-level modes without a selector.
    #[error("mesh/namespace peer authentication cannot have port level mTLS")]
    PortLevelWithoutSelector,
    /// `portLevelMtls: {}`.
    #[error("port level mTLS, if defined, must have at least one element")]
    EmptyPortLevel,
    /// A port outside 1..65535.
    #[error("port must be in range 1..65535")]
    PortRange,
    /// No namespace (the document's policies each name theirs).
    #[error("is empty")]
    EmptyNamespace,
}

impl TryFrom<RawPeerAuthentication> for PeerAuthentication {
    type Error = PeerAuthenticationError;

    fn try_from(raw: RawPeerAuthentication) -> Result<Self, PeerAuthenticationError> {
        Self::new(
            raw.name,
            raw.namespace,
            raw.selector.map(|s| s.match_labels).unwrap_or_default(),
            raw.mtls,
            raw.port_level_mtls,
        )
    }
}

impl PeerAuthentication {
    /// A policy from its parts as Istio's API holds them (`portLevelMtls` keyed by `uint32`;
    /// `None` = not written), validated as `ValidatePeerAuthentication` does: port-level modes
    /// need a selector, are not an empty map, and name ports 1..65535.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use mesh_model::{PeerAuthentication, PeerMtls, PeerMtlsMode};
    /// let ports = BTreeMap::from([(8080, PeerMtls { mode: PeerMtlsMode::Disable })]);
    /// let err = PeerAuthentication::new("p".into(), "ns".into(), BTreeMap::new(), None, Some(ports))
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "portLevelMtls: mesh/namespace peer authentication cannot have port level mTLS");
    /// ```
    pub fn new(
        name: String,
        namespace: String,
        selector: BTreeMap<String, String>,
        mtls: Option<PeerMtls>,
        port_level_mtls: Option<BTreeMap<u32, PeerMtls>>,
    ) -> Result<Self, PeerAuthenticationError> {
        let err = |field: String, kind| PeerAuthenticationError { field, kind };
        if namespace.is_empty() {
            return Err(err(
                "namespace".into(),
                PeerAuthenticationErrorKind::EmptyNamespace,
            ));
        }
        if selector.is_empty() && port_level_mtls.as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(err(
                "portLevelMtls".into(),
                PeerAuthenticationErrorKind::PortLevelWithoutSelector,
            ));
        }
        if port_level_mtls.as_ref().is_some_and(BTreeMap::is_empty) {
            return Err(err(
                "portLevelMtls".into(),
                PeerAuthenticationErrorKind::EmptyPortLevel,
            ));
        }
        let mut ports = BTreeMap::new();
        for (port, mode) in port_level_mtls.unwrap_or_default() {
            let p = u16::try_from(port)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| {
                    err(
                        format!("portLevelMtls[{port}]"),
                        PeerAuthenticationErrorKind::PortRange,
                    )
                })?;
            ports.insert(p, mode);
        }
        Ok(Self {
            name,
            namespace,
            selector,
            mtls,
            port_level_mtls: ports,
        })
    }
}

impl PeerAuthentication {
    fn mode(&self) -> PeerMtlsMode {
        self.mtls.map_or(PeerMtlsMode::Unset, |m| m.mode)
    }

    fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// The document's PeerAuthentications by namespace, for per-endpoint look-ups
/// ([`crate::MeshSpec::peer_authentication_index`]).
#[derive(Debug, Clone)]
pub struct PeerAuthentications<'a> {
    root_namespace: &'a str,
    by_namespace: BTreeMap<&'a str, Vec<&'a PeerAuthentication>>,
}

impl<'a> PeerAuthentications<'a> {
    /// The policies, in the document's order, with the mesh's root namespace.
    pub fn new(policies: &'a [PeerAuthentication], root_namespace: &'a str) -> Self {
        let mut by_namespace: BTreeMap<&str, Vec<&PeerAuthentication>> = BTreeMap::new();
        for p in policies {
            by_namespace.entry(&p.namespace).or_default().push(p);
        }
        Self {
            root_namespace,
            by_namespace,
        }
    }

    /// Whether there is no policy (every endpoint is `PERMISSIVE`).
    pub fn is_empty(&self) -> bool {
        self.by_namespace.is_empty()
    }

    /// The effective mode for a workload in `namespace` with `labels`, on its `port`: never
    /// `UNSET` (`ComposePeerAuthentication`, then `GetMutualTLSModeForPort`).
    pub fn mode_for(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        port: u32,
    ) -> PeerMtlsMode {
        let (mut mesh, mut ns, mut workload) = (None, None, None);
        // getConfigsForWorkload: the workload's namespace, then the root namespace, once each.
        let namespaces = [
            Some(namespace),
            (namespace != self.root_namespace).then_some(self.root_namespace),
        ];
        for n in namespaces.into_iter().flatten() {
            for p in self.by_namespace.get(n).into_iter().flatten() {
                if !p.selects(labels) {
                    continue;
                }
                let slot = match (p.selector.is_empty(), p.namespace == self.root_namespace) {
                    (true, true) => &mut mesh,
                    (true, false) => &mut ns,
                    (false, false) => &mut workload,
                    // A selector in the root namespace: ignored by ComposePeerAuthentication.
                    (false, true) => continue,
                };
                // The first listed of a scope (istiod: the oldest) wins.
                slot.get_or_insert(*p);
            }
        }
        let mut mode = PeerMtlsMode::Permissive;
        for p in [mesh, ns, workload].into_iter().flatten() {
            if p.mode() != PeerMtlsMode::Unset {
                mode = p.mode();
            }
        }
        let port_mode = u16::try_from(port)
            .ok()
            .and_then(|port| workload?.port_level_mtls.get(&port))
            .map(|m| m.mode);
        match port_mode {
            // An UNSET port-level mode inherits the workload's.
            Some(PeerMtlsMode::Unset) | None => mode,
            Some(m) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::MeshDocument;

    fn parse(items: &str) -> Result<MeshDocument, String> {
        let text = format!(
            "apiVersion: meshspan/v1alpha1\nkind: Mesh\nmetadata: {{name: m}}\nspec:\n  peerAuthentications:\n{items}"
        );
        MeshDocument::from_yaml(&text).map_err(|e| e.to_string())
    }

    /// Istio's webhook rules (`ValidatePeerAuthentication`) reject the document, naming the
    /// policy and the field; a valid policy reads back as written.
    #[test]
    fn invalid_policies_are_rejected_naming_policy_and_field() {
        let cases = [
            (
                "  - {name: p, namespace: ns, portLevelMtls: {8080: {mode: DISABLE}}}\n",
                "portLevelMtls: mesh/namespace peer authentication cannot have port level mTLS",
            ),
            (
                "  - {name: p, namespace: ns, selector: {matchLabels: {a: b}}, portLevelMtls: {}}\n",
                "portLevelMtls: port level mTLS, if defined, must have at least one element",
            ),
            (
                "  - {name: p, namespace: ns, selector: {matchLabels: {a: b}}, portLevelMtls: {0: {mode: DISABLE}}}\n",
                "portLevelMtls[0]: port must be in range 1..65535",
            ),
            (
                "  - {name: p, namespace: ns, selector: {matchLabels: {a: b}}, portLevelMtls: {70000: {mode: DISABLE}}}\n",
                "portLevelMtls[70000]: port must be in range 1..65535",
            ),
            (
                "  - {name: p, namespace: '', mtls: {mode: STRICT}}\n",
                "namespace: is empty",
            ),
        ];
        for (yaml, message) in cases {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(message), "{err}");
            assert!(err.contains("peerAuthentications[0]"), "{err}");
        }
        let err = parse("  - {name: p, namespace: ns, mtls: {mode: NONE}}\n").unwrap_err();
        assert!(err.contains("NONE"), "{err}");
        let doc = parse(
            "  - {name: p, namespace: ns, selector: {matchLabels: {a: b}}, mtls: {mode: STRICT}, portLevelMtls: {8080: {mode: DISABLE}}}\n",
        )
        .unwrap();
        let back = MeshDocument::from_yaml(&doc.to_yaml()).unwrap();
        assert_eq!(back, doc);
        assert_eq!(doc.spec.peer_authentications[0].port_level_mtls.len(), 1);
    }

    mod properties {
        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use crate::{PeerAuthentication, PeerAuthentications, PeerMtls, PeerMtlsMode};

        fn mode() -> impl Strategy<Value = PeerMtlsMode> {
            prop_oneof![
                Just(PeerMtlsMode::Unset),
                Just(PeerMtlsMode::Disable),
                Just(PeerMtlsMode::Permissive),
                Just(PeerMtlsMode::Strict),
            ]
        }

        /// A policy in `ns` (`root`, `a` or `b`), with or without the selector `app: x`, a mode,
        /// and (with a selector) maybe a port-level mode for port 80 or 81.
        fn policy() -> impl Strategy<Value = PeerAuthentication> {
            (
                prop_oneof![Just("root"), Just("a"), Just("b")],
                any::<bool>(),
                proptest::option::of(mode()),
                proptest::option::of((80u32..82, mode())),
                0u8..4,
            )
                .prop_map(|(ns, selected, mtls, port, n)| {
                    let selector: BTreeMap<String, String> = if selected {
                        [("app".to_owned(), "x".to_owned())].into()
                    } else {
                        BTreeMap::new()
                    };
                    let ports = port
                        .filter(|_| selected)
                        .map(|(p, m)| BTreeMap::from([(p, PeerMtls { mode: m })]));
                    PeerAuthentication::new(
                        format!("p{n}"),
                        ns.to_owned(),
                        selector,
                        mtls.map(|mode| PeerMtls { mode }),
                        ports,
                    )
                    .expect("valid by construction")
                })
        }

        proptest! {
            /// The effective mode is never UNSET; policies of a namespace that is neither the
            /// endpoint's nor the root change nothing; a selected workload policy with a mode
            /// and no port-level entry for the port decides alone.
            #[test]
            fn composition_invariants(policies in proptest::collection::vec(policy(), 0..8), port in 80u32..82) {
                let labels: BTreeMap<String, String> = [("app".to_owned(), "x".to_owned())].into();
                let all = PeerAuthentications::new(&policies, "root");
                let got = all.mode_for("a", &labels, port);
                prop_assert_ne!(got, PeerMtlsMode::Unset);
                let without_b: Vec<PeerAuthentication> =
                    policies.iter().filter(|p| p.namespace != "b").cloned().collect();
                prop_assert_eq!(PeerAuthentications::new(&without_b, "root").mode_for("a", &labels, port), got);
                let first_workload = policies
                    .iter()
                    .find(|p| p.namespace == "a" && !p.selector.is_empty());
                if let Some(w) = first_workload {
                    let own = w.mtls.map_or(PeerMtlsMode::Unset, |m| m.mode);
                    let port_mode = u16::try_from(port).ok().and_then(|p| w.port_level_mtls.get(&p));
                    if own != PeerMtlsMode::Unset && port_mode.is_none() {
                        prop_assert_eq!(got, own);
                    }
                    if let Some(m) = port_mode.filter(|m| m.mode != PeerMtlsMode::Unset) {
                        prop_assert_eq!(got, m.mode);
                    }
                }
                // No policy: PERMISSIVE.
                prop_assert_eq!(PeerAuthentications::new(&[], "root").mode_for("a", &labels, port), PeerMtlsMode::Permissive);
            }
        }
    }
}
