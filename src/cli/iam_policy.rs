//! `atrest iam-policy audit`: the audit role's permission and trust policies, the auditing principal's own policy,
//! and CloudFormation templates that deploy the role (one stack, or a StackSet over the organisation), as JSON.

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};

use super::{CliError, CliResult, Outcome};
use crate::audit::role::{self, RoleSpec};

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    #[command(subcommand)]
    pub command: IamPolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum IamPolicyCommand {
    /// The role `atrest audit --role-name` assumes: its read-only policy (exactly the calls the audit makes), its
    /// trust policy, the auditing principal's policy, and CloudFormation templates that deploy it
    Audit(AuditRoleArgs),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// Every document below, as one JSON object
    #[default]
    All,
    /// The audit role's permission policy
    Permissions,
    /// The audit role's trust policy
    Trust,
    /// The policy the auditing principal needs (list the accounts, assume the role)
    Caller,
    /// A CloudFormation template of the role, for one account
    RoleTemplate,
    /// A CloudFormation template of a service-managed StackSet that deploys the role to the organisation
    Stackset,
}

#[derive(Debug, Args)]
pub struct AuditRoleArgs {
    /// Who audits: the ARN of the IAM role or user that runs `atrest audit --accounts` (or `arn:aws:iam::ID:root`)
    #[arg(long, value_name = "ARN")]
    pub principal: String,
    /// The role's name in every account
    #[arg(long, value_name = "NAME", default_value = "atrest-audit")]
    pub role_name: String,
    /// Require this external id (`sts:ExternalId`), as `atrest audit --external-id` passes it
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Only principals of this organisation may assume the role (`aws:PrincipalOrgID`)
    #[arg(long, value_name = "o-...")]
    pub org_id: Option<String>,
    /// Allow and require this source identity (`sts:SetSourceIdentity`, `sts:SourceIdentity`), as `atrest audit
    /// --source-identity` sets it
    #[arg(long, value_name = "NAME")]
    pub source_identity: Option<String>,
    /// Which document to print
    #[arg(long, value_enum, default_value_t)]
    pub part: Part,
}

pub fn run(args: IamPolicyArgs, out: &mut dyn Write) -> CliResult {
    match args.command {
        IamPolicyCommand::Audit(a) => audit_role(a, out),
    }
}

fn audit_role(args: AuditRoleArgs, out: &mut dyn Write) -> CliResult {
    let partition = match args
        .principal
        .strip_prefix("arn:")
        .and_then(|r| r.split(':').next())
    {
        Some(p) if !p.is_empty() && args.principal.split(':').count() >= 6 => p.to_string(),
        _ => {
            return Err(CliError::usage(format!(
                "`{}` is not an IAM principal ARN",
                args.principal
            ))
            .with_help("pass e.g. `--principal arn:aws:iam::111122223333:role/auditor`"));
        }
    };
    if let Some(org) = &args.org_id
        && !org.starts_with("o-")
    {
        return Err(
            CliError::usage(format!("`{org}` is not an organisation id"))
                .with_help("organisation ids look like `o-a1b2c3d4e5`"),
        );
    }
    let spec = RoleSpec {
        role_name: args.role_name,
        principal: args.principal,
        external_id: args.external_id,
        org_id: args.org_id,
        source_identity: args.source_identity,
    };
    let document = match args.part {
        Part::All => serde_json::json!({
            "permission_policy": role::permission_policy(),
            "trust_policy": role::trust_policy(&spec),
            "caller_policy": role::caller_policy(&spec, &partition),
            "role_template": role::role_template(&spec),
            "stackset_template": role::stackset_template(&spec),
        }),
        Part::Permissions => role::permission_policy(),
        Part::Trust => role::trust_policy(&spec),
        Part::Caller => role::caller_policy(&spec, &partition),
        Part::RoleTemplate => role::role_template(&spec),
        Part::Stackset => role::stackset_template(&spec),
    };
    serde_json::to_writer_pretty(&mut *out, &document)
        .map_err(|e| CliError::failure(e.to_string()))?;
    writeln!(out)?;
    Ok(Outcome::Success)
}
