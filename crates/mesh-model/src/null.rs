//! YAML's null where a list or map is expected (`endpoints:` with nothing after it): the empty
//! value, as when the field is absent. Protobuf JSON (Istio's MeshNetworks) reads null the same.

use serde::{Deserialize, Deserializer};

/// A list or map written with no value (null) is empty, as when it is absent.
pub(crate) fn empty_if_null<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
