//! Condition operators, one behaviour per case [COND] [MULTI].

use super::super::condition::{self, Lookup, Tri};
use super::*;

fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
    Condition::new(
        Operator::parse(op).unwrap_or_else(|| panic!("operator {op}")),
        key,
        values.iter().map(|v| (*v).to_owned()).collect(),
    )
}

/// Evaluates with the request holding `request` for the key (None: absent) and `others` for other keys; any
/// key not given is unknown.
fn eval_in(c: &Condition, request: Option<&[&str]>, others: &[(&str, &[&str])]) -> Tri {
    let mut known: Vec<(ConditionKey, Vec<String>)> = others
        .iter()
        .map(|(k, v)| {
            (
                ConditionKey::parse(k),
                v.iter().map(|s| (*s).to_owned()).collect(),
            )
        })
        .collect();
    if let Some(r) = request {
        known.push((
            c.parsed_key.clone(),
            r.iter().map(|s| (*s).to_owned()).collect(),
        ));
    } else {
        known.push((c.parsed_key.clone(), Vec::new()));
    }
    let l = |k: &ConditionKey| match known.iter().find(|(key, _)| key == k) {
        Some((_, v)) if v.is_empty() => Lookup::Absent,
        Some((_, v)) => Lookup::Many(v),
        None => Lookup::Unknown,
    };
    condition::evaluate(c, &l)
}

fn eval(op: &str, key: &str, values: &[&str], request: Option<&[&str]>) -> Tri {
    eval_in(&cond(op, key, values), request, &[])
}

use Tri::{False as F, True as T};

// --- String operators [COND: String condition operators] ---

#[test]
fn string_equals_matches_exact_value() {
    // [COND] StringEquals: exact matching, case sensitive.
    assert_eq!(
        eval(
            "StringEquals",
            "kms:ViaService",
            &["rds.us-east-1.amazonaws.com"],
            Some(&["rds.us-east-1.amazonaws.com"])
        ),
        T
    );
}

#[test]
fn string_equals_is_case_sensitive() {
    // [COND] StringEquals is case sensitive.
    assert_eq!(
        eval(
            "StringEquals",
            "aws:PrincipalTag/team",
            &["Data"],
            Some(&["data"])
        ),
        F
    );
}

#[test]
fn string_equals_star_is_a_literal_star() {
    // [COND] StringEquals has no wildcards: `*` in the value matches only a literal `*`.
    assert_eq!(
        eval(
            "StringEquals",
            "aws:PrincipalOrgID",
            &["o-*"],
            Some(&["o-abc123"])
        ),
        F
    );
    assert_eq!(
        eval(
            "StringEquals",
            "aws:PrincipalOrgID",
            &["o-*"],
            Some(&["o-*"])
        ),
        T
    );
}

#[test]
fn string_like_star_is_a_pattern() {
    // [COND] StringLike: `*` matches any run of characters.
    assert_eq!(
        eval(
            "StringLike",
            "aws:PrincipalOrgID",
            &["o-*"],
            Some(&["o-abc123"])
        ),
        T
    );
}

#[test]
fn string_like_question_mark_matches_one_character() {
    // [COND] StringLike: `?` matches exactly one character.
    assert_eq!(
        eval(
            "StringLike",
            "kms:ViaService",
            &["rds.us-east-?.amazonaws.com"],
            Some(&["rds.us-east-1.amazonaws.com"])
        ),
        T
    );
    assert_eq!(
        eval(
            "StringLike",
            "kms:ViaService",
            &["rds.us-east-?.amazonaws.com"],
            Some(&["rds.us-east-10.amazonaws.com"])
        ),
        F
    );
}

#[test]
fn string_like_is_case_sensitive() {
    // [COND] StringLike is case sensitive.
    assert_eq!(
        eval(
            "StringLike",
            "kms:ViaService",
            &["RDS.*"],
            Some(&["rds.us-east-1.amazonaws.com"])
        ),
        F
    );
}

#[test]
fn string_values_are_ored() {
    // [COND] multiple values for one key: the condition holds if any value matches (logical OR).
    assert_eq!(
        eval(
            "StringEquals",
            "kms:ViaService",
            &["ec2.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com"],
            Some(&["rds.us-east-1.amazonaws.com"])
        ),
        T
    );
}

#[test]
fn string_not_equals_true_when_no_value_matches() {
    // [COND] StringNotEquals: negated matching.
    assert_eq!(
        eval(
            "StringNotEquals",
            "aws:PrincipalOrgID",
            &["o-abc123"],
            Some(&["o-other"])
        ),
        T
    );
    assert_eq!(
        eval(
            "StringNotEquals",
            "aws:PrincipalOrgID",
            &["o-abc123"],
            Some(&["o-abc123"])
        ),
        F
    );
}

#[test]
fn string_not_equals_with_several_values_requires_matching_none() {
    // [COND] a negated operator with several values is true only if the request matches none of them.
    assert_eq!(
        eval(
            "StringNotEquals",
            "aws:PrincipalAccount",
            &["111122223333", "444455556666"],
            Some(&["444455556666"])
        ),
        F
    );
}

#[test]
fn string_equals_ignore_case_ignores_case() {
    // [COND] StringEqualsIgnoreCase: exact matching, ignoring case.
    assert_eq!(
        eval(
            "StringEqualsIgnoreCase",
            "aws:PrincipalTag/team",
            &["DATA"],
            Some(&["data"])
        ),
        T
    );
}

#[test]
fn string_not_equals_ignore_case_negates() {
    // [COND] StringNotEqualsIgnoreCase: negated matching, ignoring case.
    assert_eq!(
        eval(
            "StringNotEqualsIgnoreCase",
            "aws:PrincipalTag/team",
            &["DATA"],
            Some(&["data"])
        ),
        F
    );
}

#[test]
fn string_not_like_negates_pattern() {
    // [COND] StringNotLike: negated pattern matching.
    assert_eq!(
        eval(
            "StringNotLike",
            "kms:ViaService",
            &["rds.*"],
            Some(&["ec2.us-east-1.amazonaws.com"])
        ),
        T
    );
    assert_eq!(
        eval(
            "StringNotLike",
            "kms:ViaService",
            &["rds.*"],
            Some(&["rds.us-east-1.amazonaws.com"])
        ),
        F
    );
}

// --- Absent keys [COND: "If the key ... is not present ... the condition is false"; negated operators true] ---

#[test]
fn positive_operator_is_false_when_key_absent() {
    // [COND] a key absent from the request context: the values do not match and the condition is false.
    assert_eq!(
        eval(
            "StringEquals",
            "kms:ViaService",
            &["rds.us-east-1.amazonaws.com"],
            None
        ),
        F
    );
}

#[test]
fn negated_string_operator_is_true_when_key_absent() {
    // [COND] StringNotLike and other negated operators are true when the key is absent.
    assert_eq!(
        eval("StringNotEquals", "aws:PrincipalOrgID", &["o-abc123"], None),
        T
    );
    assert_eq!(
        eval("StringNotLike", "aws:PrincipalOrgID", &["o-*"], None),
        T
    );
}

#[test]
fn arn_not_like_is_true_when_key_absent() {
    // [COND] ArnNotLike with the key absent is true.
    assert_eq!(
        eval(
            "ArnNotLike",
            "aws:SourceArn",
            &["arn:aws:rds:*:111122223333:db:*"],
            None
        ),
        T
    );
}

#[test]
fn not_ip_address_is_true_when_key_absent() {
    // [COND] NotIpAddress is a negated operator.
    assert_eq!(
        eval("NotIpAddress", "aws:SourceIp", &["10.0.0.0/8"], None),
        T
    );
}

#[test]
fn numeric_not_equals_is_true_when_key_absent() {
    // [COND] NumericNotEquals is a negated operator.
    assert_eq!(
        eval("NumericNotEquals", "aws:MultiFactorAuthAge", &["0"], None),
        T
    );
}

#[test]
fn unknown_key_leaves_condition_open() {
    // A key the query does not fix is neither present nor absent: the condition remains.
    let c = cond(
        "StringEquals",
        "kms:ViaService",
        &["rds.us-east-1.amazonaws.com"],
    );
    let l = |_: &ConditionKey| Lookup::Unknown;
    assert_eq!(condition::evaluate(&c, &l), Tri::Unknown);
}

// --- IfExists [COND: ...IfExists condition operators] ---

#[test]
fn if_exists_is_true_when_key_absent() {
    // [COND] ...IfExists: if the key is not present, the condition is true.
    assert_eq!(
        eval(
            "StringEqualsIfExists",
            "aws:SourceVpce",
            &["vpce-1a2b3c4d"],
            None
        ),
        T
    );
}

#[test]
fn if_exists_compares_when_key_present() {
    // [COND] ...IfExists: if the key is present, evaluate as the operator says.
    assert_eq!(
        eval(
            "StringEqualsIfExists",
            "aws:SourceVpce",
            &["vpce-1a2b3c4d"],
            Some(&["vpce-other"])
        ),
        F
    );
    assert_eq!(
        eval(
            "StringEqualsIfExists",
            "aws:SourceVpce",
            &["vpce-1a2b3c4d"],
            Some(&["vpce-1a2b3c4d"])
        ),
        T
    );
}

#[test]
fn string_not_equals_if_exists_true_when_absent() {
    // [COND] StringNotEqualsIfExists, the org guard's operator, is true when the key is absent.
    assert_eq!(
        eval(
            "StringNotEqualsIfExists",
            "aws:PrincipalOrgID",
            &["o-abc123"],
            None
        ),
        T
    );
}

#[test]
fn bool_if_exists_true_when_absent() {
    // [COND] BoolIfExists: absent key passes.
    assert_eq!(
        eval(
            "BoolIfExists",
            "aws:MultiFactorAuthPresent",
            &["true"],
            None
        ),
        T
    );
}

#[test]
fn if_exists_operator_names_parse() {
    // [COND] any operator except Null takes the IfExists suffix.
    assert!(
        Operator::parse("ArnLikeIfExists")
            .is_some_and(|o| o.if_exists && o.base == BaseOperator::ArnLike)
    );
    assert!(Operator::parse("NullIfExists").is_none());
}

// --- Null [COND: condition operator to check existence of condition keys] ---

#[test]
fn null_true_requires_key_absent() {
    // [COND] Null true: the key must be absent (or its value null).
    assert_eq!(
        eval("Null", "kms:EncryptionContextKeys", &["true"], None),
        T
    );
    assert_eq!(
        eval(
            "Null",
            "kms:EncryptionContextKeys",
            &["true"],
            Some(&["atrest:table"])
        ),
        F
    );
}

#[test]
fn null_false_requires_key_present() {
    // [COND] Null false: the key must be present.
    assert_eq!(
        eval(
            "Null",
            "kms:EncryptionContextKeys",
            &["false"],
            Some(&["atrest:table"])
        ),
        T
    );
    assert_eq!(
        eval("Null", "kms:EncryptionContextKeys", &["false"], None),
        F
    );
}

#[test]
fn null_accepts_boolean_json_value() {
    // [ELEM] condition values may be JSON booleans; IAM reads them as strings.
    let p = policy(
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"Null":{"aws:SourceVpce":true}}}}"#,
    );
    let c = &p.statements[0].conditions[0];
    assert_eq!(c.values, vec!["true".to_owned()]);
    assert_eq!(eval_in(c, None, &[]), T);
}

// --- Numeric, Date, Bool, Binary, IP ---

#[test]
fn numeric_less_than_compares_numbers() {
    // [COND] NumericLessThan.
    assert_eq!(
        eval(
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            &["3600"],
            Some(&["120"])
        ),
        T
    );
    assert_eq!(
        eval(
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            &["3600"],
            Some(&["7200"])
        ),
        F
    );
}

#[test]
fn numeric_equals_compares_as_numbers_not_text() {
    // [COND] numeric operators compare values as numbers (`10` equals `10.0`).
    assert_eq!(
        eval("NumericEquals", "s3:max-keys", &["10"], Some(&["10.0"])),
        T
    );
}

#[test]
fn numeric_operators_cover_all_comparisons() {
    // [COND] NumericLessThanEquals, NumericGreaterThan, NumericGreaterThanEquals, NumericNotEquals.
    assert_eq!(
        eval("NumericLessThanEquals", "k:n", &["5"], Some(&["5"])),
        T
    );
    assert_eq!(eval("NumericGreaterThan", "k:n", &["5"], Some(&["5"])), F);
    assert_eq!(
        eval("NumericGreaterThanEquals", "k:n", &["5"], Some(&["6"])),
        T
    );
    assert_eq!(eval("NumericNotEquals", "k:n", &["5"], Some(&["6"])), T);
}

#[test]
fn numeric_value_that_is_not_a_number_never_matches() {
    // [COND] a value that cannot be read as a number does not match.
    assert_eq!(eval("NumericEquals", "k:n", &["five"], Some(&["5"])), F);
}

#[test]
fn date_less_than_compares_iso_dates() {
    // [COND] date operators take ISO 8601 dates.
    assert_eq!(
        eval(
            "DateLessThan",
            "aws:CurrentTime",
            &["2027-01-01T00:00:00Z"],
            Some(&["2026-12-01T20:00:00Z"])
        ),
        T
    );
    assert_eq!(
        eval(
            "DateGreaterThan",
            "aws:CurrentTime",
            &["2027-01-01T00:00:00Z"],
            Some(&["2026-12-01T20:00:00Z"])
        ),
        F
    );
}

#[test]
fn date_operators_accept_epoch_seconds() {
    // [COND] date values may be given in epoch (UNIX) time.
    assert_eq!(
        eval(
            "DateEquals",
            "aws:EpochTime",
            &["2026-01-01T00:00:00Z"],
            Some(&["1767225600"])
        ),
        T
    );
}

#[test]
fn date_with_offset_is_normalised() {
    // [COND] ISO 8601 with an offset denotes the same instant.
    assert_eq!(
        eval(
            "DateEquals",
            "aws:CurrentTime",
            &["2026-01-01T01:00:00+01:00"],
            Some(&["2026-01-01T00:00:00Z"])
        ),
        T
    );
}

#[test]
fn date_not_equals_and_bounds() {
    // [COND] DateNotEquals, DateLessThanEquals, DateGreaterThanEquals.
    assert_eq!(
        eval(
            "DateNotEquals",
            "aws:CurrentTime",
            &["2026-01-01"],
            Some(&["2026-01-02"])
        ),
        T
    );
    assert_eq!(
        eval(
            "DateLessThanEquals",
            "aws:CurrentTime",
            &["2026-01-01"],
            Some(&["2026-01-01"])
        ),
        T
    );
    assert_eq!(
        eval(
            "DateGreaterThanEquals",
            "aws:CurrentTime",
            &["2026-01-02"],
            Some(&["2026-01-01"])
        ),
        F
    );
}

#[test]
fn bool_compares_true_and_false() {
    // [COND] Bool: true/false matching, case-insensitive.
    assert_eq!(
        eval("Bool", "aws:SecureTransport", &["true"], Some(&["TRUE"])),
        T
    );
    assert_eq!(
        eval("Bool", "aws:SecureTransport", &["true"], Some(&["false"])),
        F
    );
}

#[test]
fn bool_is_false_when_key_absent() {
    // [COND] a positive operator with an absent key is false; Bool included.
    assert_eq!(
        eval("Bool", "kms:GrantIsForAWSResource", &["true"], None),
        F
    );
}

#[test]
fn binary_equals_compares_base64_values() {
    // [COND] BinaryEquals compares base64-encoded values byte for byte.
    assert_eq!(
        eval(
            "BinaryEquals",
            "k:bin",
            &["QmluYXJ5VmFsdWU="],
            Some(&["QmluYXJ5VmFsdWU="])
        ),
        T
    );
    assert_eq!(
        eval(
            "BinaryEquals",
            "k:bin",
            &["QmluYXJ5VmFsdWU="],
            Some(&["QmluYXJ5dmFsdWU="])
        ),
        F
    );
}

#[test]
fn ip_address_matches_cidr_block() {
    // [COND] IpAddress: the address is in the CIDR range.
    assert_eq!(
        eval(
            "IpAddress",
            "aws:SourceIp",
            &["203.0.113.0/24"],
            Some(&["203.0.113.7"])
        ),
        T
    );
    assert_eq!(
        eval(
            "IpAddress",
            "aws:SourceIp",
            &["203.0.113.0/24"],
            Some(&["203.0.114.7"])
        ),
        F
    );
}

#[test]
fn ip_address_matches_ipv6_block() {
    // [COND] IpAddress accepts IPv6 CIDR blocks.
    assert_eq!(
        eval(
            "IpAddress",
            "aws:SourceIp",
            &["2001:db8::/32"],
            Some(&["2001:db8:1::1"])
        ),
        T
    );
}

#[test]
fn bare_ip_is_a_single_address() {
    // [COND] an address without a prefix length is the single address.
    assert_eq!(
        eval(
            "IpAddress",
            "aws:SourceIp",
            &["203.0.113.7"],
            Some(&["203.0.113.7"])
        ),
        T
    );
    assert_eq!(
        eval(
            "IpAddress",
            "aws:SourceIp",
            &["203.0.113.7"],
            Some(&["203.0.113.8"])
        ),
        F
    );
}

#[test]
fn not_ip_address_negates() {
    // [COND] NotIpAddress: the address is outside every range.
    assert_eq!(
        eval(
            "NotIpAddress",
            "aws:SourceIp",
            &["10.0.0.0/8"],
            Some(&["203.0.113.7"])
        ),
        T
    );
    assert_eq!(
        eval(
            "NotIpAddress",
            "aws:SourceIp",
            &["10.0.0.0/8"],
            Some(&["10.1.2.3"])
        ),
        F
    );
}

// --- ARN operators [COND: Amazon Resource Name (ARN) condition operators] ---

#[test]
fn arn_like_matches_each_part_with_wildcards() {
    // [COND] ArnLike: each of the six colon-delimited parts is matched separately, with `*` and `?`.
    assert_eq!(
        eval(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:rds:*:111122223333:db:*"],
            Some(&["arn:aws:rds:us-east-1:111122223333:db:orders"])
        ),
        T
    );
}

#[test]
fn arn_like_star_does_not_cross_the_account_part() {
    // [COND] wildcards stay inside their ARN part: the account part must still match.
    assert_eq!(
        eval(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:rds:*:111122223333:db:*"],
            Some(&["arn:aws:rds:us-east-1:444455556666:db:orders"])
        ),
        F
    );
}

#[test]
fn arn_equals_behaves_as_arn_like() {
    // [COND] ArnEquals and ArnLike share one documented behaviour: each ARN part may hold wildcards.
    assert_eq!(
        eval(
            "ArnEquals",
            "aws:SourceArn",
            &["arn:aws:rds:*:*:db:*"],
            Some(&["arn:aws:rds:us-east-1:444455556666:db:orders"])
        ),
        T
    );
}

#[test]
fn arn_like_is_case_sensitive() {
    // [COND] ARN matching is case sensitive.
    assert_eq!(
        eval(
            "ArnLike",
            "aws:PrincipalArn",
            &["arn:aws:iam::111122223333:role/Admin"],
            Some(&["arn:aws:iam::111122223333:role/admin"])
        ),
        F
    );
}

#[test]
fn arn_like_rejects_a_value_that_is_not_an_arn() {
    // [COND] the request value must be an ARN of six parts.
    assert_eq!(
        eval(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:rds:*:*:db:*"],
            Some(&["orders"])
        ),
        F
    );
}

#[test]
fn arn_not_like_negates() {
    // [COND] ArnNotLike, ArnNotEquals: negated ARN matching.
    assert_eq!(
        eval(
            "ArnNotLike",
            "aws:PrincipalArn",
            &["arn:aws:iam::*:role/Break*"],
            Some(&["arn:aws:iam::111122223333:role/BreakGlass"])
        ),
        F
    );
    assert_eq!(
        eval(
            "ArnNotEquals",
            "aws:PrincipalArn",
            &["arn:aws:iam::*:role/Break*"],
            Some(&["arn:aws:iam::111122223333:role/App"])
        ),
        T
    );
}

#[test]
fn arn_resource_part_keeps_its_colons() {
    // [ELEM: ARN format] the resource part may contain colons (`db:orders`).
    assert_eq!(
        eval(
            "ArnLike",
            "aws:SourceArn",
            &["arn:aws:rds:us-east-1:111122223333:db:ord*"],
            Some(&["arn:aws:rds:us-east-1:111122223333:db:orders"])
        ),
        T
    );
}

// --- Set operators on multivalued keys [MULTI] ---

#[test]
fn for_any_value_true_when_one_request_value_matches() {
    // [MULTI] ForAnyValue: true if at least one request value matches one policy value.
    assert_eq!(
        eval(
            "ForAnyValue:StringEquals",
            "kms:EncryptionContextKeys",
            &["atrest:table"],
            Some(&["other", "atrest:table"])
        ),
        T
    );
}

#[test]
fn for_any_value_false_when_key_absent() {
    // [MULTI] ForAnyValue: an absent key or an empty set is false.
    assert_eq!(
        eval(
            "ForAnyValue:StringEquals",
            "kms:EncryptionContextKeys",
            &["atrest:table"],
            None
        ),
        F
    );
}

#[test]
fn for_all_values_true_when_every_request_value_matches() {
    // [MULTI] ForAllValues: true if every request value matches some policy value.
    assert_eq!(
        eval(
            "ForAllValues:StringEquals",
            "kms:EncryptionContextKeys",
            &["atrest:table", "atrest:column"],
            Some(&["atrest:table"])
        ),
        T
    );
    assert_eq!(
        eval(
            "ForAllValues:StringEquals",
            "kms:EncryptionContextKeys",
            &["atrest:table"],
            Some(&["atrest:table", "extra"])
        ),
        F
    );
}

#[test]
fn for_all_values_true_when_key_absent() {
    // [MULTI] ForAllValues returns true when the key is absent or the set is empty.
    assert_eq!(
        eval(
            "ForAllValues:StringEquals",
            "kms:EncryptionContextKeys",
            &["atrest:table"],
            None
        ),
        T
    );
}

#[test]
fn for_all_values_string_like_uses_patterns() {
    // [MULTI] set operators combine with pattern operators.
    assert_eq!(
        eval(
            "ForAllValues:StringLike",
            "aws:PrincipalOrgPaths",
            &["o-abc123/r-ab12/ou-ab12-*"],
            Some(&["o-abc123/r-ab12/ou-ab12-11111111/"])
        ),
        T
    );
}

#[test]
fn for_any_value_string_not_equals_true_when_one_value_differs() {
    // [MULTI] ForAnyValue with a negated operator: true if at least one request value matches no policy value.
    assert_eq!(
        eval(
            "ForAnyValue:StringNotEquals",
            "kms:GrantOperations",
            &["Decrypt"],
            Some(&["Decrypt", "Encrypt"])
        ),
        T
    );
    assert_eq!(
        eval(
            "ForAnyValue:StringNotEquals",
            "kms:GrantOperations",
            &["Decrypt"],
            Some(&["Decrypt"])
        ),
        F
    );
}

#[test]
fn for_all_values_string_not_equals_requires_every_value_to_differ() {
    // [MULTI] ForAllValues with a negated operator: every request value matches no policy value.
    assert_eq!(
        eval(
            "ForAllValues:StringNotEquals",
            "kms:GrantOperations",
            &["CreateGrant"],
            Some(&["Decrypt", "Encrypt"])
        ),
        T
    );
    assert_eq!(
        eval(
            "ForAllValues:StringNotEquals",
            "kms:GrantOperations",
            &["CreateGrant"],
            Some(&["Decrypt", "CreateGrant"])
        ),
        F
    );
}

#[test]
fn for_any_value_if_exists_true_when_absent() {
    // [COND] IfExists also applies to set operators: an absent key passes.
    assert_eq!(
        eval(
            "ForAnyValue:StringLikeIfExists",
            "aws:CalledVia",
            &["rds.*"],
            None
        ),
        T
    );
}

#[test]
fn single_valued_operator_on_many_values_matches_any() {
    // [MULTI] without a set operator, a positive operator holds when a request value matches.
    assert_eq!(
        eval(
            "StringLike",
            "aws:PrincipalOrgPaths",
            &["o-abc123/*"],
            Some(&["o-other/r-1/", "o-abc123/r-1/"])
        ),
        T
    );
}

// --- Policy variables [ELEM: policy variables] ---

#[test]
fn policy_variable_is_substituted_from_the_request() {
    // [ELEM] `${aws:PrincipalAccount}` is replaced with the request's value.
    let c = cond(
        "StringEquals",
        "kms:CallerAccount",
        &["${aws:PrincipalAccount}"],
    );
    assert_eq!(
        eval_in(&c, Some(&[ACCT]), &[("aws:PrincipalAccount", &[ACCT])]),
        T
    );
    assert_eq!(
        eval_in(&c, Some(&[ACCT]), &[("aws:PrincipalAccount", &[OTHER])]),
        F
    );
}

#[test]
fn policy_variable_of_unknown_key_leaves_condition_open() {
    // A variable whose key the query does not fix leaves the condition unknown.
    let c = cond(
        "StringEquals",
        "kms:CallerAccount",
        &["${aws:ResourceTag/owner}"],
    );
    assert_eq!(eval_in(&c, Some(&[ACCT]), &[]), Tri::Unknown);
}

#[test]
fn policy_variable_default_used_when_key_absent() {
    // [ELEM] `${key, 'default'}` uses the default when the key is absent.
    let c = cond(
        "StringEquals",
        "kms:CallerAccount",
        &["${aws:PrincipalTag/acct, '111122223333'}"],
    );
    let l = |k: &ConditionKey| match k {
        ConditionKey::CallerAccount => Lookup::One(ACCT),
        _ => Lookup::Absent,
    };
    assert_eq!(condition::evaluate(&c, &l), T);
}

#[test]
fn special_characters_in_policy_variables_are_literals() {
    // [ELEM] `${*}`, `${?}` and `${$}` stand for the literal characters.
    let c = cond("StringLike", "k:v", &["a${*}b"]);
    assert_eq!(eval_in(&c, Some(&["a*b"]), &[]), T);
    assert_eq!(eval_in(&c, Some(&["axb"]), &[]), F);
}

// --- Operator parsing ---

#[test]
fn operator_names_ignore_case() {
    // Operators are read regardless of case, as IAM validates them.
    assert!(Operator::parse("stringequals").is_some());
    assert!(
        Operator::parse("forallvalues:StringLike")
            .is_some_and(|o| o.set == Some(SetOperator::ForAllValues))
    );
}

#[test]
fn unknown_operator_is_rejected() {
    // [COND] only the documented operators exist.
    assert!(Operator::parse("StringContains").is_none());
    assert!(Operator::parse("ForSomeValues:StringEquals").is_none());
}

#[test]
fn condition_keys_ignore_case() {
    // [GLOBAL] condition key names are not case-sensitive.
    assert_eq!(
        ConditionKey::parse("KMS:ViaService"),
        ConditionKey::ViaService
    );
    assert_eq!(
        ConditionKey::parse("aws:principalorgid"),
        ConditionKey::PrincipalOrgId
    );
    assert_eq!(
        ConditionKey::parse("kms:EncryptionContext:Atrest:Table"),
        ConditionKey::EncryptionContext("atrest:table".to_owned())
    );
}
