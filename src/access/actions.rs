//! Every AWS KMS action, which key specs support it, which take an encryption context, and wildcard matching of the
//! `Action` element (AWS KMS API reference; Service Authorization Reference, "Actions defined by AWS KMS").

use super::matching::glob;

macro_rules! actions {
    ($($name:ident),* $(,)?) => {
        /// An AWS KMS action (`kms:<Name>`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum KmsAction { $($name),* }

        impl KmsAction {
            /// Every KMS action, in the order of the enum.
            pub const ALL: &'static [KmsAction] = &[$(KmsAction::$name),*];

            /// The action name without the `kms:` prefix.
            pub const fn name(self) -> &'static str {
                match self { $(KmsAction::$name => stringify!($name)),* }
            }
        }
    };
}

actions!(
    CancelKeyDeletion,
    ConnectCustomKeyStore,
    CreateAlias,
    CreateCustomKeyStore,
    CreateGrant,
    CreateKey,
    Decrypt,
    DeleteAlias,
    DeleteCustomKeyStore,
    DeleteImportedKeyMaterial,
    DeriveSharedSecret,
    DescribeCustomKeyStores,
    DescribeKey,
    DisableKey,
    DisableKeyRotation,
    DisconnectCustomKeyStore,
    EnableKey,
    EnableKeyRotation,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext,
    GenerateMac,
    GenerateRandom,
    GetKeyPolicy,
    GetKeyRotationStatus,
    GetParametersForImport,
    GetPublicKey,
    ImportKeyMaterial,
    ListAliases,
    ListGrants,
    ListKeyPolicies,
    ListKeyRotations,
    ListKeys,
    ListResourceTags,
    ListRetirableGrants,
    PutKeyPolicy,
    ReEncryptFrom,
    ReEncryptTo,
    ReplicateKey,
    RetireGrant,
    RevokeGrant,
    RotateKeyOnDemand,
    ScheduleKeyDeletion,
    Sign,
    SynchronizeMultiRegionKey,
    TagResource,
    UntagResource,
    UpdateAlias,
    UpdateCustomKeyStore,
    UpdateKeyDescription,
    UpdatePrimaryRegion,
    Verify,
    VerifyMac,
);

/// The key spec and usage of a KMS key, as far as they decide which actions the key supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`.
    Symmetric,
    /// RSA or SM2 with `ENCRYPT_DECRYPT`.
    AsymmetricEncrypt,
    /// RSA, ECC or SM2 with `SIGN_VERIFY`.
    AsymmetricSign,
    /// ECC or SM2 with `KEY_AGREEMENT`.
    KeyAgreement,
    /// `HMAC_*`, `GENERATE_VERIFY_MAC`.
    Hmac,
}

impl KeyKind {
    /// From the `KeySpec` and `KeyUsage` that `DescribeKey` returns; `None` for an unknown pair.
    pub fn from_spec(spec: &str, usage: &str) -> Option<Self> {
        match (spec, usage) {
            ("SYMMETRIC_DEFAULT", _) => Some(Self::Symmetric),
            (s, _) if s.starts_with("HMAC_") => Some(Self::Hmac),
            (_, "ENCRYPT_DECRYPT") => Some(Self::AsymmetricEncrypt),
            (_, "SIGN_VERIFY") => Some(Self::AsymmetricSign),
            (_, "KEY_AGREEMENT") => Some(Self::KeyAgreement),
            _ => None,
        }
    }
}

/// A set of KMS actions, one bit per action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ActionSet(pub u64);

impl ActionSet {
    pub const EMPTY: ActionSet = ActionSet(0);

    pub fn all() -> Self {
        Self(u64::MAX >> (64 - KmsAction::ALL.len()))
    }

    pub fn of(actions: &[KmsAction]) -> Self {
        Self(actions.iter().fold(0, |m, a| m | a.bit()))
    }

    pub fn contains(self, a: KmsAction) -> bool {
        self.0 & a.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = KmsAction> {
        KmsAction::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains(*a))
    }

    pub fn union(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }

    pub fn intersect(self, o: Self) -> Self {
        Self(self.0 & o.0)
    }

    pub fn complement(self) -> Self {
        Self(!self.0 & Self::all().0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

const fn bits(list: &[KmsAction]) -> u64 {
    let mut m = 0u64;
    let mut rest = list;
    while let [first, tail @ ..] = rest {
        m |= 1u64 << (*first as u8);
        rest = tail;
    }
    m
}

use KmsAction as A;

/// Operations that take an encryption context (AWS KMS Developer Guide, "Encryption context": Encrypt, Decrypt,
/// ReEncrypt, the GenerateDataKey family). Grant constraints and `kms:EncryptionContext*` apply only to these.
const TAKES_CONTEXT: u64 = bits(&[
    A::Encrypt,
    A::Decrypt,
    A::ReEncryptFrom,
    A::ReEncryptTo,
    A::GenerateDataKey,
    A::GenerateDataKeyWithoutPlaintext,
    A::GenerateDataKeyPair,
    A::GenerateDataKeyPairWithoutPlaintext,
]);

/// The grant operations CreateGrant accepts (AWS KMS API reference, CreateGrant `Operations`).
const GRANT_OPERATIONS: u64 = bits(&[
    A::Decrypt,
    A::Encrypt,
    A::GenerateDataKey,
    A::GenerateDataKeyPair,
    A::GenerateDataKeyPairWithoutPlaintext,
    A::GenerateDataKeyWithoutPlaintext,
    A::ReEncryptFrom,
    A::ReEncryptTo,
    A::Sign,
    A::Verify,
    A::GetPublicKey,
    A::CreateGrant,
    A::RetireGrant,
    A::DescribeKey,
    A::GenerateMac,
    A::VerifyMac,
    A::DeriveSharedSecret,
]);

/// Actions whose resource is not a KMS key (they cannot be allowed by a key policy; Service Authorization
/// Reference: resource `*` or a custom key store).
const NOT_ON_A_KEY: u64 = bits(&[
    A::ConnectCustomKeyStore,
    A::CreateCustomKeyStore,
    A::CreateKey,
    A::DeleteCustomKeyStore,
    A::DescribeCustomKeyStores,
    A::DisconnectCustomKeyStore,
    A::GenerateRandom,
    A::ListAliases,
    A::ListKeys,
    A::ListRetirableGrants,
    A::UpdateCustomKeyStore,
]);

/// Management actions every key supports.
const MANAGEMENT: u64 = bits(&[
    A::CancelKeyDeletion,
    A::CreateAlias,
    A::CreateGrant,
    A::DeleteAlias,
    A::DeleteImportedKeyMaterial,
    A::DescribeKey,
    A::DisableKey,
    A::EnableKey,
    A::GetKeyPolicy,
    A::GetParametersForImport,
    A::ImportKeyMaterial,
    A::ListGrants,
    A::ListKeyPolicies,
    A::ListResourceTags,
    A::PutKeyPolicy,
    A::ReplicateKey,
    A::RetireGrant,
    A::RevokeGrant,
    A::ScheduleKeyDeletion,
    A::SynchronizeMultiRegionKey,
    A::TagResource,
    A::UntagResource,
    A::UpdateAlias,
    A::UpdateKeyDescription,
    A::UpdatePrimaryRegion,
]);

const SYMMETRIC: u64 = bits(&[
    A::Encrypt,
    A::Decrypt,
    A::ReEncryptFrom,
    A::ReEncryptTo,
    A::GenerateDataKey,
    A::GenerateDataKeyWithoutPlaintext,
    A::GenerateDataKeyPair,
    A::GenerateDataKeyPairWithoutPlaintext,
    A::EnableKeyRotation,
    A::DisableKeyRotation,
    A::GetKeyRotationStatus,
    A::ListKeyRotations,
    A::RotateKeyOnDemand,
]);
const ASYM_ENCRYPT: u64 = bits(&[
    A::Encrypt,
    A::Decrypt,
    A::ReEncryptFrom,
    A::ReEncryptTo,
    A::GetPublicKey,
]);
const ASYM_SIGN: u64 = bits(&[A::Sign, A::Verify, A::GetPublicKey]);
const AGREEMENT: u64 = bits(&[A::DeriveSharedSecret, A::GetPublicKey]);
const HMAC: u64 = bits(&[A::GenerateMac, A::VerifyMac]);

impl KmsAction {
    pub const fn bit(self) -> u64 {
        1u64 << (self as u8)
    }

    /// `kms:Name`.
    pub fn qualified(self) -> String {
        format!("kms:{}", self.name())
    }

    /// Parses `kms:Decrypt` or `Decrypt`, ignoring case as IAM does.
    pub fn parse(text: &str) -> Option<Self> {
        let name = strip_kms(text).unwrap_or(text);
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// True for the operations that take an encryption context.
    pub const fn takes_context(self) -> bool {
        TAKES_CONTEXT & self.bit() != 0
    }

    /// True for the operations a grant can allow.
    pub const fn is_grant_operation(self) -> bool {
        GRANT_OPERATIONS & self.bit() != 0
    }

    /// True when the action's resource is a KMS key, so a key policy can allow it.
    pub const fn on_a_key(self) -> bool {
        NOT_ON_A_KEY & self.bit() == 0
    }
}

fn strip_kms(text: &str) -> Option<&str> {
    let (svc, rest) = text.split_at_checked(4)?;
    svc.eq_ignore_ascii_case("kms:").then_some(rest)
}

impl ActionSet {
    /// The actions on a key of this kind (management plus the kind's cryptographic operations).
    pub fn for_key(kind: KeyKind) -> Self {
        let crypto = match kind {
            KeyKind::Symmetric => SYMMETRIC,
            KeyKind::AsymmetricEncrypt => ASYM_ENCRYPT,
            KeyKind::AsymmetricSign => ASYM_SIGN,
            KeyKind::KeyAgreement => AGREEMENT,
            KeyKind::Hmac => HMAC,
        };
        Self(MANAGEMENT | crypto)
    }

    /// The operations that take an encryption context.
    pub fn taking_context() -> Self {
        Self(TAKES_CONTEXT)
    }

    /// The operations a grant can allow.
    pub fn grant_operations() -> Self {
        Self(GRANT_OPERATIONS)
    }

    /// The KMS actions an `Action` pattern matches (`*`, `kms:*`, `kms:Re*`, `kms:*Decrypt*`), ignoring case as IAM
    /// does (IAM JSON policy elements: Action). A pattern for another service matches no KMS action.
    pub fn matching(pattern: &str) -> Self {
        if pattern == "*" {
            return Self::all();
        }
        let Some(name) = strip_kms(pattern) else {
            return Self::EMPTY;
        };
        Self::of(
            &KmsAction::ALL
                .iter()
                .copied()
                .filter(|a| glob(name, a.name(), true))
                .collect::<Vec<_>>(),
        )
    }
}

impl std::fmt::Display for KmsAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kms:{}", self.name())
    }
}
