//! Chain verification with rustls-webpki (ECDSA P-256 and RSA PKCS #1 v1.5, SHA-256, through
//! RustCrypto), SPIFFE ID extraction and the trust-domain check.

use std::time::Duration;

use mesh_model::{SpiffeId, TrustDomain};
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
    TrustAnchor, UnixTime, alg_id,
};
use webpki::{EndEntityCert, KeyUsage};

use crate::cert::Certificate;
use crate::key::{KeyPair, PublicKey, verify_rsa_sha256};

/// One signature algorithm as webpki sees it, verified by RustCrypto.
#[derive(Debug)]
struct Algorithm {
    /// `(public key, message, signature) -> valid`.
    verify: fn(&[u8], &[u8], &[u8]) -> bool,
    public_key: AlgorithmIdentifier,
    signature: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for Algorithm {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if (self.verify)(public_key, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature
    }
}

/// ECDSA P-256 / SHA-256 (`p256`).
static ECDSA_P256_SHA256: Algorithm = Algorithm {
    verify: |key, message, signature| {
        PublicKey::from_sec1(key).is_ok_and(|key| key.verify(message, signature))
    },
    public_key: alg_id::ECDSA_P256,
    signature: alg_id::ECDSA_SHA256,
};

/// RSASSA-PKCS1-v1_5 / SHA-256 (`rsa`): what Istio's `tools/certs` makes with OpenSSL.
static RSA_PKCS1_SHA256: Algorithm = Algorithm {
    verify: verify_rsa_sha256,
    public_key: alg_id::RSA_ENCRYPTION,
    signature: alg_id::RSA_PKCS1_SHA256,
};

static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] =
    &[&ECDSA_P256_SHA256, &RSA_PKCS1_SHA256];

/// Why a workload certificate chain did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No certificate was given.
    #[error("empty certificate chain")]
    EmptyChain,
    /// The trust bundle has no usable root.
    #[error("the trust bundle has no usable root")]
    NoTrustAnchor,
    /// `now` is before the unix epoch.
    #[error("time {now} is before the unix epoch")]
    InvalidTime {
        /// The time given.
        now: i64,
    },
    /// webpki rejected the chain.
    #[error("chain rejected: {0:?}")]
    Rejected(webpki::Error),
    /// The leaf carries no SPIFFE URI SAN.
    #[error("the certificate carries no SPIFFE ID")]
    NoSpiffeId,
    /// The leaf's trust domain is not the verifier's nor one of its aliases.
    #[error("trust domain {trust_domain} is not accepted (accepted: {accepted:?})")]
    TrustDomainNotAccepted {
        /// The peer's trust domain.
        trust_domain: TrustDomain,
        /// The verifier's trust domain and aliases.
        accepted: Vec<TrustDomain>,
    },
}

/// The roots a workload trusts (`root-cert.pem`, possibly several during a rotation) and the trust
/// domains it accepts.
///
/// ```
/// use mesh_ca::{KeyPair, RootCa, TrustBundle, VerifyError};
/// use mesh_model::{ClusterId, SpiffeId, TrustDomain};
/// use rand_chacha::ChaCha20Rng;
/// use rand_core::SeedableRng;
///
/// let (now, mut rng) = (1_767_225_600, ChaCha20Rng::seed_from_u64(2));
/// let root = RootCa::generate(&mut rng, now)?;
/// let ca = root.generate_intermediate(&ClusterId::new("c1")?, &mut rng, now)?;
/// let id: SpiffeId = "spiffe://cluster.local/ns/ns1/sa/foo".parse()?;
/// let leaf = ca.issue_workload(&id, KeyPair::generate(&mut rng).public_key(), now, 3600, &mut rng)?;
///
/// let bundle = TrustBundle::new(vec![root.certificate().clone()], TrustDomain::new("cluster.local")?);
/// let chain = [leaf.certificate()?, ca.certificate().clone()];
/// assert_eq!(bundle.verify(&chain, now + 60), Ok(id));
/// assert!(matches!(bundle.verify(&chain, now + 7200), Err(VerifyError::Rejected(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustBundle {
    roots: Vec<Certificate>,
    trust_domain: TrustDomain,
    aliases: Vec<TrustDomain>,
}

impl TrustBundle {
    /// Trusts `roots` for SPIFFE IDs of `trust_domain`.
    pub fn new(roots: Vec<Certificate>, trust_domain: TrustDomain) -> Self {
        Self {
            roots,
            trust_domain,
            aliases: Vec::new(),
        }
    }

    /// Also accepts these trust domains (Istio's `trustDomainAliases`).
    pub fn with_aliases(mut self, aliases: Vec<TrustDomain>) -> Self {
        self.aliases = aliases;
        self
    }

    /// The roots.
    pub fn roots(&self) -> &[Certificate] {
        &self.roots
    }

    /// Whether `trust_domain` is accepted.
    pub fn accepts(&self, trust_domain: &TrustDomain) -> bool {
        self.trust_domain == *trust_domain || self.aliases.contains(trust_domain)
    }

    /// Verifies `chain` (the leaf first, then the intermediates the peer sent, in any order) at
    /// `now` (unix seconds) and returns the peer's SPIFFE ID.
    pub fn verify(&self, chain: &[Certificate], now: i64) -> Result<SpiffeId, VerifyError> {
        let (leaf, intermediates) = chain.split_first().ok_or(VerifyError::EmptyChain)?;
        verify_chain(&self.roots, leaf.der(), intermediates, now)?;
        let id = leaf
            .spiffe_ids()
            .first()
            .ok_or(VerifyError::NoSpiffeId)?
            .clone();
        if !self.accepts(id.trust_domain()) {
            return Err(VerifyError::TrustDomainNotAccepted {
                trust_domain: id.trust_domain().clone(),
                accepted: std::iter::once(self.trust_domain.clone())
                    .chain(self.aliases.iter().cloned())
                    .collect(),
            });
        }
        Ok(id)
    }
}

/// webpki path building from `leaf` through `intermediates` to one of `roots`.
pub(crate) fn verify_chain(
    roots: &[Certificate],
    leaf: &[u8],
    intermediates: &[Certificate],
    now: i64,
) -> Result<(), VerifyError> {
    let seconds = u64::try_from(now).map_err(|_| VerifyError::InvalidTime { now })?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(seconds));
    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|r| CertificateDer::from(r.der()))
        .collect();
    let anchors: Vec<TrustAnchor<'_>> = root_ders
        .iter()
        .filter_map(|der| webpki::anchor_from_trusted_cert(der).ok())
        .collect();
    if anchors.is_empty() {
        return Err(VerifyError::NoTrustAnchor);
    }
    let intermediate_ders: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    let leaf_der = CertificateDer::from(leaf);
    let end_entity = EndEntityCert::try_from(&leaf_der).map_err(VerifyError::Rejected)?;
    end_entity
        .verify_for_usage(
            ALGORITHMS,
            &anchors,
            &intermediate_ders,
            time,
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
        .map_err(VerifyError::Rejected)
}

/// A minimal leaf for `id` signed by `issuer_key` under `issuer`'s name, valid at `now`: what the
/// trust report presents on behalf of a cluster to check its chain end to end with webpki.
pub(crate) fn probe_leaf(
    issuer: &Certificate,
    issuer_key: &KeyPair,
    id: &SpiffeId,
    now: i64,
) -> Option<Vec<u8>> {
    use yasna::Tag;
    use yasna::models::{GeneralizedTime, ObjectIdentifier, UTCTime};

    // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
    let time = |t: i64| {
        let at = time::OffsetDateTime::from_unix_timestamp(t).ok()?;
        if (1950..2050).contains(&at.year()) {
            UTCTime::from_datetime_opt(at).map(|u| yasna::construct_der(|w| w.write_utctime(&u)))
        } else {
            GeneralizedTime::from_datetime_opt(at)
                .map(|g| yasna::construct_der(|w| w.write_generalized_time(&g)))
        }
    };
    let (not_before, not_after) = (time(now.saturating_sub(60))?, time(now.saturating_add(60))?);
    let ecdsa_sha256 = ObjectIdentifier::from_slice(&[1, 2, 840, 10045, 4, 3, 2]);
    let spki = issuer_key.public_key().spki_der();
    let uri = id.to_string();
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_tagged(Tag::context(0), |w| w.write_u8(2));
            w.next().write_u8(1);
            w.next()
                .write_sequence(|w| w.next().write_oid(&ecdsa_sha256));
            w.next().write_der(issuer.subject_der());
            w.next().write_sequence(|w| {
                w.next().write_der(&not_before);
                w.next().write_der(&not_after);
            });
            w.next().write_sequence(|_| {});
            w.next().write_der(&spki);
            w.next().write_tagged(Tag::context(3), |w| {
                w.write_sequence(|w| {
                    w.next().write_sequence(|w| {
                        // subjectAltName, critical (empty subject).
                        w.next()
                            .write_oid(&ObjectIdentifier::from_slice(&[2, 5, 29, 17]));
                        w.next().write_bool(true);
                        let san = yasna::construct_der(|w| {
                            w.write_sequence(|w| {
                                w.next().write_tagged_implicit(Tag::context(6), |w| {
                                    w.write_ia5_string(&uri);
                                });
                            });
                        });
                        w.next().write_bytes(&san);
                    });
                });
            });
        });
    });
    let signature = issuer_key.sign(&tbs);
    Some(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&tbs);
            w.next()
                .write_sequence(|w| w.next().write_oid(&ecdsa_sha256));
            w.next().write_bitvec_bytes(&signature, signature.len() * 8);
        });
    }))
}

#[cfg(test)]
mod tests {
    use mesh_model::ClusterId;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::issue::{RootCa, Validity};

    #[test]
    fn probe_leaf_verifies_before_and_after_2050() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        // 2040-01-01 .. 2070-01-01: the probe needs UTCTime before 2050, GeneralizedTime after.
        let validity = Validity {
            not_before: 2_208_988_800,
            not_after: 3_155_760_000,
        };
        let root = RootCa::new(KeyPair::generate(&mut rng), validity, &mut rng).unwrap();
        let ca = root
            .issue_intermediate(
                &ClusterId::new("c1").unwrap(),
                KeyPair::generate(&mut rng),
                validity,
                &mut rng,
            )
            .unwrap();
        let id = SpiffeId::new("spiffe://cluster.local/ns/a/sa/b").unwrap();
        // 2049-12-31 and 2060-01-01.
        for now in [2_524_521_600, 2_840_140_800] {
            let leaf = probe_leaf(ca.certificate(), ca.key(), &id, now).unwrap();
            let roots = [root.certificate().clone()];
            assert_eq!(
                verify_chain(&roots, &leaf, &[ca.certificate().clone()], now),
                Ok(()),
                "{now}"
            );
            let wrong = KeyPair::generate(&mut rng);
            let forged = probe_leaf(ca.certificate(), &wrong, &id, now).unwrap();
            assert!(verify_chain(&roots, &forged, &[ca.certificate().clone()], now).is_err());
        }
    }
}
