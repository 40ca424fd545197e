//! Compiles the page's Handlebars templates when the app is built, as Handlebars.js's precompiler
//! does, so the page carries the compiled templates instead of a template parser.
//!
//! Each `templates/<name>.hbs` loses its comments and the indentation between lines (a run of
//! whitespace holding a newline becomes one space, which HTML shows the same; `<pre>` is left as
//! written), is compiled with handlebars itself, and is written as JSON into
//! `$OUT_DIR/templates/compiled.json`: `{"<name>": [element, …]}`, read by
//! `src/render/compiled.rs`. The minified sources go beside it, for the test that the page renders
//! them exactly as handlebars does. Every
//! template feature the page's templates use is encoded; any other fails the build here, naming
//! the template, rather than rendering differently in the page.

use std::{env, fs, path::Path};

use handlebars::{
    Path as JsonPath, PathSeg, Template,
    template::{DecoratorTemplate, HelperTemplate, Parameter, TemplateElement},
};
use serde_json::{Map, Value, json};

fn main() {
    println!("cargo::rerun-if-changed=templates");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("templates");
    fs::create_dir_all(&out).expect("creating $OUT_DIR/templates");
    let mut compiled = Map::new();
    let mut files: Vec<_> = fs::read_dir("templates")
        .expect("reading templates/")
        .map(|entry| entry.expect("a templates/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "hbs"))
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("a template name")
            .to_owned();
        let source = fs::read_to_string(&path).expect("reading a template");
        let minified = minify(&source);
        let template = Template::compile(&minified)
            .unwrap_or_else(|e| panic!("templates/{name}.hbs does not compile: {e}"));
        // What was compiled, for the test that the page renders exactly what handlebars does.
        fs::write(out.join(format!("{name}.hbs")), &minified).expect("writing a minified template");
        let encoded = template_json(&template, &name);
        compiled.insert(name, encoded);
    }
    let json = Value::Object(compiled).to_string();
    fs::write(out.join("compiled.json"), json).expect("writing compiled.json");
}

/// The template without comments, and with each run of whitespace that holds a newline made one
/// space, except inside `<pre>`, whose whitespace is content.
fn minify(source: &str) -> String {
    let mut text = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{!--") {
        text.push_str(&rest[..start]);
        let end = rest[start..]
            .find("--}}")
            .map_or(rest.len(), |end| start + end + 4);
        rest = &rest[end..];
    }
    text.push_str(rest);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.trim();
    loop {
        let (outside, pre) = match rest.find("<pre") {
            Some(start) => {
                let end = rest[start..]
                    .find("</pre>")
                    .map_or(rest.len(), |end| start + end + "</pre>".len());
                (&rest[..start], Some((&rest[start..end], &rest[end..])))
            }
            None => (rest, None),
        };
        collapse_newlines(outside, &mut out);
        let Some((pre, after)) = pre else {
            return out;
        };
        out.push_str(pre);
        rest = after;
    }
}

/// Appends `text` with each whitespace run holding a newline made one space.
fn collapse_newlines(text: &str, out: &mut String) {
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            run.push(c);
            continue;
        }
        flush(&mut run, out);
        out.push(c);
    }
    flush(&mut run, out);
}

fn flush(run: &mut String, out: &mut String) {
    if run.contains('\n') {
        out.push(' ');
    } else {
        out.push_str(run);
    }
    run.clear();
}

/// The helpers every handlebars registry has that the page's build cuts, unused, out of the
/// module (`xtask/src/shrink.rs`): a template naming one fails the build here.
const CUT_HELPERS: [&str; 12] = [
    "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len",
];

/// `[element, …]`: a string for text; `{"e": helper}` for `{{x}}` (escaped), `{"h": helper}` for
/// `{{{x}}}`, `{"b": helper}` for a block, `{"p": partial}` for `{{> name}}`.
fn template_json(template: &Template, name: &str) -> Value {
    let elements = template
        .elements
        .iter()
        .filter_map(|element| match element {
            TemplateElement::RawString(text) => Some(Value::String(text.clone())),
            TemplateElement::Comment(_) => None,
            TemplateElement::Expression(helper) => Some(json!({"e": helper_json(helper, name)})),
            TemplateElement::HtmlExpression(helper) => {
                Some(json!({"h": helper_json(helper, name)}))
            }
            TemplateElement::HelperBlock(helper) => Some(json!({"b": helper_json(helper, name)})),
            TemplateElement::PartialExpression(partial) => {
                Some(json!({"p": partial_json(partial, name)}))
            }
            other => unsupported(name, other),
        })
        .collect();
    Value::Array(elements)
}

/// `{"n": name, "a": [param, …], "k": {key: param}, "t": template, "i": inverse, "c": chained}`,
/// each part only when present.
fn helper_json(helper: &HelperTemplate, name: &str) -> Value {
    if helper.block_param.is_some() {
        unsupported(name, "block parameters (`as |x|`)");
    }
    if let Parameter::Name(helper_name) = &helper.name {
        if CUT_HELPERS.contains(&helper_name.as_str()) {
            panic!(
                "templates/{name}.hbs uses the {helper_name} helper, whose code the page's build \
                 cuts out of the module: take it out of CUT_HELPERS here and of NEVER_CALLED in \
                 xtask/src/shrink.rs"
            );
        }
    }
    let mut out = expression_json(&helper.name, &helper.params, &helper.hash, name);
    if let Some(template) = &helper.template {
        out.insert("t".into(), template_json(template, name));
    }
    if let Some(inverse) = &helper.inverse {
        out.insert("i".into(), template_json(inverse, name));
    }
    if helper.chain {
        out.insert("c".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// `{{> name}}`, with its indentation (`"d"`: the spaces before it on its line); without
/// parameters or a block.
fn partial_json(partial: &DecoratorTemplate, name: &str) -> Value {
    if partial.template.is_some() {
        unsupported(name, "partial blocks");
    }
    if !partial.params.is_empty() || !partial.hash.is_empty() {
        // The page's build cuts the code that evaluates these (xtask/src/shrink.rs).
        unsupported(name, "partials given a context or parameters");
    }
    let mut out = expression_json(&partial.name, &[], &Default::default(), name);
    if let Some(indent) = &partial.indent {
        out.insert("d".into(), Value::String(indent.clone()));
    }
    Value::Object(out)
}

fn expression_json(
    helper: &Parameter,
    params: &[Parameter],
    hash: &std::collections::HashMap<String, Parameter>,
    name: &str,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("n".into(), parameter_json(helper, name));
    if !params.is_empty() {
        let params = params.iter().map(|p| parameter_json(p, name)).collect();
        out.insert("a".into(), Value::Array(params));
    }
    if !hash.is_empty() {
        let hash = hash
            .iter()
            .map(|(key, p)| (key.clone(), parameter_json(p, name)))
            .collect();
        out.insert("k".into(), Value::Object(hash));
    }
    out
}

/// `"a.b"` (a path, as written: its segments are its names between dots), `{"n": name}` (a
/// helper's name), `{"l": value}` (a literal).
fn parameter_json(parameter: &Parameter, name: &str) -> Value {
    match parameter {
        Parameter::Name(helper) => json!({"n": helper}),
        Parameter::Path(JsonPath::Relative((segments, raw))) => {
            let segments: Vec<&str> = segments
                .iter()
                .map(|segment| match segment {
                    PathSeg::Named(segment) => segment.as_str(),
                    other => unsupported(name, other),
                })
                .collect();
            if segments != path_segments(raw) {
                unsupported(name, raw);
            }
            Value::String(raw.clone())
        }
        Parameter::Literal(value) => json!({"l": value}),
        other => unsupported(name, other),
    }
}

/// A path's segments as `src/render/compiled.rs` reads them from the path as written: its names
/// between dots (`this` is the current value, no segment).
fn path_segments(raw: &str) -> Vec<&str> {
    raw.split('.')
        .filter(|segment| *segment != "this")
        .collect()
}

fn unsupported(name: &str, what: impl std::fmt::Debug) -> ! {
    panic!(
        "templates/{name}.hbs uses {what:?}, which build.rs does not compile for the page yet: \
         add it to build.rs and src/render/compiled.rs"
    )
}
