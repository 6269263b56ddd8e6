//! Properties of the evaluation [PEL]: adding a Deny never adds access, adding an Allow never removes any, and
//! the order of statements does not matter. Checked symbolically (verdict ranks) and under fully fixed request
//! contexts (where every verdict must be allowed or denied).

use proptest::prelude::*;

use super::*;
use KmsAction::*;

const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:role/A"}"#,
    r#"{"AWS":"arn:aws:iam::444455556666:root"}"#,
    r#"{"Service":"rds.amazonaws.com"}"#,
];
const ACTIONS: &[&str] = &[
    r#""kms:*""#,
    r#""kms:Decrypt""#,
    r#""kms:Re*""#,
    r#"["kms:Encrypt","kms:GenerateDataKey*"]"#,
    r#""kms:CreateGrant""#,
    r#""kms:Describe*""#,
];
const CONDITIONS: &[&str] = &[
    "",
    r#","Condition":{"StringEquals":{"kms:ViaService":"rds.us-east-1.amazonaws.com"}}"#,
    r#","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123"}}"#,
    r#","Condition":{"ForAnyValue:StringLike":{"kms:EncryptionContextKeys":"atrest:*"}}"#,
    r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
    r#","Condition":{"StringLike":{"kms:EncryptionContext:atrest:table":"users*"}}"#,
    r#","Condition":{"Null":{"aws:SourceVpce":"true"}}"#,
];

#[derive(Clone, Debug)]
struct Stmt {
    deny: bool,
    principal: usize,
    action: usize,
    condition: usize,
}

fn stmt_strategy() -> impl Strategy<Value = Stmt> {
    (
        any::<bool>(),
        0..PRINCIPALS.len(),
        0..ACTIONS.len(),
        0..CONDITIONS.len(),
    )
        .prop_map(|(deny, principal, action, condition)| Stmt {
            deny,
            principal,
            action,
            condition,
        })
}

fn render(stmts: &[Stmt]) -> String {
    let body: Vec<String> = stmts
        .iter()
        .map(|s| {
            format!(
                r#"{{"Effect":"{}","Principal":{},"Action":{},"Resource":"*"{}}}"#,
                if s.deny { "Deny" } else { "Allow" },
                PRINCIPALS[s.principal],
                ACTIONS[s.action],
                CONDITIONS[s.condition]
            )
        })
        .collect();
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        body.join(",")
    )
}

fn principals() -> Vec<Principal> {
    vec![
        role(ACCT, "A").in_org("o-abc123", &["o-abc123/r-1/"]),
        role(ACCT, "B").in_org("o-abc123", &["o-abc123/r-1/"]),
        Principal::root(ACCT).in_org("o-abc123", &["o-abc123/r-1/"]),
        role(OTHER, "C").in_org("o-abc123", &["o-abc123/r-1/"]),
        role(OTHER, "D").in_org("o-zzz999", &["o-zzz999/r-9/"]),
        Principal::service("rds.amazonaws.com"),
    ]
}

const EVAL_ACTIONS: &[KmsAction] = &[
    Decrypt,
    Encrypt,
    ReEncryptFrom,
    CreateGrant,
    DescribeKey,
    GenerateDataKey,
];

fn contexts() -> Vec<RequestContext> {
    let mut out = Vec::new();
    for via in [true, false] {
        for secure in [true, false] {
            for vpce in [true, false] {
                for ec in [true, false] {
                    let mut c = RequestContext::new();
                    c = if via {
                        c.set("kms:ViaService", &["rds.us-east-1.amazonaws.com"])
                    } else {
                        c.absent("kms:ViaService")
                    };
                    c = c.set(
                        "aws:SecureTransport",
                        &[if secure { "true" } else { "false" }],
                    );
                    c = if vpce {
                        c.set("aws:SourceVpce", &["vpce-1"])
                    } else {
                        c.absent("aws:SourceVpce")
                    };
                    c = if ec {
                        c.encryption_context(&[("atrest:table", "users")])
                    } else {
                        c.encryption_context(&[])
                    };
                    out.push(c);
                }
            }
        }
    }
    out
}

fn rank(v: &Verdict) -> u8 {
    match v {
        Verdict::Denied => 0,
        Verdict::AllowedIf(_) | Verdict::Unknown(_) => 1,
        Verdict::Allowed => 2,
    }
}

/// Every verdict: symbolic first, then one block per fixed context.
fn verdicts(policy_text: &str) -> (Vec<Verdict>, Vec<Vec<bool>>) {
    let kp = policy(policy_text);
    let k = key();
    let none = Ceiling::None;
    let id = allow_all_kms();
    let ps = principals();
    let inputs: Vec<PrincipalInputs<'_>> = ps
        .iter()
        .map(|p| PrincipalInputs {
            principal: p,
            identity: &id,
            scps: &none,
        })
        .collect();
    let key_in = KeyInputs {
        key: &k,
        policy: Some(&kp),
        grants: Some(&[]),
        rcps: &none,
    };
    let symbolic = who_can(&key_in, &inputs, EVAL_ACTIONS, &RequestContext::new())
        .into_iter()
        .map(|d| d.verdict)
        .collect();
    let concrete = contexts()
        .iter()
        .map(|c| {
            who_can(&key_in, &inputs, EVAL_ACTIONS, c)
                .into_iter()
                .map(|d| match d.verdict {
                    Verdict::Allowed => true,
                    Verdict::Denied => false,
                    other => panic!("a fixed context gave {other:?}"),
                })
                .collect()
        })
        .collect();
    (symbolic, concrete)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn adding_a_deny_never_adds_access(base in prop::collection::vec(stmt_strategy(), 1..5), mut extra in stmt_strategy()) {
        // [PEL] an explicit deny can only remove access.
        extra.deny = true;
        let (s0, c0) = verdicts(&render(&base));
        let mut more = base.clone();
        more.push(extra);
        let (s1, c1) = verdicts(&render(&more));
        for (a, b) in s0.iter().zip(&s1) {
            prop_assert!(rank(b) <= rank(a), "{a:?} -> {b:?}");
        }
        for (x, y) in c0.iter().flatten().zip(c1.iter().flatten()) {
            prop_assert!(!*y || *x);
        }
    }

    #[test]
    fn adding_an_allow_never_removes_access(base in prop::collection::vec(stmt_strategy(), 1..5), mut extra in stmt_strategy()) {
        // [PEL] an allow can only add access.
        extra.deny = false;
        let (s0, c0) = verdicts(&render(&base));
        let mut more = base.clone();
        more.push(extra);
        let (s1, c1) = verdicts(&render(&more));
        for (a, b) in s0.iter().zip(&s1) {
            prop_assert!(rank(b) >= rank(a), "{a:?} -> {b:?}");
        }
        for (x, y) in c0.iter().flatten().zip(c1.iter().flatten()) {
            prop_assert!(!*x || *y);
        }
    }

    #[test]
    fn evaluation_is_independent_of_statement_order(base in prop::collection::vec(stmt_strategy(), 1..6), seed in any::<u64>()) {
        // [PEL] the evaluation considers all statements; their order does not matter.
        let mut shuffled = base.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let (s0, c0) = verdicts(&render(&base));
        let (s1, c1) = verdicts(&render(&shuffled));
        for (a, b) in s0.iter().zip(&s1) {
            prop_assert_eq!(rank(a), rank(b));
        }
        prop_assert_eq!(c0, c1);
    }
}
