//! The "who can" query at audit scale: every principal x action for 1,000 keys and 500 principals.
//!
//! The fixture mixes the key policies an account really has (the console default with administrators and users,
//! the `aws/rds` AWS managed key policy, cross-account and org-guarded keys), two grants per key, one or two
//! identity policies per principal, and an SCP level. Every action a symmetric key supports is asked.
//! Run: `cargo bench --no-default-features --bench access` (figures in docs/access.md).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use atrest::access::{
    ActionSet, Ceiling, Grant, Identity, Key, KeyInputs, KeyKind, KmsAction, NamedPolicy, Policy,
    Principal, PrincipalInputs, RequestContext, Verdict, who_can_each,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ACCT: &str = "111122223333";
const OTHER: &str = "444455556666";
const KEYS: usize = 1_000;
const PRINCIPALS: usize = 500;

fn parse(text: &str) -> Policy {
    Policy::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn key_policy(i: usize) -> Policy {
    let admin = format!("arn:aws:iam::{ACCT}:role/admin-{}", i % 50);
    let user = format!("arn:aws:iam::{ACCT}:role/app-{}", i % 400);
    match i % 5 {
        0 | 1 => parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
 {{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCT}:root"}},"Action":"kms:*","Resource":"*"}},
 {{"Sid":"Allow access for Key Administrators","Effect":"Allow","Principal":{{"AWS":"{admin}"}},"Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*","kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource","kms:ScheduleKeyDeletion","kms:CancelKeyDeletion","kms:RotateKeyOnDemand"],"Resource":"*"}},
 {{"Sid":"Allow use of the key","Effect":"Allow","Principal":{{"AWS":"{user}"}},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"}},
 {{"Sid":"Allow attachment of persistent resources","Effect":"Allow","Principal":{{"AWS":"{user}"}},"Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*","Condition":{{"Bool":{{"kms:GrantIsForAWSResource":"true"}}}}}}]}}"#
        )),
        2 => parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
 {{"Sid":"Via RDS","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:ListGrants","kms:DescribeKey"],"Resource":"*","Condition":{{"StringEquals":{{"kms:CallerAccount":"{ACCT}","kms:ViaService":"rds.us-east-1.amazonaws.com"}}}}}},
 {{"Sid":"Metadata","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCT}:root"}},"Action":["kms:Describe*","kms:Get*","kms:List*","kms:RevokeGrant"],"Resource":"*"}}]}}"#
        )),
        3 => parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
 {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCT}:root"}},"Action":"kms:*","Resource":"*"}},
 {{"Sid":"External","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}},
 {{"Sid":"Logs","Effect":"Allow","Principal":{{"Service":"logs.us-east-1.amazonaws.com"}},"Action":"kms:GenerateDataKey*","Resource":"*","Condition":{{"ArnLike":{{"kms:EncryptionContext:aws:logs:arn":"arn:aws:logs:us-east-1:{ACCT}:*"}}}}}}]}}"#
        )),
        _ => parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
 {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCT}:root"}},"Action":"kms:*","Resource":"*"}},
 {{"Effect":"Allow","Principal":"*","Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}},
 {{"Sid":"DenyOutsideOrg","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{{"StringNotEqualsIfExists":{{"aws:PrincipalOrgID":"o-abc123"}},"Bool":{{"aws:PrincipalIsAWSService":"false"}}}}}}]}}"#
        )),
    }
}

struct Fixture {
    keys: Vec<(Key, Policy, Vec<Grant>)>,
    principals: Vec<Principal>,
    identities: Vec<Identity>,
    scps: Ceiling,
    rcps: Ceiling,
    actions: Vec<KmsAction>,
}

fn fixture() -> Fixture {
    let keys = (0..KEYS)
        .map(|i| {
            let arn =
                format!("arn:aws:kms:us-east-1:{ACCT}:key/{i:08x}-0000-0000-0000-000000000000");
            let grants = vec![
                Grant::new(
                    &format!("g{i}a"),
                    &format!("arn:aws:iam::{ACCT}:role/app-{}", (i * 7) % 400),
                    &[
                        KmsAction::Decrypt,
                        KmsAction::GenerateDataKey,
                        KmsAction::CreateGrant,
                    ],
                ),
                Grant::new(
                    &format!("g{i}b"),
                    "rds.us-east-1.amazonaws.com",
                    &[KmsAction::Decrypt],
                ),
            ];
            (Key::new(&arn, KeyKind::Symmetric), key_policy(i), grants)
        })
        .collect();
    let principals: Vec<Principal> = (0..PRINCIPALS)
        .map(|i| match i {
            0..400 => Principal::iam(&format!("arn:aws:iam::{ACCT}:role/app-{i}"))
                .in_org("o-abc123", &["o-abc123/r-1/"]),
            400..450 => Principal::iam(&format!("arn:aws:iam::{ACCT}:role/admin-{}", i - 400))
                .in_org("o-abc123", &["o-abc123/r-1/"]),
            450..490 => Principal::iam(&format!("arn:aws:iam::{OTHER}:role/reader-{i}"))
                .in_org("o-zzz999", &["o-zzz999/r-9/"]),
            _ => Principal::service(if i % 2 == 0 {
                "rds.us-east-1.amazonaws.com"
            } else {
                "logs.us-east-1.amazonaws.com"
            }),
        })
        .collect();
    let identities = (0..PRINCIPALS)
        .map(|i| {
            let mut policies = vec![NamedPolicy {
                arn: format!("arn:aws:iam::{ACCT}:policy/use-{}", i % 20),
                policy: parse(&format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"arn:aws:kms:*:{ACCT}:key/*"}}]}}"#
                )),
            }];
            if i % 3 == 0 {
                policies.push(NamedPolicy {
                    arn: format!("arn:aws:iam::{ACCT}:policy/no-delete"),
                    policy: parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":["kms:ScheduleKeyDeletion","kms:PutKeyPolicy"],"Resource":"*"}}"#),
                });
            }
            Identity::Known { policies, boundary: None }
        })
        .collect();
    let scps = Ceiling::Levels(vec![vec![parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin-*"}}}]}"#,
    )]]);
    let actions: Vec<KmsAction> = ActionSet::for_key(KeyKind::Symmetric).iter().collect();
    Fixture {
        keys,
        principals,
        identities,
        scps,
        rcps: Ceiling::None,
        actions,
    }
}

/// Evaluates every key; returns the number of allowed and allowed-if verdicts (so the work is not optimised away).
fn run(f: &Fixture) -> (usize, usize) {
    let inputs: Vec<PrincipalInputs<'_>> = f
        .principals
        .iter()
        .zip(&f.identities)
        .map(|(p, i)| PrincipalInputs {
            principal: p,
            identity: i,
            scps: &f.scps,
        })
        .collect();
    let ctx = RequestContext::new();
    let (mut allowed, mut allowed_if) = (0, 0);
    for (key, policy, grants) in &f.keys {
        let k = KeyInputs {
            key,
            policy: Some(policy),
            grants: Some(grants),
            rcps: &f.rcps,
        };
        who_can_each(&k, &inputs, &f.actions, &ctx, |row| {
            for d in row {
                match d.verdict {
                    Verdict::Allowed => allowed += 1,
                    Verdict::AllowedIf(_) => allowed_if += 1,
                    _ => {}
                }
            }
        });
    }
    (allowed, allowed_if)
}

/// The CPU time this thread has run, in nanoseconds (Linux `/proc/thread-self/schedstat`), to report a figure
/// that other work on a shared machine does not inflate.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    if let Some(before) = thread_cpu_ns() {
        const RUNS: u32 = 5;
        let wall = std::time::Instant::now();
        for _ in 0..RUNS {
            black_box(run(black_box(&f)));
        }
        let wall = wall.elapsed() / RUNS;
        if let Some(after) = thread_cpu_ns() {
            eprintln!(
                "mean of {RUNS} runs: {:.0} ms on CPU, {:.0} ms wall",
                (after - before) as f64 / f64::from(RUNS) / 1e6,
                wall.as_secs_f64() * 1e3
            );
        }
    }
    let (allowed, allowed_if) = run(&f);
    eprintln!(
        "{} keys x {} principals x {} actions = {} decisions: {allowed} allowed, {allowed_if} allowed-if",
        KEYS,
        PRINCIPALS,
        f.actions.len(),
        KEYS * PRINCIPALS * f.actions.len()
    );
    let mut g = c.benchmark_group("who_can");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(
        (KEYS * PRINCIPALS * f.actions.len()) as u64,
    ));
    g.bench_function("1000 keys x 500 principals x every action", |b| {
        b.iter(|| black_box(run(black_box(&f))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
