//! A plan as infrastructure code (`plan --format cloudformation|terraform`): every key the plan proposes with its
//! alias, key policy and rotation setting, the EBS encryption-by-default decision of each Region, the TDE option
//! groups, and the SCP that confines `kms:PutKeyPolicy` to the break-glass role.
//!
//! - **CloudFormation** is one template for every Region: each resource carries the condition of its Region, so the
//!   same template is deployed in each Region of the plan (or as a stack set) with `Scope=workload`, and once in the
//!   organization's management account with `Scope=organization` for the SCP. CloudFormation has no resource for EBS
//!   encryption by default, so a small custom resource calls `EnableEbsEncryptionByDefault` and
//!   `ModifyEbsDefaultKmsKeyId`. `AWS::KMS::Key` cannot create keys in a custom key store: those keys are listed in
//!   the template's `Metadata` and created by the runbook.
//! - **Terraform** has one provider alias per Region; custom-key-store keys take the key store id (and, for an
//!   external key store, the external key id) as input variables; the SCP resources exist only with
//!   `manage_organization_policy = true`.
//!
//! TDE option groups hold the TDE option only: the runbook copies the instance's current option group
//! (`copy-option-group`), which infrastructure code cannot; its other options must be added to the group before it
//! is attached, and both formats say so.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::fleet::EBS_DEFAULT_ALIAS;
use super::rds::{major_engine_version, tde_group};
use super::runbook::ProposedKey;
use super::{DatabasePlan, Plan};
use crate::catalog::Catalog;

/// A TDE option group the plan attaches to a new RDS instance (and to its cross-Region replicas).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionGroup {
    pub database: String,
    pub name: String,
    pub region: String,
    pub engine_name: String,
    pub major_engine_version: String,
}

/// The TDE option groups of the plan, in database order.
pub fn option_groups(plan: &Plan, catalog: &Catalog) -> Vec<OptionGroup> {
    let mut groups = Vec::new();
    for d in &plan.databases {
        let on_rds = d
            .recommendation
            .recommended
            .as_ref()
            .is_some_and(|r| r.option <= 2);
        let tde = d
            .recommendation
            .overlays
            .iter()
            .any(|o| o.id == "rds-native-tde");
        if !on_rds || !tde {
            continue;
        }
        let engine = catalog.engine(&d.engine);
        let engine_name = engine
            .and_then(|e| e.rds_engine.clone())
            .unwrap_or_else(|| d.engine.clone());
        let family = engine.map(|e| e.family.clone()).unwrap_or_default();
        for region in storage_regions(plan, d) {
            groups.push(OptionGroup {
                database: d.name.clone(),
                name: tde_group(&d.name),
                region,
                engine_name: engine_name.clone(),
                major_engine_version: major_engine_version(&family, &d.version),
            });
        }
    }
    groups
}

/// The home Region first, then the Regions that hold a copy (those with a storage key of the database, its own or
/// a shared one).
fn storage_regions(plan: &Plan, d: &DatabasePlan) -> Vec<String> {
    let mut regions = vec![d.region.clone()];
    let shared = plan
        .fleet
        .shared_keys
        .iter()
        .filter(|k| k.used_by.contains(&d.name));
    for k in d.keys.iter().chain(shared) {
        if k.purpose.contains("storage") && !regions.contains(&k.region) {
            regions.push(k.region.clone());
        }
    }
    regions
}

fn all_keys(plan: &Plan) -> Vec<&ProposedKey> {
    plan.fleet
        .shared_keys
        .iter()
        .chain(plan.databases.iter().flat_map(|d| d.keys.iter()))
        .collect()
}

/// Words of `text` (ASCII letters and digits), for identifiers.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn pascal(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| words(p))
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn snake(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| words(p))
        .collect::<Vec<_>>()
        .join("_")
}

/// Makes `id` unique among `taken` by a numeric suffix.
fn unique(id: String, taken: &mut BTreeSet<String>, sep: &str) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{id}{sep}{n}");
        n += 1;
    }
    candidate
}

fn alias_words(alias: &str) -> &str {
    alias
        .trim_start_matches("alias/")
        .trim_start_matches("atrest/")
}

fn regions(plan: &Plan, groups: &[OptionGroup]) -> Vec<String> {
    let mut r: BTreeSet<String> = all_keys(plan).iter().map(|k| k.region.clone()).collect();
    r.extend(groups.iter().map(|g| g.region.clone()));
    r.into_iter().collect()
}

/// What `ModifyEbsDefaultKmsKeyId` and `EnableEbsEncryptionByDefault` are called with, on create and update. On
/// delete the Region keeps the setting: switching EBS encryption by default off would leave new volumes unencrypted.
const EBS_DEFAULT_FUNCTION: &str = r#"import boto3
import cfnresponse


def handler(event, context):
    try:
        if event["RequestType"] in ("Create", "Update"):
            ec2 = boto3.client("ec2")
            ec2.enable_ebs_encryption_by_default()
            ec2.modify_ebs_default_kms_key_id(KmsKeyId=event["ResourceProperties"]["KmsKeyId"])
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, "ebs-encryption-by-default")
    except Exception as error:  # reported to CloudFormation, which fails the stack operation
        cfnresponse.send(event, context, cfnresponse.FAILED, {"Error": str(error)}, "ebs-encryption-by-default")
"#;

/// The name of the condition "workload scope, in `region`", added to `conditions` on first use.
fn region_condition(region: &str, conditions: &mut Map<String, Value>) -> String {
    let name = pascal(&["workload", "in", region]);
    conditions.entry(name.clone()).or_insert_with(|| {
        json!({ "Fn::And": [
            { "Condition": "Workload" },
            { "Fn::Equals": [{ "Ref": "AWS::Region" }, region] }
        ] })
    });
    name
}

/// The CloudFormation template (JSON) of a plan; `account` receives the SCP.
pub fn cloudformation(plan: &Plan, catalog: &Catalog, account: &str) -> Value {
    let groups = option_groups(plan, catalog);
    let mut resources = Map::new();
    let mut outputs = Map::new();
    let mut conditions = Map::new();
    let mut taken = BTreeSet::new();
    let mut not_in_template = Vec::new();
    conditions.insert(
        "Workload".into(),
        json!({ "Fn::Equals": [{ "Ref": "Scope" }, "workload"] }),
    );
    conditions.insert(
        "Organization".into(),
        json!({ "Fn::Equals": [{ "Ref": "Scope" }, "organization"] }),
    );
    for k in all_keys(plan) {
        if k.origin != "AWS_KMS" {
            not_in_template.push(json!({
                "alias": k.alias,
                "region": k.region,
                "origin": k.origin,
                "why": "AWS::KMS::Key cannot create a key in a custom key store: the runbook creates it (`aws kms create-key --origin ... --custom-key-store-id ...`) with the policy in keys/"
            }));
            continue;
        }
        let condition = region_condition(&k.region, &mut conditions);
        let id = unique(
            pascal(&["key", alias_words(&k.alias), &k.region]),
            &mut taken,
            "N",
        );
        resources.insert(
            id.clone(),
            json!({
                "Type": "AWS::KMS::Key",
                "Condition": condition,
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "Description": k.purpose.replace('`', ""),
                    "KeySpec": "SYMMETRIC_DEFAULT",
                    "KeyUsage": "ENCRYPT_DECRYPT",
                    "Enabled": true,
                    "EnableKeyRotation": true,
                    "RotationPeriodInDays": 365,
                    "PendingWindowInDays": 30,
                    "KeyPolicy": k.policy,
                    "Tags": [{ "Key": "atrest:plan", "Value": "managed" }]
                }
            }),
        );
        resources.insert(
            format!("{id}Alias"),
            json!({
                "Type": "AWS::KMS::Alias",
                "Condition": condition,
                "Properties": { "AliasName": k.alias, "TargetKeyId": { "Ref": id } }
            }),
        );
        outputs.insert(
            format!("{id}Arn"),
            json!({
                "Condition": condition,
                "Description": format!("{} in {}", k.alias, k.region),
                "Value": { "Fn::GetAtt": [id, "Arn"] }
            }),
        );
        if k.alias == EBS_DEFAULT_ALIAS {
            let r = pascal(&[&k.region]);
            let role = format!("EbsDefaultRole{r}");
            let function = format!("EbsDefaultFunction{r}");
            resources.insert(
                role.clone(),
                json!({
                    "Type": "AWS::IAM::Role",
                    "Condition": condition,
                    "Properties": {
                        "Description": format!("Sets EBS encryption by default in {} to {EBS_DEFAULT_ALIAS}", k.region),
                        "AssumeRolePolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{
                                "Effect": "Allow",
                                "Principal": { "Service": "lambda.amazonaws.com" },
                                "Action": "sts:AssumeRole"
                            }]
                        },
                        "ManagedPolicyArns": [{ "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" }],
                        "Policies": [{
                            "PolicyName": "ebs-encryption-by-default",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [{
                                    "Effect": "Allow",
                                    "Action": ["ec2:EnableEbsEncryptionByDefault", "ec2:ModifyEbsDefaultKmsKeyId"],
                                    "Resource": "*"
                                }, {
                                    "Effect": "Allow",
                                    "Action": "kms:DescribeKey",
                                    "Resource": { "Fn::GetAtt": [id, "Arn"] }
                                }]
                            }
                        }]
                    }
                }),
            );
            resources.insert(
                function.clone(),
                json!({
                    "Type": "AWS::Lambda::Function",
                    "Condition": condition,
                    "Properties": {
                        "Description": format!("EBS encryption by default in {} under {EBS_DEFAULT_ALIAS}", k.region),
                        "Runtime": "python3.12",
                        "Handler": "index.handler",
                        "Timeout": 60,
                        "Role": { "Fn::GetAtt": [role, "Arn"] },
                        "Code": { "ZipFile": EBS_DEFAULT_FUNCTION }
                    }
                }),
            );
            resources.insert(
                format!("EbsEncryptionByDefault{r}"),
                json!({
                    "Type": "Custom::EbsEncryptionByDefault",
                    "Condition": condition,
                    "Properties": {
                        "ServiceToken": { "Fn::GetAtt": [function, "Arn"] },
                        "KmsKeyId": { "Fn::GetAtt": [id, "Arn"] }
                    }
                }),
            );
        }
    }
    for g in &groups {
        let condition = region_condition(&g.region, &mut conditions);
        let id = unique(
            pascal(&["option", "group", &g.name, &g.region]),
            &mut taken,
            "N",
        );
        resources.insert(
            id,
            json!({
                "Type": "AWS::RDS::OptionGroup",
                "Condition": condition,
                "Metadata": {
                    "atrest:copy-of-current": format!("add the other options of the current option group of `{}` before attaching this group: the runbook copies that group (copy-option-group), and an instance must keep its permanent and persistent options", g.database)
                },
                "Properties": {
                    "OptionGroupName": g.name,
                    "OptionGroupDescription": format!("TDE for {}", g.database),
                    "EngineName": g.engine_name,
                    "MajorEngineVersion": g.major_engine_version,
                    "OptionConfigurations": [{ "OptionName": "TDE" }],
                    "Tags": [{ "Key": "atrest:plan", "Value": "managed" }]
                }
            }),
        );
    }
    resources.insert(
        "KeyPolicyBreakGlassScp".into(),
        json!({
            "Type": "AWS::Organizations::Policy",
            "Condition": "Organization",
            "Properties": {
                "Name": "atrest-key-policy-break-glass",
                "Description": "Only the break-glass role changes KMS key policies",
                "Type": "SERVICE_CONTROL_POLICY",
                "Content": plan.fleet.scp,
                "TargetIds": [account]
            }
        }),
    );
    let mut template = Map::new();
    let head = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "Encryption-at-rest plan (atrest, catalog {}): customer managed keys with their aliases, policies and rotation, EBS encryption by default, TDE option groups, and the SCP confining kms:PutKeyPolicy to the break-glass role. Deploy with Scope=workload in each Region of the plan ({}), and with Scope=organization once in the management account.",
            plan.catalog_version,
            regions(plan, &groups).join(", ")
        ),
        "Parameters": {
            "Scope": {
                "Type": "String",
                "AllowedValues": ["workload", "organization"],
                "Default": "workload",
                "Description": "workload: the keys, EBS default and option groups of this Region; organization: the SCP (management account)"
            }
        },
    });
    if let Value::Object(head) = head {
        template.extend(head);
    }
    template.insert("Conditions".into(), Value::Object(conditions));
    template.insert("Resources".into(), Value::Object(resources));
    if !outputs.is_empty() {
        template.insert("Outputs".into(), Value::Object(outputs));
    }
    if !not_in_template.is_empty() {
        template.insert(
            "Metadata".into(),
            json!({ "atrest:keys-created-by-the-runbook": not_in_template }),
        );
    }
    Value::Object(template)
}

/// A JSON value as an HCL expression: JSON is HCL's expression syntax, except that `${` and `%{` start templates.
fn hcl_value(v: &Value, indent: usize) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let pad = " ".repeat(indent);
    text.replace("${", "$${")
        .replace("%{", "%%{")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn hcl_string(s: &str) -> String {
    hcl_value(&Value::String(s.to_string()), 0)
}

/// The Terraform configuration (HCL) of a plan; `account` receives the SCP.
pub fn terraform(plan: &Plan, catalog: &Catalog, account: &str) -> String {
    let groups = option_groups(plan, catalog);
    let regions = regions(plan, &groups);
    let keys = all_keys(plan);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Encryption-at-rest plan (atrest, catalog {}): customer managed keys with their aliases, policies and\n# rotation, EBS encryption by default per Region, TDE option groups, and the SCP confining kms:PutKeyPolicy to\n# the break-glass role (with manage_organization_policy = true, in the management account).\n",
        plan.catalog_version
    );
    out.push_str(
        "terraform {\n  required_version = \">= 1.5.0\"\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \">= 5.61.0\"\n    }\n  }\n}\n\n",
    );
    for r in &regions {
        let _ = writeln!(
            out,
            "provider \"aws\" {{\n  alias  = \"{}\"\n  region = \"{r}\"\n}}\n",
            snake(&[r])
        );
    }
    out.push_str(
        "variable \"manage_organization_policy\" {\n  description = \"Create and attach the SCP (run in the organization's management account)\"\n  type        = bool\n  default     = false\n}\n\n",
    );
    let custom_regions: BTreeSet<&str> = keys
        .iter()
        .filter(|k| k.origin != "AWS_KMS")
        .map(|k| k.region.as_str())
        .collect();
    if !custom_regions.is_empty() {
        let _ = writeln!(
            out,
            "variable \"custom_key_store_ids\" {{\n  description = \"The custom key store of each Region ({}), created and connected by the runbook's custom key store step\"\n  type        = map(string)\n}}\n",
            custom_regions.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let external: Vec<&str> = keys
        .iter()
        .filter(|k| k.origin == "EXTERNAL_KEY_STORE")
        .map(|k| k.alias.as_str())
        .collect();
    if !external.is_empty() {
        let _ = writeln!(
            out,
            "variable \"xks_key_ids\" {{\n  description = \"The external key manager's key id for each external-key-store key alias ({})\"\n  type        = map(string)\n}}\n",
            external.join(", ")
        );
    }
    let mut taken = BTreeSet::new();
    for k in &keys {
        let name = unique(
            snake(&["key", alias_words(&k.alias), &k.region]),
            &mut taken,
            "_",
        );
        let provider = snake(&[&k.region]);
        let _ = writeln!(
            out,
            "resource \"aws_kms_key\" \"{name}\" {{\n  provider                 = aws.{provider}\n  description              = {}\n  key_usage                = \"ENCRYPT_DECRYPT\"\n  customer_master_key_spec = \"SYMMETRIC_DEFAULT\"\n  is_enabled               = true\n  deletion_window_in_days  = 30",
            hcl_string(&k.purpose.replace('`', ""))
        );
        if k.origin == "AWS_KMS" {
            out.push_str("  enable_key_rotation      = true\n  rotation_period_in_days  = 365\n");
        } else {
            out.push_str("  # Keys in a custom key store cannot rotate automatically: rotate by a new key and the alias (update-alias).\n  enable_key_rotation      = false\n");
            let _ = writeln!(
                out,
                "  custom_key_store_id      = var.custom_key_store_ids[\"{}\"]",
                k.region
            );
            if k.origin == "EXTERNAL_KEY_STORE" {
                let _ = writeln!(
                    out,
                    "  xks_key_id               = var.xks_key_ids[\"{}\"]",
                    k.alias
                );
            }
        }
        let _ = writeln!(
            out,
            "  policy                   = jsonencode({})\n  tags = {{\n    \"atrest:plan\" = \"managed\"\n  }}\n}}\n",
            hcl_value(&k.policy, 2)
        );
        let _ = writeln!(
            out,
            "resource \"aws_kms_alias\" \"{name}\" {{\n  provider      = aws.{provider}\n  name          = \"{}\"\n  target_key_id = aws_kms_key.{name}.key_id\n}}\n",
            k.alias
        );
        if k.alias == EBS_DEFAULT_ALIAS {
            let _ = writeln!(
                out,
                "# EBS encryption by default is an account-and-Region setting, decided once for {}.\nresource \"aws_ebs_encryption_by_default\" \"{provider}\" {{\n  provider = aws.{provider}\n  enabled  = true\n}}\n\nresource \"aws_ebs_default_kms_key\" \"{provider}\" {{\n  provider = aws.{provider}\n  key_arn  = aws_kms_key.{name}.arn\n}}\n",
                k.region
            );
        }
    }
    for g in &groups {
        let name = unique(
            snake(&["option_group", &g.name, &g.region]),
            &mut taken,
            "_",
        );
        let _ = writeln!(
            out,
            "# Add the other options of the current option group of `{db}` before attaching this group: the runbook\n# copies that group (copy-option-group), and an instance must keep its permanent and persistent options.\nresource \"aws_db_option_group\" \"{name}\" {{\n  provider                 = aws.{provider}\n  name                     = \"{group}\"\n  option_group_description = \"TDE for {db}\"\n  engine_name              = \"{engine}\"\n  major_engine_version     = \"{major}\"\n\n  option {{\n    option_name = \"TDE\"\n  }}\n\n  tags = {{\n    \"atrest:plan\" = \"managed\"\n  }}\n}}\n",
            db = g.database,
            provider = snake(&[&g.region]),
            group = g.name,
            engine = g.engine_name,
            major = g.major_engine_version,
        );
    }
    let first = regions
        .first()
        .map(|r| snake(&[r]))
        .unwrap_or_else(|| "us_east_1".into());
    if regions.is_empty() {
        out.push_str(
            "provider \"aws\" {\n  alias  = \"us_east_1\"\n  region = \"us-east-1\"\n}\n\n",
        );
    }
    let _ = writeln!(
        out,
        "resource \"aws_organizations_policy\" \"key_policy_break_glass\" {{\n  count       = var.manage_organization_policy ? 1 : 0\n  provider    = aws.{first}\n  name        = \"atrest-key-policy-break-glass\"\n  description = \"Only the break-glass role changes KMS key policies\"\n  type        = \"SERVICE_CONTROL_POLICY\"\n  content     = jsonencode({})\n}}\n\nresource \"aws_organizations_policy_attachment\" \"key_policy_break_glass\" {{\n  count     = var.manage_organization_policy ? 1 : 0\n  provider  = aws.{first}\n  policy_id = aws_organizations_policy.key_policy_break_glass[0].id\n  target_id = \"{account}\"\n}}",
        hcl_value(&plan.fleet.scp, 2)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_alphanumeric_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(
            unique(
                pascal(&["key", "exec-pg-storage", "eu-west-2"]),
                &mut taken,
                "N"
            ),
            "KeyExecPgStorageEuWest2"
        );
        assert_eq!(
            unique(
                pascal(&["key", "exec_pg-storage", "eu-west-2"]),
                &mut taken,
                "N"
            ),
            "KeyExecPgStorageEuWest2N2"
        );
        assert_eq!(snake(&["key", "a-b", "us-east-1"]), "key_a_b_us_east_1");
    }

    #[test]
    fn hcl_values_escape_template_sequences() {
        assert_eq!(hcl_string("${aws:username}"), "\"$${aws:username}\"");
        assert_eq!(hcl_string("100%{x}"), "\"100%%{x}\"");
    }
}
