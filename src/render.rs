//! Turns `State` into HTML with the Handlebars templates in `templates/`.
//!
//! Templates are compiled when the app is built (`build.rs`, read back by `compiled.rs`) and
//! registered once, in strict mode, so a field the view does not provide is an error instead of
//! silently blank text. `page.hbs` lays out the whole tutorial and
//! includes one partial per panel; a single panel can also be rendered alone, which is how the
//! browser layer refreshes the part of the page that changed. What the templates see is `view.rs`.

mod compiled;
pub mod view;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, Path, PathSeg, RenderContext,
    RenderError, RenderErrorReason, Renderable, StringOutput, Template,
    template::{Parameter, TemplateElement},
};

use crate::{panel::Panel, state::State};

use self::view::view;

/// The registered templates.
pub struct Renderer {
    registry: Handlebars<'static>,
    /// What each panel's template reads, in `Panel::ALL` order (see [`reads`]).
    reads: Vec<Reads>,
}

impl Renderer {
    pub fn new() -> Renderer {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_helper("collapse", Box::new(Collapse));
        for (name, template) in compiled::templates() {
            registry.register_template(&name, template);
        }
        let reads = Panel::ALL
            .iter()
            .map(|panel| {
                registry
                    .get_template(panel.name())
                    .map_or(Reads::Anything, reads)
            })
            .collect();
        Renderer { registry, reads }
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

    /// The template `name` rendered from `data`, as the registry renders a template when dev mode
    /// is off; calling it directly leaves out the registry's dev mode (templates reloaded from
    /// files), which the page has no use for.
    fn render(&self, name: &str, data: &Context) -> Result<String, RenderError> {
        let template = self
            .registry
            .get_template(name)
            .ok_or_else(|| RenderErrorReason::TemplateNotFound(name.to_owned()))?;
        let mut output = StringOutput::new();
        let mut context = RenderContext::new(template.name.as_ref());
        template.render(&self.registry, data, &mut context, &mut output)?;
        output.into_string().map_err(RenderError::from)
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
    /// The template uses something this walk does not follow (`../`, `@root`, a new kind of
    /// element): it may read anything.
    Anything,
}

/// What `template` reads.
pub(crate) fn reads(template: &Template) -> Reads {
    let mut fields = Vec::new();
    if read_template(template, &mut fields) {
        Reads::Fields(fields)
    } else {
        Reads::Anything
    }
}

/// Adds the names `template` mentions to `fields`; false when it meets what it cannot follow.
fn read_template(template: &Template, fields: &mut Vec<String>) -> bool {
    template.elements.iter().all(|element| match element {
        TemplateElement::RawString(_) | TemplateElement::Comment(_) => true,
        TemplateElement::Expression(helper)
        | TemplateElement::HtmlExpression(helper)
        | TemplateElement::HelperBlock(helper) => {
            read_parameter(&helper.name, fields)
                && helper.params.iter().all(|p| read_parameter(p, fields))
                && helper.hash.values().all(|p| read_parameter(p, fields))
                && [&helper.template, &helper.inverse]
                    .into_iter()
                    .flatten()
                    .all(|inner| read_template(inner, fields))
        }
        _ => false,
    })
}

fn read_parameter(parameter: &Parameter, fields: &mut Vec<String>) -> bool {
    match parameter {
        Parameter::Name(name) => {
            read(name, fields);
            true
        }
        Parameter::Path(Path::Relative((segments, _))) => match segments.first() {
            Some(PathSeg::Named(name)) => {
                read(name, fields);
                true
            }
            // `this`: the block's own item, not a top-level field.
            None => true,
            Some(_) => false,
        },
        Parameter::Literal(_) => true,
        _ => false,
    }
}

/// Adds `name` to the fields read, once. (A list, not a set: a panel reads a few dozen names, and
/// a set type would be one more map in the page's code.)
fn read(name: &str, fields: &mut Vec<String>) {
    if !fields.iter().any(|field| field == name) {
        fields.push(name.to_owned());
    }
}

/// `{{#collapse "label"}}…{{/collapse}}`: a `<details>` block the learner can open for more.
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

#[cfg(test)]
mod terms;
#[cfg(test)]
mod tests;
