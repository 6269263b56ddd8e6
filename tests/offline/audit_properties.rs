//! Key policies and saved inventories are input the audit does not control: any key policy, well-formed or not,
//! must parse or be rejected cleanly, and the whole audit must still run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use atrest::audit::{policy, run, store};
use proptest::prelude::*;
use serde_json::{Value, json};

fn fixture() -> atrest::audit::inventory::Inventory {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/audit/custom-key-stores.json"
    );
    store::from_json(path, &std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Any JSON value, with the words key policies use, so shapes near the real grammar get explored.
fn json_value() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "*",
        "Allow",
        "Deny",
        "kms:*",
        "kms:Decrypt",
        "kms:Create*",
        "AWS",
        "Service",
        "arn:aws:iam::111122223333:root",
        "rds.amazonaws.com",
        "aws:SourceAccount",
        "aws:SourceArn",
        "StringEquals",
        "ArnLike",
        "Condition",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Effect",
        "Statement",
        "",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        words.clone().prop_map(|w| json!(w)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(words.clone().prop_map(str::to_string), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A KMS action or a pattern of them, as policies write them.
fn action() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "kms:*",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:CreateGrant",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "*",
    ])
    .prop_map(str::to_string)
}

/// A policy document: `{"Statement": [...]}` with arbitrary statements, or a fully arbitrary value.
fn policy_document() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(json_value(), 0..4)
            .prop_map(|s| json!({"Version": "2012-10-17", "Statement": s}).to_string()),
        json_value().prop_map(|v| v.to_string()),
        ".{0,64}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the document, parsing returns statements or an error, and only an Allow statement grants.
    #[test]
    fn any_key_policy_parses_or_is_rejected(doc in policy_document(), action in action()) {
        if let Ok(statements) = policy::parse(&doc) {
            for s in &statements {
                prop_assert!(s.allow || !s.grants(&action), "a Deny grants `{action}`: {doc}");
                let _ = s.restricted_by(&["aws:SourceAccount"]);
            }
        }
    }

    /// Well-formed statements are read for their effect and actions: as Deny they grant nothing, and the same
    /// statements as Allow grant each action they name.
    #[test]
    fn deny_statements_grant_nothing_and_the_same_allows_grant_their_actions(
        statements in prop::collection::vec((prop::collection::vec(action(), 1..4), any::<bool>()), 1..4),
        probe in action(),
    ) {
        let document = |effect: &str| {
            let list: Vec<Value> = statements
                .iter()
                .map(|(actions, as_list)| {
                    let action = if *as_list || actions.len() > 1 { json!(actions) } else { json!(actions[0]) };
                    json!({"Effect": effect, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": action, "Resource": "*"})
                })
                .collect();
            json!({"Version": "2012-10-17", "Statement": list}).to_string()
        };
        let denies = policy::parse(&document("Deny")).unwrap();
        prop_assert_eq!(denies.len(), statements.len());
        prop_assert!(denies.iter().all(|s| !s.allow && !s.grants(&probe)));
        let allows = policy::parse(&document("Allow")).unwrap();
        for (s, (actions, _)) in allows.iter().zip(&statements) {
            for a in actions {
                prop_assert!(s.grants(a), "Allow of {actions:?} does not grant `{a}`");
            }
            let named = actions.iter().any(|a| policy::action_matches(a, &probe));
            prop_assert_eq!(s.grants(&probe), named, "{:?} and `{}`", actions, probe);
        }
    }

    #[test]
    fn the_audit_runs_whatever_the_key_policies_say(docs in prop::collection::vec(policy_document(), 1..4)) {
        let mut inventory = fixture();
        for (key, doc) in inventory.kms_keys.iter_mut().zip(docs) {
            key.policy = Some(doc);
        }
        let report = run::audit(&inventory, atrest::catalog::Catalog::embedded().unwrap(), run::Source::SavedInventory).unwrap();
        prop_assert!(!report.findings.is_empty());
    }

    #[test]
    fn a_damaged_saved_inventory_is_an_error_not_a_crash(cut in 0usize..4000, byte in any::<u8>()) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/audit/custom-key-stores.json");
        let mut text = std::fs::read(path).unwrap();
        let at = cut % text.len();
        text[at] = byte;
        if let Ok(s) = String::from_utf8(text)
            && let Ok(inventory) = store::from_json("damaged.json", &s)
        {
            run::audit(&inventory, atrest::catalog::Catalog::embedded().unwrap(), run::Source::SavedInventory).unwrap();
        }
    }
}
