//! Storage keys shared between databases where the requirements allow it: one key per account, Region, service and
//! compliance scope instead of one per database. Every storage key of a plan has the same administrators and the
//! same user (the database operator, through the service), so a shared key takes no access away from anyone: it
//! saves a key, a policy and a rotation schedule per database.
//!
//! A database keeps its own key when its requirements ask for one:
//! - `data.granularity` finer than `volume`: the database is the unit that needs a key of its own;
//! - `data.snapshot_sharing = cross-account`: the receiving account's use of the key must not reach other
//!   databases' snapshots;
//! - a custom key store (options 2 and 4): the key store, its HSMs and its activation are the database's own.
//!
//! Databases share only with others of the same scope: the same service (RDS, RDS with managed master-user secrets,
//! or EBS), the same set of compliance regimes (PCI data never shares a key with data outside PCI scope), and the
//! same rotation and separation-of-duties requirements. A scope with one database keeps its own key's name.

use std::collections::BTreeMap;

use super::super::engine::Recommendation;
use super::inventory::DatabaseRow;
use crate::catalog::expr::Value;

/// What databases must have in common to share a storage key in a Region.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scope {
    /// The services that use the key on the operator's behalf (`kms:ViaService`).
    pub services: Vec<String>,
    pub regimes: Vec<String>,
    pub rotation: String,
    pub separation: String,
}

impl Scope {
    /// The words of a shared key's alias: service and regimes (`rds-pci-pan`, `ebs-general`).
    fn words(&self) -> String {
        let service = match self.services.as_slice() {
            [s] if s == "ec2" => "ebs".to_string(),
            [s] => s.clone(),
            // RDS with the managed master-user secret encrypted under the key.
            _ => "rds-secrets".to_string(),
        };
        let regimes = if self.regimes.is_empty() {
            "general".to_string()
        } else {
            self.regimes.join("-")
        };
        format!("{service}-{regimes}")
    }
}

/// The services a database's storage key serves: EBS through EC2 for options 3 and 4; RDS otherwise, plus Secrets
/// Manager when the plan creates a new RDS instance whose managed master-user secret is encrypted under the key.
pub fn storage_services(option: u8, hosting: &str) -> Vec<String> {
    if option >= 3 {
        vec!["ec2".into()]
    } else if hosting == "rds" || hosting == "aurora" {
        vec!["rds".into()]
    } else {
        vec!["rds".into(), "secretsmanager".into()]
    }
}

fn requirement(rec: &Recommendation, key: &str) -> String {
    rec.requirements
        .get(key)
        .map(|v| v.render())
        .unwrap_or_default()
}

/// The scope a database may share its storage key in, or `None` when its requirements want a key of its own.
pub fn scope(row: &DatabaseRow, rec: &Recommendation) -> Option<Scope> {
    let option = rec.recommended.as_ref()?.option;
    if !matches!(option, 1 | 3) {
        return None;
    }
    if !matches!(requirement(rec, "data.granularity").as_str(), "" | "volume") {
        return None;
    }
    if requirement(rec, "data.snapshot_sharing") == "cross-account" {
        return None;
    }
    let mut regimes: Vec<String> = match rec.requirements.get("data.regimes") {
        Some(Value::List(items)) => items.clone(),
        _ => Vec::new(),
    };
    regimes.sort();
    regimes.dedup();
    Some(Scope {
        services: storage_services(option, &row.hosting),
        regimes,
        rotation: requirement(rec, "keys.rotation"),
        separation: requirement(rec, "data.separation"),
    })
}

/// One shared storage key: its alias in one Region, the scope, and the databases that use it there (their home
/// Region, or a Region that holds their copies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedStorageKey {
    pub alias: String,
    pub region: String,
    pub scope: Scope,
    pub databases: Vec<String>,
}

/// Which databases share which key: every (scope, Region) used by two databases or more becomes one shared key.
/// `members` are, in fleet order, each database's name, scope and the Regions its storage keys live in.
pub fn assign(members: &[(String, Option<Scope>, Vec<String>)]) -> Vec<SharedStorageKey> {
    let mut groups: BTreeMap<(Scope, String), Vec<String>> = BTreeMap::new();
    let mut order: Vec<(Scope, String)> = Vec::new();
    for (name, scope, regions) in members {
        let Some(scope) = scope else { continue };
        for region in regions {
            let at = (scope.clone(), region.clone());
            let names = groups.entry(at.clone()).or_default();
            if names.is_empty() {
                order.push(at);
            }
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    // Scopes that differ only in rotation or separation would get the same words: number them apart.
    let mut words_taken: BTreeMap<String, Vec<Scope>> = BTreeMap::new();
    let mut keys = Vec::new();
    for at in order {
        let databases = groups.remove(&at).unwrap_or_default();
        if databases.len() < 2 {
            continue;
        }
        let (scope, region) = at;
        let seen = words_taken.entry(scope.words()).or_default();
        let index = match seen.iter().position(|s| *s == scope) {
            Some(i) => i,
            None => {
                seen.push(scope.clone());
                seen.len() - 1
            }
        };
        let suffix = if index == 0 {
            String::new()
        } else {
            format!("-{}", index + 1)
        };
        keys.push(SharedStorageKey {
            alias: format!("alias/atrest/shared-{}{suffix}-{region}", scope.words()),
            region,
            scope,
            databases,
        });
    }
    keys
}

/// The shared aliases of one database, by Region.
pub fn aliases_of(shared: &[SharedStorageKey], database: &str) -> BTreeMap<String, String> {
    shared
        .iter()
        .filter(|k| k.databases.iter().any(|d| d == database))
        .map(|k| (k.region.clone(), k.alias.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(services: &[&str], regimes: &[&str], rotation: &str) -> Option<Scope> {
        Some(Scope {
            services: services.iter().map(|s| s.to_string()).collect(),
            regimes: regimes.iter().map(|s| s.to_string()).collect(),
            rotation: rotation.into(),
            separation: "none".into(),
        })
    }

    fn member(
        name: &str,
        scope: Option<Scope>,
        regions: &[&str],
    ) -> (String, Option<Scope>, Vec<String>) {
        (
            name.into(),
            scope,
            regions.iter().map(|r| r.to_string()).collect(),
        )
    }

    #[test]
    fn only_scopes_with_two_databases_in_a_region_share() {
        let pci = scope(&["rds"], &["pci-pan"], "annual");
        let keys = assign(&[
            member("a", pci.clone(), &["us-east-1", "us-west-2"]),
            member("b", pci.clone(), &["us-east-1"]),
            member("c", pci.clone(), &["eu-west-1"]),
            member("d", scope(&["rds"], &[], "annual"), &["us-east-1"]),
            member("e", None, &["us-east-1"]),
        ]);
        assert_eq!(keys.len(), 1, "{keys:#?}");
        assert_eq!(keys[0].alias, "alias/atrest/shared-rds-pci-pan-us-east-1");
        assert_eq!(keys[0].databases, ["a", "b"]);
        assert_eq!(aliases_of(&keys, "a").len(), 1);
        assert!(aliases_of(&keys, "c").is_empty());
    }

    #[test]
    fn a_copy_region_shares_with_the_databases_homed_there() {
        let general = scope(&["rds"], &[], "annual");
        let keys = assign(&[
            member("east", general.clone(), &["us-east-1", "us-west-2"]),
            member("west", general, &["us-west-2"]),
        ]);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].region, "us-west-2");
        assert_eq!(keys[0].databases, ["east", "west"]);
    }

    #[test]
    fn scopes_that_differ_beyond_their_words_get_distinct_aliases() {
        let annual = scope(&["ec2"], &[], "annual");
        let on_demand = scope(&["ec2"], &[], "on-demand");
        let keys = assign(&[
            member("a", annual.clone(), &["us-east-1"]),
            member("b", annual, &["us-east-1"]),
            member("c", on_demand.clone(), &["us-east-1"]),
            member("d", on_demand, &["us-east-1"]),
        ]);
        let aliases: Vec<&str> = keys.iter().map(|k| k.alias.as_str()).collect();
        assert_eq!(
            aliases,
            [
                "alias/atrest/shared-ebs-general-us-east-1",
                "alias/atrest/shared-ebs-general-2-us-east-1"
            ]
        );
    }
}
