//! AWS's policy evaluation logic for KMS (IAM User Guide, "Policy evaluation logic" and "Cross-account policy
//! evaluation logic"; AWS KMS Developer Guide, "Key policies", "Grants", "Troubleshooting key access"):
//!
//! 1. an explicit Deny in any applicable policy (key policy, identity policies, permissions boundary, SCPs, RCPs)
//!    wins;
//! 2. the key policy is the root of trust: an identity policy allows only when the key policy allows the principal's
//!    account (`arn:aws:iam::ACCOUNT:root` or the bare account id); a key policy statement naming the principal (or
//!    `*`) allows on its own within the key's account;
//! 3. across accounts both sides must allow: the key policy (the account or the principal) and the caller's
//!    identity policies;
//! 4. grants allow their operations to their grantee (never deny), with no IAM policy needed;
//! 5. a permissions boundary, the SCPs of the principal's account and the RCPs of the key's account are ceilings:
//!    an allow must also be allowed by each one present, and a ceiling that could not be read is unknown.
//!
//! The evaluation is symbolic: condition keys the query does not fix stay as remaining conditions.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::actions::{ActionSet, KeyKind, KmsAction};
use super::condition::{self, ConditionKey, Lookup, Tri};
use super::document::{Effect, Policy, PrincipalKind, Principals, Statement};
use super::formula::{Atom, Dnf, Missing, Source};
use super::grant::Grant;
use super::matching::{account_of, is_account_id, resource_matches};
use super::pinning;

/// The KMS key a request is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub arn: String,
    pub account: String,
    pub kind: Option<KeyKind>,
    pub spec: Option<String>,
    pub usage: Option<String>,
}

impl Key {
    /// A key from its ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`).
    pub fn new(arn: &str, kind: KeyKind) -> Self {
        Self {
            arn: arn.to_owned(),
            account: account_of(arn).unwrap_or_default().to_owned(),
            kind: Some(kind),
            spec: None,
            usage: None,
        }
    }
}

/// The kind of principal making the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// The account's root user.
    Root,
    User,
    /// An IAM role (requests come from its sessions).
    Role,
    /// An AWS service principal such as `rds.amazonaws.com`.
    Service,
    /// A federated user or any other principal named by its ARN.
    Other,
}

/// What is known of the principal's organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Org {
    Unknown,
    None,
    Member { id: String, paths: Vec<String> },
}

/// Who makes the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The IAM ARN (the role's, not the session's), or the service principal name.
    pub arn: String,
    pub account: Option<String>,
    pub kind: PrincipalType,
    pub org: Org,
}

impl Principal {
    /// A user, role or root principal from its ARN.
    pub fn iam(arn: &str) -> Self {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        let kind = if resource == "root" {
            PrincipalType::Root
        } else if resource.starts_with("role/") {
            PrincipalType::Role
        } else if resource.starts_with("user/") {
            PrincipalType::User
        } else {
            PrincipalType::Other
        };
        Self {
            arn: arn.to_owned(),
            account: account_of(arn).map(str::to_owned),
            kind,
            org: Org::Unknown,
        }
    }

    pub fn root(account: &str) -> Self {
        Self::iam(&format!("arn:aws:iam::{account}:root"))
    }

    /// An AWS service principal (`rds.amazonaws.com`).
    pub fn service(name: &str) -> Self {
        Self {
            arn: name.to_owned(),
            account: None,
            kind: PrincipalType::Service,
            org: Org::None,
        }
    }

    pub fn in_org(mut self, id: &str, paths: &[&str]) -> Self {
        self.org = Org::Member {
            id: id.to_owned(),
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        };
        self
    }

    pub fn without_org(mut self) -> Self {
        self.org = Org::None;
        self
    }

    fn role_name(&self) -> Option<&str> {
        (self.kind == PrincipalType::Role)
            .then(|| self.arn.rsplit('/').next())
            .flatten()
    }
}

/// A ceiling: a permissions boundary is one policy; SCPs and RCPs are levels (root, OUs, account) of which each
/// must allow, through at least one of its policies.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Ceiling {
    /// Known not to apply (no organization, the management account).
    #[default]
    None,
    /// Could not be read.
    NotCollected,
    Levels(Vec<Vec<Policy>>),
}

/// An identity policy with its ARN.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedPolicy {
    pub arn: String,
    pub policy: Policy,
}

/// A principal's identity-based policies.
#[derive(Clone, Debug, PartialEq)]
pub enum Identity {
    NotCollected,
    Known {
        policies: Vec<NamedPolicy>,
        boundary: Option<Policy>,
    },
}

impl Identity {
    pub fn none() -> Self {
        Identity::Known {
            policies: Vec::new(),
            boundary: None,
        }
    }
}

/// Everything known about the key side of a request.
#[derive(Clone, Copy, Debug)]
pub struct KeyInputs<'a> {
    pub key: &'a Key,
    /// `None` when the key policy could not be read.
    pub policy: Option<&'a Policy>,
    /// `None` when the grants could not be read.
    pub grants: Option<&'a [Grant]>,
    pub rcps: &'a Ceiling,
}

/// Everything known about the principal side of a request.
#[derive(Clone, Copy, Debug)]
pub struct PrincipalInputs<'a> {
    pub principal: &'a Principal,
    pub identity: &'a Identity,
    pub scps: &'a Ceiling,
}

/// Request values the query fixes. Keys not set here and not derived from the principal, key or action are
/// unknown, and conditions on them remain in the verdict.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestContext {
    values: Vec<(ConditionKey, Vec<String>)>,
    absent: Vec<ConditionKey>,
    encryption_context: Option<BTreeMap<String, String>>,
    ec_lower: Vec<(String, String)>,
    ec_keys: Vec<String>,
}

impl RequestContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fixes a key's values (several for a multi-valued key).
    pub fn set(mut self, key: &str, values: &[&str]) -> Self {
        self.values.push((
            ConditionKey::parse(key),
            values.iter().map(|v| (*v).to_owned()).collect(),
        ));
        self
    }

    /// Fixes a key as absent from the request.
    pub fn absent(mut self, key: &str) -> Self {
        self.absent.push(ConditionKey::parse(key));
        self
    }

    /// Fixes the encryption context of the request (for operations that take one).
    pub fn encryption_context(mut self, pairs: &[(&str, &str)]) -> Self {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.ec_lower = map
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        self.ec_keys = map.keys().cloned().collect();
        self.encryption_context = Some(map);
        self
    }
}

/// The path by which a principal reaches the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// A key policy statement names the principal (same account).
    Direct,
    /// The key policy delegates to the account and an IAM policy allows.
    AccountDelegation,
    /// Through an AWS service: the allowing statement requires `kms:ViaService`, or the principal is a service.
    ViaService,
    Grant,
    /// A principal of another account.
    ExternalAccount,
    /// A key policy statement with `Principal` `*` and no condition pinning an account or organization.
    Public,
}

/// The verdict for one principal and action.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Allowed,
    /// Allowed when the remaining conditions hold (they depend on request values the query left open). Shared:
    /// the actions that fall in the same statements hold the same formula.
    AllowedIf(Arc<Dnf>),
    Denied,
    /// Depends on inputs that could not be read.
    Unknown(Vec<Missing>),
}

/// What allows: the key policy statement, the identity policy statement, or the grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via {
    pub path: Path,
    pub key_statement: Option<Source>,
    pub identity: Option<Source>,
    pub grant: Option<Source>,
}

/// The decision for one principal and action.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub principal: usize,
    pub action: KmsAction,
    pub verdict: Verdict,
    pub via: Option<Via>,
    /// The explicit Deny that decides a `Denied` verdict (`None` for an implicit deny).
    pub denied_by: Option<Source>,
    /// For `CreateGrant`: the operations the principal could give to any principal (itself included) because the
    /// allowing statement or grant does not constrain the grant.
    pub escalates_to: ActionSet,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    KeyDirect,
    KeyAccount,
    Identity,
    Boundary,
    Scp(u32),
    Rcp(u32),
    Grant,
    GrantAccount,
}

#[derive(Clone, Copy, Debug)]
struct Piece {
    role: Role,
    effect: Effect,
    source: Source,
    mask: u64,
    /// Range of this piece's remaining atoms in the scratch vector; empty for an unconditional piece.
    atoms: (u32, u32),
    public: bool,
    via_service: bool,
    unconstrained_grant: bool,
}

/// Action classes that see different request keys.
const CLASSES: usize = 4;

fn class_masks() -> [u64; CLASSES] {
    let ctx = ActionSet::taking_context().0;
    let create = KmsAction::CreateGrant.bit();
    let manage =
        KmsAction::ListGrants.bit() | KmsAction::RevokeGrant.bit() | KmsAction::RetireGrant.bit();
    let all = ActionSet::all().0;
    [ctx, create, manage, all & !(ctx | create | manage)]
}

/// Three-valued truth per action, bit-sliced: `t` true, `u` unknown, the rest false.
#[derive(Clone, Copy, Debug, Default)]
struct Bits {
    t: u64,
    u: u64,
}

impl Bits {
    const FALSE: Bits = Bits { t: 0, u: 0 };
    const TRUE: Bits = Bits { t: u64::MAX, u: 0 };
    const UNKNOWN: Bits = Bits { t: 0, u: u64::MAX };

    fn or(self, o: Bits) -> Bits {
        let t = self.t | o.t;
        Bits {
            t,
            u: (self.u | o.u) & !t,
        }
    }

    fn and(self, o: Bits) -> Bits {
        let t = self.t & o.t;
        let f = (!(self.t | self.u)) | (!(o.t | o.u));
        Bits { t, u: !t & !f }
    }

    fn not(self) -> Bits {
        Bits {
            t: !(self.t | self.u),
            u: self.u,
        }
    }
}

struct Scratch {
    pieces: Vec<Piece>,
    atoms: Vec<Atom>,
    /// The requested actions split into sets that fall in the same pieces.
    parts: Vec<u64>,
    /// One decision per part.
    templates: Vec<(u64, Decision)>,
    /// `Resource` patterns already matched against the key (one key per scratch).
    resources: Vec<(String, bool)>,
    /// Conditions met so far, by content hash, for merging equal conditions of different statements.
    canon: Vec<(u64, Source, u32)>,
}

impl Scratch {
    fn new() -> Self {
        Self {
            pieces: Vec::new(),
            atoms: Vec::new(),
            parts: Vec::new(),
            templates: Vec::new(),
            resources: Vec::new(),
            canon: Vec::new(),
        }
    }
}

/// Evaluates one principal and action.
pub fn evaluate(
    key: &KeyInputs<'_>,
    who: &PrincipalInputs<'_>,
    action: KmsAction,
    ctx: &RequestContext,
) -> Decision {
    let mut out = Vec::with_capacity(1);
    let mut scratch = Scratch::new();
    decide(false, key, who, 0, &[action], ctx, &mut scratch, &mut out);
    out.pop().unwrap_or(Decision {
        principal: 0,
        action,
        verdict: Verdict::Denied,
        via: None,
        denied_by: None,
        escalates_to: ActionSet::EMPTY,
    })
}

/// Every principal x action for one key, principal-major.
pub fn who_can(
    key: &KeyInputs<'_>,
    principals: &[PrincipalInputs<'_>],
    actions: &[KmsAction],
    ctx: &RequestContext,
) -> Vec<Decision> {
    let mut out = Vec::with_capacity(principals.len() * actions.len());
    let mut scratch = Scratch::new();
    for (i, who) in principals.iter().enumerate() {
        decide(false, key, who, i, actions, ctx, &mut scratch, &mut out);
    }
    out
}

/// The sparse form of [`who_can`] for large inventories: for each principal, in order, `each` receives the
/// decisions that are not implicit denies (allowed, allowed-if, unknown, or denied by an explicit Deny). An action
/// missing from a principal's slice is denied because nothing allows it. The slice is reused between principals.
pub fn who_can_each(
    key: &KeyInputs<'_>,
    principals: &[PrincipalInputs<'_>],
    actions: &[KmsAction],
    ctx: &RequestContext,
    mut each: impl FnMut(&[Decision]),
) {
    let mut out = Vec::with_capacity(actions.len());
    let mut scratch = Scratch::new();
    for (i, who) in principals.iter().enumerate() {
        out.clear();
        decide(true, key, who, i, actions, ctx, &mut scratch, &mut out);
        each(&out);
    }
}

/// How a resource-policy `Principal` matches the request's principal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Match {
    No,
    /// Named (or `*`): allows on its own within the key's account.
    Direct,
    /// Through the account root: needs an IAM policy too.
    Account,
}

fn is_root_of(value: &str, account: &str) -> bool {
    if is_account_id(value) {
        return value == account;
    }
    // `arn:PARTITION:iam::ACCOUNT:root`
    let Some(rest) = value
        .strip_prefix("arn:")
        .and_then(|v| v.strip_suffix(":root"))
    else {
        return false;
    };
    match rest.rsplit_once(':') {
        Some((head, acct)) => {
            acct == account && head.ends_with(":iam:") && !head[..head.len() - 5].contains(':')
        }
        None => false,
    }
}

fn principal_match(p: &Principal, listed: &Principals) -> Match {
    match listed {
        Principals::Any => Match::Direct,
        Principals::Listed(items) => {
            let mut best = Match::No;
            for (kind, value) in items {
                let m = match kind {
                    PrincipalKind::Aws => match &p.account {
                        Some(acct) if is_root_of(value, acct) => {
                            if p.kind == PrincipalType::Root {
                                Match::Direct
                            } else {
                                Match::Account
                            }
                        }
                        _ if *value == p.arn => Match::Direct,
                        _ => Match::No,
                    },
                    PrincipalKind::Service => {
                        if p.kind == PrincipalType::Service && *value == p.arn {
                            Match::Direct
                        } else {
                            Match::No
                        }
                    }
                    PrincipalKind::Federated | PrincipalKind::CanonicalUser => {
                        if *value == p.arn {
                            Match::Direct
                        } else {
                            Match::No
                        }
                    }
                };
                if m == Match::Direct {
                    return m;
                }
                if m == Match::Account {
                    best = m;
                }
            }
            best
        }
    }
}

/// `NotPrincipal`: the statement applies unless every identity the request carries is listed. A role's request
/// carries the account and the role session (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`); a user's the
/// account and the user (IAM User Guide, "NotPrincipal with Deny": list the account ARN as well).
fn not_principal_applies(p: &Principal, listed: &Principals) -> bool {
    let Principals::Listed(items) = listed else {
        return false;
    };
    let aws: Vec<&str> = items
        .iter()
        .filter(|(k, _)| *k == PrincipalKind::Aws)
        .map(|(_, v)| v.as_str())
        .collect();
    let account_listed = p
        .account
        .as_deref()
        .is_some_and(|a| aws.iter().any(|v| is_root_of(v, a)));
    let excluded = match p.kind {
        PrincipalType::Service => items
            .iter()
            .any(|(k, v)| *k == PrincipalKind::Service && *v == p.arn),
        PrincipalType::Root => account_listed,
        PrincipalType::Role => {
            let session = match (p.account.as_deref(), p.role_name()) {
                (Some(a), Some(n)) => Some(format!("arn:aws:sts::{a}:assumed-role/{n}/")),
                _ => None,
            };
            account_listed && session.is_some_and(|s| aws.iter().any(|v| v.starts_with(s.as_str())))
        }
        PrincipalType::User | PrincipalType::Other => {
            account_listed && aws.contains(&p.arn.as_str())
        }
    };
    !excluded
}

fn resource_applies(s: &Statement, key_arn: &str, cache: &mut Vec<(String, bool)>) -> bool {
    const CACHED: usize = 64;
    match &s.resources {
        None => true,
        Some(list) => {
            let any = list.iter().any(|r| {
                if r == "*" {
                    return true;
                }
                if let Some((_, m)) = cache.iter().find(|(p, _)| p == r) {
                    return *m;
                }
                let m = resource_matches(r, key_arn);
                if cache.len() < CACHED {
                    cache.push((r.clone(), m));
                }
                m
            });
            any != s.not_resource
        }
    }
}

fn lookup<'a>(
    k: &ConditionKey,
    p: &'a Principal,
    key: &'a Key,
    class: usize,
    ctx: &'a RequestContext,
) -> Lookup<'a> {
    if let Some((_, v)) = ctx.values.iter().find(|(key, _)| key == k) {
        return Lookup::Many(v);
    }
    if ctx.absent.contains(k) {
        return Lookup::Absent;
    }
    let service = p.kind == PrincipalType::Service;
    let opt = |v: Option<&'a str>| v.map_or(Lookup::Absent, Lookup::One);
    use ConditionKey as K;
    match k {
        K::PrincipalArn => {
            if service {
                Lookup::Absent
            } else {
                Lookup::One(&p.arn)
            }
        }
        K::PrincipalAccount | K::CallerAccount => {
            if service {
                Lookup::Unknown
            } else {
                opt(p.account.as_deref())
            }
        }
        K::PrincipalOrgId => match &p.org {
            Org::Unknown => Lookup::Unknown,
            Org::None => Lookup::Absent,
            Org::Member { id, .. } => Lookup::One(id),
        },
        K::PrincipalOrgPaths => match &p.org {
            Org::Unknown => Lookup::Unknown,
            Org::None => Lookup::Absent,
            Org::Member { paths, .. } => Lookup::Many(paths),
        },
        K::PrincipalType => Lookup::One(match p.kind {
            PrincipalType::Root => "Account",
            PrincipalType::User => "User",
            PrincipalType::Role => "AssumedRole",
            PrincipalType::Service => "AWSService",
            PrincipalType::Other => "FederatedUser",
        }),
        K::PrincipalIsAwsService => Lookup::One(if service { "true" } else { "false" }),
        K::PrincipalServiceName => {
            if service {
                Lookup::One(&p.arn)
            } else {
                Lookup::Absent
            }
        }
        // Source keys are present only when a service principal calls on behalf of a resource.
        K::SourceAccount | K::SourceArn | K::SourceOrgId | K::SourceOrgPaths => {
            if service {
                Lookup::Unknown
            } else {
                Lookup::Absent
            }
        }
        K::ResourceAccount => Lookup::One(&key.account),
        K::KeySpec => opt(key.spec.as_deref()),
        K::KeyUsage => opt(key.usage.as_deref()),
        K::EncryptionContext(name) => {
            if class != 0 {
                return Lookup::Absent;
            }
            match &ctx.encryption_context {
                None => Lookup::Unknown,
                Some(_) => opt(ctx
                    .ec_lower
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())),
            }
        }
        K::EncryptionContextKeys => {
            if class != 0 {
                return Lookup::Absent;
            }
            match &ctx.encryption_context {
                None => Lookup::Unknown,
                Some(_) if ctx.ec_keys.is_empty() => Lookup::Absent,
                Some(_) => Lookup::Many(&ctx.ec_keys),
            }
        }
        K::GrantOperations
        | K::GranteePrincipal
        | K::RetiringPrincipal
        | K::GrantConstraintType => {
            if class == 1 {
                Lookup::Unknown
            } else {
                Lookup::Absent
            }
        }
        K::GrantIsForAwsResource => {
            if class == 1 || class == 2 {
                Lookup::Unknown
            } else {
                Lookup::Absent
            }
        }
        _ => Lookup::Unknown,
    }
}

/// Adds the pieces of one statement: per action class, its conditions are true, false or remaining.
#[allow(
    clippy::too_many_arguments,
    reason = "one evaluation step takes every input of the decision by reference"
)]
fn add_statement(
    s: &Statement,
    role: Role,
    source: Source,
    public: bool,
    who: &Principal,
    key: &Key,
    ctx: &RequestContext,
    masks: &[u64; CLASSES],
    scratch: &mut Scratch,
) {
    if s.actions.is_empty() || !resource_applies(s, &key.arn, &mut scratch.resources) {
        return;
    }
    let via_service = s
        .conditions
        .iter()
        .any(|c| c.parsed_key == ConditionKey::ViaService && c.operator.base.negates().is_none());
    let unconstrained_grant = !s.conditions.iter().any(|c| {
        matches!(
            c.parsed_key,
            ConditionKey::GrantOperations | ConditionKey::GrantIsForAwsResource
        )
    });
    // Conditions on keys that do not vary with the action are evaluated once, for all the statement's actions.
    let by_class = s.conditions.iter().any(|c| {
        matches!(
            c.parsed_key,
            ConditionKey::EncryptionContext(_)
                | ConditionKey::EncryptionContextKeys
                | ConditionKey::GrantOperations
                | ConditionKey::GranteePrincipal
                | ConditionKey::RetiringPrincipal
                | ConditionKey::GrantConstraintType
                | ConditionKey::GrantIsForAwsResource
        ) || c.values.iter().any(|v| v.contains("${"))
    });
    let whole = [ActionSet::all().0];
    let classes: &[u64] = if by_class { masks } else { &whole };
    for (class, cm) in classes.iter().enumerate() {
        let mask = s.actions.0 & cm;
        if mask == 0 {
            continue;
        }
        // With one class for all actions, the class index is that of actions without context or grant keys.
        let class = if by_class { class } else { CLASSES - 1 };
        let start = scratch.atoms.len() as u32;
        let mut result = Tri::True;
        for (ci, c) in s.conditions.iter().enumerate() {
            let l = |k: &ConditionKey| lookup(k, who, key, class, ctx);
            match condition::evaluate(c, &l) {
                Tri::True => {}
                Tri::False => {
                    result = Tri::False;
                    break;
                }
                Tri::Unknown => {
                    result = Tri::Unknown;
                    scratch.atoms.push(Atom::Condition {
                        source,
                        condition: ci as u32,
                        negated: false,
                    });
                }
            }
        }
        if result == Tri::False {
            scratch.atoms.truncate(start as usize);
            continue;
        }
        let end = scratch.atoms.len() as u32;
        scratch.pieces.push(Piece {
            role,
            effect: s.effect,
            source,
            mask,
            atoms: (start, end),
            public,
            via_service,
            unconstrained_grant,
        });
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one evaluation step takes every input of the decision by reference"
)]
fn add_policy(
    policy: &Policy,
    role: Role,
    make: impl Fn(u32) -> Source,
    who: &Principal,
    key: &Key,
    ctx: &RequestContext,
    masks: &[u64; CLASSES],
    scratch: &mut Scratch,
) {
    for s in &policy.statements {
        let applies = match &s.principal {
            None => true,
            Some(p) if s.not_principal => not_principal_applies(who, p),
            Some(p) => principal_match(who, p) != Match::No,
        };
        if applies {
            add_statement(
                s,
                role,
                make(s.index as u32),
                false,
                who,
                key,
                ctx,
                masks,
                scratch,
            );
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one evaluation step takes every input of the decision by reference"
)]
fn add_ceiling(
    ceiling: &Ceiling,
    rcp: bool,
    who: &Principal,
    key: &Key,
    ctx: &RequestContext,
    masks: &[u64; CLASSES],
    scratch: &mut Scratch,
) {
    if let Ceiling::Levels(levels) = ceiling {
        for (li, level) in levels.iter().enumerate() {
            let l = li as u32;
            for (pi, policy) in level.iter().enumerate() {
                let pi = pi as u32;
                if rcp {
                    add_policy(
                        policy,
                        Role::Rcp(l),
                        |s| Source::Rcp {
                            level: l,
                            policy: pi,
                            statement: s,
                        },
                        who,
                        key,
                        ctx,
                        masks,
                        scratch,
                    );
                } else {
                    add_policy(
                        policy,
                        Role::Scp(l),
                        |s| Source::Scp {
                            level: l,
                            policy: pi,
                            statement: s,
                        },
                        who,
                        key,
                        ctx,
                        masks,
                        scratch,
                    );
                }
            }
        }
    }
}

struct Plan {
    same_account: bool,
    service: bool,
    role_boundary: bool,
    key_policy: bool,
    grants: bool,
    identity: bool,
    boundary: bool,
    scp_levels: Option<u32>,
    scp_known: bool,
    rcp_levels: Option<u32>,
    rcp_known: bool,
}

#[allow(
    clippy::too_many_arguments,
    reason = "one evaluation step takes every input of the decision by reference"
)]
fn decide(
    sparse: bool,
    kin: &KeyInputs<'_>,
    who: &PrincipalInputs<'_>,
    index: usize,
    actions: &[KmsAction],
    ctx: &RequestContext,
    scratch: &mut Scratch,
    out: &mut Vec<Decision>,
) {
    let masks = class_masks();
    let p = who.principal;
    let key = kin.key;
    scratch.pieces.clear();
    scratch.atoms.clear();
    let service = p.kind == PrincipalType::Service;
    let same_account = p.account.as_deref() == Some(key.account.as_str());

    if let Some(policy) = kin.policy {
        for s in &policy.statements {
            let m = match &s.principal {
                None => Match::No,
                Some(pr) if s.not_principal => {
                    if not_principal_applies(p, pr) {
                        Match::Direct
                    } else {
                        Match::No
                    }
                }
                Some(pr) => principal_match(p, pr),
            };
            if m == Match::No {
                continue;
            }
            let role = if m == Match::Direct {
                Role::KeyDirect
            } else {
                Role::KeyAccount
            };
            // `Principal "*"`, or `NotPrincipal` with a list (everyone else), unpinned, is public.
            let everyone = match &s.principal {
                Some(Principals::Any) => !s.not_principal,
                Some(Principals::Listed(_)) => s.not_principal,
                None => false,
            };
            let public = everyone && s.effect == Effect::Allow && !pinning::pins_principal(s);
            add_statement(
                s,
                role,
                Source::KeyPolicy {
                    statement: s.index as u32,
                },
                public,
                p,
                key,
                ctx,
                &masks,
                scratch,
            );
        }
    }
    if let Some(grants) = kin.grants {
        for (gi, g) in grants.iter().enumerate() {
            let role = if g.grantee == p.arn {
                Role::Grant
            } else if p
                .account
                .as_deref()
                .is_some_and(|a| is_root_of(&g.grantee, a))
                && p.kind != PrincipalType::Root
            {
                Role::GrantAccount
            } else if p
                .account
                .as_deref()
                .is_some_and(|a| is_root_of(&g.grantee, a))
            {
                Role::Grant
            } else {
                continue;
            };
            let source = Source::Grant { index: gi as u32 };
            let ops = g.operations.0;
            let with_ctx = ops & masks[0];
            let without = ops & !masks[0];
            let unconstrained_grant = g.is_unconstrained_create_grant();
            let base = Piece {
                role,
                effect: Effect::Allow,
                source,
                mask: without,
                atoms: (0, 0),
                public: false,
                via_service: false,
                unconstrained_grant,
            };
            let constrained = match (&g.constraint, &ctx.encryption_context) {
                (None, _) => Tri::True,
                (Some(c), Some(ec)) => Tri::from_bool(c.allows(ec)),
                (Some(_), None) => Tri::Unknown,
            };
            match constrained {
                Tri::True => scratch.pieces.push(Piece { mask: ops, ..base }),
                Tri::False => scratch.pieces.push(base),
                Tri::Unknown => {
                    scratch.pieces.push(base);
                    let start = scratch.atoms.len() as u32;
                    scratch
                        .atoms
                        .push(Atom::GrantConstraint { index: gi as u32 });
                    scratch.pieces.push(Piece {
                        mask: with_ctx,
                        atoms: (start, start + 1),
                        ..base
                    });
                }
            }
        }
    }
    let mut identity_known = false;
    let mut boundary_present = false;
    if !service {
        if let Identity::Known { policies, boundary } = who.identity {
            identity_known = true;
            for (pi, np) in policies.iter().enumerate() {
                let pi = pi as u32;
                add_policy(
                    &np.policy,
                    Role::Identity,
                    |s| Source::Identity {
                        policy: pi,
                        statement: s,
                    },
                    p,
                    key,
                    ctx,
                    &masks,
                    scratch,
                );
            }
            if let Some(b) = boundary {
                boundary_present = true;
                add_policy(
                    b,
                    Role::Boundary,
                    |s| Source::Boundary { statement: s },
                    p,
                    key,
                    ctx,
                    &masks,
                    scratch,
                );
            }
        }
        add_ceiling(who.scps, false, p, key, ctx, &masks, scratch);
    }
    // RCPs restrict every principal's access to the key, AWS service principals included (which is why data
    // perimeter RCPs exempt them with `aws:PrincipalIsAWSService`); SCPs restrict only IAM principals.
    add_ceiling(kin.rcps, true, p, key, ctx, &masks, scratch);
    canonicalize(kin, who, &mut scratch.atoms, &mut scratch.canon);
    let levels = |c: &Ceiling| match c {
        Ceiling::Levels(l) => Some(l.len() as u32),
        _ => None,
    };
    let plan = Plan {
        same_account,
        service,
        role_boundary: p.kind == PrincipalType::Role,
        key_policy: kin.policy.is_some(),
        grants: kin.grants.is_some(),
        identity: identity_known || service,
        boundary: boundary_present,
        scp_levels: if service { None } else { levels(who.scps) },
        scp_known: service || !matches!(who.scps, Ceiling::NotCollected),
        rcp_levels: levels(kin.rcps),
        rcp_known: !matches!(kin.rcps, Ceiling::NotCollected),
    };

    let fast = bits_eval(&plan, &scratch.pieces, p.kind == PrincipalType::Root);
    let root = p.kind == PrincipalType::Root;
    // Actions that fall in the same pieces get the same decision: split the requested actions by every piece's
    // mask (CreateGrant apart, for its escalation), decide one action per part, and copy.
    let requested = actions.iter().fold(0u64, |m, a| m | a.bit());
    let create = KmsAction::CreateGrant.bit();
    let mut parts = std::mem::take(&mut scratch.parts);
    parts.clear();
    parts.extend(
        [requested & create, requested & !create]
            .into_iter()
            .filter(|m| *m != 0),
    );
    for x in &scratch.pieces {
        let n = parts.len();
        for i in 0..n {
            let Some(part) = parts.get_mut(i) else { break };
            let (inside, outside) = (*part & x.mask, *part & !x.mask);
            if inside != 0 && outside != 0 {
                *part = inside;
                parts.push(outside);
            }
        }
    }
    let mut templates = std::mem::take(&mut scratch.templates);
    templates.clear();
    for &part in &parts {
        let Some(&action) = KmsAction::ALL.get(part.trailing_zeros() as usize) else {
            continue;
        };
        let bit = action.bit();
        let (verdict, denied_by) = if fast.allow.t & bit != 0 {
            (Verdict::Allowed, None)
        } else if fast.allow.u & bit == 0 {
            let deny = if fast.deny.t & bit != 0 {
                scratch
                    .pieces
                    .iter()
                    .find(|x| {
                        x.effect == Effect::Deny && x.mask & bit != 0 && x.atoms.0 == x.atoms.1
                    })
                    .map(|x| x.source)
            } else {
                None
            };
            (Verdict::Denied, deny)
        } else {
            slow(&plan, scratch, bit, root)
        };
        let via = if matches!(verdict, Verdict::Denied | Verdict::Unknown(_)) {
            None
        } else {
            via_of(&plan, scratch, &fast, bit, root)
        };
        let escalates_to =
            if action == KmsAction::CreateGrant && !matches!(verdict, Verdict::Denied) {
                escalation(&plan, scratch, &fast, kin, bit, root)
            } else {
                ActionSet::EMPTY
            };
        templates.push((
            part,
            Decision {
                principal: index,
                action,
                verdict,
                via,
                denied_by,
                escalates_to,
            },
        ));
    }
    for &action in actions {
        let Some((_, t)) = templates.iter().find(|(m, _)| m & action.bit() != 0) else {
            continue;
        };
        if sparse && t.denied_by.is_none() && matches!(t.verdict, Verdict::Denied) {
            continue;
        }
        out.push(Decision {
            action,
            ..t.clone()
        });
    }
    scratch.parts = parts;
    scratch.templates = templates;
}

struct Fast {
    allow: Bits,
    deny: Bits,
    direct: Bits,
    account: Bits,
    grant: Bits,
}

fn role_bits(pieces: &[Piece], effect: Effect, want: impl Fn(Role) -> bool) -> Bits {
    let mut b = Bits::FALSE;
    for x in pieces {
        if x.effect == effect && want(x.role) {
            let piece = if x.atoms.0 == x.atoms.1 {
                Bits { t: x.mask, u: 0 }
            } else {
                Bits { t: 0, u: x.mask }
            };
            b = b.or(piece);
        }
    }
    b
}

fn bits_eval(plan: &Plan, pieces: &[Piece], root: bool) -> Fast {
    let missing = |known: bool, b: Bits| if known { b } else { Bits::UNKNOWN };
    let kd = missing(
        plan.key_policy,
        role_bits(pieces, Effect::Allow, |r| {
            r == Role::KeyDirect || (root && r == Role::KeyAccount)
        }),
    );
    let ka = missing(
        plan.key_policy,
        role_bits(pieces, Effect::Allow, |r| r == Role::KeyAccount && !root),
    );
    let grant = missing(
        plan.grants,
        role_bits(pieces, Effect::Allow, |r| r == Role::Grant),
    );
    let grant_acct = missing(
        plan.grants,
        role_bits(pieces, Effect::Allow, |r| r == Role::GrantAccount),
    );
    let id = if plan.service {
        Bits::FALSE
    } else if root {
        Bits::TRUE
    } else {
        missing(
            plan.identity,
            role_bits(pieces, Effect::Allow, |r| r == Role::Identity),
        )
    };
    let bd = if !plan.identity {
        Bits::UNKNOWN
    } else if plan.boundary {
        role_bits(pieces, Effect::Allow, |r| r == Role::Boundary)
    } else {
        Bits::TRUE
    };
    let bdr = if plan.role_boundary { bd } else { Bits::TRUE };
    let direct = if plan.same_account || plan.service {
        kd.and(bdr)
    } else {
        kd.and(id).and(bd)
    };
    let account = ka.and(id).and(bd);
    let grant = grant.or(grant_acct.and(id).and(bd));
    let allow = direct.or(account).or(grant);
    let ceiling = |known: bool, levels: Option<u32>, scp: bool| {
        if !known {
            return Bits::UNKNOWN;
        }
        let mut b = Bits::TRUE;
        for l in 0..levels.unwrap_or(0) {
            let want = if scp { Role::Scp(l) } else { Role::Rcp(l) };
            b = b.and(role_bits(pieces, Effect::Allow, |r| r == want));
        }
        b
    };
    let scp = ceiling(plan.scp_known, plan.scp_levels, true);
    let rcp = ceiling(plan.rcp_known, plan.rcp_levels, false);
    let deny = role_bits(pieces, Effect::Deny, |_| true);
    Fast {
        allow: allow.and(scp).and(rcp).and(deny.not()),
        deny,
        direct,
        account,
        grant,
    }
}

fn role_dnf(scratch: &Scratch, bit: u64, effect: Effect, want: impl Fn(Role) -> bool) -> Dnf {
    let mut d = Dnf::falsum();
    for x in &scratch.pieces {
        if x.effect == effect && x.mask & bit != 0 && want(x.role) {
            let atoms = scratch
                .atoms
                .get(x.atoms.0 as usize..x.atoms.1 as usize)
                .unwrap_or_default()
                .to_vec();
            d = d.or(Dnf::term(atoms));
            if d.is_true() {
                break;
            }
        }
    }
    d
}

fn slow(plan: &Plan, scratch: &Scratch, bit: u64, root: bool) -> (Verdict, Option<Source>) {
    let missing = |known: bool, m: Missing, d: Dnf| {
        if known {
            d
        } else {
            Dnf::atom(Atom::Missing(m))
        }
    };
    let kd = missing(
        plan.key_policy,
        Missing::KeyPolicy,
        role_dnf(scratch, bit, Effect::Allow, |r| {
            r == Role::KeyDirect || (root && r == Role::KeyAccount)
        }),
    );
    let ka = missing(
        plan.key_policy,
        Missing::KeyPolicy,
        role_dnf(scratch, bit, Effect::Allow, |r| {
            r == Role::KeyAccount && !root
        }),
    );
    let grant = missing(
        plan.grants,
        Missing::Grants,
        role_dnf(scratch, bit, Effect::Allow, |r| r == Role::Grant),
    );
    let grant_acct = missing(
        plan.grants,
        Missing::Grants,
        role_dnf(scratch, bit, Effect::Allow, |r| r == Role::GrantAccount),
    );
    let id = if plan.service {
        Dnf::falsum()
    } else if root {
        Dnf::truth()
    } else {
        missing(
            plan.identity,
            Missing::IdentityPolicies,
            role_dnf(scratch, bit, Effect::Allow, |r| r == Role::Identity),
        )
    };
    let bd = if !plan.identity {
        Dnf::atom(Atom::Missing(Missing::IdentityPolicies))
    } else if plan.boundary {
        role_dnf(scratch, bit, Effect::Allow, |r| r == Role::Boundary)
    } else {
        Dnf::truth()
    };
    let bdr = if plan.role_boundary {
        bd.clone()
    } else {
        Dnf::truth()
    };
    let allow = if plan.same_account || plan.service {
        kd.and(&bdr).or(ka.and(&id).and(&bd))
    } else {
        kd.or(ka).and(&id).and(&bd)
    }
    .or(grant)
    .or(grant_acct.and(&id).and(&bd));
    let ceiling = |known: bool, levels: Option<u32>, scp: bool| {
        if !known {
            return Dnf::atom(Atom::Missing(if scp {
                Missing::Scps
            } else {
                Missing::Rcps
            }));
        }
        let mut d = Dnf::truth();
        for l in 0..levels.unwrap_or(0) {
            let want = if scp { Role::Scp(l) } else { Role::Rcp(l) };
            d = d.and(&role_dnf(scratch, bit, Effect::Allow, |r| r == want));
        }
        d
    };
    let deny = role_dnf(scratch, bit, Effect::Deny, |_| true);
    if deny.is_true() {
        let by = scratch
            .pieces
            .iter()
            .find(|x| x.effect == Effect::Deny && x.mask & bit != 0 && x.atoms.0 == x.atoms.1)
            .map(|x| x.source);
        return (Verdict::Denied, by);
    }
    let result = allow
        .and(&ceiling(plan.scp_known, plan.scp_levels, true))
        .and(&ceiling(plan.rcp_known, plan.rcp_levels, false))
        .and(&deny.not());
    (classify(result), None)
}

fn classify(d: Dnf) -> Verdict {
    if d.is_false() {
        return Verdict::Denied;
    }
    if d.is_true() {
        return Verdict::Allowed;
    }
    let free: Vec<Vec<Atom>> =
        d.0.iter()
            .filter(|t| !t.iter().any(|a| matches!(a, Atom::Missing(_))))
            .cloned()
            .collect();
    if free.is_empty() {
        Verdict::Unknown(d.missing())
    } else {
        Verdict::AllowedIf(Arc::new(Dnf(free)))
    }
}

/// Makes equal conditions of different statements one atom, so that an Allow and a Deny on the same condition
/// cancel and repeated conditions appear once.
fn canonicalize(
    kin: &KeyInputs<'_>,
    who: &PrincipalInputs<'_>,
    atoms: &mut [Atom],
    canon: &mut Vec<(u64, Source, u32)>,
) {
    use std::hash::{Hash, Hasher};
    canon.clear();
    if atoms.len() < 2 {
        return;
    }
    let condition_at = |source: Source, index: u32| {
        statement_of(kin, who, source).and_then(|s| s.conditions.get(index as usize))
    };
    for a in atoms.iter_mut() {
        let Atom::Condition {
            source,
            condition,
            negated,
        } = *a
        else {
            continue;
        };
        let Some(c) = condition_at(source, condition) else {
            continue;
        };
        let mut h = std::hash::DefaultHasher::new();
        c.hash(&mut h);
        let h = h.finish();
        let same = canon
            .iter()
            .find(|(hh, s2, c2)| *hh == h && condition_at(*s2, *c2) == Some(c))
            .map(|(_, s2, c2)| (*s2, *c2));
        match same {
            Some((s2, c2)) => {
                *a = Atom::Condition {
                    source: s2,
                    condition: c2,
                    negated,
                }
            }
            None => canon.push((h, source, condition)),
        }
    }
}

/// The route that allows: a definitely allowing one first, else one that may allow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Direct,
    Account,
    Grant,
}

fn first_route(fast: &Fast, bit: u64) -> Option<Route> {
    let all = [
        (Route::Direct, fast.direct),
        (Route::Account, fast.account),
        (Route::Grant, fast.grant),
    ];
    all.iter()
        .find(|(_, b)| b.t & bit != 0)
        .or_else(|| all.iter().find(|(_, b)| b.u & bit != 0))
        .map(|(r, _)| *r)
}

fn routes(fast: &Fast, bit: u64) -> Vec<Route> {
    let all = [
        (Route::Direct, fast.direct),
        (Route::Account, fast.account),
        (Route::Grant, fast.grant),
    ];
    let mut out: Vec<Route> = all
        .iter()
        .filter(|(_, b)| b.t & bit != 0)
        .map(|(r, _)| *r)
        .collect();
    out.extend(all.iter().filter(|(_, b)| b.u & bit != 0).map(|(r, _)| *r));
    out
}

fn pick(scratch: &Scratch, bit: u64, want: impl Fn(Role) -> bool) -> Option<&Piece> {
    let mut it = scratch
        .pieces
        .iter()
        .filter(|x| x.effect == Effect::Allow && want(x.role) && x.mask & bit != 0);
    let first = it.next();
    match first {
        Some(f) if f.atoms.0 == f.atoms.1 => Some(f),
        _ => it.find(|x| x.atoms.0 == x.atoms.1).or(first),
    }
}

fn via_of(plan: &Plan, scratch: &Scratch, fast: &Fast, bit: u64, root: bool) -> Option<Via> {
    let external = !plan.same_account && !plan.service;
    let ident = || pick(scratch, bit, |r| r == Role::Identity).map(|x| x.source);
    let path_for = |x: &Piece, delegated: bool| {
        if x.public {
            Path::Public
        } else if external {
            Path::ExternalAccount
        } else if x.via_service || plan.service {
            Path::ViaService
        } else if delegated {
            Path::AccountDelegation
        } else {
            Path::Direct
        }
    };
    let route = first_route(fast, bit)?;
    match route {
        Route::Direct => {
            let x = pick(scratch, bit, |r| {
                r == Role::KeyDirect || (root && r == Role::KeyAccount)
            })?;
            Some(Via {
                path: path_for(x, false),
                key_statement: Some(x.source),
                identity: if external && !root { ident() } else { None },
                grant: None,
            })
        }
        Route::Account => {
            let x = pick(scratch, bit, |r| r == Role::KeyAccount)?;
            Some(Via {
                path: path_for(x, true),
                key_statement: Some(x.source),
                identity: ident(),
                grant: None,
            })
        }
        Route::Grant => {
            let x = pick(scratch, bit, |r| {
                r == Role::Grant || r == Role::GrantAccount
            })?;
            Some(Via {
                path: if external {
                    Path::ExternalAccount
                } else {
                    Path::Grant
                },
                key_statement: None,
                identity: if x.role == Role::GrantAccount {
                    ident()
                } else {
                    None
                },
                grant: Some(x.source),
            })
        }
    }
}

/// The operations a `CreateGrant` that may be allowed could pass on without constraint: every grant operation of
/// the key through an unconstrained policy route, or the grant's own operations through an unconstrained grant.
fn escalation(
    plan: &Plan,
    scratch: &Scratch,
    fast: &Fast,
    kin: &KeyInputs<'_>,
    bit: u64,
    root: bool,
) -> ActionSet {
    let kind_ops = kin
        .key
        .kind
        .map_or(ActionSet::grant_operations(), ActionSet::for_key)
        .intersect(ActionSet::grant_operations());
    let free = |want: &dyn Fn(Role) -> bool| {
        scratch.pieces.iter().any(|x| {
            x.effect == Effect::Allow && x.mask & bit != 0 && want(x.role) && x.unconstrained_grant
        })
    };
    let identity_free = root || !plan.identity || free(&|r| r == Role::Identity);
    let mut out = ActionSet::EMPTY;
    for route in routes(fast, bit) {
        match route {
            Route::Direct => {
                let needs_iam = !plan.same_account && !plan.service && !root;
                if free(&|r| r == Role::KeyDirect || (root && r == Role::KeyAccount))
                    && (!needs_iam || identity_free)
                {
                    out = out.union(kind_ops);
                }
            }
            Route::Account => {
                if free(&|r| r == Role::KeyAccount) && identity_free {
                    out = out.union(kind_ops);
                }
            }
            Route::Grant => {
                for x in &scratch.pieces {
                    if let (Role::Grant | Role::GrantAccount, Source::Grant { index }, Some(g)) =
                        (x.role, x.source, kin.grants)
                        && x.mask & bit != 0
                        && x.unconstrained_grant
                        && let Some(g) = g.get(index as usize)
                    {
                        out = out.union(g.operations);
                    }
                }
            }
        }
    }
    out
}

/// The statement a source points at, if the inputs hold it.
pub fn statement_of<'a>(
    key: &KeyInputs<'a>,
    who: &PrincipalInputs<'a>,
    source: Source,
) -> Option<&'a Statement> {
    let at = |p: &'a Policy, i: u32| p.statements.get(i as usize);
    let level = |c: &'a Ceiling, l: u32, p: u32, s: u32| match c {
        Ceiling::Levels(levels) => levels
            .get(l as usize)?
            .get(p as usize)
            .and_then(|p| at(p, s)),
        _ => None,
    };
    match source {
        Source::KeyPolicy { statement } => at(key.policy?, statement),
        Source::Identity { policy, statement } => match who.identity {
            Identity::Known { policies, .. } => {
                at(&policies.get(policy as usize)?.policy, statement)
            }
            Identity::NotCollected => None,
        },
        Source::Boundary { statement } => match who.identity {
            Identity::Known {
                boundary: Some(b), ..
            } => at(b, statement),
            _ => None,
        },
        Source::Scp {
            level: l,
            policy,
            statement,
        } => level(who.scps, l, policy, statement),
        Source::Rcp {
            level: l,
            policy,
            statement,
        } => level(key.rcps, l, policy, statement),
        Source::Grant { .. } => None,
    }
}

/// Where a source is, for people: ``key policy statement `Sid` ``, ``grant `ID` ``, ``identity policy `ARN` ...``.
pub fn describe_source(key: &KeyInputs<'_>, who: &PrincipalInputs<'_>, source: Source) -> String {
    let label = statement_of(key, who, source).map_or_else(|| "?".to_owned(), Statement::label);
    match source {
        Source::KeyPolicy { .. } => format!("key policy statement `{label}`"),
        Source::Identity { policy, .. } => match who.identity {
            Identity::Known { policies, .. } => format!(
                "identity policy `{}` statement `{label}`",
                policies
                    .get(policy as usize)
                    .map_or("?", |p| p.arn.as_str())
            ),
            Identity::NotCollected => "identity policy".to_owned(),
        },
        Source::Boundary { .. } => format!("permissions boundary statement `{label}`"),
        Source::Scp { .. } => format!("SCP statement `{label}`"),
        Source::Rcp { .. } => format!("RCP statement `{label}`"),
        Source::Grant { index } => {
            let id = key
                .grants
                .and_then(|g| g.get(index as usize))
                .map_or("?", |g| g.id.as_str());
            format!("grant `{id}`")
        }
    }
}

/// One atom for people: ``kms:ViaService StringEquals `rds.eu-west-1.amazonaws.com` ``, as `not (...)` when it
/// comes from a Deny.
pub fn describe_atom(key: &KeyInputs<'_>, who: &PrincipalInputs<'_>, atom: &Atom) -> String {
    match atom {
        Atom::Condition {
            source,
            condition,
            negated,
        } => {
            let text = statement_of(key, who, *source)
                .and_then(|s| s.conditions.get(*condition as usize))
                .map_or_else(|| "?".to_owned(), ToString::to_string);
            if *negated {
                format!("not ({text})")
            } else {
                text
            }
        }
        Atom::GrantConstraint { index } => {
            let g = key.grants.and_then(|g| g.get(*index as usize));
            match g.and_then(|g| g.constraint.as_ref().map(|c| (g, c))) {
                Some((g, super::grant::GrantConstraint::Equals(m))) => {
                    format!("encryption context equals {m:?} (grant `{}`)", g.id)
                }
                Some((g, super::grant::GrantConstraint::Subset(m))) => {
                    format!("encryption context includes {m:?} (grant `{}`)", g.id)
                }
                None => "grant constraint".to_owned(),
            }
        }
        Atom::Missing(m) => format!("{m} allow"),
    }
}

/// The remaining conditions in normal form: terms joined by ` or `, atoms by ` and `.
pub fn describe(key: &KeyInputs<'_>, who: &PrincipalInputs<'_>, dnf: &Dnf) -> String {
    dnf.0
        .iter()
        .map(|t| {
            t.iter()
                .map(|a| describe_atom(key, who, a))
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect::<Vec<_>>()
        .join(" or ")
}
