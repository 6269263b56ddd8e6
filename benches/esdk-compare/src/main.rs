//! Per-cell cost in one run: the AWS Encryption SDK for Rust (one ESDK message per cell, raw AES-256 keyring), atrest's
//! own ESDK messages (`EsdkEncryptor`, same keyring kind, cached data key), atrest's compact cell form (cached data
//! key), and raw ring AES-256-GCM (random nonce, the same associated-data length as the compact form's). Prints ns per
//! encrypt and per decrypt at 64 B and 1 KiB.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atrest::cell::{CellEncryptor, Context, KeyFileProvider, Keyring};
use atrest::esdk::{EsdkEncryptor, RawAesKeyring};
use aws_esdk::client as esdk_client;
use aws_esdk::material_providers::client as mpl_client;
use aws_esdk::material_providers::types::material_providers_config::MaterialProvidersConfig;
use aws_esdk::material_providers::types::{AesWrappingAlg, EsdkAlgorithmSuiteId};
use aws_esdk::types::aws_encryption_sdk_config::AwsEncryptionSdkConfig;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

type BoxError = Box<dyn std::error::Error>;

const RUN: Duration = Duration::from_secs(3);

/// Runs `op` for about RUN and returns ns per call.
async fn measure<F, Fut>(mut op: F) -> Result<f64, BoxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>>,
{
    for _ in 0..20 {
        op().await?;
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < RUN {
        for _ in 0..16 {
            op().await?;
        }
        n += 16;
    }
    Ok(start.elapsed().as_nanos() as f64 / n as f64)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let esdk = esdk_client::Client::from_conf(AwsEncryptionSdkConfig::builder().build()?)?;
    let mpl = mpl_client::Client::from_conf(MaterialProvidersConfig::builder().build()?)?;
    let keyring = mpl
        .create_raw_aes_keyring()
        .key_name("bench")
        .key_namespace("atrest-compare")
        .wrapping_key(vec![7u8; 32])
        .wrapping_alg(AesWrappingAlg::AlgAes256GcmIv12Tag16)
        .send()
        .await?;
    let context = HashMap::from([
        ("table".to_string(), "users".to_string()),
        ("column".to_string(), "ssn".to_string()),
        ("row".to_string(), "42".to_string()),
    ]);

    let provider = Arc::new(KeyFileProvider::ephemeral()?);
    let cells = CellEncryptor::builder(provider)
        .keyring(Arc::new(Keyring::in_memory()))
        .build()?;
    let ctx = Context::new("users", "ssn")?.with_row("42")?;

    println!("size,impl,suite,encrypt_ns,decrypt_ns,ciphertext_bytes");
    for size in [64usize, 1024] {
        let plaintext = vec![0x5au8; size];
        for (name, suite) in [
            (
                "0478 AES-256-GCM HKDF-SHA512 commit (no signature)",
                EsdkAlgorithmSuiteId::AlgAes256GcmHkdfSha512CommitKey,
            ),
            (
                "0578 default (commit + ECDSA P-384)",
                EsdkAlgorithmSuiteId::AlgAes256GcmHkdfSha512CommitKeyEcdsaP384,
            ),
        ] {
            let encrypt_once = || async {
                let out = esdk
                    .encrypt()
                    .plaintext(plaintext.clone())
                    .keyring(keyring.clone())
                    .encryption_context(context.clone())
                    .algorithm_suite_id(suite.clone())
                    .send()
                    .await?;
                out.ciphertext
                    .ok_or_else(|| BoxError::from("no ciphertext"))
            };
            let sample = encrypt_once().await?;
            let enc = measure(|| async {
                black_box(encrypt_once().await?);
                Ok(())
            })
            .await?;
            let dec = measure(|| async {
                let out = esdk
                    .decrypt()
                    .ciphertext(sample.clone())
                    .keyring(keyring.clone())
                    .encryption_context(context.clone())
                    .send()
                    .await?;
                black_box(out.plaintext.ok_or("no plaintext")?);
                Ok(())
            })
            .await?;
            println!(
                "{size},aws-esdk 1.2.1,{name},{enc:.0},{dec:.0},{}",
                sample.as_ref().len()
            );
        }
        for signed in [false, true] {
            let keyring = Arc::new(RawAesKeyring::new("atrest-compare", "bench", &[7u8; 32])?);
            let esdk = EsdkEncryptor::builder(keyring).signed(signed).build()?;
            let sample = esdk.encrypt_cell(&ctx, &plaintext)?;
            let enc = measure(|| async {
                black_box(esdk.encrypt_cell(&ctx, black_box(&plaintext))?);
                Ok(())
            })
            .await?;
            let dec = measure(|| async {
                black_box(esdk.decrypt_cell(&ctx, black_box(&sample))?);
                Ok(())
            })
            .await?;
            let suite = if signed { "0578" } else { "0478" };
            println!(
                "{size},atrest esdk,{suite},{enc:.0},{dec:.0},{}",
                sample.len()
            );
        }
        let sample = cells.encrypt(&ctx, &plaintext)?;
        let enc = measure(|| async {
            black_box(cells.encrypt(&ctx, black_box(&plaintext))?);
            Ok(())
        })
        .await?;
        let dec = measure(|| async {
            black_box(cells.decrypt(&ctx, black_box(&sample))?);
            Ok(())
        })
        .await?;
        println!(
            "{size},atrest,compact v1 suite 01,{enc:.0},{dec:.0},{}",
            sample.len()
        );
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9u8; 32]).map_err(|_| "key")?);
        let rng = SystemRandom::new();
        let aad = [0x11u8; 36];
        let seal = || -> Result<Vec<u8>, BoxError> {
            let mut nonce = [0u8; 12];
            rng.fill(&mut nonce).map_err(|_| "rng")?;
            let mut out = plaintext.clone();
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut out,
            )
            .map_err(|_| "seal")?;
            out.extend_from_slice(&nonce);
            Ok(out)
        };
        let sample = seal()?;
        let enc = measure(|| async {
            black_box(seal()?);
            Ok(())
        })
        .await?;
        let dec = measure(|| async {
            let (body, nonce) = sample.split_at(sample.len() - 12);
            let mut buf = body.to_vec();
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "nonce")?;
            black_box(
                key.open_in_place(nonce, Aad::from(&aad), &mut buf)
                    .map_err(|_| "open")?,
            );
            Ok(())
        })
        .await?;
        println!(
            "{size},raw ring,AES-256-GCM,{enc:.0},{dec:.0},{}",
            sample.len()
        );
    }
    Ok(())
}
