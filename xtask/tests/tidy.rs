//! Tidy checks over the workspace's sources, run by `cargo test` (and so by `cargo xtask test`):
//! the rules of ARCHITECTURE.md and the style guide that a reviewer would otherwise have to
//! remember.
//!
//! - Only `src/browser/` imports the browser crates (`web_sys`, `js_sys`, `gloo`, `wasm_bindgen`),
//!   so the rest of the app is plain Rust, tested natively.
//! - Every `.rs` file opens with `//!`, saying what it is responsible for.
//! - No file in `src/` is longer than [`MAX_LINES`]: a longer one holds more than one concept.
//! - No function in `src/` is longer than [`MAX_FN_LINES`]: a longer one does more than one thing
//!   (a long `match` hands each arm to a function named after what it does).
//! - Every `#[allow(...)]` says why, in a comment on the line before or at the end of the line.
//! - The modules of `src/` (and of the relay, `crates/relay/src/`) import each other without
//!   cycles: among the modules of one directory, whatever imports what, nothing leads back to
//!   where it started. A module may use what lies below it, never what is built on it (tests,
//!   which may reach anywhere, are not counted).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The longest a file of the app may be.
const MAX_LINES: usize = 600;

/// The longest a function of the app may be, from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 120;

/// The crates only the browser layer may use (`wasm_bindgen_futures` and `gloo_*` included).
const BROWSER_CRATES: [&str; 4] = ["web_sys", "js_sys", "gloo", "wasm_bindgen"];

#[test]
fn only_the_browser_layer_imports_browser_crates() {
    let root = workspace_root();
    let src = root.join("src");
    let browser = src.join("browser");
    let problems: Vec<String> = rust_files(&src)
        .into_iter()
        .filter(|path| !path.starts_with(&browser))
        .flat_map(|path| {
            let text = read(&path);
            browser_crates_used(&text)
                .into_iter()
                .map(move |(line, name)| format!("{}:{line}: uses {name}", shown(&path)))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "only src/browser/ may use {BROWSER_CRATES:?} (ARCHITECTURE.md):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_file_says_what_it_is_for() {
    let problems: Vec<String> = rust_files(&workspace_root())
        .into_iter()
        .filter(|path| !read(path).starts_with("//!"))
        .map(|path| shown(&path))
        .collect();
    assert!(
        problems.is_empty(),
        "these files do not open with a `//!` comment saying what they are responsible for:\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_file_of_the_app_holds_more_than_one_concept() {
    let problems: Vec<String> = rust_files(&workspace_root().join("src"))
        .into_iter()
        .filter_map(|path| {
            let lines = read(&path).lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", shown(&path)))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "files longer than {MAX_LINES} lines (split them, one concept per file):\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_function_of_the_app_does_more_than_one_thing() {
    let problems: Vec<String> = rust_files(&workspace_root().join("src"))
        .into_iter()
        .flat_map(|path| {
            let text = read(&path);
            functions(&text)
                .into_iter()
                .filter(|function| function.lines > MAX_FN_LINES)
                .map(move |function| {
                    let (name, line, lines) = (function.name, function.line, function.lines);
                    format!("{}:{line}: fn {name} is {lines} lines", shown(&path))
                })
        })
        .collect();
    assert!(
        problems.is_empty(),
        "functions longer than {MAX_FN_LINES} lines (give each part a function):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_modules_of_the_app_import_each_other_without_cycles() {
    let problems = import_cycles("src");
    assert!(
        problems.is_empty(),
        "modules that import each other in a circle (move what both need below both):\n{}",
        problems.join("\n")
    );
}

/// The relay's too: its stores, sessions and their vocabulary stand in layers.
#[test]
fn the_modules_of_the_relay_import_each_other_without_cycles() {
    let problems = import_cycles("crates/relay/src");
    assert!(
        problems.is_empty(),
        "relay modules that import each other in a circle (move what both need below both):\n{}",
        problems.join("\n")
    );
}

/// The import cycles among the modules of each directory of the crate whose sources are in
/// `dir` (relative to the workspace), one line each.
fn import_cycles(dir: &str) -> Vec<String> {
    let src = workspace_root().join(dir);
    let modules: BTreeMap<Vec<String>, PathBuf> = rust_files(&src)
        .into_iter()
        .filter_map(|path| Some((module_of(path.strip_prefix(&src).ok()?)?, path)))
        .collect();
    let known: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    // For each directory, which of its modules imports which (and in which file, for the message).
    let mut edges: BTreeMap<Vec<String>, BTreeMap<(String, String), String>> = BTreeMap::new();
    for (module, path) in &modules {
        for used in modules_used(&read(path), module, &known) {
            let common = module.iter().zip(&used).take_while(|(a, b)| a == b).count();
            // A module using its own parent or child is no edge between siblings.
            if common < module.len() && common < used.len() {
                let parent = module[..common].to_vec();
                let edge = (module[common].clone(), used[common].clone());
                edges
                    .entry(parent)
                    .or_default()
                    .entry(edge)
                    .or_insert_with(|| shown(path));
            }
        }
    }
    edges
        .iter()
        .filter_map(|(parent, edges)| {
            let cycle = find_cycle(edges.keys())?;
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|pair| {
                    let file = &edges[&(pair[0].clone(), pair[1].clone())];
                    format!("{} -> {} ({file})", pair[0], pair[1])
                })
                .collect();
            let dir = format!("{dir}/{}", parent.join("/"));
            Some(format!("{dir}: {}", steps.join(", ")))
        })
        .collect()
}

#[test]
fn every_allow_says_why() {
    let problems: Vec<String> = rust_files(&workspace_root())
        .into_iter()
        .flat_map(|path| {
            let text = read(&path);
            allows_without_comment(&text)
                .into_iter()
                .map(move |line| format!("{}:{line}", shown(&path)))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "`#[allow]` without a comment saying why:\n{}",
        problems.join("\n")
    );
}

/// The checks find what they look for, and nothing in comments or strings.
#[test]
fn the_checks_see_code_not_prose() {
    let probe = "//! A file outside src/browser/.\n\
                 // Comments may name web_sys, and so may strings:\n\
                 const NOTE: &str = \"js_sys // web_sys\";\n\
                 use web_sys::Window;\n\
                 fn f() { wasm_bindgen_futures::spawn_local(async {}); } // gloo_net\n";
    assert_eq!(
        browser_crates_used(probe),
        [
            (4, "web_sys".to_owned()),
            (5, "wasm_bindgen_futures".to_owned())
        ]
    );
    let allows = "#[allow(dead_code)]\nfn a() {}\n\
                  // Why this one is fine.\n#[allow(dead_code)]\nfn b() {}\n\
                  #![allow(clippy::print_stdout)] // a tool prints\n\
                  #[derive(Debug)]\n#[allow(unused)]\nstruct C;\n";
    assert_eq!(allows_without_comment(allows), [1, 8]);
    let code = "fn one() {}\n\
                pub(crate) async fn two(\n    a: u8,\n) -> u8 {\n    // fn not_this() {\n    a\n}\n\
                trait T {\n    fn declared(&self);\n    fn defined(&self) {\n        let _ = \"}\";\n    }\n}\n";
    let found: Vec<(String, usize, usize)> = functions(code)
        .into_iter()
        .map(|function| (function.name, function.line, function.lines))
        .collect();
    assert_eq!(
        found,
        [
            ("one".to_owned(), 1, 1),
            ("two".to_owned(), 2, 6),
            ("defined".to_owned(), 10, 3)
        ]
    );
    let names = |list: &[&str]| {
        list.iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>()
    };
    let known: BTreeSet<Vec<String>> = [
        &[][..],
        &["a"],
        &["a", "b"],
        &["c"],
        &["d"],
        &["e"],
        &["m"],
        &["m", "n"],
        &["m", "o"],
    ]
    .into_iter()
    .map(&names)
    .collect();
    let code = "use crate::{\n    a::{b::Thing, self},\n    c,\n};\n\
                // crate::e is only named in a comment.\n\
                pub(crate) fn f() -> super::o::Type { crate::d::make(\"crate::e\") }\n";
    let used: Vec<Vec<String>> = modules_used(code, &names(&["m", "n"]), &known)
        .into_iter()
        .collect();
    assert_eq!(
        used,
        [
            names(&["a"]),
            names(&["a", "b"]),
            names(&["c"]),
            names(&["d"]),
            names(&["m", "o"])
        ]
    );
    let edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .map(|(from, to)| (from.to_owned(), to.to_owned()));
    assert_eq!(find_cycle(edges.iter()), Some(names(&["a", "b", "c", "a"])));
    assert_eq!(find_cycle(edges[..2].iter()), None);
}

/// The module a file of `src/` is (`demo/update.rs` is `["demo", "update"]`, `lib.rs` the root),
/// or `None` for tests.
fn module_of(relative: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if names.iter().any(|name| name == "tests") {
        return None;
    }
    if matches!(names.last().map(String::as_str), Some("mod" | "lib")) {
        names.pop();
    }
    Some(names)
}

/// The modules (of `known`) that the code of `module` names by a `crate::`, `super::` or `self::`
/// path, in `use` trees or inline.
fn modules_used(
    text: &str,
    module: &[String],
    known: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let code: String = text
        .lines()
        .map(|line| split_comment(line).0 + "\n")
        .collect();
    let bytes = code.as_bytes();
    let mut used = BTreeSet::new();
    for anchor in ["crate", "super", "self"] {
        for (at, _) in code.match_indices(anchor) {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let path_follows = code[at + anchor.len()..].trim_start().starts_with("::");
            if !path_follows
                || before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
            {
                continue;
            }
            let mut rest = &code[at..];
            for path in use_tree(&mut rest, Vec::new()) {
                if let Some(target) = resolve(module, &path, known) {
                    used.insert(target);
                }
            }
        }
    }
    used.remove(module);
    used
}

/// The paths a use tree (or an inline path) at the start of `rest` names, each after `prefix`:
/// `crate::{a::{b, c}, d}` names `crate::a::b`, `crate::a::c` and `crate::d`.
fn use_tree(rest: &mut &str, prefix: Vec<String>) -> Vec<Vec<String>> {
    *rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        *rest = inner;
        let mut paths = Vec::new();
        loop {
            // Rustfmt ends a group spread over lines with a comma: nothing follows it.
            if let Some(after) = rest.trim_start().strip_prefix('}') {
                *rest = after;
                return paths;
            }
            paths.extend(use_tree(rest, prefix.clone()));
            *rest = rest.trim_start();
            match rest.strip_prefix(',') {
                Some(after) => *rest = after,
                None => {
                    *rest = rest.strip_prefix('}').unwrap_or(rest);
                    return paths;
                }
            }
        }
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if end == 0 {
        return vec![prefix];
    }
    let mut path = prefix;
    path.push(rest[..end].to_owned());
    *rest = &rest[end..];
    match rest.trim_start().strip_prefix("::") {
        Some(after) => {
            *rest = after;
            use_tree(rest, path)
        }
        None => vec![path],
    }
}

/// The module a path written in `module` leads into: the longest of its prefixes that is a module.
fn resolve(
    module: &[String],
    path: &[String],
    known: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let (mut full, rest) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (module.to_vec(), &path[1..]),
        "super" => {
            let supers = path.iter().take_while(|name| *name == "super").count();
            (
                module[..module.len().checked_sub(supers)?].to_vec(),
                &path[supers..],
            )
        }
        _ => return None,
    };
    full.extend(rest.iter().cloned());
    (0..=full.len())
        .rev()
        .map(|n| full[..n].to_vec())
        .find(|prefix| known.contains(prefix))
}

/// A cycle in the graph of `edges`, as the names along it (the first repeated at the end).
fn find_cycle<'a>(edges: impl Iterator<Item = &'a (String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges {
        next.entry(from).or_default().push(to);
    }
    // Depth first from each node; a node met again on the current path closes a cycle.
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|&on| on == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|&n| n.to_owned()).collect();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for &to in next.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(to, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    let nodes: Vec<&str> = next.keys().copied().collect();
    nodes
        .into_iter()
        .find_map(|node| visit(node, &next, &mut Vec::new(), &mut done))
}

/// A function with a body: its name, the line its `fn` is on and how many lines it spans.
struct Function {
    name: String,
    line: usize,
    lines: usize,
}

/// Every function with a body in `text`, nested ones included. The sources are formatted by
/// rustfmt, which closes a body with `}` alone at the indentation its `fn` line has, so lines are
/// enough: no parser needed.
fn functions(text: &str) -> Vec<Function> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let (code, _) = split_comment(line);
        let Some(name) = fn_name(&code) else {
            continue;
        };
        let indent = &line[..line.len() - line.trim_start().len()];
        // The signature ends at the first `{` (a body) or `;` (a declaration).
        let Some(open) = (index..lines.len()).find(|&at| {
            let (code, _) = split_comment(lines[at]);
            code.contains('{') || code.trim_end().ends_with(';')
        }) else {
            continue;
        };
        let (opening, _) = split_comment(lines[open]);
        if !opening.contains('{') {
            continue;
        }
        let close = if opening.trim_end().ends_with('}') {
            Some(open)
        } else {
            let closing = format!("{indent}}}");
            (open + 1..lines.len()).find(|&at| lines[at].trim_end() == closing)
        };
        if let Some(close) = close {
            found.push(Function {
                name,
                line: index + 1,
                lines: close - index + 1,
            });
        }
    }
    found
}

/// The name of the function a line of code declares, if it declares one.
fn fn_name(code: &str) -> Option<String> {
    let mut words = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty());
    loop {
        match words.next()? {
            "pub" | "crate" | "super" | "in" | "self" | "async" | "const" | "unsafe" | "extern" => {
            }
            "fn" => return words.next().map(str::to_owned),
            _ => return None,
        }
    }
}

/// Where a browser crate is used in `text`: (line number, the path segment that names it).
fn browser_crates_used(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let (code, _) = split_comment(line);
        for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if BROWSER_CRATES.iter().any(|name| word.starts_with(name)) {
                found.push((index + 1, word.to_owned()));
            }
        }
    }
    found
}

/// The line numbers of `#[allow(...)]` / `#![allow(...)]` attributes that neither end in a comment
/// nor follow one (other attributes between the comment and the `allow` are fine).
fn allows_without_comment(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let (code, commented) = split_comment(line);
        let code = code.trim();
        if !(code.starts_with("#[allow(") || code.starts_with("#![allow(")) || commented {
            continue;
        }
        let above = lines[..index]
            .iter()
            .rev()
            .map(|line| line.trim())
            .find(|line| !line.starts_with("#[") && !line.starts_with("#!["));
        if !above.is_some_and(|line| line.starts_with("//")) {
            found.push(index + 1);
        }
    }
    found
}

/// A line's code, with string literals blanked out, and whether a `//` comment follows it.
fn split_comment(line: &str) -> (String, bool) {
    let mut code = String::new();
    let mut in_string = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
                continue;
            }
            // A character literal `'"'` opens no string.
            '\'' if !in_string && chars.peek() == Some(&'"') => {
                chars.next();
                code.push_str("   ");
                continue;
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek() == Some(&'/') => return (code, true),
            _ => {}
        }
        if !in_string && c != '"' {
            code.push(c);
        } else {
            // Strings count as blanks: their text is not code.
            code.push(' ');
        }
    }
    (code, false)
}

fn workspace_root() -> PathBuf {
    // xtask lives one directory below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// Every `.rs` file below `dir`, leaving out build output, installed tools and hidden folders.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with('.') || ["target", "pkg", "node_modules"].contains(&name) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A path as the workspace names it.
fn shown(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
