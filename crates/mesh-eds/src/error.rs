//! Why the engine gives no answer: [`EdsError`] (the input makes that Istio version crash) and
//! [`NotEncodable`] (the push path cannot serve a view).

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
