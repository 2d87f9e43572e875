//! The module map of ARCHITECTURE.md matches the code: every `crate::…` / `super::…` path in
//! `src/` (comments, strings and `#[cfg(test)]` modules aside) is read, and the modules each
//! top-level module uses must be exactly the ones its row of the map lists. On top of that:
//! `model` uses nothing but `error`, neither backend uses the other, the module graph has no
//! circle, and neither have the modules of each binary.
//!
//! Run alone with `cargo test --test architecture`; it needs no feature.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Rust source with comments removed and string and char literals emptied, so that braces
/// and paths are only those of code.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c[i] == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&c, i) {
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')))
            {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1 + hashes;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c[i] == '\'' && (c.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('x' or '\n', '\''); lifetimes ('a) have no closing quote.
            let mut j = i + 1;
            if c[j] == '\\' {
                j += 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
            } else {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn ident_before(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

/// `code` without the bodies of `#[cfg(test)] mod name { … }` blocks.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_owned();
    while let Some(at) = out.find("#[cfg(test)]") {
        let after = &out[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let Some(rest) = trimmed.strip_prefix("mod ") else {
            // Another cfg(test) item: drop just the attribute's line.
            let end = out[at..].find('\n').map_or(out.len(), |n| at + n);
            out.replace_range(at..end, "");
            continue;
        };
        let start_of_rest = out.len() - rest.len();
        let end = match rest.find(['{', ';']) {
            Some(k) if rest.as_bytes()[k] == b'{' => {
                let mut depth = 0;
                let mut end = out.len();
                for (n, ch) in out[start_of_rest + k..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = start_of_rest + k + n + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            Some(k) => start_of_rest + k + 1,
            None => out.len(),
        };
        out.replace_range(at..end, "");
    }
    out
}

/// The names `#[cfg(test)] mod name;` declares (files that hold only tests).
fn test_module_files(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("#[cfg(test)]") {
        let rest = code[at + "#[cfg(test)]".len()..].trim_start();
        if let Some(rest) = rest.strip_prefix("mod ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if rest[name.len()..].trim_start().starts_with(';') {
                names.insert(name);
            }
        }
    }
    names
}

/// First segments of the paths after each `prefix` (`crate::a::b` gives `a`,
/// `crate::{a, b::c}` gives `a` and `b`).
fn heads_after(code: &str, prefix: &str) -> Vec<String> {
    let mut heads = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        if code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                    _ if depth == 1 => item.push(ch),
                    _ => {}
                }
                if depth == 0 {
                    items.push(item);
                    break;
                }
            }
            for item in items {
                let head = item
                    .trim()
                    .split("::")
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned();
                if !head.is_empty() {
                    heads.push(head);
                }
            }
        } else {
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !head.is_empty() {
                heads.push(head);
            }
        }
    }
    heads
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Module path of a source file below `base`: `a.rs` and `a/mod.rs` are `[a]`, `a/b.rs` is
/// `[a, b]`; the crate root (`lib.rs`, `main.rs`) is `[]`.
fn module_path(base: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(base).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Which top-level module each crate-root name (`pub use module::{Name, …}` in `lib.rs`)
/// comes from.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in lib.split(';') {
        let Some(used) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = used.split_once("::") else {
            continue;
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let item = item.trim();
            if !item.is_empty() {
                names.insert(item.to_owned(), module.trim().to_owned());
            }
        }
    }
    names
}

/// The modules each top-level module of the code under `base` uses. `resolve` maps a name
/// at the crate root to its module, or `None` for items of the root itself.
fn module_graph(base: &Path, resolve: impl Fn(&str) -> Option<String>) -> Graph {
    let mut files = Vec::new();
    rust_files(base, &mut files);
    let mut tests_only = BTreeSet::new();
    for file in &files {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let dir = file.parent().unwrap();
        for name in test_module_files(&code) {
            tests_only.insert(dir.join(format!("{name}.rs")));
            tests_only.insert(dir.join(name).join("mod.rs"));
        }
    }
    let mut graph = Graph::new();
    for file in &files {
        let path = module_path(base, file);
        let Some(top) = path.first().cloned() else {
            continue;
        };
        graph.entry(top.clone()).or_default();
        if tests_only.contains(file) {
            continue;
        }
        let code = without_test_modules(&code_only(&std::fs::read_to_string(file).unwrap()));
        let mut heads = heads_after(&code, "crate::");
        if path.len() == 1 {
            // `super::` of a top-level module is the crate root.
            heads.extend(heads_after(&code, "super::"));
        }
        for head in heads {
            if let Some(module) = resolve(&head).filter(|m| *m != top) {
                graph.get_mut(&top).unwrap().insert(module);
            }
        }
    }
    graph
}

/// A circle in `graph`, if there is one.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let from = stack.iter().position(|n| n == node).unwrap();
                let mut circle = stack[from..].to_vec();
                circle.push(node.to_owned());
                return Some(circle);
            }
            _ => {}
        }
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, state, stack) {
                return Some(circle);
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut state, &mut Vec::new()))
}

/// The module map table of ARCHITECTURE.md: module → the modules it may use.
fn documented_map() -> Graph {
    let text = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap();
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut map = Graph::new();
    let mut in_map = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            in_map = line.trim() == "## Module map";
            continue;
        }
        let cells: Vec<&str> = line.split('|').collect();
        if !in_map || cells.len() < 5 || !cells[1].trim().starts_with('`') {
            continue;
        }
        let module = ticked(cells[1]).into_iter().next().unwrap();
        map.insert(module, ticked(cells[3]).into_iter().collect());
    }
    assert!(
        !map.is_empty(),
        "ARCHITECTURE.md has no `## Module map` table"
    );
    map
}

fn library_graph() -> Graph {
    let src = Path::new(ROOT).join("src");
    let lib = code_only(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let reexports = root_reexports(&lib);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter(|f| !f.starts_with(src.join("bin")))
        .filter_map(|f| module_path(&src, f).first().cloned())
        .collect();
    let mut graph = module_graph(&src, |name| {
        if modules.contains(name) {
            Some(name.to_owned())
        } else {
            reexports.get(name).cloned()
        }
    });
    graph.remove("bin");
    graph
}

#[test]
fn the_documented_module_map_is_the_code() {
    let code = library_graph();
    let documented = documented_map();
    let in_code: BTreeSet<&String> = code.keys().collect();
    let in_doc: BTreeSet<&String> = documented.keys().collect();
    assert_eq!(in_code, in_doc, "modules in src/ vs ARCHITECTURE.md");
    for (module, uses) in &code {
        assert_eq!(
            uses, &documented[module],
            "`{module}` uses these (left) but ARCHITECTURE.md lists those (right)"
        );
    }
}

#[test]
fn the_layers_hold_and_nothing_goes_round() {
    let code = library_graph();
    let model: Vec<&String> = code["model"].iter().filter(|m| *m != "error").collect();
    assert!(
        model.is_empty(),
        "model/ must stay pure, but uses {model:?}"
    );
    assert!(
        !code["cpu"].contains("gpu"),
        "the CPU backend uses the GPU's"
    );
    assert!(
        !code["gpu"].contains("cpu"),
        "the GPU backend uses the CPU's"
    );
    for backend in ["cpu", "gpu"] {
        for above in ["dewarper", "video", "calib", "detect", "output"] {
            assert!(
                !code[backend].contains(above),
                "the {backend} backend uses `{above}`, which sits above it"
            );
        }
    }
    assert_eq!(find_circle(&code), None, "an import circle in src/");
}

#[test]
fn no_binary_has_an_import_circle() {
    let bin = Path::new(ROOT).join("src/bin");
    for entry in std::fs::read_dir(&bin).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        let modules: BTreeSet<String> = files
            .iter()
            .filter_map(|f| module_path(&dir, f).first().cloned())
            .collect();
        // Names of the binary's root (its error type, say) are not modules: edges to the
        // root do not count, as every module sits below it.
        let graph = module_graph(&dir, |name| modules.get(name).cloned());
        assert_eq!(find_circle(&graph), None, "{}", dir.display());
    }
}

#[test]
fn the_reader_sees_through_comments_strings_and_tests() {
    let code = code_only(
        "use crate::a::X; // crate::b\n/* crate::c */ let s = \"crate::d {\"; let c = '{';\n\
         #[cfg(test)]\nmod tests { use crate::e; }\nuse crate::{f, g::h};",
    );
    let code = without_test_modules(&code);
    assert_eq!(heads_after(&code, "crate::"), ["a", "f", "g"]);
    let circle = Graph::from([
        ("x".to_owned(), BTreeSet::from(["y".to_owned()])),
        ("y".to_owned(), BTreeSet::from(["x".to_owned()])),
    ]);
    assert_eq!(
        find_circle(&circle),
        Some(vec!["x".to_owned(), "y".to_owned(), "x".to_owned()])
    );
}
