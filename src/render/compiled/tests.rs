//! The compiled templates render exactly what handlebars renders from the minified sources, and
//! those say what the written templates say: only whitespace differs.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, Renderable,
};
use serde_json::Value;

use crate::{
    render::{self, Renderer, tests::busy_state, view::view},
    state::State,
};

/// `{{#collapse "label"}}…{{/collapse}}` as the page rendered it with handlebars.
struct Collapse;

impl HelperDef for Collapse {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        registry: &'reg Handlebars<'reg>,
        context: &'rc Context,
        render: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let label = helper
            .param(0)
            .and_then(|param| param.value().as_str())
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("collapse", 0))?;
        out.write("<details class=\"collapse\"><summary>")?;
        out.write(&handlebars::html_escape(label))?;
        out.write("</summary><div class=\"collapse-body\">")?;
        if let Some(template) = helper.template() {
            template.render(registry, context, render, out)?;
        }
        out.write("</div></details>")?;
        Ok(())
    }
}

/// A registry of the templates handlebars compiles from `dir` at run time, as the page once did.
fn parsed(dir: &str) -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_helper("collapse", Box::new(Collapse));
    for entry in std::fs::read_dir(dir).expect("a templates folder") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "hbs") {
            let name = path.file_stem().and_then(|s| s.to_str()).expect("a name");
            let source = std::fs::read_to_string(&path).expect("a template");
            registry
                .register_template_string(name, source)
                .unwrap_or_else(|e| panic!("{name} compiles: {e}"));
        }
    }
    registry
}

/// The states the checks render: before sign-in, and in the middle of a run.
fn states() -> [State; 2] {
    [State::new().0, busy_state()]
}

/// What `render` makes of every template for each state, by template name.
fn renders(
    names: &[String],
    render: impl Fn(&str, &Value) -> Result<String, String>,
) -> Vec<(String, String)> {
    states()
        .iter()
        .flat_map(|state| {
            let data = view(state);
            names
                .iter()
                .map(|name| {
                    let html =
                        render(name, &data).unwrap_or_else(|e| panic!("{name} renders: {e}"));
                    (name.clone(), html)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What a registry compiled from sources makes of every template.
fn parsed_renders(registry: &Handlebars<'_>) -> Vec<(String, String)> {
    let mut names: Vec<String> = registry.get_templates().keys().cloned().collect();
    names.sort();
    renders(&names, |name, data| {
        registry
            .render(name, data)
            .map_err(|e: RenderError| e.to_string())
    })
}

#[test]
fn the_page_renders_exactly_what_handlebars_compiles() {
    let minified = parsed(concat!(env!("OUT_DIR"), "/templates"));
    let compiled = Renderer::new();
    let mut names: Vec<String> = compiled
        .templates
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    let from_compiled = renders(&names, |name, data| {
        compiled
            .render(name, &render::Context::from(data.clone()))
            .map_err(|e| e.0.to_owned())
    });
    assert_eq!(from_compiled, parsed_renders(&minified));
}

#[test]
fn minifying_changes_only_whitespace() {
    let written = parsed(concat!(env!("CARGO_MANIFEST_DIR"), "/templates"));
    let minified = parsed(concat!(env!("OUT_DIR"), "/templates"));
    // HTML shows a run of whitespace as one space (`<pre>` aside, which minifying keeps), and
    // none between two tags of the page's blocks: a removed line of a block helper may leave one.
    let shown = |renders: Vec<(String, String)>| -> Vec<(String, String)> {
        renders
            .into_iter()
            .map(|(name, html)| {
                let words: Vec<&str> = html.split_whitespace().collect();
                (name, words.join(" ").replace("> <", "><"))
            })
            .collect()
    };
    let (written_renders, minified_renders) = (parsed_renders(&written), parsed_renders(&minified));
    let size = |renders: &[(String, String)]| -> usize {
        renders.iter().map(|(_, html)| html.len()).sum()
    };
    assert!(
        size(&minified_renders) < size(&written_renders),
        "minifying makes the page smaller"
    );
    for ((name, written), (_, minified)) in
        shown(written_renders).iter().zip(&shown(minified_renders))
    {
        assert_eq!(written, minified, "{name}");
    }
}

/// Values of every kind, text with what HTML escaping and a partial's indentation act on.
fn odd_values() -> Vec<Value> {
    serde_json::from_str(
        r#"["a<b>&\"'`= \nsecond line\r\n  third\n", null, true, false, 0, 2.5, "",
            [], ["x", 2, {"k": 1}], {}, {"k": "v"}]"#,
    )
    .expect("JSON")
}

/// The data with one field (or one field of a field's object or first item) made `value`.
fn variants(data: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let Value::Object(fields) = data else {
        return out;
    };
    for (name, field) in fields {
        for value in odd_values() {
            let mut changed = data.clone();
            changed[name.as_str()] = value;
            out.push(changed);
        }
        let inner = match field {
            Value::Array(items) => items.first(),
            Value::Object(_) => Some(field),
            _ => None,
        };
        let Some(Value::Object(inner)) = inner else {
            continue;
        };
        for key in inner.keys() {
            for value in odd_values() {
                let mut changed = data.clone();
                let target = match &mut changed[name.as_str()] {
                    Value::Array(items) => &mut items[0],
                    object => object,
                };
                target[key.as_str()] = value;
                out.push(changed);
            }
        }
    }
    out
}

/// Whatever the data holds, the page renders what handlebars renders, or fails where it fails.
#[test]
fn the_page_renders_any_data_as_handlebars_does() {
    let minified = parsed(concat!(env!("OUT_DIR"), "/templates"));
    let compiled = Renderer::new();
    let mut checked = 0;
    for state in states() {
        for data in variants(&view(&state)) {
            let ours = compiled
                .render("page", &render::Context::from(data.clone()))
                .ok();
            let theirs = minified.render("page", &data).ok();
            assert_eq!(ours, theirs, "from {data}");
            checked += usize::from(ours.is_some());
        }
    }
    assert!(checked > 1000, "most variants render ({checked})");
}
