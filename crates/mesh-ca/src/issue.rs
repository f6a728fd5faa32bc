//! Issuing: a self-signed root, a per-cluster intermediate in Istio's plug-in layout, and SPIFFE
//! workload leaves. Extensions follow Istio's own `tools/certs` (root: `CA:true`; intermediate:
//! `CA:true, pathlen:0`, the cluster in `L=`, SAN `istiod.istio-system.svc`; both with keyUsage
//! `digitalSignature, nonRepudiation, keyEncipherment, keyCertSign`; leaves: `CA:false`,
//! `digitalSignature, keyEncipherment`, `serverAuth, clientAuth`, the SPIFFE URI SAN and an empty
//! subject, as istiod issues them).
//!
//! Time and randomness are arguments: `now` is unix seconds, serial numbers come from the caller's
//! RNG, signatures are RFC 6979 deterministic. A seeded run gives byte-identical certificates.

use std::fmt;

use mesh_model::{ClusterId, SpiffeId};
use rand_core::CryptoRng;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;

use crate::bundle::PluginFiles;
use crate::cert::{Certificate, CertificateError};
use crate::key::{KeyPair, PublicKey};

/// Istio `tools/certs` root lifetime: 3650 days.
pub const ROOT_LIFETIME_SECS: u64 = 3650 * 86_400;
/// Istio `tools/certs` intermediate lifetime: 730 days.
pub const INTERMEDIATE_LIFETIME_SECS: u64 = 730 * 86_400;
/// istiod's default workload certificate TTL: 24 hours.
pub const WORKLOAD_TTL_SECS: u64 = 86_400;
/// The DNS SAN Istio's tooling puts on intermediates.
pub const ISTIOD_SAN: &str = "istiod.istio-system.svc";
/// Organization of roots and intermediates.
pub const ORGANIZATION: &str = "Istio";
/// Common name of a root.
pub const ROOT_COMMON_NAME: &str = "Root CA";
/// Common name of an intermediate.
pub const INTERMEDIATE_COMMON_NAME: &str = "Intermediate CA";

/// Why a certificate could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// A time is outside what X.509 can encode (years 1950–9999).
    #[error("time {unix_seconds} (unix seconds) cannot be encoded in a certificate")]
    InvalidTime {
        /// The offending time.
        unix_seconds: i64,
    },
    /// `notAfter` is not after `notBefore`.
    #[error("empty validity: notBefore {not_before} is not before notAfter {not_after}")]
    EmptyValidity {
        /// Start, unix seconds.
        not_before: i64,
        /// End, unix seconds.
        not_after: i64,
    },
    /// The issuer is not valid at `now`.
    #[error("the issuing CA is not valid at {now} (valid {not_before}..{not_after})")]
    IssuerNotValid {
        /// The time of issuance.
        now: i64,
        /// Issuer's notBefore.
        not_before: i64,
        /// Issuer's notAfter.
        not_after: i64,
    },
    /// A name cannot be encoded (a SAN that is not IA5).
    #[error("cannot encode name {value:?}")]
    InvalidName {
        /// The name.
        value: String,
    },
    /// The root given to [`RootCa::from_pem`] is not one certificate with its key.
    #[error("the root CA cannot be used: {problem}")]
    InvalidRoot {
        /// What is wrong with it.
        problem: RootProblem,
    },
    /// The certificate encoder failed.
    #[error("certificate encoding failed: {detail}")]
    Encoding {
        /// rcgen's description.
        detail: String,
    },
}

/// Why an existing root cannot issue (see [`RootCa::from_pem`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RootProblem {
    /// `root-cert.pem` holds no certificate, or more than one.
    #[error("root-cert.pem holds {count} certificates, not one")]
    CertificateCount {
        /// How many it holds.
        count: usize,
    },
    /// `root-cert.pem` is not PEM text.
    #[error("root-cert.pem: {0}")]
    Pem(crate::pem::PemProblem),
    /// `root-cert.pem` holds no certificate X.509 parsers accept.
    #[error("root-cert.pem: {0}")]
    Certificate(CertificateError),
    /// `root-key.pem` does not parse.
    #[error("root-key.pem: {0}")]
    Key(crate::key::KeyError),
    /// The certificate is not a CA that may sign certificates.
    #[error("root-cert.pem is not a CA certificate that may sign certificates")]
    NotCa,
    /// The key is not the certificate's.
    #[error("root-key.pem is not the key of root-cert.pem")]
    KeyMismatch,
}

impl From<rcgen::Error> for IssueError {
    fn from(error: rcgen::Error) -> Self {
        Self::Encoding {
            detail: error.to_string(),
        }
    }
}

/// A validity window in unix seconds, `not_before..not_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Validity {
    /// Start, unix seconds.
    pub not_before: i64,
    /// End, unix seconds.
    pub not_after: i64,
}

impl Validity {
    /// `now .. now + lifetime`.
    pub fn starting_at(now: i64, lifetime_secs: u64) -> Self {
        let lifetime = i64::try_from(lifetime_secs).unwrap_or(i64::MAX);
        Self {
            not_before: now,
            not_after: now.saturating_add(lifetime),
        }
    }

    fn apply(&self, params: &mut CertificateParams) -> Result<(), IssueError> {
        if self.not_after <= self.not_before {
            return Err(IssueError::EmptyValidity {
                not_before: self.not_before,
                not_after: self.not_after,
            });
        }
        params.not_before = to_time(self.not_before)?;
        params.not_after = to_time(self.not_after)?;
        Ok(())
    }
}

fn to_time(unix_seconds: i64) -> Result<OffsetDateTime, IssueError> {
    // X.509 UTCTime/GeneralizedTime: rcgen encodes years 1950..=9999.
    const MIN: i64 = -631_152_000; // 1950-01-01
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59
    if !(MIN..=MAX).contains(&unix_seconds) {
        return Err(IssueError::InvalidTime { unix_seconds });
    }
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .map_err(|_| IssueError::InvalidTime { unix_seconds })
}

/// A positive 128-bit serial number from the caller's RNG.
fn serial<R: CryptoRng + ?Sized>(rng: &mut R) -> SerialNumber {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// The parameters every CA of Istio's tooling shares: subject, `CA:true` with `constraint`,
/// keyUsage `digitalSignature, nonRepudiation, keyEncipherment, keyCertSign`, the key identifier.
fn ca_params<R: CryptoRng + ?Sized>(
    key: &KeyPair,
    validity: Validity,
    rng: &mut R,
    subject: &[(DnType, &str)],
    constraint: BasicConstraints,
) -> Result<CertificateParams, IssueError> {
    let mut params = CertificateParams::default();
    validity.apply(&mut params)?;
    params.serial_number = Some(serial(rng));
    let mut dn = DistinguishedName::new();
    for (kind, value) in subject {
        dn.push(kind.clone(), *value);
    }
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(constraint);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.key_identifier_method = KeyIdMethod::PreSpecified(key.public_key().key_identifier());
    Ok(params)
}

/// What an [`Issuer`] needs of an existing CA certificate: its subject exactly as encoded (the
/// child's issuer name must equal it byte for byte), its key id, and CA key usages.
fn issuer_params(der: &[u8], key: &KeyPair) -> Result<CertificateParams, IssueError> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let encoding = |detail: String| IssueError::Encoding { detail };
    let (_, x509) =
        x509_parser::parse_x509_certificate(der).map_err(|e| encoding(e.to_string()))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    for attribute in x509.subject().iter_attributes() {
        let oid: Vec<u64> = attribute
            .attr_type()
            .iter()
            .map(Iterator::collect)
            .ok_or_else(|| encoding("subject attribute OID too long".into()))?;
        let value = attribute
            .as_str()
            .map_err(|e| encoding(format!("subject attribute: {e}")))?
            .to_owned();
        let value = match attribute.attr_value().tag() {
            Tag::PrintableString => rcgen::DnValue::PrintableString(
                value
                    .try_into()
                    .map_err(|e: rcgen::Error| encoding(e.to_string()))?,
            ),
            Tag::Ia5String => rcgen::DnValue::Ia5String(
                value
                    .try_into()
                    .map_err(|e: rcgen::Error| encoding(e.to_string()))?,
            ),
            _ => rcgen::DnValue::Utf8String(value),
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ski = x509
        .iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => {
                Some(id.0.to_vec())
            }
            _ => None,
        });
    params.key_identifier_method =
        KeyIdMethod::PreSpecified(ski.unwrap_or_else(|| key.public_key().key_identifier()));
    Ok(params)
}

/// A self-signed root CA (`O=Istio, CN=Root CA`, `CA:true`).
///
/// ```
/// use mesh_ca::{RootCa, WORKLOAD_TTL_SECS};
/// use mesh_model::{ClusterId, SpiffeId};
/// use rand_chacha::ChaCha20Rng;
/// use rand_core::SeedableRng;
///
/// let now = 1_767_225_600; // 2026-01-01T00:00:00Z
/// let mut rng = ChaCha20Rng::seed_from_u64(1);
/// let root = RootCa::generate(&mut rng, now)?;
/// let c1 = root.generate_intermediate(&ClusterId::new("c1")?, &mut rng, now)?;
/// let files = c1.plugin_files();
/// assert!(files.cert_chain_text().starts_with(c1.cert_pem()));
///
/// let workload = mesh_ca::KeyPair::generate(&mut rng);
/// let id: SpiffeId = "spiffe://cluster.local/ns/ns1/sa/foo".parse()?;
/// let leaf = c1.issue_workload(&id, workload.public_key(), now, WORKLOAD_TTL_SECS, &mut rng)?;
/// assert_eq!(leaf.certificate()?.spiffe_ids(), &[id]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RootCa {
    issuer: Issuer<'static, KeyPair>,
    certificate: Certificate,
    pem: String,
}

impl fmt::Debug for RootCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootCa")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl RootCa {
    /// A root with Istio's defaults: a fresh key from `rng`, valid `now .. now + 3650 days`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, now: i64) -> Result<Self, IssueError> {
        let key = KeyPair::generate(rng);
        Self::new(key, Validity::starting_at(now, ROOT_LIFETIME_SECS), rng)
    }

    /// A root for `key` over `validity`.
    pub fn new<R: CryptoRng + ?Sized>(
        key: KeyPair,
        validity: Validity,
        rng: &mut R,
    ) -> Result<Self, IssueError> {
        let params = ca_params(
            &key,
            validity,
            rng,
            &[
                (DnType::OrganizationName, ORGANIZATION),
                (DnType::CommonName, ROOT_COMMON_NAME),
            ],
            BasicConstraints::Unconstrained,
        )?;
        let der = params.self_signed(&key)?.der().to_vec();
        let certificate = Certificate::from_der(&der).map_err(|e| IssueError::Encoding {
            detail: e.to_string(),
        })?;
        Ok(Self {
            issuer: Issuer::new(params, key),
            pem: certificate.to_pem(),
            certificate,
        })
    }

    /// An existing root, to issue more intermediates under it: `root-cert.pem` and
    /// `root-key.pem` as [`RootCa::cert_pem`] and [`KeyPair::to_pem`] write them (or Istio's
    /// `tools/certs`). The intermediates it issues name the root's own subject and key id.
    ///
    /// ```
    /// use mesh_ca::RootCa;
    /// use rand_chacha::ChaCha20Rng;
    /// use rand_core::SeedableRng;
    ///
    /// let mut rng = ChaCha20Rng::seed_from_u64(7);
    /// let now = 1_767_225_600;
    /// let root = RootCa::generate(&mut rng, now)?;
    /// let again = RootCa::from_pem(root.cert_pem(), &root.key().to_pem())?;
    /// let c3 = again.generate_intermediate(&"c3".parse()?, &mut rng, now)?;
    /// assert_eq!(c3.certificate().issuer(), root.certificate().subject());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, IssueError> {
        let invalid = |problem| IssueError::InvalidRoot { problem };
        let ders: Vec<Vec<u8>> = crate::pem::pem_sections(cert_pem.as_bytes())
            .map_err(|p| invalid(RootProblem::Pem(p)))?
            .into_iter()
            .filter(|(kind, _)| *kind == rustls_pki_types::pem::SectionKind::Certificate)
            .map(|(_, der)| der)
            .collect();
        let [der] = ders.as_slice() else {
            return Err(invalid(RootProblem::CertificateCount { count: ders.len() }));
        };
        let certificate =
            Certificate::from_der(der).map_err(|e| invalid(RootProblem::Certificate(e)))?;
        if !certificate.may_sign_certificates() {
            return Err(invalid(RootProblem::NotCa));
        }
        let key = KeyPair::from_pem(key_pem).map_err(|e| invalid(RootProblem::Key(e)))?;
        if certificate.public_key() != Some(key.public_key()) {
            return Err(invalid(RootProblem::KeyMismatch));
        }
        let params = issuer_params(der, &key)?;
        let issuer = Issuer::new(params, key);
        Ok(Self {
            issuer,
            pem: certificate.to_pem(),
            certificate,
        })
    }

    /// The root certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// `root-cert.pem`.
    pub fn cert_pem(&self) -> &str {
        &self.pem
    }

    /// The root's key (`root-key.pem` is [`KeyPair::to_pem`] of it).
    pub fn key(&self) -> &KeyPair {
        self.issuer.key()
    }

    /// An intermediate for `cluster` with Istio's defaults: a fresh key from `rng`, valid
    /// `now .. now + 730 days` (never past the root's end).
    pub fn generate_intermediate<R: CryptoRng + ?Sized>(
        &self,
        cluster: &ClusterId,
        rng: &mut R,
        now: i64,
    ) -> Result<IntermediateCa, IssueError> {
        let key = KeyPair::generate(rng);
        let mut validity = Validity::starting_at(now, INTERMEDIATE_LIFETIME_SECS);
        validity.not_after = validity.not_after.min(self.certificate.not_after());
        self.issue_intermediate(cluster, key, validity, rng)
    }

    /// The intermediate CA of `cluster` (`O=Istio, CN=Intermediate CA, L=<cluster>`,
    /// `CA:true, pathlen:0`) for `key` over `validity`, signed by this root. The validity is
    /// taken as given, so a caller can make one that outlives the root (the trust report flags
    /// it).
    pub fn issue_intermediate<R: CryptoRng + ?Sized>(
        &self,
        cluster: &ClusterId,
        key: KeyPair,
        validity: Validity,
        rng: &mut R,
    ) -> Result<IntermediateCa, IssueError> {
        let mut params = ca_params(
            &key,
            validity,
            rng,
            &[
                (DnType::OrganizationName, ORGANIZATION),
                (DnType::CommonName, INTERMEDIATE_COMMON_NAME),
                (DnType::LocalityName, cluster.as_str()),
            ],
            BasicConstraints::Constrained(0),
        )?;
        params.subject_alt_names = vec![SanType::DnsName(ISTIOD_SAN.try_into().map_err(|_| {
            IssueError::InvalidName {
                value: ISTIOD_SAN.to_owned(),
            }
        })?)];
        params.use_authority_key_identifier_extension = true;
        let der = params.signed_by(&key, &self.issuer)?.der().to_vec();
        let certificate = Certificate::from_der(&der).map_err(|e| IssueError::Encoding {
            detail: e.to_string(),
        })?;
        let cert_pem = certificate.to_pem();
        Ok(IntermediateCa {
            cluster: cluster.clone(),
            issuer: Issuer::new(params, key),
            chain_pem: format!("{cert_pem}{}", self.pem),
            cert_pem,
            root_pem: self.pem.clone(),
            certificate,
        })
    }
}

/// A cluster's intermediate CA: what istiod signs workload certificates with.
pub struct IntermediateCa {
    cluster: ClusterId,
    issuer: Issuer<'static, KeyPair>,
    certificate: Certificate,
    cert_pem: String,
    chain_pem: String,
    root_pem: String,
}

impl fmt::Debug for IntermediateCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntermediateCa")
            .field("cluster", &self.cluster)
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl IntermediateCa {
    /// The cluster named in the subject.
    pub fn cluster(&self) -> &ClusterId {
        &self.cluster
    }

    /// The intermediate certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// `ca-cert.pem`.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// `cert-chain.pem`: the intermediate, then the root.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The intermediate's key.
    pub fn key(&self) -> &KeyPair {
        self.issuer.key()
    }

    /// The four files of Istio's `cacerts` plug-in secret.
    pub fn plugin_files(&self) -> PluginFiles {
        PluginFiles {
            root_cert: Some(self.root_pem.clone().into_bytes()),
            ca_cert: Some(self.cert_pem.clone().into_bytes()),
            ca_key: Some(self.key().to_pem().into_bytes()),
            cert_chain: Some(self.chain_pem.clone().into_bytes()),
        }
    }

    /// A workload certificate for `id` and `key`, valid `now .. now + ttl`, cut to the
    /// intermediate's own end (as istiod never issues past its CA).
    pub fn issue_workload<R: CryptoRng + ?Sized>(
        &self,
        id: &SpiffeId,
        key: &PublicKey,
        now: i64,
        ttl_secs: u64,
        rng: &mut R,
    ) -> Result<WorkloadCert, IssueError> {
        let ca = &self.certificate;
        if now < ca.not_before() || now >= ca.not_after() {
            return Err(IssueError::IssuerNotValid {
                now,
                not_before: ca.not_before(),
                not_after: ca.not_after(),
            });
        }
        let mut validity = Validity::starting_at(now, ttl_secs);
        validity.not_after = validity.not_after.min(ca.not_after());
        let mut params = CertificateParams::default();
        validity.apply(&mut params)?;
        params.serial_number = Some(serial(rng));
        params.distinguished_name = DistinguishedName::new();
        let uri = id.to_string();
        params.subject_alt_names =
            vec![SanType::URI(uri.as_str().try_into().map_err(|_| {
                IssueError::InvalidName { value: uri.clone() }
            })?)];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::PreSpecified(key.key_identifier());
        let der = params.signed_by(key, &self.issuer)?.der().to_vec();
        Ok(WorkloadCert { der })
    }
}

/// A workload (leaf) certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadCert {
    der: Vec<u8>,
}

impl WorkloadCert {
    /// DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`CERTIFICATE`).
    pub fn to_pem(&self) -> String {
        crate::pem::encode("CERTIFICATE", &self.der)
    }

    /// Parsed, for inspection.
    pub fn certificate(&self) -> Result<Certificate, CertificateError> {
        Certificate::from_der(&self.der)
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn a_root_read_back_issues_intermediates_trusted_by_the_first_ones() {
        let now = 1_767_225_600;
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let root = RootCa::generate(&mut rng, now).unwrap();
        let again = RootCa::from_pem(root.cert_pem(), &root.key().to_pem()).unwrap();
        let td = mesh_model::TrustDomain::new("cluster.local").unwrap();
        let bundles: Vec<crate::ClusterBundle> = [(&root, "c1"), (&again, "c3")]
            .into_iter()
            .map(|(r, name)| {
                let cluster = ClusterId::new(name).unwrap();
                let ca = r.generate_intermediate(&cluster, &mut rng, now).unwrap();
                crate::ClusterBundle::new(cluster, td.clone(), ca.plugin_files())
            })
            .collect();
        let report =
            crate::TrustReport::build(&bundles, now, &crate::ReportOptions::default()).unwrap();
        assert!(report.all_trusted(), "{report:?}");
        // A key that is not the root's, and a file without a certificate, are named.
        let other = KeyPair::generate(&mut rng).to_pem();
        assert_eq!(
            RootCa::from_pem(root.cert_pem(), &other).unwrap_err(),
            IssueError::InvalidRoot {
                problem: RootProblem::KeyMismatch
            }
        );
        assert_eq!(
            RootCa::from_pem("", &root.key().to_pem()).unwrap_err(),
            IssueError::InvalidRoot {
                problem: RootProblem::CertificateCount { count: 0 }
            }
        );
    }

    #[test]
    fn times_outside_x509_are_errors() {
        let mut params = CertificateParams::default();
        assert_eq!(
            Validity::starting_at(-700_000_000, 10).apply(&mut params),
            Err(IssueError::InvalidTime {
                unix_seconds: -700_000_000
            })
        );
        assert_eq!(
            Validity::starting_at(253_402_300_799, 10).apply(&mut params),
            Err(IssueError::InvalidTime {
                unix_seconds: 253_402_300_809
            })
        );
        assert_eq!(
            Validity {
                not_before: 5,
                not_after: 5
            }
            .apply(&mut params),
            Err(IssueError::EmptyValidity {
                not_before: 5,
                not_after: 5
            })
        );
        // Saturates instead of overflowing.
        assert_eq!(
            Validity::starting_at(i64::MAX - 1, u64::MAX).not_after,
            i64::MAX
        );
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert!(RootCa::generate(&mut rng, i64::MAX).is_err());
    }

    #[test]
    fn serials_are_positive_sixteen_bytes_from_the_rng() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let all: Vec<Vec<u8>> = (0..200).map(|_| serial(&mut rng).to_bytes()).collect();
        for s in &all {
            assert_eq!(s.len(), 16);
            assert_eq!(s[0] & 0xc0, 0x40, "positive, and no leading zero byte");
        }
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let again: Vec<Vec<u8>> = (0..3).map(|_| serial(&mut rng).to_bytes()).collect();
        assert_eq!(again, all[..3], "same seed, same serials");
    }
}
