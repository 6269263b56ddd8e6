//! `advise --live`: refreshes what is known about one engine from RDS itself, through aws-sdk-rds, instead of the
//! embedded snapshot. Each call that fails is reported in the engine notes; the snapshot's answer then stands.
//!
//! - `DescribeDBEngineVersions`: is the engine (and version) offered in this Region at all;
//! - `DescribeOrderableDBInstanceOptions`: does any orderable instance class support storage encryption;
//! - `DescribeOptionGroupOptions`: does an option group offer TDE, and from which major version.

use aws_smithy_types::date_time::Format;

use crate::aws::{AwsSettings, AwsSetupError, sdk_error_summary};
use crate::catalog::schema::{EngineDef, RdsTde};

use super::context::version_at_least;
use super::engine::EngineSupport;

const TDE_OPTION_NAMES: [&str; 2] = ["TDE", "TRANSPARENT_DATA_ENCRYPTION"];

fn unknown_engine(engine: &str) -> EngineDef {
    EngineDef {
        id: engine.to_string(),
        name: engine.to_string(),
        family: "other".to_string(),
        rds_engine: None,
        aurora: engine.starts_with("aurora"),
        rds_storage_encryption: false,
        rds_custom_key_store: false,
        os: Vec::new(),
        facts: Vec::new(),
        rds_tde: None,
        ec2_tde: None,
        native_cell: None,
        tde_granularity: None,
        key_variant: Vec::new(),
    }
}

/// The major version RDS groups options by: `19.0.0.0.ru-...` -> `19`, `15.00.4073.23.v1` -> `15.00`, `16.4` -> `16`.
fn major(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    match parts.as_slice() {
        [a, b, ..] if b.len() == 2 && b.chars().all(|c| c.is_ascii_digit()) && a.len() == 2 => {
            format!("{a}.{b}")
        }
        [a, ..] => a.to_string(),
        [] => String::new(),
    }
}

pub async fn refresh(
    settings: &AwsSettings,
    base: EngineSupport,
    engine: &str,
    version: &str,
) -> Result<EngineSupport, AwsSetupError> {
    let config = settings.load().await?;
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let client = aws_sdk_rds::Client::new(&config);
    let mut def = base
        .engine
        .clone()
        .unwrap_or_else(|| unknown_engine(engine));
    let rds_engine = def.rds_engine.clone().unwrap_or_else(|| engine.to_string());
    let mut notes = base.notes.clone();
    let mut learned = Vec::new();

    // 1. Is the engine offered at all?
    let mut request = client.describe_db_engine_versions().engine(&rds_engine);
    if !version.is_empty() {
        request = request.engine_version(version);
    }
    let versions: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
    match versions {
        Ok(versions) if versions.is_empty() => {
            def.rds_engine = None;
            learned.push(format!(
                "RDS offers no `{rds_engine}` {version} in {region}"
            ));
        }
        Ok(versions) => {
            def.rds_engine = Some(rds_engine.clone());
            learned.push(format!(
                "RDS offers `{rds_engine}` ({} version(s) listed)",
                versions.len()
            ));
        }
        Err(e) => notes.push(format!(
            "DescribeDBEngineVersions failed ({}); engine availability from the embedded snapshot",
            sdk_error_summary(&e)
        )),
    }

    // 2. Storage encryption on any orderable instance class.
    let mut request = client
        .describe_orderable_db_instance_options()
        .engine(&rds_engine);
    if !version.is_empty() {
        request = request.engine_version(version);
    }
    let mut pages = request.into_paginator().items().send();
    let mut seen = 0usize;
    let mut encryptable = false;
    let mut failed = None;
    while let Some(item) = pages.next().await {
        match item {
            Ok(option) => {
                seen += 1;
                if option.supports_storage_encryption() == Some(true) {
                    encryptable = true;
                    break;
                }
            }
            Err(e) => {
                failed = Some(sdk_error_summary(&e));
                break;
            }
        }
    }
    match (failed, seen) {
        (Some(e), _) => notes.push(format!(
            "DescribeOrderableDBInstanceOptions failed ({e}); storage encryption support from the embedded snapshot"
        )),
        (None, 0) => notes.push(format!(
            "RDS listed no orderable instance options for `{rds_engine}` {version}; storage encryption support from the embedded snapshot"
        )),
        (None, n) => {
            def.rds_storage_encryption = encryptable;
            learned.push(format!(
                "storage encryption {} ({} instance option(s) read)",
                if encryptable { "supported" } else { "not supported on any orderable class" },
                n
            ));
        }
    }

    // 3. TDE through option groups.
    let options = client
        .describe_option_group_options()
        .engine_name(&rds_engine)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    match options {
        Ok(options) => {
            let mut majors: Vec<String> = options
                .iter()
                .filter(|o| o.name().is_some_and(|n| TDE_OPTION_NAMES.contains(&n)))
                .filter_map(|o| o.major_engine_version().map(str::to_string))
                .collect();
            majors.sort_by(|a, b| {
                if version_at_least(a, b) && version_at_least(b, a) {
                    std::cmp::Ordering::Equal
                } else if version_at_least(a, b) {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                }
            });
            majors.dedup();
            let option_name = options
                .iter()
                .find_map(|o| o.name().filter(|n| TDE_OPTION_NAMES.contains(n)))
                .unwrap_or("TDE")
                .to_string();
            match majors.first() {
                Some(lowest) => {
                    let licence = def
                        .rds_tde
                        .as_ref()
                        .map_or("unknown".to_string(), |t| t.licence.clone());
                    let facts = def
                        .rds_tde
                        .as_ref()
                        .map(|t| t.facts.clone())
                        .unwrap_or_default();
                    def.rds_tde = Some(RdsTde {
                        option: option_name,
                        min_version: lowest.clone(),
                        licence,
                        facts,
                    });
                    let wanted = major(version);
                    let listed = wanted.is_empty() || majors.contains(&wanted);
                    learned.push(format!(
                        "option groups offer TDE for major version(s) {}{}",
                        majors.join(", "),
                        if listed {
                            String::new()
                        } else {
                            format!(" (not for {wanted})")
                        }
                    ));
                    if !listed {
                        def.rds_tde = None;
                    }
                }
                None => {
                    def.rds_tde = None;
                    learned.push("option groups offer no TDE".to_string());
                }
            }
        }
        Err(e) => notes.push(format!(
            "DescribeOptionGroupOptions failed ({}); TDE support from the embedded snapshot",
            sdk_error_summary(&e)
        )),
    }

    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(Format::DateTime)
        .unwrap_or_default();
    notes.insert(
        0,
        format!(
            "live: {}",
            if learned.is_empty() {
                "nothing learned".to_string()
            } else {
                learned.join("; ")
            }
        ),
    );
    Ok(EngineSupport {
        engine: if def.rds_engine.is_none() && base.engine.is_none() {
            None
        } else {
            Some(def)
        },
        source: format!(
            "live from RDS in {region} at {now}, over the embedded snapshot of {}",
            base.source.trim_start_matches("embedded snapshot of ")
        ),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::major;

    #[test]
    fn major_versions_as_rds_groups_them() {
        assert_eq!(major("19.0.0.0.ru-2024-10.rur-2024-10.r1"), "19");
        assert_eq!(major("15.00.4073.23.v1"), "15.00");
        assert_eq!(major("16.4"), "16");
        assert_eq!(major(""), "");
    }
}
