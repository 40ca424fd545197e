//! The page: the app's root element, the HTML each panel was last rendered to, and re-rendering
//! only what changed, carrying the rows and entries the app appended (`[data-live]`) across. Also
//! the small DOM helpers the rest of the browser layer shares.

use std::cell::RefCell;

use handlebars::Context;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element};

use crate::{panel::Panel, render::Renderer, state::State};

pub(super) struct Page {
    root: Element,
    /// Each panel's HTML as last rendered, in `Panel::ALL` order.
    rendered: RefCell<Vec<String>>,
    /// The data the panels were last rendered from.
    view: RefCell<Option<Context>>,
}

impl Page {
    /// First render: the whole tutorial at once, into `#app`.
    pub(super) fn mount(renderer: &Renderer, state: &State) -> Page {
        let root = by_id("app").expect("index.html has #app");
        // One view for the page and each panel in it: the first render is what the learner waits for.
        let data = renderer.data(state);
        // No `expect` on a render: printing its error would bring handlebars' error formatting
        // into the page, kilobytes for a panic that the tests rule out.
        let html = renderer
            .page_from(&data)
            .unwrap_or_else(|_| panic!("the page template renders"));
        root.set_inner_html(&html);
        // A User Timing mark, so tools (and `cargo xtask bench`) can see when the page became
        // usable: it shows every panel now; what follows is bookkeeping for later refreshes.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            // Marking only fails for reserved names; this one is not.
            let _ = performance.mark("webhook-demo:rendered");
        }
        let panels = Panel::ALL.iter().map(|&panel| {
            renderer
                .panel_from(&data, panel)
                .unwrap_or_else(|_| panic!("panel renders"))
        });
        Page {
            root,
            rendered: RefCell::new(panels.collect()),
            view: RefCell::new(Some(data)),
        }
    }

    /// The root every listener is registered on.
    pub(super) fn root(&self) -> &Element {
        &self.root
    }

    /// Renders the panels whose data changed, and replaces those whose HTML changed.
    pub(super) fn refresh(&self, renderer: &Renderer, state: &State) {
        // Most stream messages change nothing the templates show: skip rendering them all.
        let data = renderer.data(state);
        if self.view.borrow().as_ref().map(Context::data) == Some(data.data()) {
            return;
        }
        // Only panels that read a changed field can look different: a hook arriving re-renders
        // the explainer and the delivery log, not the sign-in form.
        let affected = renderer.affected(self.view.borrow().as_ref(), &data);
        let mut rendered = self.rendered.borrow_mut();
        for (index, &panel) in Panel::ALL.iter().enumerate() {
            if !affected.contains(&panel) {
                continue;
            }
            let html = renderer
                .panel_from(&data, panel)
                .unwrap_or_else(|_| panic!("panel renders"));
            if rendered[index] == html {
                continue;
            }
            let selector = format!("section[data-panel=\"{}\"]", panel.name());
            if let Ok(Some(section)) = self.root.query_selector(&selector) {
                replace_keeping_live(&section, &html);
            }
            rendered[index] = html;
        }
        *self.view.borrow_mut() = Some(data);
    }
}

/// Replaces `section` with `html`, putting its `[data-live]` elements (streamed rows and entries,
/// which live outside the templates) in place of their empty counterparts in the new HTML.
fn replace_keeping_live(section: &Element, html: &str) {
    let live = section.query_selector_all("[data-live]").ok();
    section.set_outer_html(html);
    let Some(live) = live else {
        return;
    };
    for index in 0..live.length() {
        let Some(old) = live.item(index).and_then(|n| n.dyn_into::<Element>().ok()) else {
            continue;
        };
        if let Some(placeholder) = by_id(&old.id()) {
            let _ = placeholder.replace_with_with_node_1(&old);
        }
    }
}

pub(super) fn document() -> Option<Document> {
    web_sys::window()?.document()
}

pub(super) fn by_id(id: &str) -> Option<Element> {
    document()?.get_element_by_id(id)
}

/// An element with this text (never parsed as HTML).
pub(super) fn element(tag: &str, text: &str) -> Option<Element> {
    let element = document()?.create_element(tag).ok()?;
    element.set_text_content(Some(text));
    Some(element)
}
