//! A plan as Markdown (to paste into a planning document) or as a terminal summary. Both lead with the fleet:
//! targets, waves, shared keys, downtime classes and costs; then one compact section per database. Full command
//! listings and key policies live in the files `plan --out` writes (then referred to) and in the JSON form.

use std::io::{self, Write};

use super::fleet::{Downtime, DowntimeClass};
use super::runbook::{Phase, ProposedKey};
use super::{DatabasePlan, Plan};
use crate::advisor::cost::usd;
use crate::table;

fn option_label(n: u8) -> String {
    if n == 0 {
        "none fits".to_string()
    } else {
        format!("option {n}")
    }
}

pub fn downtime_label(d: &Downtime) -> String {
    let class = match d.class {
        DowntimeClass::None => "none",
        DowntimeClass::SnapshotRestore => "snapshot-restore",
        DowntimeClass::VolumeSwap => "volume-swap",
        DowntimeClass::ReplicationCutover => "replication-cutover",
        DowntimeClass::HostWindow => "host-window",
    };
    match d.estimate_minutes {
        Some(m) => format!("{class} ~{m} min"),
        None => class.to_string(),
    }
}

fn wave_of(plan: &Plan, name: &str) -> String {
    let waves: Vec<String> = plan
        .fleet
        .waves
        .iter()
        .filter(|w| w.databases.iter().any(|d| d == name))
        .map(|w| w.number.to_string())
        .collect();
    if waves.is_empty() {
        "-".into()
    } else {
        waves.join(",")
    }
}

/// Where the plan's files are, when `--out` wrote them.
pub struct Files<'a> {
    pub dir: &'a str,
}

pub fn markdown(plan: &Plan, files: Option<&Files<'_>>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Encryption-at-rest migration plan\n")?;
    writeln!(out, "## Fleet summary\n")?;
    let rows: Vec<Vec<String>> = plan
        .databases
        .iter()
        .map(|d| {
            let rec = &d.recommendation;
            vec![
                format!("`{}`", d.name),
                format!("{} {}", d.engine, d.version).trim().to_string(),
                format!("{} / {}", d.current_hosting, d.current_encryption),
                rec.recommended.as_ref().map_or("none fits".into(), |r| {
                    format!("{} - {} ({})", r.option, r.title, r.variant_title)
                }),
                downtime_label(&d.downtime),
                wave_of(plan, &d.name),
                monthly_cost(d),
                rec.overlays
                    .iter()
                    .map(|o| format!("{} ({:?})", o.id, o.level).to_lowercase())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table::markdown(
            &[
                "database",
                "engine",
                "today",
                "target",
                "downtime",
                "wave",
                "monthly key cost",
                "overlays"
            ],
            &rows
        )
    )?;
    writeln!(out, "{}.\n", fleet_cost(plan))?;
    writeln!(out, "### Waves\n")?;
    for w in &plan.fleet.waves {
        writeln!(
            out,
            "{}. **{}** ({}): {}",
            w.number,
            w.name,
            w.phases.join(", "),
            w.databases
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(
        out,
        "\nRollback (`rollback/`) is possible until the clean-up (`cleanup/`), which removes the plaintext copies after the rollback window."
    )?;
    writeln!(out, "\n### Account-wide decisions and shared keys\n")?;
    for s in &plan.fleet.steps {
        writeln!(out, "- **{}.** {}", s.title, s.detail)?;
    }
    for k in &plan.fleet.shared_keys {
        writeln!(
            out,
            "- Shared key `{}` ({}): {}; used by {}.",
            k.alias,
            k.region,
            k.purpose,
            k.used_by
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    for s in &plan.fleet.organization_steps {
        writeln!(out, "- **{}.** {}", s.title, s.detail)?;
    }
    writeln!(
        out,
        "\nSeparation of duties: key administrators manage but never use the keys, and the account root keeps only what auditors and AWS Config read plus `kms:PutKeyPolicy` (so no key becomes unmanageable). A key policy alone cannot stop an IAM administrator from rewriting it: the SCP above is what makes the separation real."
    )?;
    match files {
        Some(f) => writeln!(
            out,
            "\nFiles in `{}`: key policies in `keys/`, the SCP in `scp.json`, scripts `00-organization.sh`, `00-fleet.sh`, then per database `10-primaries/`, `20-replicas/`, `30-dr/`, `40-verify/`, `rollback/`, `cleanup/`, every step with its commands in `runbooks/<database>.md`, and the keys, EBS default, option groups and SCP as infrastructure code in `infrastructure/` (CloudFormation and Terraform).",
            f.dir
        )?,
        None => writeln!(
            out,
            "\nEvery command and key policy: `--out DIR` writes them as scripts, runbooks and policy files (and as CloudFormation and Terraform); `--format json` holds them too."
        )?,
    }
    for d in &plan.databases {
        let shared: Vec<&ProposedKey> = plan
            .fleet
            .shared_keys
            .iter()
            .filter(|k| k.purpose.contains("storage") && k.used_by.contains(&d.name))
            .collect();
        section(d, &shared, files, out)?;
    }
    writeln!(
        out,
        "\n_Catalog {}; schema version {}._",
        plan.catalog_version, plan.schema_version
    )
}

fn section(
    d: &DatabasePlan,
    shared: &[&ProposedKey],
    files: Option<&Files<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rec = &d.recommendation;
    writeln!(out, "\n## `{}`\n", d.name)?;
    match &rec.recommended {
        Some(r) => writeln!(
            out,
            "**Target: option {} - {}** ({}; {}). Downtime: {} ({}).",
            r.option,
            r.title,
            r.variant_title,
            monthly_cost(d),
            downtime_label(&d.downtime),
            d.downtime.basis
        )?,
        None => writeln!(out, "**No option meets this database's requirements.**")?,
    }
    if let Some(top) = rec.ranked.first() {
        let mut why: Vec<String> = top
            .reasons
            .iter()
            .map(|r| format!("{} (`{}`)", r.text, r.rule))
            .collect();
        for o in &top.overlays {
            for r in &o.reasons {
                why.push(format!(
                    "{} overlay `{}`: {} (`{}`)",
                    format!("{:?}", o.level).to_lowercase(),
                    o.id,
                    r.text,
                    r.rule
                ));
            }
        }
        if !why.is_empty() {
            writeln!(out, "\nWhy:\n")?;
            for w in why {
                writeln!(out, "- {w}")?;
            }
        }
    }
    if !rec.excluded.is_empty() {
        let excluded: Vec<String> = rec
            .excluded
            .iter()
            .map(|e| format!("{} ({})", e.option, e.rules.join(", ")))
            .collect();
        writeln!(out, "\nExcluded: {}.", excluded.join("; "))?;
    }
    for w in &rec.warnings {
        writeln!(out, "\n> **Warning:** {} (`{}`)", w.text, w.rule)?;
    }
    writeln!(out, "\nSteps:\n")?;
    let mut phase: Option<Phase> = None;
    for s in &d.runbook {
        if phase != Some(s.phase) {
            phase = Some(s.phase);
        }
        let aws = s
            .commands
            .iter()
            .filter(|c| c.runs == super::runbook::Runs::Aws)
            .count();
        let other = s.commands.len() - aws;
        let mut counts = Vec::new();
        if aws > 0 {
            counts.push(format!("{aws} aws"));
        }
        if other > 0 {
            counts.push(format!("{other} by hand"));
        }
        let counts = if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        };
        writeln!(out, "- [{}] {}{counts}", s.phase.label(), s.title)?;
    }
    if !d.keys.is_empty() || !shared.is_empty() {
        writeln!(out, "\nKeys:\n")?;
        for k in shared {
            writeln!(
                out,
                "- `{}` ({}): shared storage key (fleet steps), with {}.",
                k.alias,
                k.region,
                k.used_by
                    .iter()
                    .filter(|u| **u != d.name)
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        for k in &d.keys {
            let at = match files {
                Some(f) => format!("; policy `{}/{}`", f.dir, k.policy_file()),
                None => String::new(),
            };
            writeln!(
                out,
                "- `{}` ({}, {} key store): {}{at}.",
                k.alias, k.region, k.key_store, k.purpose
            )?;
            for n in &k.notes {
                writeln!(out, "  - {n}")?;
            }
        }
    }
    if let Some(f) = files {
        writeln!(
            out,
            "\nCommands: `{}/runbooks/{}.md`; scripts `{}/10-primaries/{}.sh` and the later waves.",
            f.dir, d.name, f.dir, d.name
        )?;
    }
    Ok(())
}

pub fn text(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let rows: Vec<Vec<String>> = plan
        .databases
        .iter()
        .map(|d| {
            let rec = &d.recommendation;
            vec![
                d.name.clone(),
                format!("{} {}", d.engine, d.version).trim().to_string(),
                format!("{} / {}", d.current_hosting, d.current_encryption),
                rec.recommended
                    .as_ref()
                    .map_or("none fits".into(), |r| format!("{}: {}", r.option, r.title)),
                downtime_label(&d.downtime),
                wave_of(plan, &d.name),
                monthly_cost(d),
                rec.overlays
                    .iter()
                    .map(|o| o.id.clone())
                    .collect::<Vec<_>>()
                    .join("\n"),
                d.runbook.len().to_string(),
                d.keys.len().to_string(),
            ]
        })
        .collect();
    writeln!(
        out,
        "{}",
        table::text(
            &[
                "database", "engine", "today", "target", "downtime", "wave", "monthly", "overlays",
                "steps", "keys"
            ],
            &rows,
            &[(3, 40)]
        )
    )?;
    writeln!(out, "{}", fleet_cost(plan))?;
    let summary: Vec<String> = plan
        .summary
        .iter()
        .map(|(n, c)| format!("{}: {c}", option_label(*n)))
        .collect();
    writeln!(out, "{}", summary.join(", "))?;
    let waves: Vec<String> = plan
        .fleet
        .waves
        .iter()
        .map(|w| format!("{} {} ({})", w.number, w.name, w.databases.len()))
        .collect();
    writeln!(out, "waves: {}", waves.join(", "))?;
    for k in &plan.fleet.shared_keys {
        writeln!(out, "shared key {} in {}: {}", k.alias, k.region, k.purpose)?;
    }
    writeln!(
        out,
        "runbooks and key policies: `--format markdown`, `--format json` or `--out DIR`"
    )
}

/// The monthly cost of a database's target option and variant, marked when a price is not verified.
fn monthly_cost(d: &DatabasePlan) -> String {
    match (
        &d.recommendation.recommended,
        d.recommendation.ranked.first(),
    ) {
        (Some(r), Some(top)) if top.cost.unverified => {
            format!("{} (unverified price)", usd(r.monthly_cents))
        }
        (Some(r), _) => usd(r.monthly_cents),
        (None, _) => "-".to_string(),
    }
}

/// The fleet's monthly key cost, summed per database (keys the plan shares across databases are counted once per
/// database, so this is an upper bound), plus the shared keys.
fn fleet_cost(plan: &Plan) -> String {
    let total: u64 = plan
        .databases
        .iter()
        .filter_map(|d| d.recommendation.recommended.as_ref())
        .map(|r| r.monthly_cents)
        .sum();
    let unverified = plan.databases.iter().any(|d| {
        d.recommendation
            .ranked
            .first()
            .is_some_and(|t| t.cost.unverified)
    });
    let shared = plan.fleet.shared_keys.len();
    format!(
        "monthly key cost, summed per database: {}{}{}",
        usd(total),
        if unverified {
            " (rests on an unverified price)"
        } else {
            ""
        },
        if shared > 0 {
            format!(", plus {shared} shared key(s) at the KMS key price")
        } else {
            String::new()
        }
    )
}
