//! A parsed X.509 certificate: the facts trust diagnosis needs, extracted once with x509-parser
//! and kept owned so bundles can be compared without re-parsing.

use std::fmt;

use mesh_model::SpiffeId;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use sha2::{Digest, Sha256};

use crate::key::{
    CaKey, OID_ECDSA_SHA256, OID_RSA_ENCRYPTION, OID_RSA_SHA256, PublicKey, verify_rsa_sha256,
};

/// Why DER bytes are not a usable certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not a DER X.509 certificate.
    #[error("not a DER X.509 certificate")]
    InvalidDer,
    /// Bytes follow the certificate.
    #[error("{0} bytes of trailing data after the certificate")]
    TrailingData(usize),
    /// An extension is malformed or duplicated.
    #[error("malformed extension: {0}")]
    BadExtension(&'static str),
}

/// A certificate with the facts trust diagnosis needs.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    subject: String,
    issuer: String,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    not_before: i64,
    not_after: i64,
    ca: Option<bool>,
    path_len: Option<u32>,
    key_cert_sign: Option<bool>,
    public_key: Option<PublicKey>,
    key_algorithm: String,
    /// The subjectPublicKey bits (a SEC1 point, or a PKCS #1 RSAPublicKey).
    key_bits: Vec<u8>,
    signature_algorithm: String,
    tbs: Vec<u8>,
    signature: Vec<u8>,
    spiffe_ids: Vec<SpiffeId>,
    fingerprint: [u8; 32],
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Parses one DER certificate.
    ///
    /// ```
    /// use mesh_ca::{Certificate, CertificateError};
    /// assert_eq!(Certificate::from_der(b"\x30\x00"), Err(CertificateError::InvalidDer));
    /// ```
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let (rest, x509) =
            X509Certificate::from_der(der).map_err(|_| CertificateError::InvalidDer)?;
        if !rest.is_empty() {
            return Err(CertificateError::TrailingData(rest.len()));
        }
        let basic = x509
            .basic_constraints()
            .map_err(|_| CertificateError::BadExtension("basicConstraints"))?;
        let key_usage = x509
            .key_usage()
            .map_err(|_| CertificateError::BadExtension("keyUsage"))?;
        let san = x509
            .subject_alternative_name()
            .map_err(|_| CertificateError::BadExtension("subjectAltName"))?;
        let spiffe_ids = san
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|name| match name {
                        GeneralName::URI(uri) => SpiffeId::new(uri).ok(),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let spki = x509.public_key();
        let key_algorithm = spki.algorithm.algorithm.to_id_string();
        Ok(Self {
            der: der.to_vec(),
            subject: x509.subject().to_string(),
            issuer: x509.issuer().to_string(),
            subject_raw: x509.subject().as_raw().to_vec(),
            issuer_raw: x509.issuer().as_raw().to_vec(),
            not_before: x509.validity().not_before.timestamp(),
            not_after: x509.validity().not_after.timestamp(),
            ca: basic.as_ref().map(|b| b.value.ca),
            path_len: basic.as_ref().and_then(|b| b.value.path_len_constraint),
            key_cert_sign: key_usage.map(|k| k.value.key_cert_sign()),
            public_key: PublicKey::from_spki(spki).ok(),
            key_algorithm,
            key_bits: spki.subject_public_key.data.to_vec(),
            signature_algorithm: x509.signature_algorithm.algorithm.to_id_string(),
            tbs: x509.tbs_certificate.as_ref().to_vec(),
            signature: x509.signature_value.data.to_vec(),
            spiffe_ids,
            fingerprint: Sha256::digest(der).into(),
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`CERTIFICATE`, LF line endings).
    pub fn to_pem(&self) -> String {
        crate::pem::encode("CERTIFICATE", &self.der)
    }

    /// The subject, RFC 4514 style (`O=Istio, CN=Root CA`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer, RFC 4514 style.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `notBefore`, unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// `notAfter`, unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether basicConstraints says `CA:true`.
    pub fn is_ca(&self) -> bool {
        self.ca == Some(true)
    }

    /// Whether keyUsage allows signing certificates (absent keyUsage allows it, RFC 5280).
    pub fn may_sign_certificates(&self) -> bool {
        self.is_ca() && self.key_cert_sign != Some(false)
    }

    /// basicConstraints `pathLenConstraint`.
    pub fn path_len(&self) -> Option<u32> {
        self.path_len
    }

    /// Whether subject and issuer are the same name.
    pub fn is_self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw
    }

    /// The subject's key, when it is an ECDSA P-256 key.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_key.as_ref()
    }

    /// The SPIFFE IDs among the URI SANs.
    pub fn spiffe_ids(&self) -> &[SpiffeId] {
        &self.spiffe_ids
    }

    /// SHA-256 of the DER.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// The subject with the first 8 bytes of the fingerprint, to tell apart roots that share a
    /// name (`O=Istio, CN=Root CA [sha256:1a2b…]`).
    pub fn label(&self) -> String {
        format!(
            "{} [sha256:{}]",
            self.subject,
            crate::pem::hex(&self.fingerprint[..8])
        )
    }

    /// The DER of the subject name.
    pub(crate) fn subject_der(&self) -> &[u8] {
        &self.subject_raw
    }

    /// Whether `self` names `issuer` as its issuer.
    pub(crate) fn names_issuer(&self, issuer: &Certificate) -> bool {
        self.issuer_raw == issuer.subject_raw
    }

    /// Whether `issuer`'s key signed `self`. `None` when the algorithm is not one this crate
    /// verifies (ECDSA P-256 / SHA-256, RSA PKCS #1 v1.5 / SHA-256).
    pub(crate) fn signed_by(&self, issuer: &Certificate) -> Option<bool> {
        let issuer_is_rsa = issuer.key_algorithm == OID_RSA_ENCRYPTION;
        match self.signature_algorithm.as_str() {
            OID_ECDSA_SHA256 => match &issuer.public_key {
                Some(key) => Some(key.verify(&self.tbs, &self.signature)),
                None if issuer_is_rsa => Some(false),
                None => None,
            },
            OID_RSA_SHA256 if issuer_is_rsa => Some(verify_rsa_sha256(
                &issuer.key_bits,
                &self.tbs,
                &self.signature,
            )),
            OID_RSA_SHA256 if issuer.public_key.is_some() => Some(false),
            _ => None,
        }
    }

    /// The subjectPublicKey bits.
    pub(crate) fn key_bits(&self) -> &[u8] {
        &self.key_bits
    }

    /// Whether the subject key is an RSA key.
    pub(crate) fn has_rsa_key(&self) -> bool {
        self.key_algorithm == OID_RSA_ENCRYPTION
    }

    /// Whether `key` is the private key of this certificate.
    pub(crate) fn matches_key(&self, key: &CaKey) -> bool {
        match key {
            CaKey::P256(key) => self.public_key() == Some(key.public_key()),
            CaKey::Rsa(public) => self.has_rsa_key() && self.key_bits() == public.as_slice(),
        }
    }

    /// The algorithm OID this crate cannot verify, if any (signature first, then key).
    pub(crate) fn unsupported_algorithm(&self) -> Option<String> {
        if self.signature_algorithm != OID_ECDSA_SHA256
            && self.signature_algorithm != OID_RSA_SHA256
        {
            Some(self.signature_algorithm.clone())
        } else if self.public_key.is_none() && !self.has_rsa_key() {
            Some(self.key_algorithm.clone())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::issue::RootCa;

    #[test]
    fn facts_of_an_issued_root() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let root = RootCa::generate(&mut rng, 1_767_225_600).unwrap();
        let cert = root.certificate();
        assert!(cert.is_ca() && cert.may_sign_certificates() && cert.is_self_issued());
        assert_eq!(cert.path_len(), None);
        assert_eq!(cert.signed_by(cert), Some(true));
        assert_eq!(cert.unsupported_algorithm(), None);
        assert_eq!(cert.public_key(), Some(root.key().public_key()));
        assert!(cert.spiffe_ids().is_empty());
        assert_eq!(Certificate::from_der(cert.der()).as_ref(), Ok(cert));
        let mut trailing = cert.der().to_vec();
        trailing.extend_from_slice(b"xyz");
        assert_eq!(
            Certificate::from_der(&trailing),
            Err(CertificateError::TrailingData(3))
        );
    }
}
