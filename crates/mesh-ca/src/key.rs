//! P-256 keys: the CA and workload key pairs (RustCrypto `p256`, RFC 6979 deterministic ECDSA) and
//! the public keys certificates are issued for, from SPKI or from a CSR whose signature is checked.

use std::fmt;

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand_core::CryptoRng;
use rustls_pki_types::pem::SectionKind;
use sha2::{Digest, Sha256};
use x509_parser::prelude::FromDer;

use crate::pem::{PemProblem, pem_sections};

/// `id-ecPublicKey`.
pub(crate) const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// `prime256v1` / `secp256r1`.
pub(crate) const OID_P256: &str = "1.2.840.10045.3.1.7";
/// `ecdsa-with-SHA256`.
pub(crate) const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
/// `rsaEncryption`.
pub(crate) const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// `sha256WithRSAEncryption`.
pub(crate) const OID_RSA_SHA256: &str = "1.2.840.113549.1.1.11";

/// Whether `signature` is an RSASSA-PKCS1-v1_5 / SHA-256 signature of `message` by the key whose
/// PKCS #1 `RSAPublicKey` DER is `public_key` (what Istio's `tools/certs` makes with OpenSSL).
pub(crate) fn verify_rsa_sha256(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::signature::Verifier as _;
    let Ok(key) = rsa::PublicKey::from_pkcs1_der(public_key) else {
        return false;
    };
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
        return false;
    };
    rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key)
        .verify(message, &signature)
        .is_ok()
}

/// A CA's private key as the trust report needs it: a P-256 key it can sign probes with, or the
/// public half of an RSA key (RSA keys are checked against their certificate, never used).
#[derive(Debug, Clone)]
pub(crate) enum CaKey {
    /// ECDSA P-256.
    P256(KeyPair),
    /// RSA: the PKCS #1 `RSAPublicKey` DER of its public half.
    Rsa(Vec<u8>),
}

impl CaKey {
    pub(crate) fn from_pem_bytes(pem: &[u8]) -> Result<Self, KeyError> {
        use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
        use rsa::pkcs8::DecodePrivateKey as _;
        let rsa_public = |key: rsa::PrivateKey| {
            key.to_public_key()
                .to_pkcs1_der()
                .map(|der| CaKey::Rsa(der.as_bytes().to_vec()))
                .map_err(|_| KeyError::InvalidDer {
                    what: "RSA public key",
                })
        };
        for (kind, der) in pem_sections(pem)? {
            match kind {
                SectionKind::PrivateKey => {
                    return match KeyPair::from_pkcs8_der(&der) {
                        Err(KeyError::UnsupportedAlgorithm { algorithm }) => {
                            // Sized before the rsa crate decodes (and validates) it.
                            match pkcs1_in_pkcs8(&der) {
                                Some(pkcs1) => check_rsa_size(&pkcs1)?,
                                None => return Err(KeyError::UnsupportedAlgorithm { algorithm }),
                            }
                            match rsa::PrivateKey::from_pkcs8_der(&der) {
                                Ok(key) => rsa_public(key),
                                Err(_) => Err(KeyError::UnsupportedAlgorithm { algorithm }),
                            }
                        }
                        other => other.map(CaKey::P256),
                    };
                }
                SectionKind::RsaPrivateKey => {
                    check_rsa_size(&der)?;
                    return rsa::PrivateKey::from_pkcs1_der(&der)
                        .map_err(|_| KeyError::InvalidDer {
                            what: "PKCS #1 RSA private key",
                        })
                        .and_then(rsa_public);
                }
                SectionKind::EcPrivateKey => return KeyPair::from_pem_bytes(pem).map(CaKey::P256),
                _ => {}
            }
        }
        Err(KeyError::Missing {
            expected: "PRIVATE KEY",
        })
    }
}

/// The largest RSA private key a CA key may be, in modulus bits: the rsa crate's limit for public
/// keys ([`rsa::PublicKey::MAX_SIZE`]), so no CA key is larger than a certificate's may be.
pub(crate) const MAX_RSA_KEY_BITS: usize = rsa::PublicKey::MAX_SIZE;

/// The PKCS #1 `RSAPrivateKey` inside a PKCS #8 `PrivateKeyInfo` (or `OneAsymmetricKey`) whose
/// algorithm is `rsaEncryption`; `None` for any other algorithm or malformed DER.
fn pkcs1_in_pkcs8(der: &[u8]) -> Option<Vec<u8>> {
    let rsa_encryption = yasna::models::ObjectIdentifier::from_slice(&[1, 2, 840, 113549, 1, 1, 1]);
    let (algorithm, key) = yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            r.next().read_der()?; // version
            let algorithm = r.next().read_sequence(|r| {
                let oid = r.next().read_oid()?;
                r.read_optional(|r| r.read_der())?; // parameters (NULL)
                Ok(oid)
            })?;
            let key = r.next().read_bytes()?;
            // attributes [0], publicKey [1]
            while r.read_optional(|r| r.read_der())?.is_some() {}
            Ok((algorithm, key))
        })
    })
    .ok()?;
    (algorithm == rsa_encryption).then_some(key)
}

/// Checks the sizes of a PKCS #1 `RSAPrivateKey` from its DER alone, before the rsa crate
/// decodes it: decoding validates the key and precomputes its CRT values, work that grows with
/// the size of its numbers (a 1,048,576-bit key takes seconds). Every number of a well-formed
/// key is at most its modulus, so the largest is what is measured against [`MAX_RSA_KEY_BITS`].
/// O(length of the DER).
fn check_rsa_size(pkcs1: &[u8]) -> Result<(), KeyError> {
    let invalid = KeyError::InvalidDer {
        what: "PKCS #1 RSA private key",
    };
    let bits = yasna::parse_der(pkcs1, |r| {
        r.read_sequence(|r| {
            let mut bits = 0;
            // version, n, e, d, p, q, dP, dQ, qInv; then otherPrimeInfos (multi-prime).
            while let Some(n) = r.read_optional(|r| r.read_bigint_bytes())? {
                bits = bits.max(magnitude_bits(&n.0));
            }
            while r.read_optional(|r| r.read_der())?.is_some() {}
            Ok(bits)
        })
    })
    .map_err(|_| invalid)?;
    if bits > MAX_RSA_KEY_BITS {
        return Err(KeyError::RsaKeyTooLarge {
            bits,
            limit: MAX_RSA_KEY_BITS,
        });
    }
    Ok(())
}

/// The number of bits of a big-endian magnitude, leading zeros not counted.
fn magnitude_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

/// Why a key or a certificate signing request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text is malformed.
    #[error("malformed PEM: {0}")]
    Pem(#[from] PemProblem),
    /// The input holds no block of the expected kind.
    #[error("no {expected} found")]
    Missing {
        /// What was looked for (`PRIVATE KEY`, `PUBLIC KEY`, `CERTIFICATE REQUEST`).
        expected: &'static str,
    },
    /// The DER structure could not be decoded.
    #[error("invalid {what} DER")]
    InvalidDer {
        /// What was being decoded.
        what: &'static str,
    },
    /// The key is not an ECDSA P-256 key: this crate issues and signs with P-256 only.
    #[error("unsupported key algorithm {algorithm} (only ECDSA P-256 is supported)")]
    UnsupportedAlgorithm {
        /// The algorithm (and curve) OID found.
        algorithm: String,
    },
    /// An RSA private key larger than this crate decodes: refused from its DER, before any
    /// arithmetic on it.
    #[error("RSA key of {bits} bits is larger than the limit of {limit} bits")]
    RsaKeyTooLarge {
        /// Its size: the bits of its largest number (the modulus, for a well-formed key).
        bits: usize,
        /// The largest size accepted.
        limit: usize,
    },
    /// The certificate signing request is not signed by the key it carries.
    #[error("the certificate signing request's signature does not verify with its own key")]
    BadCsrSignature,
}

/// An ECDSA P-256 key pair: a root or intermediate CA key, or a workload key.
///
/// Signatures are deterministic (RFC 6979), so the same key and the same input always give the
/// same certificate bytes. The key is generated from the caller's RNG, never from the OS.
///
/// ```
/// use mesh_ca::KeyPair;
/// use rand_chacha::ChaCha20Rng;
/// use rand_core::SeedableRng;
/// let key = KeyPair::generate(&mut ChaCha20Rng::seed_from_u64(7));
/// let again = KeyPair::from_pem(&key.to_pem())?;
/// assert_eq!(key.public_key(), again.public_key());
/// # Ok::<(), mesh_ca::KeyError>(())
/// ```
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates a key from the caller's cryptographic RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_signing_key(SigningKey::generate_from_rng(rng))
    }

    fn from_signing_key(signing: SigningKey) -> Self {
        let public = PublicKey::from_verifying_key(*signing.verifying_key());
        Self { signing, public }
    }

    /// Reads a PEM private key: PKCS #8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), as Istio's
    /// `ca-key.pem` may hold either.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pem_bytes(pem.as_bytes())
    }

    /// [`KeyPair::from_pem`] over bytes (which need not be UTF-8 to be rejected cleanly).
    pub fn from_pem_bytes(pem: &[u8]) -> Result<Self, KeyError> {
        for (kind, der) in pem_sections(pem)? {
            match kind {
                SectionKind::PrivateKey => return Self::from_pkcs8_der(&der),
                SectionKind::EcPrivateKey => {
                    let secret =
                        p256::SecretKey::from_sec1_der(&der).map_err(|_| KeyError::InvalidDer {
                            what: "SEC1 EC private key",
                        })?;
                    return Ok(Self::from_signing_key(secret.into()));
                }
                SectionKind::RsaPrivateKey => {
                    return Err(KeyError::UnsupportedAlgorithm {
                        algorithm: "rsaEncryption".to_owned(),
                    });
                }
                _ => {}
            }
        }
        Err(KeyError::Missing {
            expected: "PRIVATE KEY",
        })
    }

    /// Reads a PKCS #8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        match SigningKey::from_pkcs8_der(der) {
            Ok(signing) => Ok(Self::from_signing_key(signing)),
            Err(p256::pkcs8::Error::KeyMalformed(_) | p256::pkcs8::Error::Asn1(_)) => {
                Err(KeyError::InvalidDer {
                    what: "PKCS #8 private key",
                })
            }
            Err(_) => Err(KeyError::UnsupportedAlgorithm {
                algorithm: "not ECDSA P-256".to_owned(),
            }),
        }
    }

    /// The private key as PKCS #8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings).
    pub fn to_pem(&self) -> String {
        // Encoding a valid in-memory P-256 key cannot fail; an empty string is never produced in
        // practice but keeps this function panic-free.
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .unwrap_or_default()
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` with ECDSA P-256 / SHA-256 (RFC 6979), DER-encoded.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: DerSignature = self.signing.sign(message);
        signature.as_bytes().to_vec()
    }
}

impl rcgen::PublicKeyData for KeyPair {
    fn der_bytes(&self) -> &[u8] {
        &self.public.sec1
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for KeyPair {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(KeyPair::sign(self, msg))
    }
}

/// An ECDSA P-256 public key: what a workload certificate is issued for.
#[derive(Clone)]
pub struct PublicKey {
    /// Uncompressed SEC1 point (65 bytes).
    sec1: Vec<u8>,
    verifying: VerifyingKey,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.sec1 == other.sec1
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.sec1.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKey(P-256, key id {})",
            crate::pem::hex(&self.key_identifier())
        )
    }
}

impl PublicKey {
    fn from_verifying_key(verifying: VerifyingKey) -> Self {
        Self {
            sec1: verifying.to_sec1_bytes().into_vec(),
            verifying,
        }
    }

    /// From an uncompressed or compressed SEC1 point.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        VerifyingKey::from_sec1_bytes(bytes)
            .map(Self::from_verifying_key)
            .map_err(|_| KeyError::InvalidDer {
                what: "P-256 public key point",
            })
    }

    /// From a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der).map_err(|_| {
            KeyError::InvalidDer {
                what: "SubjectPublicKeyInfo",
            }
        })?;
        Self::from_spki(&spki)
    }

    pub(crate) fn from_spki(
        spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
    ) -> Result<Self, KeyError> {
        let algorithm = spki.algorithm.algorithm.to_id_string();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|oid| oid.to_id_string());
        if algorithm != OID_EC_PUBLIC_KEY || curve.as_deref() != Some(OID_P256) {
            return Err(KeyError::UnsupportedAlgorithm {
                algorithm: match curve {
                    Some(curve) => format!("{algorithm} ({curve})"),
                    None => algorithm,
                },
            });
        }
        Self::from_sec1(&spki.subject_public_key.data)
    }

    /// From PEM: a `PUBLIC KEY` (SPKI) block, or a `CERTIFICATE REQUEST` (see
    /// [`PublicKey::from_csr_der`]).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        for (kind, der) in pem_sections(pem.as_bytes())? {
            match kind {
                SectionKind::PublicKey => return Self::from_spki_der(&der),
                SectionKind::Csr => return Self::from_csr_der(&der),
                _ => {}
            }
        }
        Err(KeyError::Missing {
            expected: "PUBLIC KEY or CERTIFICATE REQUEST",
        })
    }

    /// The key of a PKCS #10 certificate signing request, after checking that the request is
    /// signed by that key (proof of possession). Only the key is taken from the request: the
    /// identity a certificate carries is the caller's decision, as in Istio's CA.
    pub fn from_csr_der(der: &[u8]) -> Result<Self, KeyError> {
        let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(der)
            .map_err(|_| KeyError::InvalidDer {
                what: "certification request",
            })?;
        let key = Self::from_spki(&csr.certification_request_info.subject_pki)?;
        let algorithm = csr.signature_algorithm.algorithm.to_id_string();
        if algorithm != OID_ECDSA_SHA256 {
            return Err(KeyError::UnsupportedAlgorithm { algorithm });
        }
        if !key.verify(
            csr.certification_request_info.raw,
            &csr.signature_value.data,
        ) {
            return Err(KeyError::BadCsrSignature);
        }
        Ok(key)
    }

    /// Whether `signature` (DER ECDSA) is this key's signature over `message` (SHA-256).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_der(signature)
            .is_ok_and(|signature| self.verifying.verify(message, &signature).is_ok())
    }

    /// The uncompressed SEC1 point.
    pub fn sec1_bytes(&self) -> &[u8] {
        &self.sec1
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> Vec<u8> {
        rcgen::PublicKeyData::subject_public_key_info(self)
    }

    /// The key identifier used in SubjectKeyIdentifier / AuthorityKeyIdentifier: the first 20
    /// bytes of the SHA-256 of the SubjectPublicKeyInfo (RFC 7093, method 1).
    pub fn key_identifier(&self) -> Vec<u8> {
        Sha256::digest(self.spki_der())[..20].to_vec()
    }
}

impl rcgen::PublicKeyData for PublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.sec1
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    fn key(seed: u64) -> KeyPair {
        KeyPair::generate(&mut ChaCha20Rng::seed_from_u64(seed))
    }

    #[test]
    fn seeded_generation_is_deterministic_and_seed_dependent() {
        assert_eq!(key(1).to_pem(), key(1).to_pem());
        assert_ne!(key(1).to_pem(), key(2).to_pem());
    }

    #[test]
    fn pem_round_trip_pkcs8_and_sec1() {
        let k = key(3);
        let back = KeyPair::from_pem(&k.to_pem()).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let sec1 = p256::SecretKey::from_bytes(&k.signing.to_bytes())
            .unwrap()
            .to_sec1_pem(LineEnding::LF)
            .unwrap();
        assert!(sec1.contains("EC PRIVATE KEY"));
        assert_eq!(
            KeyPair::from_pem(&sec1).unwrap().public_key(),
            k.public_key()
        );
    }

    #[test]
    fn signatures_are_deterministic_and_verify() {
        let k = key(4);
        let sig = k.sign(b"hello");
        assert_eq!(sig, k.sign(b"hello"));
        assert!(k.public_key().verify(b"hello", &sig));
        assert!(!k.public_key().verify(b"hellO", &sig));
        assert!(!key(5).public_key().verify(b"hello", &sig));
        assert!(!k.public_key().verify(b"hello", b"\x30\x00"));
    }

    #[test]
    fn spki_round_trip() {
        let k = key(6);
        let spki = k.public_key().spki_der();
        assert_eq!(&PublicKey::from_spki_der(&spki).unwrap(), k.public_key());
        assert_eq!(k.public_key().key_identifier().len(), 20);
    }

    #[test]
    fn malformed_keys_are_typed_errors() {
        assert!(matches!(
            KeyPair::from_pem("no pem here"),
            Err(KeyError::Missing {
                expected: "PRIVATE KEY"
            })
        ));
        assert!(matches!(
            KeyPair::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(KeyError::InvalidDer { .. })
        ));
        assert!(matches!(
            KeyPair::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n"),
            Err(KeyError::Pem(_))
        ));
        assert!(matches!(
            PublicKey::from_spki_der(b"\x30\x03\x02\x01\x00"),
            Err(KeyError::InvalidDer { .. })
        ));
    }

    #[test]
    fn ca_keys_p256_and_rsa_pkcs8_and_pkcs1() {
        let pkcs8 = include_str!("../tests/fixtures/istio-rsa/ca-key.pem");
        let pkcs1 = include_str!("../tests/fixtures/istio-rsa/ca-key-pkcs1.pem");
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let (CaKey::Rsa(a), CaKey::Rsa(b)) = (
            CaKey::from_pem_bytes(pkcs8.as_bytes()).unwrap(),
            CaKey::from_pem_bytes(pkcs1.as_bytes()).unwrap(),
        ) else {
            panic!("RSA keys expected");
        };
        assert_eq!(a, b);
        let cert = crate::bundle::parse_certificates(
            &mesh_model::ClusterId::new("c").unwrap(),
            crate::BundleFile::CaCert,
            include_bytes!("../tests/fixtures/istio-rsa/ca-cert.pem"),
        )
        .unwrap()
        .remove(0);
        assert!(cert.matches_key(&CaKey::Rsa(a)));
        let p256 = key(9);
        let parsed = CaKey::from_pem_bytes(p256.to_pem().as_bytes()).unwrap();
        assert!(matches!(&parsed, CaKey::P256(k) if k.public_key() == p256.public_key()));
        assert!(!cert.matches_key(&parsed));
        assert!(matches!(
            CaKey::from_pem_bytes(
                b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
            ),
            Err(KeyError::InvalidDer { .. })
        ));
        assert!(matches!(
            CaKey::from_pem_bytes(b"nothing"),
            Err(KeyError::Missing { .. })
        ));
    }

    /// A structurally valid PKCS #1 `RSAPrivateKey` with a modulus of `bits` bits of arbitrary
    /// bytes (no real key: its numbers do not fit together) and small other numbers.
    pub(crate) fn rsa_private_key_der(bits: usize) -> Vec<u8> {
        let mut modulus: Vec<u8> = (0..bits.div_ceil(8))
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        modulus[0] = 0xff >> (modulus.len() * 8 - bits); // exactly `bits` bits
        yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_u8(0);
                w.next().write_bigint_bytes(&modulus, true);
                for small in [65_537u32, 3, 5, 7, 11, 13, 17] {
                    w.next().write_u32(small);
                }
            })
        })
    }

    /// The same key as PKCS #8 `PrivateKeyInfo` (algorithm `rsaEncryption`).
    pub(crate) fn rsa_pkcs8_der(bits: usize) -> Vec<u8> {
        let pkcs1 = rsa_private_key_der(bits);
        yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_u8(0);
                w.next().write_sequence(|w| {
                    w.next()
                        .write_oid(&yasna::models::ObjectIdentifier::from_slice(&[
                            1, 2, 840, 113_549, 1, 1, 1,
                        ]));
                    w.next().write_null();
                });
                w.next().write_bytes(&pkcs1);
            })
        })
    }

    #[test]
    fn huge_rsa_keys_are_refused_from_their_der_pkcs1_and_pkcs8() {
        let too_large = |bits| {
            Err::<(), _>(KeyError::RsaKeyTooLarge {
                bits,
                limit: MAX_RSA_KEY_BITS,
            })
        };
        for bits in [MAX_RSA_KEY_BITS + 1, 1 << 20] {
            let pkcs1 = crate::pem::encode("RSA PRIVATE KEY", &rsa_private_key_der(bits));
            let pkcs8 = crate::pem::encode("PRIVATE KEY", &rsa_pkcs8_der(bits));
            for pem in [pkcs1, pkcs8] {
                assert_eq!(
                    CaKey::from_pem_bytes(pem.as_bytes()).map(|_| ()),
                    too_large(bits),
                    "{bits}"
                );
            }
        }
        // At the limit the size passes, and the rsa crate rejects the made-up numbers.
        assert_eq!(
            check_rsa_size(&rsa_private_key_der(MAX_RSA_KEY_BITS)),
            Ok(())
        );
        let at_limit = crate::pem::encode("RSA PRIVATE KEY", &rsa_private_key_der(2048));
        assert!(matches!(
            CaKey::from_pem_bytes(at_limit.as_bytes()),
            Err(KeyError::InvalidDer { .. })
        ));
        assert_eq!(magnitude_bits(&[0, 0, 1]), 1);
        assert_eq!(magnitude_bits(&[0x80, 0]), 16);
        assert_eq!(magnitude_bits(&[0]), 0);
    }

    #[test]
    fn csr_key_is_taken_after_checking_possession() {
        let k = key(8);
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "workload-aaaa");
        let csr = params.serialize_request(&k).unwrap();
        let der = csr.der().to_vec();
        assert_eq!(&PublicKey::from_csr_der(&der).unwrap(), k.public_key());
        let pem = csr.pem().unwrap();
        assert_eq!(&PublicKey::from_pem(&pem).unwrap(), k.public_key());
        // Change the subject inside the signed request info: still valid DER, but the
        // signature no longer verifies.
        let at = der.windows(4).position(|w| w == b"aaaa").unwrap();
        let mut tampered = der.clone();
        tampered[at] = b'b';
        assert_eq!(
            PublicKey::from_csr_der(&tampered),
            Err(KeyError::BadCsrSignature)
        );
        assert!(matches!(
            PublicKey::from_csr_der(&der[..der.len() - 1]),
            Err(KeyError::InvalidDer { .. })
        ));
    }
}
