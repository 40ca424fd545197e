//! The templates `build.rs` compiled, read into the page's template nodes (`engine.rs`): the page
//! never parses a template (see `build.rs` for the format).
//!
//! Whether an element stands on a line of its own is not kept: the build takes the line breaks
//! out of the templates, so none does. A test renders every template with handlebars, from the
//! minified sources, and with the page's renderer, and compares.

use serde_json::{Map, Value};

use super::engine::{Block, Expression, Helper, Node, Param, Path};

/// The compiled templates, as `build.rs` wrote them.
const COMPILED: &str = include_str!(concat!(env!("OUT_DIR"), "/templates/compiled.json"));

/// Every template, by name (`page`, and each panel's).
pub(crate) fn templates() -> Vec<(String, Vec<Node>)> {
    // No `expect`: printing serde_json's error would add its formatting to the page, for a
    // panic every test of the page rules out.
    let compiled: Value =
        serde_json::from_str(COMPILED).unwrap_or_else(|_| panic!("build.rs writes JSON"));
    let Value::Object(templates) = compiled else {
        panic!("build.rs writes an object of templates");
    };
    templates
        .into_iter()
        .map(|(name, elements)| (name, template(&elements)))
        .collect()
}

fn template(elements: &Value) -> Vec<Node> {
    elements
        .as_array()
        .map_or_else(Vec::new, |elements| elements.iter().map(element).collect())
}

fn element(element: &Value) -> Node {
    if let Value::String(text) = element {
        return Node::Text(text.clone());
    }
    let part = |key: &str| element.get(key).and_then(Value::as_object);
    if let Some(helper) = part("e") {
        Node::Show {
            expression: expression(helper),
            escape: true,
        }
    } else if let Some(helper) = part("h") {
        Node::Show {
            expression: expression(helper),
            escape: false,
        }
    } else if let Some(helper) = part("b") {
        let param = params(helper).into_iter().next();
        let (Some(helper_kind), Some(param)) = (name(helper).and_then(Helper::named), param) else {
            panic!("build.rs wrote a block this page does not render")
        };
        Node::Block(Box::new(Block {
            helper: helper_kind,
            param,
            template: helper.get("t").map(template),
            inverse: helper.get("i").map(template),
        }))
    } else if let Some(partial) = part("p") {
        let name = partial
            .get("n")
            .and_then(|name| name.as_str().or_else(|| name.get("n")?.as_str()))
            .unwrap_or_else(|| panic!("a partial has a name"));
        Node::Partial {
            name: name.to_owned(),
            indent: partial.get("d").and_then(Value::as_str).map(str::to_owned),
        }
    } else {
        panic!("build.rs wrote an element this page does not know")
    }
}

/// `{{path}}` or `{{lookup value key}}`.
fn expression(helper: &Map<String, Value>) -> Expression {
    if let Some(Value::String(raw)) = helper.get("n") {
        return Expression::Path(path(raw));
    }
    let mut params = params(helper).into_iter();
    match (name(helper), params.next(), params.next()) {
        (Some("lookup"), Some(value), Some(key)) => Expression::Lookup(value, key),
        _ => panic!("build.rs wrote an expression this page does not render"),
    }
}

/// A helper's name (`{"n": {"n": name}}`).
fn name(helper: &Map<String, Value>) -> Option<&str> {
    helper.get("n")?.get("n")?.as_str()
}

fn params(helper: &Map<String, Value>) -> Vec<Param> {
    helper
        .get("a")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |params| params.iter().map(param).collect())
}

fn param(param: &Value) -> Param {
    if let Value::String(raw) = param {
        return Param::Path(path(raw));
    }
    match param.get("l") {
        Some(value) => Param::Literal(value.clone()),
        None => panic!("build.rs wrote a parameter this page does not know"),
    }
}

/// A path's names between dots (build.rs checked that this is how handlebars reads it).
fn path(raw: &str) -> Path {
    raw.split('.')
        .filter(|segment| *segment != "this")
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests;
