//! Reading KMS key policies: just enough of the IAM policy grammar for the key-policy checks (who is trusted, for
//! which actions, under which conditions). Pure; the documents come from the inventory.

use serde_json::Value;

/// One statement, normalised: single values become lists, keys are compared case-insensitively later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub allow: bool,
    /// The principals of `Principal`, or of `NotPrincipal` when `not_principal` is set.
    pub principals: Vec<Principal>,
    pub not_principal: bool,
    /// The patterns of `Action`, or of `NotAction` when `not_action` is set.
    pub actions: Vec<String>,
    pub not_action: bool,
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`: anyone.
    Anyone,
    Aws(String),
    Service(String),
    Federated(String),
    Other(String),
}

impl Principal {
    /// The account principal (`arn:aws:iam::<account>:root` or a bare account id) delegates to IAM policies.
    pub fn is_account(&self) -> bool {
        match self {
            Principal::Aws(p) => {
                is_account_id(p)
                    || p.strip_prefix("arn:")
                        .and_then(|rest| rest.split_once(":iam::"))
                        .and_then(|(_, tail)| tail.strip_suffix(":root"))
                        .is_some_and(is_account_id)
            }
            _ => false,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Principal::Anyone => "*".to_string(),
            Principal::Aws(p) | Principal::Other(p) => p.clone(),
            Principal::Service(p) => format!("service {p}"),
            Principal::Federated(p) => format!("federated {p}"),
        }
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("the key policy is not JSON: {0}")]
    NotJson(String),
    #[error("the key policy has no `Statement`")]
    NoStatement,
}

/// Parses a policy document. Unknown shapes inside a statement are skipped, not fatal.
pub fn parse(document: &str) -> Result<Vec<Statement>, PolicyError> {
    let value: Value =
        serde_json::from_str(document).map_err(|e| PolicyError::NotJson(e.to_string()))?;
    let statements = match value.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => return Err(PolicyError::NoStatement),
    };
    Ok(statements.into_iter().filter_map(statement).collect())
}

fn statement(value: &Value) -> Option<Statement> {
    let obj = value.as_object()?;
    let allow = obj
        .get("Effect")
        .and_then(Value::as_str)
        .is_some_and(|e| e.eq_ignore_ascii_case("allow"));
    let (principal_value, not_principal) = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(p), _) => (Some(p), false),
        (None, Some(p)) => (Some(p), true),
        (None, None) => (None, false),
    };
    let (action_value, not_action) = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(a), _) => (Some(a), false),
        (None, Some(a)) => (Some(a), true),
        (None, None) => (None, false),
    };
    Some(Statement {
        sid: obj.get("Sid").and_then(Value::as_str).map(str::to_string),
        allow,
        principals: principal_value.map(principals).unwrap_or_default(),
        not_principal,
        actions: action_value.map(strings).unwrap_or_default(),
        not_action,
        conditions: obj.get("Condition").map(conditions).unwrap_or_default(),
    })
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn principals(value: &Value) -> Vec<Principal> {
    match value {
        Value::String(s) if s == "*" => vec![Principal::Anyone],
        Value::String(s) => vec![Principal::Other(s.clone())],
        Value::Object(map) => {
            let mut out = Vec::new();
            for (kind, v) in map {
                for p in strings(v) {
                    out.push(match kind.as_str() {
                        "AWS" if p == "*" => Principal::Anyone,
                        "AWS" => Principal::Aws(p),
                        "Service" => Principal::Service(p),
                        "Federated" => Principal::Federated(p),
                        _ => Principal::Other(p),
                    });
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

fn conditions(value: &Value) -> Vec<Condition> {
    let mut out = Vec::new();
    if let Value::Object(ops) = value {
        for (operator, keys) in ops {
            if let Value::Object(keys) = keys {
                for (key, values) in keys {
                    out.push(Condition {
                        operator: operator.clone(),
                        key: key.clone(),
                        values: strings(values),
                    });
                }
            }
        }
    }
    out
}

/// Condition keys that pin a request to known accounts or organisations.
pub const ACCOUNT_RESTRICTING_KEYS: &[&str] = &[
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "kms:CallerAccount",
];

/// Condition keys that protect a service principal against the cross-service confused deputy.
pub const SOURCE_RESTRICTING_KEYS: &[&str] = &[
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
];

impl Statement {
    /// Whether a condition with one of `keys` narrows the statement: a positive string or ARN match
    /// (`StringEquals`, `StringLike`, `ArnEquals`, `ArnLike`, optionally `ForAnyValue:`) on values that are not all
    /// wildcards. Negated operators, `...IfExists` (true when the key is absent) and `ForAllValues:` (true for an
    /// empty set) do not narrow an Allow.
    pub fn restricted_by(&self, keys: &[&str]) -> bool {
        self.conditions.iter().any(|c| {
            keys.iter().any(|k| k.eq_ignore_ascii_case(&c.key))
                && is_narrowing_operator(&c.operator)
                && !c.values.is_empty()
                && c.values
                    .iter()
                    .all(|v| !v.chars().all(|ch| ch == '*' || ch == '?'))
        })
    }

    /// Whether an Allow statement grants `action` (e.g. `kms:Decrypt`) to its principals.
    pub fn grants(&self, action: &str) -> bool {
        if !self.allow {
            return false;
        }
        let matched = self
            .actions
            .iter()
            .any(|pattern| action_matches(pattern, action));
        if self.not_action { !matched } else { matched }
    }
}

/// Which extra conditions a Deny invariant may carry and still count (see [`Statement::is_deny_guard`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardShape {
    /// The value of `Bool aws:PrincipalIsAWSService` the invariant may be limited to: `false` exempts AWS services
    /// (an account or organisation invariant), `true` limits it to AWS services (a confused-deputy invariant).
    pub service_scope: bool,
    /// Whether `...IfExists` negated operators count.
    pub if_exists: bool,
}

/// `Deny * kms:* when StringNotEquals aws:PrincipalOrgID ...` (services may be exempted).
pub const ACCOUNT_GUARD: GuardShape = GuardShape {
    service_scope: false,
    if_exists: false,
};

/// `Deny * kms:* when StringNotEquals[IfExists] aws:SourceAccount ...` (optionally limited to AWS services).
pub const SOURCE_GUARD: GuardShape = GuardShape {
    service_scope: true,
    if_exists: true,
};

impl Statement {
    /// Whether this is a Deny invariant that refuses every KMS action (`kms:*` or `*`) to any principal (`*`)
    /// whose request does not match one of `keys`. Every condition must be a negated string or ARN match on one
    /// of `keys` with concrete values, except `Bool aws:PrincipalIsAWSService` with the value `shape` allows.
    pub fn is_deny_guard(&self, keys: &[&str], shape: GuardShape) -> bool {
        if self.allow
            || self.not_principal
            || self.not_action
            || !self.principals.contains(&Principal::Anyone)
        {
            return false;
        }
        if !self
            .actions
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case("kms:*"))
        {
            return false;
        }
        let scope = shape.service_scope.to_string();
        let mut guarded = false;
        for c in &self.conditions {
            let negated_match = keys.iter().any(|k| k.eq_ignore_ascii_case(&c.key))
                && is_negated_operator(&c.operator, shape.if_exists)
                && !c.values.is_empty()
                && c.values
                    .iter()
                    .all(|v| !v.chars().all(|ch| ch == '*' || ch == '?'));
            let scoped = c.operator.eq_ignore_ascii_case("Bool")
                && c.key.eq_ignore_ascii_case("aws:PrincipalIsAWSService")
                && c.values.iter().all(|v| v.eq_ignore_ascii_case(&scope));
            if negated_match {
                guarded = true;
            } else if !scoped {
                return false;
            }
        }
        guarded
    }
}

fn is_negated_operator(operator: &str, if_exists: bool) -> bool {
    let op = match operator.strip_suffix("IfExists") {
        Some(base) if if_exists => base,
        Some(_) => return false,
        None => operator,
    };
    matches!(
        op.to_ascii_lowercase().as_str(),
        "stringnotequals"
            | "stringnotequalsignorecase"
            | "stringnotlike"
            | "arnnotequals"
            | "arnnotlike"
    )
}

fn is_narrowing_operator(operator: &str) -> bool {
    let op = operator.strip_prefix("ForAnyValue:").unwrap_or(operator);
    if op.starts_with("ForAllValues:") || op.ends_with("IfExists") {
        return false;
    }
    matches!(
        op.to_ascii_lowercase().as_str(),
        "stringequals" | "stringequalsignorecase" | "stringlike" | "arnequals" | "arnlike"
    )
}

/// IAM action matching: case-insensitive, `*` and `?` wildcards.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        action.to_ascii_lowercase().as_bytes(),
    )
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        let at = pattern.get(p).copied();
        if at.is_some_and(|a| a == b'?' || a == c) {
            p += 1;
            t += 1;
        } else if at == Some(b'*') {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

/// Actions that control a key (its policy, its life cycle, its rotation, its aliases and grants).
pub const ADMIN_ACTIONS: &[&str] = &[
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:ImportKeyMaterial",
    "kms:DeleteImportedKeyMaterial",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
    "kms:ReplicateKey",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:RevokeGrant",
];

/// Cryptographic use of a key.
pub const USE_ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:Sign",
    "kms:Verify",
    "kms:GenerateMac",
    "kms:VerifyMac",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(action_matches("kms:*", "kms:Decrypt"));
        assert!(action_matches("*", "kms:Decrypt"));
        assert!(action_matches(
            "KMS:generatedatakey*",
            "kms:GenerateDataKeyWithoutPlaintext"
        ));
        assert!(action_matches("kms:ReEncrypt*", "kms:ReEncryptFrom"));
        assert!(action_matches("kms:?ncrypt", "kms:Encrypt"));
        assert!(!action_matches("kms:Put*", "kms:Decrypt"));
        assert!(!action_matches("kms:Decrypt", "kms:DecryptX"));
        assert!(action_matches("kms:*Key", "kms:DisableKey"));
    }

    #[test]
    fn parses_single_and_list_forms() {
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt",
            "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"},"Bool":{"aws:SecureTransport":true}}}}"#;
        let s = parse(doc).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].principals, vec![Principal::Anyone]);
        assert_eq!(s[0].actions, vec!["kms:Decrypt".to_string()]);
        assert_eq!(s[0].conditions.len(), 2);
        assert!(s[0].restricted_by(ACCOUNT_RESTRICTING_KEYS));
        assert!(!s[0].restricted_by(SOURCE_RESTRICTING_KEYS));
    }

    #[test]
    fn principals_of_every_kind() {
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["*","arn:aws:iam::111122223333:root",
            "111122223333","arn:aws:iam::111122223333:role/r"],"Service":"logs.amazonaws.com","Federated":"x"},
            "Action":["kms:*"]}]}"#;
        let s = &parse(doc).unwrap()[0];
        assert!(s.principals.contains(&Principal::Anyone));
        assert!(
            s.principals
                .contains(&Principal::Service("logs.amazonaws.com".into()))
        );
        let accounts: Vec<_> = s.principals.iter().filter(|p| p.is_account()).collect();
        assert_eq!(accounts.len(), 2);
        assert!(!Principal::Aws("arn:aws:iam::111122223333:role/r".into()).is_account());
    }

    #[test]
    fn weak_conditions_do_not_restrict() {
        for cond in [
            r#"{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}"#,
            r#"{"StringEqualsIfExists":{"aws:PrincipalAccount":"111122223333"}}"#,
            r#"{"ForAllValues:StringEquals":{"aws:PrincipalOrgPaths":"o-1/r-1/"}}"#,
            r#"{"StringLike":{"aws:PrincipalAccount":"*"}}"#,
            r#"{"StringEquals":{"aws:SourceIp":"10.0.0.0/8"}}"#,
        ] {
            let doc = format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"kms:*","Condition":{cond}}}]}}"#
            );
            assert!(
                !parse(&doc).unwrap()[0].restricted_by(ACCOUNT_RESTRICTING_KEYS),
                "{cond}"
            );
        }
    }

    #[test]
    fn grants_with_action_and_not_action() {
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":["kms:Put*"]},
            {"Effect":"Deny","Principal":"*","Action":"kms:*"}]}"#;
        let s = parse(doc).unwrap();
        assert!(s[0].grants("kms:Decrypt"));
        assert!(!s[0].grants("kms:PutKeyPolicy"));
        assert!(!s[1].grants("kms:Decrypt"));
    }

    #[test]
    fn deny_guards() {
        let guard = |cond: &str, action: &str| {
            let doc = format!(
                r#"{{"Statement":[{{"Effect":"Deny","Principal":{{"AWS":"*"}},"Action":{action},"Resource":"*","Condition":{cond}}}]}}"#
            );
            parse(&doc).unwrap().remove(0)
        };
        let org = r#"{"StringNotEquals":{"aws:PrincipalOrgID":"o-abcd12efg1"},"Bool":{"aws:PrincipalIsAWSService":"false"}}"#;
        assert!(guard(org, r#""kms:*""#).is_deny_guard(ACCOUNT_RESTRICTING_KEYS, ACCOUNT_GUARD));
        assert!(!guard(org, r#""kms:*""#).is_deny_guard(SOURCE_RESTRICTING_KEYS, SOURCE_GUARD));
        assert!(
            !guard(org, r#""kms:Decrypt""#).is_deny_guard(ACCOUNT_RESTRICTING_KEYS, ACCOUNT_GUARD),
            "must cover kms:*"
        );
        let ip = r#"{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#;
        assert!(
            !guard(ip, r#""*""#).is_deny_guard(ACCOUNT_RESTRICTING_KEYS, ACCOUNT_GUARD),
            "other conditions weaken it"
        );
        let weak = r#"{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}"#;
        assert!(!guard(weak, r#""*""#).is_deny_guard(ACCOUNT_RESTRICTING_KEYS, ACCOUNT_GUARD));
        let src = r#"{"StringNotEqualsIfExists":{"aws:SourceAccount":"111122223333"},"Bool":{"aws:PrincipalIsAWSService":"true"}}"#;
        assert!(guard(src, r#"["kms:*"]"#).is_deny_guard(SOURCE_RESTRICTING_KEYS, SOURCE_GUARD));
        let positive = r#"{"StringEquals":{"aws:SourceAccount":"111122223333"}}"#;
        assert!(
            !guard(positive, r#""kms:*""#).is_deny_guard(SOURCE_RESTRICTING_KEYS, SOURCE_GUARD)
        );
    }

    #[test]
    fn malformed_documents() {
        assert!(matches!(parse("{"), Err(PolicyError::NotJson(_))));
        assert_eq!(parse("{}"), Err(PolicyError::NoStatement));
    }
}
