//! The layers read top-down: a module imports only from layers below it, and no two sibling
//! modules import each other (directly or around a circle). Reads every `use crate::…`,
//! `use super::…`, `use self::…` and inline `crate::x::` / `super::x::` path in `src/**`.
//!
//! Layers, lowest first (ARCHITECTURE.md):
//!   fleet ← source ← ops ← drill, report ← app ← config ← ui ← top
//! - `config` (themes, keymaps) sits between `app` and `ui`: a keymap binds `app::Action`s and a
//!   theme styles `fleet::Status`, and the panes draw with both.
//! - `top` is what runs the program: `console`, `commands`, `setup`, `gallery` (the screenshots
//!   drive the real pipeline and the render code), `cli` (the flags), `tui` (the terminal guard),
//!   `logging` (set up once by `main`) and the crate root. Nothing below may import them: settings
//!   are built in `setup` and passed down as values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Rank of a top-level module; a module may import only modules of lower or equal rank.
fn rank(top: &str) -> Option<(u8, &'static str)> {
    Some(match top {
        "fleet" => (0, "fleet"),
        "source" => (10, "source"),
        "ops" => (20, "ops"),
        "drill" => (30, "drill"),
        "report" => (30, "report"),
        "app" => (40, "app"),
        "config" => (45, "config"),
        "ui" => (50, "ui"),
        "" | "console" | "commands" | "setup" | "gallery" | "cli" | "tui" | "logging" => {
            (90, "top")
        }
        _ => return None,
    })
}

/// Known breaks being removed by work in progress (issue 7 §4, by other hands): each entry must
/// still occur — delete it here when the import is gone — and nothing new may be added. Line
/// numbers are written `*`.
const KNOWN: &[&str] = &[];

/// The Elm core of `app` is one unit by design: an `Action` carries the reports of the dialog, of
/// the drill panel and of a look switch, the `State` holds the open dialog and the drill panel,
/// `update` hands actions to `dialog`, `drill`, `look` and `week_charts` (the detail view's 7-day
/// reads; what they hold, `week_cache`, stays outside). Circles among these are not reported; any
/// other module of `app` must not join them.
const ELM_UNIT: &[&str] = &[
    "app::action",
    "app::dialog",
    "app::drill",
    "app::look",
    "app::state",
    "app::update",
    "app::week_charts",
];

/// `src/ops/aws.rs:25: …` → `src/ops/aws.rs:*: …`, so a known entry survives edits around it.
fn without_lines(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(at) = rest.find(".rs:") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('*');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

type Module = Vec<String>;

struct File {
    /// Relative to `src/`, e.g. `ops/plan/weight.rs`.
    path: String,
    module: Module,
    text: String,
}

/// `ops/plan/weight.rs` → ops::plan::weight; `ops/mod.rs` → ops; `lib.rs` → the crate root.
fn module_of(path: &str) -> Module {
    let mut segs: Vec<String> = path
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(segs.last().map(String::as_str), Some("mod" | "lib")) {
        segs.pop();
    }
    segs
}

#[derive(Debug, Clone, PartialEq)]
struct Ref {
    line: usize,
    /// Absolute path from the crate root (`crate`, `super`, `self` resolved).
    path: Vec<String>,
    /// Written in a `pub use` at the module's top level (a re-export).
    reexport: bool,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `a::{b, c::{d, e as f}}` → [a::b, a::c::d, a::c::e] (an alias keeps the original path, plus
/// the alias as the name it is known by).
fn expand(tree: &str) -> Vec<(Vec<String>, String)> {
    let mut tree = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    for p in ["::", "{", "}", ","] {
        tree = tree
            .replace(&format!(" {p}"), p)
            .replace(&format!("{p} "), p);
    }
    fn go(prefix: &[String], t: &str, out: &mut Vec<(Vec<String>, String)>) {
        // split at top-level commas
        let mut depth = 0;
        let mut start = 0;
        let mut parts = Vec::new();
        for (i, c) in t.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&t[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&t[start..]);
        for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(open) = part.find('{') {
                let head = part[..open].trim_end_matches("::");
                let mut p = prefix.to_vec();
                p.extend(head.split("::").filter(|s| !s.is_empty()).map(String::from));
                go(&p, &part[open + 1..part.len() - 1], out);
            } else {
                let (path, alias) = match part.split_once(" as ") {
                    Some((p, a)) => (p, Some(a.trim())),
                    None => (part, None),
                };
                let mut p = prefix.to_vec();
                p.extend(path.split("::").map(String::from));
                if p.last().map(String::as_str) == Some("self") {
                    p.pop();
                }
                let name = alias
                    .map(String::from)
                    .unwrap_or_else(|| p.last().cloned().unwrap_or_default());
                out.push((p, name));
            }
        }
    }
    let mut out = Vec::new();
    go(&[], &tree, &mut out);
    out
}

/// Resolve `crate`/`super`/`self` (and a path starting with one of `children`) against `module`.
fn absolute(
    module: &[String],
    path: &[String],
    children: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let mut base = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) if children.contains(first) => {}
        _ => return None, // std, an external crate, a local item
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Every module path a file refers to, with its line.
fn refs(file: &File, modules: &BTreeSet<Module>) -> Vec<Ref> {
    let children_of = |m: &[String]| -> BTreeSet<String> {
        modules
            .iter()
            .filter(|x| x.len() == m.len() + 1 && x.starts_with(m))
            .map(|x| x.last().unwrap().clone())
            .collect()
    };
    let mut module = file.module.clone();
    let mut children = children_of(&module);
    let mut inline = false;
    let mut out = Vec::new();
    let mut pending: Option<(usize, bool, String)> = None;
    for (i, raw) in file.text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let trimmed = line.trim();
        if !inline {
            let decl = trimmed
                .strip_prefix("pub ")
                .unwrap_or(trimmed)
                .strip_prefix("mod ");
            if let Some(name) = decl.and_then(|d| d.strip_suffix('{')) {
                // An inline module (tests): `super` is now the file's module.
                inline = true;
                module.push(name.trim().to_string());
                children = BTreeSet::new();
                continue;
            }
        }
        if let Some((start, public, mut text)) = pending.take() {
            text.push_str(line);
            if let Some(end) = text.find(';') {
                for (p, _) in expand(&text[..end]) {
                    if let Some(path) = absolute(&module, &p, &children) {
                        out.push(Ref {
                            line: start,
                            path,
                            reexport: public && !inline,
                        });
                    }
                }
            } else {
                pending = Some((start, public, text));
            }
            continue;
        }
        let (public, after_vis) = match trimmed.strip_prefix("pub") {
            Some(r) if r.starts_with(' ') || r.starts_with('(') => {
                let r = r.trim_start();
                let r = if r.starts_with('(') {
                    &r[r.find(')').map(|x| x + 1).unwrap_or(0)..]
                } else {
                    r
                };
                (true, r.trim_start())
            }
            _ => (false, trimmed),
        };
        if let Some(tree) = after_vis.strip_prefix("use ") {
            pending = Some((i + 1, public, String::new()));
            let (s, p, mut text) = pending.take().unwrap();
            text.push_str(tree);
            if let Some(end) = text.find(';') {
                for (p2, _) in expand(&text[..end]) {
                    if let Some(path) = absolute(&module, &p2, &children) {
                        out.push(Ref {
                            line: s,
                            path,
                            reexport: p && !inline,
                        });
                    }
                }
            } else {
                pending = Some((s, p, text));
            }
            continue;
        }
        // Inline paths: `crate::a::b` and `super::a::b` anywhere in the code.
        for key in ["crate::", "super::"] {
            let mut from = 0;
            while let Some(at) = line[from..].find(key) {
                let at = from + at;
                from = at + key.len();
                if line[..at]
                    .chars()
                    .last()
                    .is_some_and(|c| is_ident(c) || c == ':')
                {
                    continue;
                }
                let tail: String = line[at..]
                    .chars()
                    .take_while(|c| is_ident(*c) || *c == ':')
                    .collect();
                let segs: Vec<String> = tail
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                if let Some(path) = absolute(&module, &segs, &children) {
                    out.push(Ref {
                        line: i + 1,
                        path,
                        reexport: false,
                    });
                }
            }
        }
    }
    out
}

struct Crate {
    files: Vec<File>,
    modules: BTreeSet<Module>,
    refs: BTreeMap<usize, Vec<Ref>>,
}

impl Crate {
    fn new(files: Vec<File>) -> Crate {
        let modules: BTreeSet<Module> = files.iter().map(|f| f.module.clone()).collect();
        let refs = files
            .iter()
            .enumerate()
            .map(|(i, f)| (i, refs(f, &modules)))
            .collect();
        Crate {
            files,
            modules,
            refs,
        }
    }

    fn file_of(&self, module: &[String]) -> Option<&File> {
        self.files.iter().find(|f| f.module == module)
    }

    /// The module a path lands in: its longest module prefix, followed through the `pub use`
    /// re-exports of that module (`app::Effect` is `app::update::Effect`).
    fn resolve(&self, path: &[String], depth: usize) -> Module {
        let n = (0..=path.len())
            .rev()
            .find(|n| self.modules.contains(&path[..*n]))
            .unwrap_or(0);
        let module = path[..n].to_vec();
        let Some(name) = path.get(n) else {
            return module;
        };
        if depth > 4 {
            return module;
        }
        let Some(fi) = self.files.iter().position(|f| f.module == module) else {
            return module;
        };
        let file = &self.files[fi];
        for r in self.refs[&fi].iter().filter(|r| r.reexport) {
            let last = r.path.last().map(String::as_str);
            if last == Some(name.as_str()) {
                return self.resolve(&r.path, depth + 1);
            }
            if last == Some("*") {
                let target = self.resolve(&r.path[..r.path.len() - 1], depth + 1);
                if self
                    .file_of(&target)
                    .is_some_and(|t| declares(&t.text, name))
                {
                    return target;
                }
            }
        }
        // `pub use x::{A as B}` is rare here; an unknown name stays in `module`.
        let _ = file;
        module
    }

    /// Every (file, line, target module) edge, re-exports included.
    fn edges(&self) -> Vec<(&File, usize, Module)> {
        let mut out = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            for r in &self.refs[&i] {
                let path: Vec<String> = r.path.iter().filter(|s| *s != "*").cloned().collect();
                out.push((f, r.line, self.resolve(&path, 0)));
            }
        }
        out
    }

    /// `path:line: ops imports app (crate::app::dialog)` for each import from a higher layer.
    fn layer_violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (f, line, target) in self.edges() {
            let from = f.module.first().map(String::as_str).unwrap_or("");
            let to = target.first().map(String::as_str).unwrap_or("");
            let (Some((rf, lf)), Some((rt, lt))) = (rank(from), rank(to)) else {
                continue;
            };
            if rt > rf {
                out.push(format!(
                    "src/{}:{line}: {lf} ({from}) imports {lt} ({})",
                    f.path,
                    target.join("::")
                ));
            }
        }
        out
    }

    /// Circles among the sub-modules of one module (`ops::plan` → `ops::whatif` → `ops::plan`),
    /// each with the imports that close it. A module's own file (`mod.rs`) is not part of a
    /// circle with its children: `pub use child::X` is how Rust modules expose their parts.
    fn cycles(&self) -> Vec<String> {
        let mut out = Vec::new();
        for parent in &self.modules {
            if parent.is_empty() {
                continue; // across layers: `layer_violations`
            }
            let child = |m: &[String]| -> Option<String> {
                (m.len() > parent.len() && m.starts_with(parent)).then(|| m[parent.len()].clone())
            };
            let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            for (f, line, target) in self.edges() {
                if let (Some(a), Some(b)) = (child(&f.module), child(&target)) {
                    if a != b {
                        graph
                            .entry(a)
                            .or_default()
                            .entry(b)
                            .or_insert_with(|| format!("src/{}:{line}", f.path));
                    }
                }
            }
            let reach = |from: &str, to: &str| -> Option<Vec<String>> {
                // Shortest path from → to, by breadth-first search.
                let mut prev: BTreeMap<String, String> = BTreeMap::new();
                let mut queue = std::collections::VecDeque::from([from.to_string()]);
                while let Some(n) = queue.pop_front() {
                    for m in graph.get(&n).map(|e| e.keys()).into_iter().flatten() {
                        if m == to {
                            let mut path = vec![to.to_string(), n.clone()];
                            let mut cur = n.clone();
                            while let Some(p) = prev.get(&cur) {
                                path.push(p.clone());
                                cur = p.clone();
                            }
                            path.reverse();
                            return Some(path);
                        }
                        if !prev.contains_key(m) && m != from {
                            prev.insert(m.clone(), n.clone());
                            queue.push_back(m.clone());
                        }
                    }
                }
                None
            };
            let mut seen = BTreeSet::new();
            for a in graph.keys() {
                if seen.contains(a) {
                    continue;
                }
                if let Some(path) = reach(a, a) {
                    let names: Vec<String> = path
                        .iter()
                        .map(|c| {
                            let mut m = parent.clone();
                            m.push(c.clone());
                            m.join("::")
                        })
                        .collect();
                    let at: Vec<&str> = path
                        .windows(2)
                        .map(|w| graph[&w[0]][&w[1]].as_str())
                        .collect();
                    seen.extend(path.iter().cloned());
                    if names.iter().all(|n| ELM_UNIT.contains(&n.as_str())) {
                        continue;
                    }
                    out.push(format!("circle {} ({})", names.join(" → "), at.join(", ")));
                }
            }
        }
        out
    }
}

/// Does the file declare a public item called `name`?
fn declares(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        let Some(rest) = l.strip_prefix("pub ") else {
            return false;
        };
        let rest = rest.trim_start_matches("async ");
        [
            "struct ", "enum ", "fn ", "const ", "trait ", "type ", "static ", "mod ",
        ]
        .iter()
        .any(|k| {
            rest.strip_prefix(k)
                .is_some_and(|r| r.starts_with(name) && !r[name.len()..].starts_with(is_ident))
        })
    })
}

fn read_src() -> Vec<File> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<File>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel == "main.rs" {
                    continue; // the binary: it sees the library as `opsdeck::`, from outside
                }
                out.push(File {
                    module: module_of(&rel),
                    path: rel,
                    text: std::fs::read_to_string(&p).unwrap(),
                });
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn check(files: Vec<File>, known: &[&str]) -> Result<(), String> {
    let krate = Crate::new(files);
    let unranked: Vec<String> = krate
        .modules
        .iter()
        .filter_map(|m| m.first())
        .filter(|t| rank(t).is_none())
        .map(|t| format!("top-level module `{t}` has no layer: add it to `rank`"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found: Vec<String> = krate
        .layer_violations()
        .into_iter()
        .chain(krate.cycles())
        .collect();
    let is_known = |v: &str| known.iter().any(|k| without_lines(v).starts_with(k));
    let mut problems = unranked;
    problems.extend(found.iter().filter(|v| !is_known(v)).cloned());
    problems.extend(
        known
            .iter()
            .filter(|k| !found.iter().any(|v| without_lines(v).starts_with(*k)))
            .map(|k| format!("`{k}` no longer happens: delete it from KNOWN")),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn every_module_imports_only_from_layers_below_it_and_siblings_form_no_circle() {
    let files = read_src();
    assert!(files.len() > 50, "read src/**: {} files", files.len());
    if let Err(e) = check(files, KNOWN) {
        panic!("the layers no longer read top-down (ARCHITECTURE.md, tests/layering.rs):\n{e}");
    }
}

// ---- the checker itself, on made-up crates ----

fn file(path: &str, text: &str) -> File {
    File {
        path: path.into(),
        module: module_of(path),
        text: text.into(),
    }
}

fn base() -> Vec<File> {
    vec![
        file("lib.rs", "pub mod app;\npub mod ops;\npub mod fleet;\n"),
        file("fleet/mod.rs", "pub struct Fleet;\n"),
        file(
            "app/mod.rs",
            "pub mod update;\npub mod dialog;\npub use update::{update, Effect};\n",
        ),
        file(
            "app/update.rs",
            "use crate::fleet::Fleet;\npub enum Effect {}\n",
        ),
        file("app/dialog.rs", "use super::Effect;\n"),
        file("ops/mod.rs", "pub mod runner;\n"),
    ]
}

#[test]
fn checker_accepts_imports_from_below() {
    let mut files = base();
    files.push(file("ops/runner.rs", "use crate::fleet::Fleet;\n"));
    assert_eq!(check(files, &[]), Ok(()));
}

#[test]
fn checker_names_the_file_and_line_of_an_import_from_above() {
    let mut files = base();
    files.push(file(
        "ops/runner.rs",
        "use crate::fleet::Fleet;\n\nuse crate::{\n    app::dialog::Dialog,\n};\nfn f() { let _ = crate::app::update(); }\n",
    ));
    let e = check(files, &[]).unwrap_err();
    assert!(
        e.contains("src/ops/runner.rs:3: ops (ops) imports app (app::dialog)"),
        "{e}"
    );
    // An inline path, resolved through the re-export to the module that defines it.
    assert!(
        e.contains("src/ops/runner.rs:6: ops (ops) imports app (app::update)"),
        "{e}"
    );
}

#[test]
fn checker_finds_a_circle_through_a_child_module_and_a_reexport() {
    let mut files = base();
    files.push(file("ops/runner.rs", ""));
    files.push(file("ops/plan/mod.rs", "pub mod weight;\n"));
    files.push(file(
        "ops/plan/weight.rs",
        "use crate::ops::whatif::Model;\n",
    ));
    files.push(file(
        "ops/whatif.rs",
        "pub struct Model;\nfn f() { super::plan::unknown(); }\n",
    ));
    let e = check(files, &[]).unwrap_err();
    assert!(
        e.contains("circle ops::plan → ops::whatif → ops::plan"),
        "{e}"
    );
    assert!(e.contains("src/ops/plan/weight.rs:1"), "{e}");
    assert!(e.contains("src/ops/whatif.rs:2"), "{e}");
    // Within app, dialog → update through `super::Effect` is one way only: no circle.
    assert!(!e.contains("app::"), "{e}");
}

#[test]
fn checker_keeps_its_list_of_known_breaks_exact() {
    let mut files = base();
    files.push(file("ops/runner.rs", "use crate::app::Effect;\n"));
    assert_eq!(check(files, &["src/ops/runner.rs:*: ops"]), Ok(()));
    let mut files = base();
    files.push(file("ops/runner.rs", ""));
    let e = check(files, &["src/ops/runner.rs:*: ops"]).unwrap_err();
    assert!(e.contains("no longer happens"), "{e}");
}

#[test]
fn checker_reads_tests_modules_and_use_trees() {
    assert_eq!(
        expand("crate::{a::b, c::{d, e as f}, g::self}"),
        vec![
            (
                vec!["crate".into(), "a".into(), "b".into()],
                "b".to_string()
            ),
            (
                vec!["crate".into(), "c".into(), "d".into()],
                "d".to_string()
            ),
            (
                vec!["crate".into(), "c".into(), "e".into()],
                "f".to_string()
            ),
            (vec!["crate".into(), "g".into()], "g".to_string()),
        ]
    );
    // `use super::*` in a file's tests module is the file itself, not its parent.
    let mut files = base();
    files.push(file(
        "ops/runner.rs",
        "pub fn run() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
    ));
    assert_eq!(check(files, &[]), Ok(()));
}
