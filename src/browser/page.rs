//! The page: the app's root element, the HTML each panel was last rendered to, and re-rendering
//! only what changed, carrying the rows and entries the app appended (`[data-live]`) across. Also
//! the small DOM helpers the rest of the browser layer shares.
//!
//! A re-render never takes the learner's place away: focus goes back to the control with the
//! same id (or, when that control is gone or disabled, to its step's heading), a focused
//! `<select>` or `<input>` is carried into the new HTML as the same element, like `[data-live]`
//! ones (arrowing through the device list changes the pick at every key; typed text stays), and
//! a disclosure the learner opened stays open. A `<details>` the template opened itself carries
//! `data-auto`, so the template may close it again (finished steps collapse).
//!
//! After a step, the next action is revealed: scrolled into view and focused once a render shows
//! it (Test appears only when the webhook is saved), unless it has not appeared within a few
//! seconds, so a later render never pulls the learner away from what they are doing.

use std::cell::{Cell, RefCell};

use handlebars::Context;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement};

use crate::{panel::Panel, render::Renderer, state::State};

pub(super) struct Page {
    root: Element,
    /// Each panel's HTML as last rendered, in `Panel::ALL` order.
    rendered: RefCell<Vec<String>>,
    /// The data the panels were last rendered from.
    view: RefCell<Option<Context>>,
    /// The element to reveal once a render shows it, and until when (ms since the epoch).
    pending: Cell<Option<(&'static str, f64)>>,
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
            pending: Cell::new(None),
        }
    }

    /// Reveals the element with this id at the next render that shows it.
    pub(super) fn reveal_later(&self, id: &'static str) {
        self.pending
            .set(Some((id, js_sys::Date::now() + REVEAL_WITHIN_MS)));
    }

    /// Reveals the pending element when the page now shows it.
    fn reveal_pending(&self) {
        let Some((id, until)) = self.pending.get() else {
            return;
        };
        if js_sys::Date::now() > until || reveal(id) {
            self.pending.set(None);
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
            self.reveal_pending();
            return;
        }
        // Only panels that read a changed field can look different: a hook arriving re-renders
        // the explainer and the delivery log, not the sign-in form.
        let affected = renderer.affected(self.view.borrow().as_ref(), &data);
        let focused = Focused::now();
        if let Ok(steps) = renderer.steps_from(&data) {
            if let Some(nav) = by_id("steps").filter(|nav| nav.outer_html() != steps) {
                nav.set_outer_html(&steps);
            }
        }
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
                replace_keeping_live(&section, &html, focused.as_ref());
            }
            rendered[index] = html;
        }
        *self.view.borrow_mut() = Some(data);
        if let Some(focused) = focused {
            focused.restore();
        }
        self.reveal_pending();
    }
}

/// How long a step's next action may take to appear (a webhook saved, the lists reloaded).
const REVEAL_WITHIN_MS: f64 = 8_000.0;

/// The focused element before a render: its id and the panel it was in.
struct Focused {
    id: String,
    element: Element,
    panel: Option<String>,
}

impl Focused {
    fn now() -> Option<Focused> {
        let element = document()?.active_element()?;
        let panel = element
            .closest("[data-panel]")
            .ok()
            .flatten()
            .and_then(|section| section.get_attribute("data-panel"));
        Some(Focused {
            id: element.id(),
            element,
            panel,
        })
    }

    /// Puts focus back where it was, or on the step's heading when that control is gone.
    fn restore(&self) {
        let active = document().and_then(|d| d.active_element());
        if active.as_ref() == Some(&self.element) && self.element.is_connected() {
            return;
        }
        let same = (!self.id.is_empty()).then(|| by_id(&self.id)).flatten();
        if same.is_some_and(|element| focus(&element)) {
            return;
        }
        if let Some(heading) = self
            .panel
            .as_ref()
            .and_then(|p| by_id(&format!("{p}-title")))
        {
            focus(&heading);
        }
    }
}

/// Focuses `element`; false when it cannot take focus (disabled, hidden in a closed disclosure).
fn focus(element: &Element) -> bool {
    if let Some(html) = element.dyn_ref::<HtmlElement>() {
        let _ = html.focus();
    }
    document().and_then(|d| d.active_element()).as_ref() == Some(element)
}

/// Scrolls the element with this id to the middle of the view and moves focus to it (the next
/// action, or a heading with `tabindex="-1"`): where the learner, and a screen reader's user,
/// continues. False when the page does not show it (yet), or it cannot take focus.
fn reveal(id: &str) -> bool {
    let Some(element) = by_id(id) else {
        return false;
    };
    // `{block: "center"}` through `Reflect`: the option types are web-sys features of their own.
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"block".into(), &"center".into());
    let scroll = js_sys::Reflect::get(&element, &"scrollIntoView".into());
    if let Ok(scroll) = scroll.and_then(|f| f.dyn_into::<js_sys::Function>()) {
        let _ = scroll.call1(&element, &options);
    }
    focus(&element)
}

/// Replaces `section` with `html`, putting its `[data-live]` elements (streamed rows and entries,
/// which live outside the templates) in place of their empty counterparts in the new HTML, and
/// keeping what the learner is doing: a focused select or input, the disclosures they opened.
fn replace_keeping_live(section: &Element, html: &str, focused: Option<&Focused>) {
    let live = section.query_selector_all("[data-live]").ok();
    let opened = section
        .query_selector_all("details[open][id]:not([data-auto])")
        .ok();
    let opened: Vec<String> = opened
        .map(|list| {
            (0..list.length())
                .filter_map(|i| Some(list.item(i)?.dyn_into::<Element>().ok()?.id()))
                .collect()
        })
        .unwrap_or_default();
    // The focused select or input is the same element after the render (a select's options
    // changed only when the list did): the learner's place in it, the keys they are pressing
    // and the text they are typing stay.
    let kept = focused.map(|f| &f.element).filter(|e| {
        matches!(e.tag_name().as_str(), "SELECT" | "INPUT") && section.contains(Some(e))
    });
    section.set_outer_html(html);
    for id in opened {
        if let Some(details) = by_id(&id) {
            let _ = details.set_attribute("open", "");
        }
    }
    if let Some(live) = live {
        for index in 0..live.length() {
            let Some(old) = live.item(index).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            if let Some(placeholder) = by_id(&old.id()) {
                let _ = placeholder.replace_with_with_node_1(&old);
            }
        }
    }
    if let Some((kept, new)) = kept.zip(kept.and_then(|k| by_id(&k.id()))) {
        let options = new.inner_html();
        if kept.inner_html() != options {
            kept.set_inner_html(&options);
        }
        let _ = new.replace_with_with_node_1(kept);
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
