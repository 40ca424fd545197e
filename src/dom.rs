//! The browser side: owns the page, turns browser happenings into `Msg`s and runs `Effect`s.
//!
//! This is the only module that touches `web-sys` and the network. It renders the whole page once,
//! then after every message re-renders each panel and replaces only the sections whose HTML changed.

use std::{cell::RefCell, rc::Rc};

use gloo_net::http::Request;
use wasm_bindgen::prelude::*;
use web_sys::Element;
use webhook_demo_core::wire::Config;

use crate::{
    panel::Panel,
    render::Renderer,
    state::{Effect, Msg, State, update},
};

/// The app: its state, its templates and the HTML each panel was last rendered to.
struct App {
    state: RefCell<State>,
    renderer: Renderer,
    root: Element,
    rendered: RefCell<Vec<String>>,
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a page with a document");
    let root = document
        .get_element_by_id("app")
        .expect("index.html has #app");
    let (state, effects) = State::new();
    let app = Rc::new(App {
        state: RefCell::new(state),
        renderer: Renderer::new(),
        root,
        rendered: RefCell::default(),
    });
    app.mount();
    app.run(effects);
}

impl App {
    /// First render: the whole tutorial at once.
    fn mount(&self) {
        let state = self.state.borrow();
        let html = self
            .renderer
            .page(&state)
            .expect("the page template renders");
        self.root.set_inner_html(&html);
        let panels = Panel::ALL
            .iter()
            .map(|&panel| self.renderer.panel(&state, panel).expect("panel renders"));
        *self.rendered.borrow_mut() = panels.collect();
        // A User Timing mark, so tools (and `cargo xtask bench`) can see when the page became usable.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            // Marking only fails for reserved names; this one is not.
            let _ = performance.mark("webhook-demo:rendered");
        }
    }

    /// Applies a message, re-renders what changed and runs the resulting effects.
    fn dispatch(self: &Rc<Self>, msg: Msg) {
        // The borrow ends before rendering and before any effect runs: effects may dispatch again.
        let effects = update(&mut self.state.borrow_mut(), msg);
        self.refresh();
        self.run(effects);
    }

    fn refresh(&self) {
        let state = self.state.borrow();
        let mut rendered = self.rendered.borrow_mut();
        for (index, &panel) in Panel::ALL.iter().enumerate() {
            let html = self.renderer.panel(&state, panel).expect("panel renders");
            if rendered[index] == html {
                continue;
            }
            let selector = format!("section[data-panel=\"{}\"]", panel.name());
            if let Ok(Some(section)) = self.root.query_selector(&selector) {
                section.set_outer_html(&html);
            }
            rendered[index] = html;
        }
    }

    fn run(self: &Rc<Self>, effects: Vec<Effect>) {
        for effect in effects {
            let app = Rc::clone(self);
            match effect {
                Effect::FetchConfig => wasm_bindgen_futures::spawn_local(async move {
                    let result = fetch_config().await;
                    app.dispatch(Msg::ConfigLoaded(result));
                }),
            }
        }
    }
}

/// `GET config.json` next to the page; any failure means "no hosting server features".
async fn fetch_config() -> Result<Config, String> {
    let response = Request::get("config.json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("config.json answered {}", response.status()));
    }
    response
        .json::<Config>()
        .await
        .map_err(|e| format!("config.json is not valid: {e}"))
}
