//! The house's one-way data flow, enforced by reading the sources: `catalog -> audit -> report -> evidence`, each
//! layer naming only those to its left; only `cli` names `evidence`; no cycle between top-level modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The top-level module a file under `src/` belongs to (`src/audit/run.rs` -> `audit`, `src/aws.rs` -> `aws`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a source text names through `crate::`, ignoring comments.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = tail;
        }
    }
    out
}

/// `{module: modules it names}` for every top-level module of `src/`.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources(&src) {
        let module = module_of(&src, &file);
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let named = named_modules(&text);
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(named.into_iter().filter(|m| *m != module));
    }
    graph
}

#[test]
fn the_scan_sees_the_modules() {
    let graph = edges();
    for m in [
        "advisor", "audit", "catalog", "cell", "cli", "evidence", "report",
    ] {
        assert!(graph.contains_key(m), "no module `{m}` found: {graph:?}");
    }
    assert!(
        graph["cli"].contains("evidence"),
        "the scan misses `crate::` paths"
    );
}

#[test]
fn data_flows_catalog_audit_report_evidence() {
    let graph = edges();
    let layers = ["catalog", "audit", "report", "evidence"];
    for (i, layer) in layers.iter().enumerate() {
        for later in &layers[i + 1..] {
            assert!(
                !graph[*layer].contains(*later),
                "`{layer}` names `crate::{later}`: data flows catalog -> audit -> report -> evidence"
            );
        }
    }
}

#[test]
fn only_the_cli_names_evidence() {
    for (module, named) in edges() {
        if module != "cli" && module != "evidence" {
            assert!(
                !named.contains("evidence"),
                "`{module}` names `crate::evidence`; only `cli` may"
            );
        }
    }
}

#[test]
fn nothing_but_the_cli_names_the_cli() {
    for (module, named) in edges() {
        if module != "cli" {
            assert!(!named.contains("cli"), "`{module}` names `crate::cli`");
        }
    }
}

#[test]
fn no_cycle_between_top_level_modules() {
    let graph = edges();
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            panic!("import cycle: {}", cycle.join(" -> "));
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_library_api_holds_no_clap_type_outside_the_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in sources(&src) {
        let module = module_of(&src, &file);
        if module == "cli" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("clap::"),
            "{} uses clap; only src/cli may",
            file.display()
        );
    }
}
