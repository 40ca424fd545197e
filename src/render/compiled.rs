//! The templates `build.rs` compiled, rebuilt as handlebars `Template`s: the page never parses a
//! template (see `build.rs` for the format, and `xtask/src/shrink.rs` for why that matters).
//!
//! Whether an element stands on a line of its own is not rebuilt (handlebars keeps it private): the
//! build takes the line breaks out of the templates, so none does. A test renders every template
//! both ways and compares.

use std::collections::HashMap;

use handlebars::{
    Path, PathSeg, Template,
    template::{
        DecoratorTemplate, ExpressionSpec, ExpressionSpecBuilder, HelperTemplate, Parameter,
        TemplateElement,
    },
};
use serde_json::{Map, Value};

/// The compiled templates, as `build.rs` wrote them.
const COMPILED: &str = include_str!(concat!(env!("OUT_DIR"), "/templates/compiled.json"));

/// Every template, by name (`page`, and each panel's).
pub(crate) fn templates() -> Vec<(String, Template)> {
    // No `expect`: printing serde_json's error would add its formatting to the page, for a
    // panic every test of the page rules out.
    let compiled: Value =
        serde_json::from_str(COMPILED).unwrap_or_else(|_| panic!("build.rs writes JSON"));
    let Value::Object(templates) = compiled else {
        panic!("build.rs writes an object of templates");
    };
    templates
        .into_iter()
        .map(|(name, elements)| {
            let mut template = template(&elements);
            template.name = Some(name.clone());
            (name, template)
        })
        .collect()
}

fn template(elements: &Value) -> Template {
    let mut template = Template::default();
    template.elements = elements
        .as_array()
        .map_or_else(Vec::new, |elements| elements.iter().map(element).collect());
    template
}

fn element(element: &Value) -> TemplateElement {
    if let Value::String(text) = element {
        return TemplateElement::RawString(text.clone());
    }
    let part = |key: &str| element.get(key).and_then(Value::as_object);
    if let Some(helper) = part("e") {
        TemplateElement::Expression(Box::new(helper_template(helper, false)))
    } else if let Some(helper) = part("h") {
        TemplateElement::HtmlExpression(Box::new(helper_template(helper, false)))
    } else if let Some(helper) = part("b") {
        TemplateElement::HelperBlock(Box::new(helper_template(helper, true)))
    } else if let Some(partial) = part("p") {
        let mut built = DecoratorTemplate::new(spec(partial), false);
        built.indent = partial.get("d").and_then(Value::as_str).map(str::to_owned);
        TemplateElement::PartialExpression(Box::new(built))
    } else {
        panic!("build.rs wrote an element this page does not know: {element}")
    }
}

fn helper_template(helper: &Map<String, Value>, block: bool) -> HelperTemplate {
    let chained = helper.get("c") == Some(&Value::Bool(true));
    let mut built = if chained {
        HelperTemplate::new_chain(spec(helper), block, false)
    } else {
        HelperTemplate::new(spec(helper), block, false)
    };
    built.template = helper.get("t").map(template);
    built.inverse = helper.get("i").map(template);
    built
}

/// The name, parameters and hash of a helper or partial.
fn spec(expression: &Map<String, Value>) -> ExpressionSpec {
    let params = expression
        .get("a")
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |params| params.iter().map(parameter).collect());
    let hash: HashMap<String, Parameter> = expression
        .get("k")
        .and_then(Value::as_object)
        .map_or_else(HashMap::new, |hash| {
            hash.iter()
                .map(|(key, value)| (key.clone(), parameter(value)))
                .collect()
        });
    ExpressionSpecBuilder::default()
        .name(parameter(&expression["n"]))
        .params(params)
        .hash(hash)
        .omit_pre_ws(false)
        .omit_pro_ws(false)
        .build()
        .unwrap_or_else(|_| panic!("every field of an expression is set"))
}

fn parameter(parameter: &Value) -> Parameter {
    if let Value::String(raw) = parameter {
        // A path: its names between dots (build.rs checked that this is how handlebars reads it).
        let segments = raw
            .split('.')
            .filter(|segment| *segment != "this")
            .map(|segment| PathSeg::Named(segment.to_owned()))
            .collect();
        return Parameter::Path(Path::Relative((segments, raw.clone())));
    }
    if let Some(name) = parameter.get("n").and_then(Value::as_str) {
        Parameter::Name(name.to_owned())
    } else if let Some(value) = parameter.get("l") {
        Parameter::Literal(value.clone())
    } else {
        panic!("build.rs wrote a parameter this page does not know: {parameter}")
    }
}

#[cfg(test)]
mod tests;
