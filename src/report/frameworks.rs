//! `atrest evidence frameworks`: the compliance frameworks, their controls and the checks that decide them.

use std::io::Write;

use crate::catalog::frameworks::Framework;

pub fn json(frameworks: &[Framework], out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(
        &mut *out,
        &serde_json::json!({ "schema_version": 1, "frameworks": frameworks }),
    )?;
    writeln!(out)
}

pub fn table(frameworks: &[Framework], out: &mut dyn Write) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = frameworks
        .iter()
        .flat_map(|fw| {
            fw.controls.iter().map(move |c| {
                vec![
                    fw.label(),
                    c.id.clone(),
                    c.title.clone(),
                    if c.is_manual() {
                        "manual".to_string()
                    } else {
                        c.checks.join("\n")
                    },
                ]
            })
        })
        .collect();
    writeln!(
        out,
        "{}",
        crate::table::text(
            &["framework", "control", "title", "checks"],
            &rows,
            &[(2, 50)]
        )
    )?;
    let controls: usize = frameworks.iter().map(|f| f.controls.len()).sum();
    let manual: usize = frameworks
        .iter()
        .flat_map(|f| &f.controls)
        .filter(|c| c.is_manual())
        .count();
    writeln!(
        out,
        "{} framework(s), {controls} control(s), {manual} of them manual",
        frameworks.len()
    )
}
