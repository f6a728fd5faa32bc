//! Why an import failed: each error names the cluster (the dump's name), the object
//! (`kind/namespace/name`) and the field. An error about a Secret never carries the parser's message
//! or the value, which could hold a token or key.

use crate::object::ObjectRef;

/// Why a dump, a values file or the set of clusters could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The dump is not JSON or YAML.
    #[error("{cluster}: the dump is not valid {format}: {message}")]
    Syntax {
        /// The dump's name (`--cluster NAME=...`).
        cluster: String,
        /// `JSON` or `YAML`.
        format: &'static str,
        /// The parser's message and position (never a snippet of the text).
        message: String,
    },
    /// An item of the dump is not a Kubernetes object (no `kind`).
    #[error("{cluster}: item {index} of the dump is not a Kubernetes object (it has no kind)")]
    NotAnObject {
        /// The dump's name.
        cluster: String,
        /// Its position in the dump, from 0.
        index: usize,
    },
    /// A field of an object has the wrong shape or an invalid value.
    #[error("{cluster}: {object}: {field}: {message}")]
    Field {
        /// The dump's name.
        cluster: String,
        /// The object (boxed: keeps the error small).
        object: Box<ObjectRef>,
        /// The field's path in the object (`spec.podCIDRs[0]`).
        field: String,
        /// What is wrong (for Secrets, without the value).
        message: String,
    },
    /// A Helm values or IstioOperator file is not what it should be.
    #[error("{cluster}: values: {field}: {message}")]
    Values {
        /// The dump's name the values belong to.
        cluster: String,
        /// The field's path (`global.multiCluster.clusterName`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A cluster option given by the caller (command line) is invalid.
    #[error("{cluster}: {option}: {message}")]
    Option {
        /// The dump's name.
        cluster: String,
        /// The option (`network`, `meshId`).
        option: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Two dumps were given the same name.
    #[error("two dumps are named {cluster}")]
    DuplicateDump {
        /// The name.
        cluster: String,
    },
}

impl ImportError {
    /// An error in `field` of `object`; for a Secret the message is replaced by one that cannot
    /// quote its value.
    pub(crate) fn field(
        cluster: &str,
        object: &ObjectRef,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let message = if object.kind == "Secret" {
            "is not what it should be (the value is not shown: it may be secret)".to_owned()
        } else {
            message.into()
        };
        Self::Field {
            cluster: cluster.to_owned(),
            object: Box::new(object.clone()),
            field: field.into(),
            message,
        }
    }
}
