//! Who can use the key behind each database: for every RDS instance, cluster, snapshot and EBS volume or snapshot,
//! the KMS key that protects it and every principal x action that can reach that key, from the key policy, the
//! grants, the principals' IAM policies and permissions boundaries, and the organisation's SCPs and RCPs. The
//! decisions are the [`crate::access`] evaluator's; this module only turns the inventory into its inputs and its
//! decisions into plain, serialisable rows.
//!
//! Principals asked about: every IAM user and role collected, the account's root user, every principal a key policy
//! or a grant names (other accounts, services), and `*` (the root user of any other account, outside the
//! organisation). What was not collected makes the verdicts that depend on it `unknown`, never safe.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::access::{
    Ceiling, Decision, Grant, GrantConstraint, Identity, Key, KeyInputs, KeyKind, KmsAction,
    NamedPolicy, Org, Path, Policy, Principal, PrincipalInputs, PrincipalKind, PrincipalType,
    Principals, RequestContext, Verdict, describe, statement_of, who_can_each,
};
use crate::audit::checks::ebs_snapshot_key;
use crate::audit::inventory::{IamDetails, Inventory, KmsKey, OrgDetails, OrgPolicy, account_of};

/// The actions that reach a database's data, or can give that reach to someone: read (Decrypt, ReEncryptFrom),
/// write (Encrypt, GenerateDataKey*), pass on (CreateGrant), and take over (PutKeyPolicy).
pub const ACTIONS: &[KmsAction] = &[
    KmsAction::Decrypt,
    KmsAction::ReEncryptFrom,
    KmsAction::GenerateDataKey,
    KmsAction::GenerateDataKeyWithoutPlaintext,
    KmsAction::Encrypt,
    KmsAction::CreateGrant,
    KmsAction::PutKeyPolicy,
];

/// The name `*` stands for in the rows: the root user of an unrelated account outside the organisation.
pub const ANYONE: &str = "*";

/// Everything `atrest access` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessReport {
    pub account: Option<String>,
    /// When given, the rows are this principal's only, explicit denies included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    pub inputs: Inputs,
    pub databases: Vec<DatabaseAccess>,
    /// The keys behind the databases, with who can use them.
    pub keys: Vec<KeyAccess>,
}

/// Which inputs the evaluation had: `collected`, `not collected`, or `not applicable` (no organisation, or the
/// management account, where SCPs and RCPs do not apply).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inputs {
    pub iam: &'static str,
    pub scps: &'static str,
    pub rcps: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatabaseAccess {
    /// `rds-instance`, `rds-cluster`, `rds-snapshot`, `rds-cluster-snapshot`, `ebs-volume`, `ebs-snapshot`.
    pub kind: &'static str,
    pub id: String,
    pub arn: String,
    pub region: String,
    pub encrypted: bool,
    /// The ARN of the key in the inventory; `None` when unencrypted or the key is unknown.
    pub key: Option<String>,
    /// The key as the resource names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeyAccess {
    pub arn: String,
    pub name: String,
    /// `aws_managed` or `customer_managed`.
    pub manager: &'static str,
    /// Whether the key policy was read and parsed.
    pub policy_read: bool,
    /// The number of grants, `None` when not collected.
    pub grants: Option<usize>,
    pub entries: Vec<AccessEntry>,
}

/// One principal, the actions that share one verdict and one way in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    pub principal: String,
    /// `root`, `user`, `role`, `service`, `external`, `anyone`.
    pub principal_type: &'static str,
    pub actions: Vec<String>,
    /// `allowed`, `allowed-if`, `denied` or `unknown`.
    pub verdict: &'static str,
    /// For `allowed-if`: the remaining conditions in normal form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// For `unknown`: the inputs that were missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// `direct`, `account-delegation`, `via-service`, `grant`, `external-account`, `public`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'static str>,
    /// The allowing key policy statement (Sid, or `#index`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_statement: Option<String>,
    /// The allowing identity policy (ARN; `PRINCIPAL_ARN#NAME` for an inline policy) and statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The Deny that decides a `denied` row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_by: Option<String>,
    /// For CreateGrant: the operations the principal could grant to anyone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalates_to: Vec<String>,
}

impl AccessEntry {
    /// Allowed, or allowed when conditions hold: some request can succeed.
    pub fn may_allow(&self) -> bool {
        matches!(self.verdict, "allowed" | "allowed-if")
    }
}

impl AccessReport {
    pub fn key(&self, arn: &str) -> Option<&KeyAccess> {
        self.keys.iter().find(|k| k.arn == arn)
    }
}

/// A principal with what is known of it.
struct Subject {
    principal: Principal,
    identity: Identity,
    scps: Ceiling,
    label: &'static str,
}

/// Analyses every database of the inventory; with `principal`, only that principal.
pub fn analyse(inv: &Inventory, principal: Option<&str>) -> AccessReport {
    let account = inv.account.clone().or_else(|| {
        inv.kms_keys
            .first()
            .and_then(|k| account_of(&k.arn))
            .map(str::to_string)
    });
    let own = account.as_deref().unwrap_or_default();
    let databases = databases(inv);
    let used: BTreeSet<&str> = databases.iter().filter_map(|d| d.key.as_deref()).collect();
    let keys: Vec<&KmsKey> = inv
        .kms_keys
        .iter()
        .filter(|k| used.contains(k.arn.as_str()))
        .collect();
    let policies: Vec<Option<Policy>> = keys
        .iter()
        .map(|k| k.policy.as_deref().and_then(|p| Policy::parse(p).ok()))
        .collect();
    let grants: Vec<Option<Vec<Grant>>> = keys.iter().map(|k| grants_of(k)).collect();

    let org = org_of(inv.organization.as_ref());
    let scps = ceiling(inv.organization.as_ref(), own, Kind::Scp);
    let rcps = ceiling(inv.organization.as_ref(), own, Kind::Rcp);
    let mut subjects = subjects(inv, own, &org, &scps, &policies, &grants);
    let explicit = principal.is_some();
    if let Some(arn) = principal {
        subjects.retain(|s| s.principal.arn == arn);
        if subjects.is_empty() {
            subjects.push(stranger(arn, own, &org, &scps));
        }
    }
    let inputs: Vec<PrincipalInputs<'_>> = subjects
        .iter()
        .map(|s| PrincipalInputs {
            principal: &s.principal,
            identity: &s.identity,
            scps: &s.scps,
        })
        .collect();
    let ctx = RequestContext::new();
    let foreign_rcps = Ceiling::NotCollected;
    let mut out = Vec::with_capacity(keys.len());
    for ((k, policy), grant) in keys.iter().zip(&policies).zip(&grants) {
        let key = key_of(k);
        let key_inputs = KeyInputs {
            key: &key,
            policy: policy.as_ref(),
            grants: grant.as_deref(),
            rcps: if key.account == own {
                &rcps
            } else {
                &foreign_rcps
            },
        };
        let actions: Vec<KmsAction> = ACTIONS
            .iter()
            .copied()
            .filter(|a| {
                key.kind
                    .is_none_or(|kind| crate::access::ActionSet::for_key(kind).contains(*a))
            })
            .collect();
        let mut entries = Vec::new();
        who_can_each(&key_inputs, &inputs, &actions, &ctx, |decisions| {
            rows(
                &key_inputs,
                &inputs,
                &subjects,
                decisions,
                explicit,
                &mut entries,
            );
        });
        out.push(KeyAccess {
            arn: k.arn.clone(),
            name: k.display_name().to_string(),
            manager: k.manager_label(),
            policy_read: policy.is_some(),
            grants: grant.as_ref().map(Vec::len),
            entries,
        });
    }
    AccessReport {
        account,
        principal: principal.map(str::to_string),
        inputs: Inputs {
            iam: if inv.iam.is_some() {
                "collected"
            } else {
                "not collected"
            },
            scps: status(&scps),
            rcps: status(&rcps),
        },
        databases,
        keys: out,
    }
}

fn status(c: &Ceiling) -> &'static str {
    match c {
        Ceiling::None => "not applicable",
        Ceiling::NotCollected => "not collected",
        Ceiling::Levels(_) => "collected",
    }
}

/// Turns one principal's decisions into rows, merging the actions that share a verdict and a way in.
fn rows(
    key: &KeyInputs<'_>,
    inputs: &[PrincipalInputs<'_>],
    subjects: &[Subject],
    decisions: &[Decision],
    explicit: bool,
    out: &mut Vec<AccessEntry>,
) {
    let start = out.len();
    for d in decisions {
        if matches!(d.verdict, Verdict::Denied) && !explicit {
            continue;
        }
        let (Some(who), Some(subject)) = (inputs.get(d.principal), subjects.get(d.principal))
        else {
            continue;
        };
        let (verdict, conditions, missing) = match &d.verdict {
            Verdict::Allowed => ("allowed", None, Vec::new()),
            Verdict::AllowedIf(dnf) => ("allowed-if", Some(describe(key, who, dnf)), Vec::new()),
            Verdict::Denied => ("denied", None, Vec::new()),
            Verdict::Unknown(m) => ("unknown", None, m.iter().map(ToString::to_string).collect()),
        };
        let label = |s| statement_of(key, who, s).map(|s| s.label());
        let via = d.via.as_ref();
        let identity_policy = via.and_then(|v| v.identity).and_then(|s| {
            let crate::access::Source::Identity { policy, .. } = s else {
                return None;
            };
            let Identity::Known { policies, .. } = who.identity else {
                return None;
            };
            let arn = &policies.get(policy as usize)?.arn;
            Some(match label(s) {
                Some(l) => format!("{arn} statement {l}"),
                None => arn.clone(),
            })
        });
        let grant = via.and_then(|v| v.grant).and_then(|s| match s {
            crate::access::Source::Grant { index } => {
                key.grants?.get(index as usize).map(|g| g.id.clone())
            }
            _ => None,
        });
        let entry = AccessEntry {
            principal: subject.principal.arn.clone(),
            principal_type: subject.label,
            actions: vec![d.action.to_string()],
            verdict,
            conditions,
            missing,
            path: via.map(|v| path_name(v.path)),
            key_statement: via.and_then(|v| v.key_statement).and_then(label),
            identity_policy,
            grant,
            denied_by: d
                .denied_by
                .map(|s| crate::access::describe_source(key, who, s)),
            escalates_to: d.escalates_to.iter().map(|a| a.to_string()).collect(),
        };
        match out
            .get_mut(start..)
            .and_then(|rest| rest.iter_mut().find(|e| same_way(e, &entry)))
        {
            Some(e) => e.actions.extend(entry.actions),
            None => out.push(entry),
        }
    }
}

fn same_way(a: &AccessEntry, b: &AccessEntry) -> bool {
    a.principal == b.principal
        && a.verdict == b.verdict
        && a.conditions == b.conditions
        && a.missing == b.missing
        && a.path == b.path
        && a.key_statement == b.key_statement
        && a.identity_policy == b.identity_policy
        && a.grant == b.grant
        && a.denied_by == b.denied_by
        && a.escalates_to == b.escalates_to
}

pub fn path_name(p: Path) -> &'static str {
    match p {
        Path::Direct => "direct",
        Path::AccountDelegation => "account-delegation",
        Path::ViaService => "via-service",
        Path::Grant => "grant",
        Path::ExternalAccount => "external-account",
        Path::Public => "public",
    }
}

/// Every database resource, with the key behind it resolved where the inventory knows it.
fn databases(inv: &Inventory) -> Vec<DatabaseAccess> {
    let mut out = Vec::new();
    let mut add = |kind, id: &str, arn: &str, region: &str, encrypted: bool, key: Option<&str>| {
        let resolved = key
            .filter(|_| encrypted)
            .and_then(|r| inv.resolve_key(region, r))
            .map(|k| k.arn.clone());
        out.push(DatabaseAccess {
            kind,
            id: id.to_string(),
            arn: arn.to_string(),
            region: region.to_string(),
            encrypted,
            key: resolved,
            key_reference: key.filter(|_| encrypted).map(str::to_string),
        });
    };
    for i in &inv.rds_instances {
        add(
            "rds-instance",
            &i.id,
            &i.arn,
            &i.region,
            i.storage_encrypted,
            i.kms_key_id.as_deref(),
        );
    }
    for c in &inv.rds_clusters {
        add(
            "rds-cluster",
            &c.id,
            &c.arn,
            &c.region,
            c.storage_encrypted,
            c.kms_key_id.as_deref(),
        );
    }
    for s in &inv.rds_snapshots {
        add(
            "rds-snapshot",
            &s.id,
            &s.arn,
            &s.region,
            s.encrypted,
            s.kms_key_id.as_deref(),
        );
    }
    for s in &inv.rds_cluster_snapshots {
        add(
            "rds-cluster-snapshot",
            &s.id,
            &s.arn,
            &s.region,
            s.encrypted,
            s.kms_key_id.as_deref(),
        );
    }
    for v in &inv.ebs_volumes {
        add(
            "ebs-volume",
            &v.id,
            &v.arn,
            &v.region,
            v.encrypted,
            v.kms_key_id.as_deref(),
        );
    }
    for s in &inv.ebs_snapshots {
        add(
            "ebs-snapshot",
            &s.id,
            &s.arn,
            &s.region,
            s.encrypted,
            ebs_snapshot_key(inv, s),
        );
    }
    out
}

pub fn key_of(k: &KmsKey) -> Key {
    let kind = match (k.key_spec.as_deref(), k.key_usage.as_deref()) {
        (Some(spec), usage) => KeyKind::from_spec(spec, usage.unwrap_or("ENCRYPT_DECRYPT")),
        (None, _) => Some(KeyKind::Symmetric),
    };
    Key {
        arn: k.arn.clone(),
        account: account_of(&k.arn).unwrap_or_default().to_string(),
        kind,
        spec: k.key_spec.clone(),
        usage: k.key_usage.clone(),
    }
}

/// The key's grants for the evaluator; `None` when not collected.
pub fn grants_of(k: &KmsKey) -> Option<Vec<Grant>> {
    let grants = k.grants.as_ref()?;
    Some(
        grants
            .iter()
            .map(|g| {
                let ops: Vec<KmsAction> = g
                    .operations
                    .iter()
                    .filter_map(|o| KmsAction::parse(o))
                    .collect();
                let mut grant = Grant::new(&g.grant_id, &g.grantee_principal, &ops);
                grant.name = g.name.clone();
                grant.retiring = g.retiring_principal.clone();
                if !g.encryption_context_equals.is_empty() {
                    grant = grant.with_constraint(GrantConstraint::Equals(
                        g.encryption_context_equals.clone(),
                    ));
                } else if !g.encryption_context_subset.is_empty() {
                    grant = grant.with_constraint(GrantConstraint::Subset(
                        g.encryption_context_subset.clone(),
                    ));
                }
                grant
            })
            .collect(),
    )
}

/// The account's organisation as the evaluator sees its principals.
pub fn org_of(org: Option<&OrgDetails>) -> Org {
    match org {
        None => Org::Unknown,
        Some(OrgDetails { id: None, .. }) => Org::None,
        Some(OrgDetails {
            id: Some(id), path, ..
        }) => {
            // aws:PrincipalOrgPaths: `o-id/r-root/ou-.../` down to the account's parent.
            let paths = path
                .as_ref()
                .map(|p| {
                    let parents = p.get(..p.len().saturating_sub(1)).unwrap_or_default();
                    let mut text = format!("{id}/");
                    for t in parents {
                        text.push_str(t);
                        text.push('/');
                    }
                    vec![text]
                })
                .unwrap_or_default();
            Org::Member {
                id: id.clone(),
                paths,
            }
        }
    }
}

#[derive(Clone, Copy)]
pub enum Kind {
    Scp,
    Rcp,
}

/// The SCPs or RCPs that apply to the account. They do not apply without an organisation nor to the management
/// account; a type with no policy at any level is not enabled. A document that does not parse makes the ceiling
/// unknown.
pub fn ceiling(org: Option<&OrgDetails>, account: &str, kind: Kind) -> Ceiling {
    let Some(org) = org else {
        return Ceiling::NotCollected;
    };
    if org.id.is_none() || org.management_account.as_deref() == Some(account) {
        return Ceiling::None;
    }
    let levels = match kind {
        Kind::Scp => org.scps.as_ref(),
        Kind::Rcp => org.rcps.as_ref(),
    };
    let Some(levels) = levels else {
        return Ceiling::NotCollected;
    };
    let parsed: Option<Vec<Vec<Policy>>> = levels
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.iter()
                .map(|p: &OrgPolicy| Policy::parse(&p.document).ok())
                .collect()
        })
        .collect();
    match parsed {
        None => Ceiling::NotCollected,
        Some(l) if l.is_empty() => Ceiling::None,
        Some(l) => Ceiling::Levels(l),
    }
}

/// The identity policies and boundary of an IAM user or role; unknown when a policy it refers to is missing or
/// does not parse.
fn identity_of(iam: &IamDetails, arn: &str) -> Identity {
    let managed = |policy_arn: &str| -> Option<NamedPolicy> {
        let p = iam.policies.iter().find(|p| p.arn == policy_arn)?;
        Some(NamedPolicy {
            arn: p.arn.clone(),
            policy: Policy::parse(p.document.as_deref()?).ok()?,
        })
    };
    let inline = |owner: &str, name: &str, doc: &str| -> Option<NamedPolicy> {
        Some(NamedPolicy {
            arn: format!("{owner}#{name}"),
            policy: Policy::parse(doc).ok()?,
        })
    };
    let build = || -> Option<Identity> {
        let who = iam.users.iter().chain(&iam.roles).find(|p| p.arn == arn)?;
        let mut policies = Vec::new();
        for p in &who.inline_policies {
            policies.push(inline(&who.arn, &p.name, &p.document)?);
        }
        for a in &who.attached_policies {
            policies.push(managed(a)?);
        }
        for name in &who.groups {
            let g = iam.groups.iter().find(|g| &g.name == name)?;
            for p in &g.inline_policies {
                policies.push(inline(&g.arn, &p.name, &p.document)?);
            }
            for a in &g.attached_policies {
                policies.push(managed(a)?);
            }
        }
        let boundary = match &who.permissions_boundary {
            Some(b) => Some(managed(b)?.policy),
            None => None,
        };
        Some(Identity::Known { policies, boundary })
    };
    build().unwrap_or(Identity::NotCollected)
}

/// The principals to ask about, each once, in a fixed order.
fn subjects(
    inv: &Inventory,
    own: &str,
    org: &Org,
    scps: &Ceiling,
    policies: &[Option<Policy>],
    grants: &[Option<Vec<Grant>>],
) -> Vec<Subject> {
    let mut out: Vec<Subject> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut push = |out: &mut Vec<Subject>, s: Subject| {
        if seen.insert(s.principal.arn.clone()) {
            out.push(s);
        }
    };
    if !own.is_empty() {
        let mut root = Principal::root(own);
        root.org = org.clone();
        push(
            &mut out,
            Subject {
                principal: root,
                identity: Identity::none(),
                scps: scps.clone(),
                label: "root",
            },
        );
    }
    if let Some(iam) = &inv.iam {
        for p in iam.users.iter().chain(&iam.roles) {
            let mut principal = Principal::iam(&p.arn);
            principal.org = org.clone();
            let label = label_of(&principal, own);
            push(
                &mut out,
                Subject {
                    identity: identity_of(iam, &p.arn),
                    principal,
                    scps: scps.clone(),
                    label,
                },
            );
        }
    }
    let mut named: BTreeMap<String, Subject> = BTreeMap::new();
    let mut name = |value: &str, service: bool| {
        if value == ANYONE || value.contains('*') || named.contains_key(value) {
            return;
        }
        let s = if service {
            Subject {
                principal: Principal::service(value),
                identity: Identity::none(),
                scps: Ceiling::None,
                label: "service",
            }
        } else {
            stranger(value, own, org, scps)
        };
        named.insert(value.to_string(), s);
    };
    for p in policies.iter().flatten() {
        for s in &p.statements {
            if let Some(Principals::Listed(items)) = &s.principal {
                for (kind, value) in items {
                    match kind {
                        PrincipalKind::Aws => name(value, false),
                        PrincipalKind::Service => name(value, true),
                        _ => {}
                    }
                }
            }
        }
    }
    for g in grants.iter().flatten().flatten() {
        let service = !g.grantee.starts_with("arn:") && g.grantee.contains('.');
        name(&g.grantee, service);
    }
    for (_, s) in named {
        push(&mut out, s);
    }
    push(
        &mut out,
        Subject {
            principal: Principal {
                arn: ANYONE.to_string(),
                account: Some(ANYONE.to_string()),
                kind: PrincipalType::Root,
                org: Org::None,
            },
            identity: Identity::none(),
            scps: Ceiling::None,
            label: "anyone",
        },
    );
    out
}

/// A principal the IAM listing does not describe: another account's (its own SCPs and IAM are not readable; an
/// account root needs no IAM allow), or one of the account's that was not collected.
fn stranger(value: &str, own: &str, org: &Org, scps: &Ceiling) -> Subject {
    let mut principal = if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Principal::root(value)
    } else {
        Principal::iam(value)
    };
    let mine = principal.account.as_deref() == Some(own);
    if mine {
        principal.org = org.clone();
    }
    let identity = if principal.kind == PrincipalType::Root {
        Identity::none()
    } else {
        Identity::NotCollected
    };
    Subject {
        label: label_of(&principal, own),
        principal,
        identity,
        // Another account's SCPs cannot be read from here; leaving them out over-reports access, never hides it.
        scps: if mine { scps.clone() } else { Ceiling::None },
    }
}

fn label_of(p: &Principal, own: &str) -> &'static str {
    if p.account.as_deref() != Some(own) {
        return "external";
    }
    match p.kind {
        PrincipalType::Root => "root",
        PrincipalType::User => "user",
        PrincipalType::Role => "role",
        PrincipalType::Service => "service",
        PrincipalType::Other => "external",
    }
}

#[cfg(test)]
mod tests;
