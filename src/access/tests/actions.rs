//! KMS actions: the full list, wildcards, key specs, context-taking operations [API] [ELEM: Action].

use super::*;

#[test]
fn every_kms_action_is_listed_once() {
    // [API] the AWS KMS API has 55 actions with a `kms:` IAM action.
    assert_eq!(KmsAction::ALL.len(), 55);
    let mut names: Vec<&str> = KmsAction::ALL.iter().map(|a| a.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 55);
}

#[test]
fn action_names_parse_ignoring_case() {
    // [ELEM: Action] action names are not case-sensitive.
    assert_eq!(KmsAction::parse("kms:decrypt"), Some(KmsAction::Decrypt));
    assert_eq!(
        KmsAction::parse("KMS:GenerateDataKey"),
        Some(KmsAction::GenerateDataKey)
    );
    assert_eq!(KmsAction::parse("s3:GetObject"), None);
}

#[test]
fn re_star_matches_both_reencrypt_actions() {
    // [ELEM: Action] wildcards: `kms:Re*` is ReEncryptFrom, ReEncryptTo, ReplicateKey, RetireGrant, RevokeGrant.
    let s = ActionSet::matching("kms:Re*");
    for a in [
        KmsAction::ReEncryptFrom,
        KmsAction::ReEncryptTo,
        KmsAction::ReplicateKey,
        KmsAction::RetireGrant,
        KmsAction::RevokeGrant,
    ] {
        assert!(s.contains(a), "{a}");
    }
    assert!(!s.contains(KmsAction::Decrypt));
}

#[test]
fn star_decrypt_star_matches_decrypt_only() {
    // [ELEM: Action] `kms:*Decrypt*` matches Decrypt (and nothing else in KMS).
    let s = ActionSet::matching("kms:*Decrypt*");
    assert_eq!(s.iter().collect::<Vec<_>>(), vec![KmsAction::Decrypt]);
}

#[test]
fn generate_data_key_star_matches_the_family() {
    // [ELEM: Action] `kms:GenerateDataKey*` covers the four GenerateDataKey actions.
    assert_eq!(
        ActionSet::matching("kms:GenerateDataKey*").iter().count(),
        4
    );
}

#[test]
fn action_wildcards_ignore_case() {
    // [ELEM: Action] matching ignores case, wildcards included.
    assert!(ActionSet::matching("KMS:re*").contains(KmsAction::ReEncryptFrom));
}

#[test]
fn star_and_kms_star_cover_every_action() {
    // [ELEM: Action] `*` and `kms:*` match all actions.
    assert_eq!(ActionSet::matching("*"), ActionSet::all());
    assert_eq!(ActionSet::matching("kms:*"), ActionSet::all());
}

#[test]
fn another_service_matches_no_kms_action() {
    // [ELEM: Action] the service prefix must match.
    assert!(ActionSet::matching("s3:*").is_empty());
    assert!(ActionSet::matching("kmsx:Decrypt").is_empty());
}

#[test]
fn question_mark_matches_one_character_in_actions() {
    // [ELEM: Action] `?` matches one character.
    assert!(ActionSet::matching("kms:Sig?").contains(KmsAction::Sign));
    assert!(!ActionSet::matching("kms:Sig?").contains(KmsAction::Verify));
}

#[test]
fn context_taking_operations() {
    // [KCK: kms:EncryptionContext] encryption context applies to Encrypt, Decrypt, ReEncrypt, GenerateDataKey*.
    let s = ActionSet::taking_context();
    assert_eq!(s.iter().count(), 8);
    assert!(s.contains(KmsAction::ReEncryptTo));
    assert!(!s.contains(KmsAction::Sign));
    assert!(!s.contains(KmsAction::GenerateMac));
    assert!(!s.contains(KmsAction::DeriveSharedSecret));
    assert!(!s.contains(KmsAction::DescribeKey));
}

#[test]
fn symmetric_key_supports_encryption_not_signing() {
    // [API] symmetric encryption keys: Encrypt, Decrypt, GenerateDataKey*, rotation; no Sign, MAC or agreement.
    let s = ActionSet::for_key(KeyKind::Symmetric);
    assert!(s.contains(KmsAction::GenerateDataKeyPair));
    assert!(s.contains(KmsAction::EnableKeyRotation));
    assert!(!s.contains(KmsAction::Sign));
    assert!(!s.contains(KmsAction::GenerateMac));
    assert!(!s.contains(KmsAction::GetPublicKey));
}

#[test]
fn asymmetric_sign_key_supports_sign_and_verify() {
    // [API] SIGN_VERIFY keys: Sign, Verify, GetPublicKey.
    let s = ActionSet::for_key(KeyKind::AsymmetricSign);
    assert!(
        s.contains(KmsAction::Sign)
            && s.contains(KmsAction::Verify)
            && s.contains(KmsAction::GetPublicKey)
    );
    assert!(!s.contains(KmsAction::Decrypt));
}

#[test]
fn key_agreement_key_supports_derive_shared_secret() {
    // [API] KEY_AGREEMENT keys: DeriveSharedSecret and GetPublicKey.
    let s = ActionSet::for_key(KeyKind::KeyAgreement);
    assert!(s.contains(KmsAction::DeriveSharedSecret));
    assert!(!s.contains(KmsAction::Sign));
}

#[test]
fn hmac_key_supports_mac_operations() {
    // [API] HMAC keys: GenerateMac and VerifyMac.
    let s = ActionSet::for_key(KeyKind::Hmac);
    assert!(s.contains(KmsAction::GenerateMac) && s.contains(KmsAction::VerifyMac));
    assert!(!s.contains(KmsAction::Encrypt));
}

#[test]
fn asymmetric_encrypt_key_has_no_data_keys() {
    // [API] RSA ENCRYPT_DECRYPT keys cannot generate data keys.
    let s = ActionSet::for_key(KeyKind::AsymmetricEncrypt);
    assert!(s.contains(KmsAction::Decrypt));
    assert!(!s.contains(KmsAction::GenerateDataKey));
}

#[test]
fn key_kind_from_spec_and_usage() {
    // [API] KeySpec and KeyUsage decide the kind.
    assert_eq!(
        KeyKind::from_spec("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        Some(KeyKind::Symmetric)
    );
    assert_eq!(
        KeyKind::from_spec("HMAC_256", "GENERATE_VERIFY_MAC"),
        Some(KeyKind::Hmac)
    );
    assert_eq!(
        KeyKind::from_spec("ECC_NIST_P256", "KEY_AGREEMENT"),
        Some(KeyKind::KeyAgreement)
    );
    assert_eq!(
        KeyKind::from_spec("RSA_2048", "SIGN_VERIFY"),
        Some(KeyKind::AsymmetricSign)
    );
    assert_eq!(
        KeyKind::from_spec("RSA_2048", "ENCRYPT_DECRYPT"),
        Some(KeyKind::AsymmetricEncrypt)
    );
}

#[test]
fn account_level_actions_are_not_on_a_key() {
    // [API] CreateKey, ListKeys, ListAliases, GenerateRandom and custom key store actions have no key resource.
    for a in [
        KmsAction::CreateKey,
        KmsAction::ListKeys,
        KmsAction::GenerateRandom,
        KmsAction::ListAliases,
        KmsAction::CreateCustomKeyStore,
    ] {
        assert!(!a.on_a_key(), "{a}");
    }
    assert!(KmsAction::Decrypt.on_a_key());
}

#[test]
fn grant_operations_are_the_documented_set() {
    // [GR] CreateGrant Operations: 17 operations, no management such as PutKeyPolicy.
    let s = ActionSet::grant_operations();
    assert_eq!(s.iter().count(), 17);
    assert!(s.contains(KmsAction::DeriveSharedSecret) && s.contains(KmsAction::VerifyMac));
    assert!(!s.contains(KmsAction::PutKeyPolicy));
}
