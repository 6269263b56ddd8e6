//! Condition operators and keys with IAM's semantics (IAM JSON policy elements: Condition operators; AWS global
//! condition context keys; AWS KMS condition keys), evaluated three-valued: a key the query does not fix makes the
//! condition unknown, and the evaluator keeps it as a remaining condition.

use std::fmt;
use std::net::IpAddr;

use super::matching::{arn_like, glob};

/// The comparison an operator makes, without its set prefix and `IfExists` suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const BASES: &[(&str, BaseOperator)] = {
    use BaseOperator::*;
    &[
        ("StringEquals", StringEquals),
        ("StringNotEquals", StringNotEquals),
        ("StringEqualsIgnoreCase", StringEqualsIgnoreCase),
        ("StringNotEqualsIgnoreCase", StringNotEqualsIgnoreCase),
        ("StringLike", StringLike),
        ("StringNotLike", StringNotLike),
        ("NumericEquals", NumericEquals),
        ("NumericNotEquals", NumericNotEquals),
        ("NumericLessThan", NumericLessThan),
        ("NumericLessThanEquals", NumericLessThanEquals),
        ("NumericGreaterThan", NumericGreaterThan),
        ("NumericGreaterThanEquals", NumericGreaterThanEquals),
        ("DateEquals", DateEquals),
        ("DateNotEquals", DateNotEquals),
        ("DateLessThan", DateLessThan),
        ("DateLessThanEquals", DateLessThanEquals),
        ("DateGreaterThan", DateGreaterThan),
        ("DateGreaterThanEquals", DateGreaterThanEquals),
        ("Bool", Bool),
        ("BinaryEquals", BinaryEquals),
        ("IpAddress", IpAddress),
        ("NotIpAddress", NotIpAddress),
        ("ArnEquals", ArnEquals),
        ("ArnLike", ArnLike),
        ("ArnNotEquals", ArnNotEquals),
        ("ArnNotLike", ArnNotLike),
        ("Null", Null),
    ]
};

impl BaseOperator {
    pub fn name(self) -> &'static str {
        BASES
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("", |(n, _)| n)
    }

    /// The positive operator a negated one negates (`StringNotLike` -> `StringLike`), or `None` for a positive one.
    pub fn negates(self) -> Option<BaseOperator> {
        use BaseOperator::*;
        Some(match self {
            StringNotEquals => StringEquals,
            StringNotEqualsIgnoreCase => StringEqualsIgnoreCase,
            StringNotLike => StringLike,
            NumericNotEquals => NumericEquals,
            DateNotEquals => DateEquals,
            NotIpAddress => IpAddress,
            ArnNotEquals => ArnEquals,
            ArnNotLike => ArnLike,
            _ => return None,
        })
    }

    /// True when policy values are patterns (`*`, `?`): StringLike, and the ARN operators, whose documented
    /// behaviour is the same for ArnEquals and ArnLike (each ARN part may hold wildcards).
    pub fn is_pattern(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringLike | StringNotLike | ArnEquals | ArnLike | ArnNotEquals | ArnNotLike
        )
    }
}

/// `ForAnyValue:` or `ForAllValues:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetOperator {
    ForAnyValue,
    ForAllValues,
}

/// A full condition operator such as `ForAnyValue:StringLikeIfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operator {
    pub set: Option<SetOperator>,
    pub base: BaseOperator,
    pub if_exists: bool,
}

impl Operator {
    /// Parses an operator name, ignoring case; `None` for an unknown one.
    pub fn parse(text: &str) -> Option<Self> {
        let (set, rest) = match text.split_once(':') {
            Some((p, r)) if p.eq_ignore_ascii_case("ForAnyValue") => {
                (Some(SetOperator::ForAnyValue), r)
            }
            Some((p, r)) if p.eq_ignore_ascii_case("ForAllValues") => {
                (Some(SetOperator::ForAllValues), r)
            }
            Some(_) => return None,
            None => (None, text),
        };
        let find = |name: &str| {
            BASES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, b)| *b)
        };
        if let Some(base) = find(rest) {
            return Some(Self {
                set,
                base,
                if_exists: false,
            });
        }
        let stem = rest.len().checked_sub("IfExists".len()).and_then(|n| {
            rest.get(n..)
                .filter(|s| s.eq_ignore_ascii_case("IfExists"))
                .and_then(|_| rest.get(..n))
        })?;
        let base = find(stem).filter(|b| *b != BaseOperator::Null)?;
        Some(Self {
            set,
            base,
            if_exists: true,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.set {
            Some(SetOperator::ForAnyValue) => f.write_str("ForAnyValue:")?,
            Some(SetOperator::ForAllValues) => f.write_str("ForAllValues:")?,
            None => {}
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// A condition key the evaluator knows how to fill from the request; any other key is `Other` (lowercased), and
/// unknown unless the query sets it. Condition key names are case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConditionKey {
    PrincipalArn,
    PrincipalAccount,
    PrincipalOrgId,
    PrincipalOrgPaths,
    PrincipalType,
    PrincipalIsAwsService,
    PrincipalServiceName,
    SourceAccount,
    SourceArn,
    SourceOrgId,
    SourceOrgPaths,
    SourceVpce,
    CalledVia,
    ViaAwsService,
    ResourceAccount,
    CallerAccount,
    ViaService,
    GrantIsForAwsResource,
    GrantOperations,
    GranteePrincipal,
    RetiringPrincipal,
    GrantConstraintType,
    EncryptionContextKeys,
    /// `kms:EncryptionContext:<key>`, with the context key lowercased.
    EncryptionContext(String),
    KeySpec,
    KeyUsage,
    Other(String),
}

impl ConditionKey {
    pub fn parse(text: &str) -> Self {
        let lc = text.to_ascii_lowercase();
        if let Some(k) = lc.strip_prefix("kms:encryptioncontext:") {
            return Self::EncryptionContext(k.to_owned());
        }
        match lc.as_str() {
            "aws:principalarn" => Self::PrincipalArn,
            "aws:principalaccount" => Self::PrincipalAccount,
            "aws:principalorgid" => Self::PrincipalOrgId,
            "aws:principalorgpaths" => Self::PrincipalOrgPaths,
            "aws:principaltype" => Self::PrincipalType,
            "aws:principalisawsservice" => Self::PrincipalIsAwsService,
            "aws:principalservicename" => Self::PrincipalServiceName,
            "aws:sourceaccount" => Self::SourceAccount,
            "aws:sourcearn" => Self::SourceArn,
            "aws:sourceorgid" => Self::SourceOrgId,
            "aws:sourceorgpaths" => Self::SourceOrgPaths,
            "aws:sourcevpce" => Self::SourceVpce,
            "aws:calledvia" => Self::CalledVia,
            "aws:viaawsservice" => Self::ViaAwsService,
            "aws:resourceaccount" => Self::ResourceAccount,
            "kms:calleraccount" => Self::CallerAccount,
            "kms:viaservice" => Self::ViaService,
            "kms:grantisforawsresource" => Self::GrantIsForAwsResource,
            "kms:grantoperations" => Self::GrantOperations,
            "kms:granteeprincipal" => Self::GranteePrincipal,
            "kms:retiringprincipal" => Self::RetiringPrincipal,
            "kms:grantconstrainttype" => Self::GrantConstraintType,
            "kms:encryptioncontextkeys" => Self::EncryptionContextKeys,
            "kms:keyspec" => Self::KeySpec,
            "kms:keyusage" => Self::KeyUsage,
            _ => Self::Other(lc),
        }
    }
}

/// One condition: an operator, a key and the policy values (booleans and numbers kept as their text).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Condition {
    pub operator: Operator,
    /// The key as written in the policy.
    pub key: String,
    pub parsed_key: ConditionKey,
    pub values: Vec<String>,
}

impl Condition {
    pub fn new(operator: Operator, key: &str, values: Vec<String>) -> Self {
        Self {
            operator,
            key: key.to_owned(),
            parsed_key: ConditionKey::parse(key),
            values,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.key, self.operator)?;
        if let [one] = self.values.as_slice() {
            write!(f, "`{one}`")
        } else {
            f.write_str("[")?;
            for (i, v) in self.values.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "`{v}`")?;
            }
            f.write_str("]")
        }
    }
}

/// The request's values for a key: absent (no value), some values, or not fixed by the query.
#[derive(Clone, Copy, Debug)]
pub enum Lookup<'a> {
    Absent,
    One(&'a str),
    Many(&'a [String]),
    Unknown,
}

/// A three-valued truth: the unknown case is a condition on request values the query left open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    pub fn from_bool(b: bool) -> Self {
        if b { Tri::True } else { Tri::False }
    }

    pub fn negate(self) -> Self {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }

    pub fn and(self, o: Self) -> Self {
        match (self, o) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    pub fn or(self, o: Self) -> Self {
        match (self, o) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }
}

fn any<I: IntoIterator<Item = Tri>>(it: I) -> Tri {
    let mut r = Tri::False;
    for t in it {
        r = r.or(t);
        if r == Tri::True {
            break;
        }
    }
    r
}

fn all<I: IntoIterator<Item = Tri>>(it: I) -> Tri {
    let mut r = Tri::True;
    for t in it {
        r = r.and(t);
        if r == Tri::False {
            break;
        }
    }
    r
}

/// Evaluates a condition against the request values `lookup` gives for a key.
pub fn evaluate<'a>(c: &Condition, lookup: &dyn Fn(&ConditionKey) -> Lookup<'a>) -> Tri {
    match lookup(&c.parsed_key) {
        Lookup::Unknown => Tri::Unknown,
        Lookup::Absent => evaluate_values(c, std::iter::empty(), lookup),
        Lookup::One(v) => evaluate_values(c, std::iter::once(v), lookup),
        Lookup::Many(v) => evaluate_values(c, v.iter().map(String::as_str), lookup),
    }
}

fn evaluate_values<'a, 'r, I>(
    c: &Condition,
    request: I,
    lookup: &dyn Fn(&ConditionKey) -> Lookup<'a>,
) -> Tri
where
    I: Iterator<Item = &'r str> + Clone,
{
    let empty = request.clone().next().is_none();
    let op = c.operator;
    if op.base == BaseOperator::Null {
        // Null: `true` means the key must be absent, `false` that it must be present.
        return any(c
            .values
            .iter()
            .map(|p| Tri::from_bool(p.eq_ignore_ascii_case("true") == empty)));
    }
    let (positive, negated) = match op.base.negates() {
        Some(p) => (p, true),
        None => (op.base, false),
    };
    // Does one request value match any policy value (with policy variables substituted)?
    let matches_any = |v: &str| {
        any(c.values.iter().map(|p| match substitute(p, lookup) {
            Subst::Value(p) => Tri::from_bool(compare(positive, v, &p)),
            Subst::NoValue => Tri::False,
            Subst::Unknown => Tri::Unknown,
        }))
    };
    if empty {
        return Tri::from_bool(match op.set {
            // ForAllValues is true for an empty set; ForAnyValue false, unless IfExists.
            Some(SetOperator::ForAllValues) => true,
            Some(SetOperator::ForAnyValue) => op.if_exists,
            // An absent key fails a positive operator and satisfies a negated one; IfExists satisfies both.
            None => op.if_exists || negated,
        });
    }
    match (op.set, negated) {
        (None, false) | (Some(SetOperator::ForAnyValue), false) => any(request.map(matches_any)),
        (None, true) => any(request.map(matches_any)).negate(),
        (Some(SetOperator::ForAnyValue), true) => any(request.map(|v| matches_any(v).negate())),
        (Some(SetOperator::ForAllValues), false) => all(request.map(matches_any)),
        (Some(SetOperator::ForAllValues), true) => all(request.map(|v| matches_any(v).negate())),
    }
}

/// `${*}` and `${?}`: a literal `*` or `?` in a pattern (private-use characters never found in request values).
pub const LITERAL_STAR: char = '\u{E000}';
pub const LITERAL_QUESTION: char = '\u{E001}';

/// The policy value with literal markers turned back into their characters (for exact comparisons).
fn literal(p: &str) -> std::borrow::Cow<'_, str> {
    if p.contains([LITERAL_STAR, LITERAL_QUESTION]) {
        std::borrow::Cow::Owned(p.replace(LITERAL_STAR, "*").replace(LITERAL_QUESTION, "?"))
    } else {
        std::borrow::Cow::Borrowed(p)
    }
}

enum Subst<'p> {
    Value(std::borrow::Cow<'p, str>),
    NoValue,
    Unknown,
}

/// Replaces policy variables (`${aws:PrincipalAccount}`, `${aws:username, 'default'}`, `${*}`, `${?}`, `${$}`)
/// with the request's values (IAM policy elements: variables and tags).
fn substitute<'a, 'p>(p: &'p str, lookup: &dyn Fn(&ConditionKey) -> Lookup<'a>) -> Subst<'p> {
    if !p.contains("${") {
        return Subst::Value(std::borrow::Cow::Borrowed(p));
    }
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Subst::Value(std::borrow::Cow::Owned(out));
        };
        let inner = after[..end].trim();
        rest = &after[end + 1..];
        match inner {
            // Literal characters: kept apart from the wildcards until the comparison.
            "*" => out.push(LITERAL_STAR),
            "?" => out.push(LITERAL_QUESTION),
            "$" => out.push('$'),
            _ => {
                let (name, default) = match inner.split_once(',') {
                    Some((n, d)) => (n.trim(), Some(d.trim().trim_matches('\''))),
                    None => (inner, None),
                };
                match lookup(&ConditionKey::parse(name)) {
                    Lookup::One(v) => out.push_str(v),
                    Lookup::Many([v]) => out.push_str(v),
                    Lookup::Unknown => return Subst::Unknown,
                    Lookup::Absent | Lookup::Many(_) => match default {
                        Some(d) => out.push_str(d),
                        None => return Subst::NoValue,
                    },
                }
            }
        }
    }
    out.push_str(rest);
    Subst::Value(std::borrow::Cow::Owned(out))
}

fn compare(op: BaseOperator, request: &str, policy: &str) -> bool {
    use BaseOperator::*;
    if !op.is_pattern() {
        let policy = literal(policy);
        return compare_literal(op, request, &policy);
    }
    match op {
        StringLike => glob(policy, request, false),
        ArnEquals | ArnLike => arn_like(policy, request),
        _ => false,
    }
}

fn compare_literal(op: BaseOperator, request: &str, policy: &str) -> bool {
    use BaseOperator::*;
    match op {
        StringEquals | BinaryEquals => request == policy,
        StringEqualsIgnoreCase => request.to_lowercase() == policy.to_lowercase(),
        Bool => request.eq_ignore_ascii_case(policy),
        IpAddress => ip_in(request, policy),
        NumericEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            match (request.trim().parse::<f64>(), policy.trim().parse::<f64>()) {
                (Ok(r), Ok(p)) => ordered(op, r, p),
                _ => false,
            }
        }
        DateEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => match (parse_date(request), parse_date(policy)) {
            (Some(r), Some(p)) => ordered(op, r, p),
            _ => false,
        },
        _ => false,
    }
}

fn ordered(op: BaseOperator, r: f64, p: f64) -> bool {
    use BaseOperator::*;
    match op {
        NumericEquals | DateEquals => r == p,
        NumericLessThan | DateLessThan => r < p,
        NumericLessThanEquals | DateLessThanEquals => r <= p,
        NumericGreaterThan | DateGreaterThan => r > p,
        NumericGreaterThanEquals | DateGreaterThanEquals => r >= p,
        _ => false,
    }
}

/// IpAddress: the request address lies in the policy's CIDR block (a bare address is a /32 or /128).
pub fn ip_in(request: &str, policy: &str) -> bool {
    let (addr, len) = match policy.split_once('/') {
        Some((a, l)) => (a, l.parse::<u32>().ok()),
        None => (policy, None),
    };
    match (request.parse::<IpAddr>(), addr.parse::<IpAddr>()) {
        (Ok(IpAddr::V4(r)), Ok(IpAddr::V4(p))) => {
            prefix_eq(u32::from(r).into(), u32::from(p).into(), 32, len)
        }
        (Ok(IpAddr::V6(r)), Ok(IpAddr::V6(p))) => prefix_eq(u128::from(r), u128::from(p), 128, len),
        _ => false,
    }
}

fn prefix_eq(r: u128, p: u128, width: u32, len: Option<u32>) -> bool {
    let len = len.unwrap_or(width);
    if len > width {
        return false;
    }
    let shift = width - len;
    shift >= width || (r >> shift) == (p >> shift)
}

/// An ISO 8601 date or date-time (`2026-01-31`, `2026-01-31T12:00:00Z`, with fraction or offset), or epoch
/// seconds, as seconds since the epoch.
pub fn parse_date(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<f64>() {
        return Some(n);
    }
    let b = t.as_bytes();
    let num = |s: usize, n: usize| -> Option<i64> { t.get(s..s + n)?.parse::<i64>().ok() };
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) as f64 * 86_400.0;
    if b.len() == 10 {
        return Some(secs);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hh, mm) = (num(11, 2)?, num(14, 2)?);
    let mut i = 16;
    let mut ss = 0.0;
    if b.get(i) == Some(&b':') {
        let mut j = i + 1;
        while b.get(j).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
            j += 1;
        }
        ss = t.get(i + 1..j)?.parse::<f64>().ok()?;
        i = j;
    }
    secs += (hh * 3600 + mm * 60) as f64 + ss;
    match t.get(i..)? {
        "" | "Z" | "z" => Some(secs),
        off => {
            let sign = match off.as_bytes().first()? {
                b'+' => 1.0,
                b'-' => -1.0,
                _ => return None,
            };
            let oh = off.get(1..3)?.parse::<i64>().ok()?;
            let om = off.get(off.len().checked_sub(2)?..)?.parse::<i64>().ok()?;
            Some(secs - sign * (oh * 3600 + om * 60) as f64)
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
