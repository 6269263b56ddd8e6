//! The read-only API actions the collectors call: the least-privilege audit policy documented in `docs/audit.md`.
//! A collector that starts calling a new API adds it here, and the test below keeps the document equal to it.

/// Every IAM action the collectors need, as the documented audit policy lists them (STS GetCallerIdentity needs none).
pub const ACTIONS: &[&str] = &[
    "ec2:DescribeRegions",
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:DescribeSnapshotAttribute",
    "ec2:DescribeInstances",
    "ec2:GetEbsEncryptionByDefault",
    "ec2:GetEbsDefaultKmsKeyId",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:DescribeDBSnapshots",
    "rds:DescribeDBSnapshotAttributes",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBClusterSnapshotAttributes",
    "rds:DescribeOptionGroups",
    "kms:ListKeys",
    "kms:ListAliases",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "iam:ListAccountAliases",
    "iam:GetAccountAuthorizationDetails",
    "organizations:DescribeOrganization",
    "organizations:ListParents",
    "organizations:ListPoliciesForTarget",
    "organizations:DescribePolicy",
];

#[cfg(test)]
mod tests {
    use super::ACTIONS;

    /// The first JSON block of the least-privilege section of docs/audit.md, parsed.
    fn documented() -> serde_json::Value {
        let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/audit.md"));
        let section = doc
            .split("## Least-privilege IAM policy for the audit")
            .nth(1)
            .expect("the section exists");
        let block = section
            .split("```json")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .expect("a JSON block");
        serde_json::from_str(block).expect("the documented policy is JSON")
    }

    #[test]
    fn the_documented_audit_policy_is_exactly_the_collectors_actions() {
        let policy = documented();
        let listed: Vec<&str> = policy["Statement"][0]["Action"]
            .as_array()
            .expect("an action list")
            .iter()
            .map(|a| a.as_str().expect("a string"))
            .collect();
        assert_eq!(listed, ACTIONS);
        assert_eq!(policy["Statement"].as_array().map(Vec::len), Some(1));
        assert_eq!(policy["Statement"][0]["Effect"], "Allow");
        assert_eq!(policy["Statement"][0]["Resource"], "*");
    }

    #[test]
    fn every_action_is_read_only() {
        for a in ACTIONS {
            let verb = a.split(':').nth(1).unwrap_or_default();
            assert!(
                ["Describe", "List", "Get"]
                    .iter()
                    .any(|p| verb.starts_with(p)),
                "{a} is not a read-only action"
            );
        }
    }
}
