//! The browser side, and the only part of the app that touches `web-sys`, `js-sys`,
//! `wasm-bindgen` or the network: it starts the app, turns what happens in the page into `Msg`s,
//! and runs the `Effect`s `update` returns.
//!
//! `start` builds the one `App`. Clicks, submissions and changes are caught once, on the app's root,
//! and looked up by the element's `data-action` in `actions.rs`, so replacing a panel never leaves a
//! listener behind. `dispatch` applies a message, schedules one render (`page.rs`) for all the
//! messages of the current task, and hands the effects to `effects.rs`, which calls the Particle
//! API (`particle.rs`), opens streams (`streams.rs`), and keeps the session (`storage.rs`).

mod actions;
mod append;
mod check;
mod effects;
mod fetch;
mod firmware;
mod page;
mod particle;
mod serial;
mod storage;
mod streams;

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use wasm_bindgen::prelude::wasm_bindgen;
use web_sys::AbortController;

use crate::{
    announce::Before,
    msg::Msg,
    render::Renderer,
    sign_in,
    state::State,
    update::{init, update},
};

/// The app: its state, its templates, the page they were rendered to, and its open streams.
struct App {
    state: RefCell<State>,
    renderer: Renderer,
    page: page::Page,
    /// One per open demo stream; aborting them closes the streams.
    streams: RefCell<Vec<AbortController>>,
    /// The device log's stream, when one is open.
    log_stream: RefCell<Option<AbortController>>,
    /// A render is scheduled.
    refresh_pending: Cell<bool>,
    /// The running demo as last kept in storage (`resume::encode`).
    kept_run: RefCell<Option<String>>,
    /// Which of the run's events are kept in storage (`resume::events_version`).
    kept_events: Cell<Option<(u32, u64)>>,
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    let (state, effects) = init();
    let renderer = Renderer::new();
    let page = page::Page::mount(&renderer, &state);
    let app = Rc::new(App {
        state: RefCell::new(state),
        renderer,
        page,
        streams: RefCell::default(),
        log_stream: RefCell::default(),
        refresh_pending: Cell::default(),
        kept_run: RefCell::new(storage::load_run()),
        kept_events: Cell::default(),
    });
    // A run kept before a reload waits for the session to come back, then resumes. (First, so
    // that no message before it finds no run and forgets the kept one.)
    let kept = app.kept_run.borrow().clone();
    if let Some(run) = kept {
        let events = storage::load_run_events();
        app.dispatch(Msg::Resume { run, events });
    }
    actions::listen(&app);
    actions::ask_before_leaving(&app);
    app.run(effects);
    firmware::load_sources();
    app.dispatch(Msg::Firmware(crate::firmware::Msg::SerialSupported(
        serial::supported(),
    )));
    if let Some(window) = web_sys::window() {
        app.dispatch(Msg::PageOrigin(window.origin()));
    }
    if let Some(saved) = storage::load_session() {
        app.dispatch(Msg::SignIn(sign_in::Msg::SetRemember(saved.remembered)));
        app.dispatch(Msg::SignIn(sign_in::Msg::Restore {
            base: saved.base,
            token: saved.token,
            created_here: saved.created_here,
        }));
    }
}

impl App {
    /// Applies a message, schedules a render of what changed and runs the resulting effects.
    fn dispatch(self: &Rc<Self>, msg: Msg) {
        // The borrow ends before rendering and before any effect runs: effects may dispatch again.
        let effects = {
            let mut state = self.state.borrow_mut();
            let before = Before::of(&state);
            let mut effects = update(&mut state, msg);
            effects.extend(before.changes(&state));
            self.keep_run(&state);
            effects
        };
        self.schedule_refresh();
        self.run(effects);
    }

    /// Renders once the current task's messages are all in: a stream chunk holding many events
    /// (or a click and what it sets off) costs one render. The microtask runs before the browser
    /// paints or handles anything else, so the page never shows a stale state.
    fn schedule_refresh(self: &Rc<Self>) {
        if self.refresh_pending.replace(true) {
            return;
        }
        let app = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            app.refresh_pending.set(false);
            app.page.refresh(&app.renderer, &app.state.borrow());
        });
    }

    /// Keeps the running demo in storage when what a reload needs of it changed; a run waiting to
    /// be resumed stays kept until it is.
    fn keep_run(&self, state: &State) {
        if state.resume.is_some() {
            return;
        }
        let run = crate::resume::encode(state);
        if *self.kept_run.borrow() != run {
            storage::keep_run(run.as_deref());
            if run.is_none() {
                self.kept_events.set(None);
            }
            *self.kept_run.borrow_mut() = run;
        }
        // The events only when the run has seen another: they are long, and most messages
        // bring none.
        let version = crate::resume::events_version(state);
        if self.kept_run.borrow().is_some() && self.kept_events.get() != Some(version) {
            storage::keep_run_events(&crate::resume::encode_events(state));
            self.kept_events.set(Some(version));
        }
    }

    /// Reveals the element `id` as soon as a render shows it (this task's, or a later one's).
    fn reveal(self: &Rc<Self>, id: &'static str) {
        self.page.reveal_later(id);
        self.schedule_refresh();
    }

    /// Whether run `run` of the demo is still going on.
    fn is_current(&self, run: u32) -> bool {
        let state = self.state.borrow();
        state.demo.running && state.demo.run == run
    }
}
