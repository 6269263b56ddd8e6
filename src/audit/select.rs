//! What to audit, from the command line: the regions and the tag that marks EC2 database hosts.

/// `--regions`: every enabled region (EC2 DescribeRegions) or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionSelection {
    /// Only the configured region (`--region`, `AWS_REGION` or the profile).
    Configured,
    All,
    List(Vec<String>),
}

/// `--db-tag KEY=VALUE`: EC2 instances with this tag are database hosts; `VALUE` `*` means any value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbTag {
    pub key: String,
    /// `None` for any value.
    pub value: Option<String>,
}

pub const DEFAULT_DB_TAG: &str = "atrest:database=*";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectError {
    #[error("the region list is empty")]
    NoRegions,
    #[error("`{0}` is not a region name")]
    BadRegion(String),
    #[error("`all` cannot be combined with other regions")]
    AllWithOthers,
    #[error("`{0}` is not a tag filter")]
    BadDbTag(String),
}

impl crate::error::Help for SelectError {
    fn help(&self) -> Option<String> {
        Some(
            match self {
                SelectError::NoRegions | SelectError::BadRegion(_) => {
                    "use `all` or a comma-separated list such as `eu-west-1,us-east-1`"
                }
                SelectError::AllWithOthers => "use `all` alone or list the regions",
                SelectError::BadDbTag(_) => {
                    "use `KEY=VALUE`, or `KEY=*` for any value (e.g. `atrest:database=*`)"
                }
            }
            .to_string(),
        )
    }

    fn is_usage(&self) -> bool {
        true
    }
}

impl RegionSelection {
    pub fn parse(text: &str) -> Result<Self, SelectError> {
        let items: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Err(SelectError::NoRegions);
        }
        if items.iter().any(|s| s.eq_ignore_ascii_case("all")) {
            return if items.len() == 1 {
                Ok(RegionSelection::All)
            } else {
                Err(SelectError::AllWithOthers)
            };
        }
        let mut regions = Vec::with_capacity(items.len());
        for item in items {
            if !is_region_name(item) {
                return Err(SelectError::BadRegion(item.to_string()));
            }
            regions.push(item.to_string());
        }
        regions.sort();
        regions.dedup();
        Ok(RegionSelection::List(regions))
    }
}

/// The shape of an AWS region name: lowercase words joined by `-`, ending in a number (`us-gov-west-1`).
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

impl DbTag {
    pub fn parse(text: &str) -> Result<Self, SelectError> {
        let bad = || SelectError::BadDbTag(text.to_string());
        let (key, value) = text.split_once('=').ok_or_else(bad)?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() || key.len() > 128 || value.len() > 256 {
            return Err(bad());
        }
        Ok(DbTag {
            key: key.to_string(),
            value: (value != "*").then(|| value.to_string()),
        })
    }
}

impl std::fmt::Display for DbTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value.as_deref().unwrap_or("*"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert_eq!(RegionSelection::parse("all"), Ok(RegionSelection::All));
        assert_eq!(RegionSelection::parse("ALL"), Ok(RegionSelection::All));
        assert_eq!(
            RegionSelection::parse("us-gov-west-1, eu-west-1,eu-west-1"),
            Ok(RegionSelection::List(vec![
                "eu-west-1".into(),
                "us-gov-west-1".into()
            ]))
        );
        assert_eq!(RegionSelection::parse(" , "), Err(SelectError::NoRegions));
        assert_eq!(
            RegionSelection::parse("all,eu-west-1"),
            Err(SelectError::AllWithOthers)
        );
        for bad in [
            "EU-WEST-1",
            "eu_west_1",
            "euwest1",
            "eu-west",
            "eu--1",
            "eu-west-123",
        ] {
            assert_eq!(
                RegionSelection::parse(bad),
                Err(SelectError::BadRegion(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn db_tags() {
        assert_eq!(
            DbTag::parse(DEFAULT_DB_TAG),
            Ok(DbTag {
                key: "atrest:database".into(),
                value: None
            })
        );
        assert_eq!(
            DbTag::parse("role=db"),
            Ok(DbTag {
                key: "role".into(),
                value: Some("db".into())
            })
        );
        assert_eq!(DbTag::parse("a=b=c").unwrap().value.as_deref(), Some("b=c"));
        for bad in ["role", "=db", "role=", ""] {
            assert_eq!(
                DbTag::parse(bad),
                Err(SelectError::BadDbTag(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(DbTag::parse("role=db").unwrap().to_string(), "role=db");
    }
}
