//! Turns `State` into HTML with the Handlebars templates in `templates/`.
//!
//! Templates are compiled with handlebars when the app is built (`build.rs`, read back by
//! `compiled.rs`) and rendered by `engine.rs` as handlebars' strict mode renders them, so a field
//! the view does not provide is an error instead of silently blank text. `page.hbs` lays out the whole tutorial and
//! includes one partial per panel; a single panel can also be rendered alone, which is how the
//! browser layer refreshes the part of the page that changed. What the templates see is `view.rs`.

mod compiled;
mod engine;
pub mod view;

use serde_json::Value;

use crate::{panel::Panel, state::State};

pub use self::engine::RenderError;
use self::{
    engine::{Expression, Node, Param},
    view::view,
};

/// The registered templates.
pub struct Renderer {
    templates: Vec<(String, Vec<Node>)>,
    /// What each panel's template reads, in `Panel::ALL` order (see [`reads`]).
    reads: Vec<Reads>,
}

/// What the templates are rendered from (made by [`Renderer::data`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Context(Value);

impl Context {
    pub fn data(&self) -> &Value {
        &self.0
    }
}

impl From<Value> for Context {
    fn from(data: Value) -> Context {
        Context(data)
    }
}

impl Renderer {
    pub fn new() -> Renderer {
        let templates = compiled::templates();
        let reads = Panel::ALL
            .iter()
            .map(|panel| engine::find(&templates, panel.name()).map_or(Reads::Anything, reads))
            .collect();
        Renderer { templates, reads }
    }

    /// The panels that may render differently from `new` than from `old` (all of them when
    /// there is no `old`): those whose templates read a field that changed.
    pub fn affected(&self, old: Option<&Context>, new: &Context) -> Vec<Panel> {
        let new = new.data();
        Panel::ALL
            .iter()
            .zip(&self.reads)
            .filter(|(_, reads)| match (old.map(Context::data), reads) {
                (None, _) | (_, Reads::Anything) => true,
                (Some(old), Reads::Fields(fields)) => {
                    fields.iter().any(|field| old.get(field) != new.get(field))
                }
            })
            .map(|(panel, _)| *panel)
            .collect()
    }

    /// The whole tutorial.
    pub fn page(&self, state: &State) -> Result<String, RenderError> {
        self.page_from(&self.data(state))
    }

    /// The whole tutorial from data made by [`Renderer::data`].
    pub fn page_from(&self, data: &Context) -> Result<String, RenderError> {
        self.render("page", data)
    }

    /// One panel's `<section>`, as it appears inside the page.
    pub fn panel(&self, state: &State, panel: Panel) -> Result<String, RenderError> {
        self.render(panel.name(), &self.data(state))
    }

    /// Everything the templates see: when it has not changed, no panel has.
    pub fn data(&self, state: &State) -> Context {
        Context::from(view(state))
    }

    /// The step list (`nav#steps`) from data made by [`Renderer::data`].
    pub fn steps_from(&self, data: &Context) -> Result<String, RenderError> {
        self.render("steps", data)
    }

    /// One panel from data made by [`Renderer::data`].
    pub fn panel_from(&self, data: &Context, panel: Panel) -> Result<String, RenderError> {
        self.render(panel.name(), data)
    }

    /// The template `name` rendered from `data`.
    fn render(&self, name: &str, data: &Context) -> Result<String, RenderError> {
        let template =
            engine::find(&self.templates, name).ok_or(RenderError("no such template"))?;
        engine::render(&self.templates, name, template, data.data())
    }
}

impl Default for Renderer {
    fn default() -> Renderer {
        Renderer::new()
    }
}

/// The top-level view fields a template reads.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reads {
    /// Every name the template mentions, inside blocks too: a superset, which is safe (a panel
    /// is at worst rendered when it need not be).
    Fields(Vec<String>),
    /// The template includes a partial, which this walk does not follow: it may read anything.
    Anything,
}

/// What `template` reads.
pub(crate) fn reads(template: &[Node]) -> Reads {
    let mut fields = Vec::new();
    if read_template(template, &mut fields) {
        Reads::Fields(fields)
    } else {
        Reads::Anything
    }
}

/// Adds the names `template` mentions to `fields`; false when it meets a partial.
fn read_template(template: &[Node], fields: &mut Vec<String>) -> bool {
    template.iter().all(|node| match node {
        Node::Text(_) => true,
        Node::Show { expression, .. } => {
            match expression {
                Expression::Path(path) => read_path(path, fields),
                Expression::Lookup(value, key) => {
                    read_parameter(value, fields);
                    read_parameter(key, fields);
                }
            }
            true
        }
        Node::Block(block) => {
            read_parameter(&block.param, fields);
            [&block.template, &block.inverse]
                .into_iter()
                .flatten()
                .all(|inner| read_template(inner, fields))
        }
        Node::Partial { .. } => false,
    })
}

fn read_parameter(parameter: &Param, fields: &mut Vec<String>) {
    if let Param::Path(path) = parameter {
        read_path(path, fields);
    }
}

/// The path's first name (none for `this`, the block's own item, not a top-level field).
fn read_path(path: &[String], fields: &mut Vec<String>) {
    if let Some(name) = path.first() {
        read(name, fields);
    }
}

/// Adds `name` to the fields read, once. (A list, not a set: a panel reads a few dozen names, and
/// a set type would be one more map in the page's code.)
fn read(name: &str, fields: &mut Vec<String>) {
    if !fields.iter().any(|field| field == name) {
        fields.push(name.to_owned());
    }
}

#[cfg(test)]
mod tests;
