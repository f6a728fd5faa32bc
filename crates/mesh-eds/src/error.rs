//! Why the engine gives no answer: [`EdsError`] (the input makes that Istio version crash),
//! [`NotEncodable`] (the push path cannot serve a view) and [`ServeError`] (a snapshot has no
//! answer for what was asked).

use crate::input::Profile;

/// Why an assignment could not be computed: the input makes that Istio version crash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdsError {
    /// Istio 1.1.3–1.1.17 divide by the number of IP gateways of a remote network whose gateways are
    /// all hostnames: istiod panics (rule H1.2).
    #[error(
        "{profile}: network {network:?} has gateways but none with an IP address: integer divide by zero (istiod panics, rule H1.2)"
    )]
    DivideByZero {
        /// The profile.
        profile: Profile,
        /// The network.
        network: String,
    },
}

/// Why [`crate::EncodedService::encode_into`] cannot serve a view: use [`crate::View::assignment_prepared`] and
/// [`crate::wire::encode_into_with`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotEncodable {
    /// The view reproduces a pre-1.8 profile, which this path does not implement.
    #[error("the view's profile is not istio-modern: use View::assignment_prepared")]
    LegacyProfile,
    /// The service was encoded for another gateway index.
    #[error("the service was encoded for another gateway index than the view's")]
    OtherIndex,
}

/// Why [`crate::Snapshot::encode_into`] wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The snapshot serves no view for this proxy class: the store was not given it
    /// ([`crate::Delta::AddClass`]).
    #[error("the snapshot serves no view for the proxy class {class}")]
    UnknownClass {
        /// The class asked for, as `Debug` prints it.
        class: String,
    },
    /// No service of the snapshot has this Envoy cluster name.
    #[error("the snapshot has no service with the Envoy cluster name {cluster_name:?}")]
    UnknownCluster {
        /// The cluster name asked for.
        cluster_name: String,
    },
    /// The class's Istio version fails on this service (rule H1.2).
    #[error(transparent)]
    Eds(#[from] EdsError),
    /// The push path refused the view (a store invariant broken: every view of a snapshot
    /// shares the index its services were encoded for).
    #[error(transparent)]
    Push(#[from] NotEncodable),
}
