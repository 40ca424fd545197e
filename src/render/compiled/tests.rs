//! The compiled templates render exactly what handlebars renders from the minified sources, and
//! those say what the written templates say: only whitespace differs.

use handlebars::{Context, Handlebars, RenderError};
use serde_json::Value;

use crate::{
    render::{Collapse, Renderer, tests::busy_state, view::view},
    state::State,
};

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
    [crate::update::init().0, busy_state()]
}

/// What `render` makes of every template for each state, by template name.
fn renders(
    names: &[String],
    render: impl Fn(&str, &Value) -> Result<String, RenderError>,
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
    renders(&names, |name, data| registry.render(name, data))
}

#[test]
fn the_page_renders_exactly_what_handlebars_compiles() {
    let minified = parsed(concat!(env!("OUT_DIR"), "/templates"));
    let compiled = Renderer::new();
    let mut names: Vec<String> = compiled.registry.get_templates().keys().cloned().collect();
    names.sort();
    let from_compiled = renders(&names, |name, data| {
        compiled.render(name, &Context::from(data.clone()))
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
