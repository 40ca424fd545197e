//! The browser side: owns the page, turns browser happenings into `Msg`s and runs `Effect`s.
//!
//! This is the only module that touches `web-sys` and the network. It renders the whole page once,
//! then after every message re-renders each panel and replaces only the sections whose HTML changed.
//! Clicks and form submissions are caught once, on the app's root, and dispatched by the element's
//! `data-action`, so replacing a panel never leaves a listener behind.

use std::{cell::RefCell, rc::Rc};

use gloo_net::http::{Request, Response};
use serde_json::Value;
use wasm_bindgen::{JsCast, prelude::*};
use web_sys::{
    AbortController, Blob, Element, Event, FormData, HtmlInputElement, HtmlSelectElement,
};
use webhook_demo_core::{
    sse::SseEvent,
    wire::{self, ApiErrorBody, Config},
};

use crate::{
    demo::{self, Answer, Entry},
    panel::Panel,
    render::Renderer,
    state::{ApiFailure, Device, Effect, Msg, Product, ProductChoice, State, describe, update},
    stream,
};

/// The app: its state, its templates and the HTML each panel was last rendered to.
struct App {
    state: RefCell<State>,
    renderer: Renderer,
    root: Element,
    rendered: RefCell<Vec<String>>,
    /// One per open demo stream; aborting them closes the streams.
    streams: RefCell<Vec<AbortController>>,
    /// The device log's stream, when one is open.
    log_stream: RefCell<Option<AbortController>>,
    /// The data the panels were last rendered from.
    view: RefCell<Option<Value>>,
    /// A render is scheduled.
    refresh_pending: std::cell::Cell<bool>,
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
        streams: RefCell::default(),
        log_stream: RefCell::default(),
        view: RefCell::default(),
        refresh_pending: std::cell::Cell::default(),
    });
    app.mount();
    app.listen();
    app.run(effects);
    wasm_bindgen_futures::spawn_local(load_sources());
    let serial = web_sys::window()
        .map(|w| w.navigator())
        .is_some_and(|navigator| {
            js_sys::Reflect::has(&navigator, &"serial".into()).unwrap_or(false)
        });
    app.dispatch(Msg::SerialSupported(serial));
    if let Some(saved) = load_session() {
        app.dispatch(Msg::SetRemember(saved.remembered));
        app.dispatch(Msg::Restore {
            base: saved.base,
            token: saved.token,
            created_here: saved.created_here,
        });
    }
}

/// Where a signed-in session is kept: `sessionStorage`, so it lasts as long as the tab, or
/// `localStorage` when the learner asked to be remembered; never in a URL. Plain strings, one key
/// each: no serializer is needed in the page for it.
const SESSION_KEYS: [&str; 3] = [
    "webhook-demo:base",
    "webhook-demo:token",
    "webhook-demo:created-here",
];

/// The part of a session worth keeping; the user name is asked for again on restore.
struct SavedSession {
    base: String,
    token: String,
    created_here: bool,
    /// Found in `localStorage`.
    remembered: bool,
}

/// `sessionStorage` (`false`) or `localStorage` (`true`); `None` where storage is disabled.
fn storage(remembered: bool) -> Option<web_sys::Storage> {
    let window = web_sys::window()?;
    let storage = if remembered {
        window.local_storage()
    } else {
        window.session_storage()
    };
    storage.ok().flatten()
}

fn load_session() -> Option<SavedSession> {
    [false, true].into_iter().find_map(|remembered| {
        let storage = storage(remembered)?;
        let [base, token, created_here] =
            SESSION_KEYS.map(|key| storage.get_item(key).ok().flatten());
        Some(SavedSession {
            base: base?,
            token: token?,
            created_here: created_here? == "true",
            remembered,
        })
    })
}

fn save_session(saved: &SavedSession) {
    // Only one place holds it: ticking "remember me" or not moves it.
    forget_session();
    if let Some(storage) = storage(saved.remembered) {
        let values = [
            saved.base.as_str(),
            saved.token.as_str(),
            if saved.created_here { "true" } else { "false" },
        ];
        for (key, value) in SESSION_KEYS.iter().zip(values) {
            // Storage can be full or disabled; the learner then signs in again after a reload.
            let _ = storage.set_item(key, value);
        }
    }
}

fn forget_session() {
    for storage in [false, true].into_iter().filter_map(storage) {
        for key in SESSION_KEYS {
            let _ = storage.remove_item(key);
        }
    }
}

/// Where a user's picks are kept, in `localStorage`: one key per user, so another user's picks
/// are never applied.
fn settings_key(username: &str) -> String {
    format!("webhook-demo:settings:{username}")
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

    /// One click and one submit listener on the root for the page's whole life.
    fn listen(self: &Rc<Self>) {
        for kind in ["click", "submit", "change"] {
            let app = Rc::clone(self);
            let listener = Closure::<dyn Fn(Event)>::new(move |event: Event| app.on_event(&event));
            self.root
                .add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref())
                .expect("the root accepts listeners");
            // The root lives as long as the page, and so must its listeners.
            listener.forget();
        }
    }

    fn on_event(self: &Rc<Self>, event: &Event) {
        let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Ok(Some(element)) = target.closest("[data-action]") else {
            return;
        };
        // Forms act on submit, selects on change, everything else on click.
        let expected = match element.tag_name().as_str() {
            "FORM" => "submit",
            "SELECT" => "change",
            _ => "click",
        };
        if event.type_() != expected {
            return;
        }
        if expected == "submit" {
            // The app handles every form itself; the browser must not navigate.
            event.prevent_default();
        }
        let msg = match element.get_attribute("data-action").as_deref() {
            Some("sandbox-sign-in") => Msg::SandboxSignIn,
            Some("token-sign-in") => Msg::TokenSignIn(input_value("tokenInput")),
            Some("password-sign-in") => Msg::PasswordSignIn {
                username: input_value("usernameInput"),
                password: input_value("passwordInput"),
            },
            Some("otp-sign-in") => Msg::OtpSignIn(input_value("otpInput")),
            Some("refresh-devices") => Msg::RefreshDevices,
            Some("select-device") => Msg::SelectDevice(select_value(&element)),
            Some("select-platform") => match select_value(&element).parse() {
                Ok(id) => Msg::SelectPlatform(id),
                Err(_) => return,
            },
            Some("choose-new-product") => Msg::ChooseProducts(ProductChoice::New),
            Some("choose-existing-product") => Msg::ChooseProducts(ProductChoice::Existing),
            Some("create-product") => Msg::CreateProduct(input_value("newProductNameInput")),
            Some("select-product") => match select_value(&element).parse() {
                Ok(id) => Msg::SelectProduct(id),
                // The placeholder option: nothing chosen.
                Err(_) => return,
            },
            Some("sign-out") => Msg::SignOut,
            Some("add-device") => Msg::AddDevice,
            Some("use-sandbox") => Msg::UseSandbox(select_value(&element) == "sandbox"),
            Some("start-demo") => Msg::StartDemo {
                secret: random_secret(),
                relay: input_value("relayUrlInput"),
                smee: input_value("smeeUrlInput"),
            },
            Some("new-smee") => {
                Msg::SmeeChannel(format!("https://smee.io/{}", &random_secret()[..16]))
            }
            Some("stop-demo") => Msg::StopDemo,
            Some(
                action @ ("cleanup-webhook" | "cleanup-tinker" | "cleanup-devices"
                | "cleanup-product"),
            ) => Msg::CleanupChoice {
                step: match action {
                    "cleanup-webhook" => "webhook",
                    "cleanup-tinker" => "tinker",
                    "cleanup-devices" => "devices",
                    _ => "product",
                },
                on: element
                    .dyn_ref::<HtmlInputElement>()
                    .is_some_and(HtmlInputElement::checked),
            },
            Some("show-file") => match element.get_attribute("data-file") {
                Some(file) => Msg::ShowFile(file),
                None => return,
            },
            Some("copy-file") => {
                copy_shown_file();
                return;
            }
            Some("flash") => Msg::FlashDevice(shown_sources()),
            Some("device-log") => Msg::ShowDeviceLog,
            Some("preview-data") => Msg::PreviewData(input_value("previewData")),
            Some("replay") => match element
                .get_attribute("data-hook")
                .and_then(|h| h.parse().ok())
            {
                Some(hook) => Msg::Replay(hook),
                None => return,
            },
            Some("export") => {
                // The link's own click then downloads the run as it is now.
                let json = demo::export(&self.state.borrow().demo);
                let href = format!(
                    "data:application/json;charset=utf-8,{}",
                    String::from(js_sys::encode_uri_component(&json))
                );
                let _ = element.set_attribute("href", &href);
                return;
            }
            Some("publish-data") => Msg::PublishData(input_value("previewData")),
            Some("serial-connect") => Msg::ConnectSerial,
            Some("download-log") => {
                // The link's own click then downloads what the log holds now.
                let text = by_id("deviceLog")
                    .and_then(|log| log.text_content())
                    .unwrap_or_default();
                let href = format!(
                    "data:text/plain;charset=utf-8,{}",
                    String::from(js_sys::encode_uri_component(&text))
                );
                let _ = element.set_attribute("href", &href);
                return;
            }
            Some("cleanup") => Msg::CleanupAsk,
            Some("cleanup-cancel") => Msg::CleanupCancel,
            Some("cleanup-confirm") => Msg::CleanupConfirm,
            Some("test-webhook") => Msg::TestWebhook {
                id: (js_sys::Math::random() * 1_000_000.0) as u32,
            },
            Some("apply-answer") => Msg::ApplyAnswer(Answer {
                status: input_value("answerStatus").trim().parse().unwrap_or(0),
                body: input_value("answerBody"),
                require_auth: checked("answerRequireAuth"),
                delay_ms: input_value("answerDelay")
                    .trim()
                    .parse()
                    .unwrap_or(u32::MAX),
            }),
            Some("remember") => Msg::SetRemember(
                element
                    .dyn_ref::<HtmlInputElement>()
                    .is_some_and(HtmlInputElement::checked),
            ),
            _ => return,
        };
        self.dispatch(msg);
    }

    /// Applies a message, re-renders what changed and runs the resulting effects.
    fn dispatch(self: &Rc<Self>, msg: Msg) {
        // The borrow ends before rendering and before any effect runs: effects may dispatch again.
        let effects = update(&mut self.state.borrow_mut(), msg);
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
            app.refresh();
        });
    }

    fn refresh(&self) {
        let state = self.state.borrow();
        // Most stream messages change nothing the templates show: skip rendering them all.
        let data = self.renderer.data(&state);
        if self.view.borrow().as_ref() == Some(&data) {
            return;
        }
        // Only panels that read a changed field can look different: a hook arriving re-renders
        // the explainer and the delivery log, not the sign-in form.
        let affected = self.renderer.affected(self.view.borrow().as_ref(), &data);
        let mut rendered = self.rendered.borrow_mut();
        for (index, &panel) in Panel::ALL.iter().enumerate() {
            if !affected.contains(&panel) {
                continue;
            }
            let html = self
                .renderer
                .panel_from(&data, panel)
                .expect("panel renders");
            if rendered[index] == html {
                continue;
            }
            let selector = format!("section[data-panel=\"{}\"]", panel.name());
            if let Ok(Some(section)) = self.root.query_selector(&selector) {
                // Streamed rows and entries live outside the templates: carry them over.
                let live = section.query_selector_all("[data-live]").ok();
                section.set_outer_html(&html);
                for index in 0..live.as_ref().map_or(0, |l| l.length()) {
                    let Some(old) = live.as_ref().and_then(|l| l.item(index)) else {
                        continue;
                    };
                    let Some(old) = old.dyn_ref::<Element>() else {
                        continue;
                    };
                    if let Some(placeholder) = by_id(&old.id()) {
                        let _ = placeholder.replace_with_with_node_1(old);
                    }
                }
            }
            rendered[index] = html;
        }
        *self.view.borrow_mut() = Some(data);
    }

    fn run(self: &Rc<Self>, effects: Vec<Effect>) {
        for effect in effects {
            let app = Rc::clone(self);
            wasm_bindgen_futures::spawn_local(async move {
                let msg = match effect {
                    Effect::FetchConfig => Msg::ConfigLoaded(fetch_config().await),
                    Effect::RequestToken {
                        base,
                        username,
                        password,
                    } => {
                        let form = [
                            ("grant_type", "password"),
                            ("username", &username),
                            ("password", &password),
                        ];
                        let result = request_token(&base, &form).await;
                        Msg::TokenGranted { base, result }
                    }
                    Effect::RequestOtpToken {
                        base,
                        mfa_token,
                        otp,
                    } => {
                        let form = [
                            ("grant_type", "urn:custom:mfa-otp"),
                            ("mfa_token", &mfa_token),
                            ("otp", &otp),
                        ];
                        let result = request_token(&base, &form).await;
                        Msg::TokenGranted { base, result }
                    }
                    Effect::CheckToken {
                        base,
                        token,
                        created_here,
                    } => {
                        let result = get_json(&base, "/v1/user", &token, wire::user_name).await;
                        Msg::UserLoaded {
                            base,
                            token,
                            created_here,
                            result,
                        }
                    }
                    Effect::LoadDevices { base, token } => Msg::DevicesLoaded(
                        get_json(&base, "/v1/devices", &token, Device::list_from_json).await,
                    ),
                    Effect::RevokeToken { base, token } => {
                        // Best effort: the learner is signed out of the page either way.
                        let url = format!("{base}/v1/access_tokens/current");
                        let _ = Request::delete(&url)
                            .header("Authorization", &format!("Bearer {token}"))
                            .send()
                            .await;
                        return;
                    }
                    Effect::LoadProducts { base, token } => {
                        let path = "/v1/user/products";
                        let result = get_json(&base, path, &token, Product::list_from_json).await;
                        Msg::ProductsLoaded(result)
                    }
                    Effect::CreateProduct {
                        base,
                        token,
                        name,
                        platform_id,
                    } => {
                        Msg::ProductCreated(create_product(&base, &token, &name, platform_id).await)
                    }
                    Effect::SaveSession { session, remember } => {
                        save_session(&SavedSession {
                            base: session.base,
                            token: session.token,
                            created_here: session.created_here,
                            remembered: remember,
                        });
                        return;
                    }
                    Effect::LoadSettings(username) => Msg::SettingsLoaded(
                        storage(true)
                            .and_then(|s| s.get_item(&settings_key(&username)).ok().flatten()),
                    ),
                    Effect::SaveSettings { username, settings } => {
                        if let Some(storage) = storage(true) {
                            let _ = storage.set_item(&settings_key(&username), &settings);
                        }
                        return;
                    }
                    Effect::OpenRelay { run, url } => {
                        app.relay_stream(run, &url).await;
                        return;
                    }
                    Effect::OpenSmee { run, url } => {
                        let handle = |event: SseEvent| {
                            // smee.io also sends `ready` and `ping`; requests are plain messages.
                            if event.event == "message" {
                                app.dispatch(Msg::RelayEvent {
                                    run,
                                    event: "smee".to_owned(),
                                    data: event.data,
                                });
                            }
                        };
                        app.follow(run, "The smee.io channel", || url.clone(), &[], handle)
                            .await;
                        return;
                    }
                    Effect::OpenEvents {
                        run,
                        base,
                        token,
                        product_id,
                    } => {
                        let url = format!("{base}/v1/products/{product_id}/events");
                        app.event_stream(run, &url, &token).await;
                        return;
                    }
                    Effect::CloseStreams => {
                        for stream in app.streams.borrow_mut().drain(..) {
                            stream.abort();
                        }
                        return;
                    }
                    Effect::ControlRelay { url, body } => {
                        let request = Request::post(&url)
                            .header("Content-Type", "application/json")
                            .body(body);
                        let sent = match request {
                            Ok(request) => request.send().await,
                            Err(error) => Err(error),
                        };
                        Msg::AnswerApplied(match sent {
                            Ok(response) if response.ok() => Ok(()),
                            Ok(response) => Err(format!(
                                "The webhook server refused the settings (HTTP {}).",
                                response.status()
                            )),
                            Err(error) => {
                                Err(format!("The webhook server is unreachable: {error}"))
                            }
                        })
                    }
                    Effect::SaveWebhook {
                        base,
                        token,
                        product_id,
                        settings,
                    } => Msg::WebhookSaved(save_webhook(&base, &token, product_id, settings).await),
                    Effect::Publish {
                        base,
                        token,
                        product_id,
                        name,
                        data,
                    } => {
                        let path = format!("/v1/products/{product_id}/events");
                        let body = serde_json::json!({"name": name, "data": data}).to_string();
                        let result = post_json(&base, &path, &token, body, |_| Some(())).await;
                        Msg::TestPublished(result.map(|()| data))
                    }
                    Effect::LogEvent(cells) => {
                        if let Some(body) = by_id("eventsTable")
                            .and_then(|t| t.query_selector("tbody").ok().flatten())
                        {
                            let row = row_of(&cells);
                            let _ = body.insert_before(&row, body.first_child().as_ref());
                        }
                        return;
                    }
                    Effect::DataRow { columns, cells } => {
                        append_data_row(&columns, &cells);
                        return;
                    }
                    Effect::Explain(entry) => {
                        explain(&entry);
                        return;
                    }
                    Effect::Replay {
                        url,
                        method,
                        headers,
                        body,
                    } => {
                        // What comes of it arrives on the relay stream, like any request.
                        let _ = stream::send(&url, &method, &headers, body.as_deref()).await;
                        return;
                    }
                    Effect::Timer { ms, msg } => {
                        stream::sleep(i32::try_from(ms).unwrap_or(i32::MAX)).await;
                        *msg
                    }
                    Effect::ShowFile(file) => {
                        show_file(&file);
                        return;
                    }
                    Effect::Flash {
                        base,
                        token,
                        device_id,
                        sources,
                    } => Msg::Flashed(flash(&base, &token, &device_id, &sources).await),
                    Effect::OpenDeviceLog { url } => {
                        app.device_log(&url).await;
                        return;
                    }
                    Effect::ConnectSerial => match read_serial().await {
                        Ok(()) => Msg::SerialFailed("The serial port closed.".to_owned()),
                        Err(reason) => Msg::SerialFailed(reason),
                    },
                    Effect::Cleanup {
                        base,
                        token,
                        product_id,
                        steps,
                    } => {
                        for step in steps {
                            let result = clean(&base, &token, product_id, step)
                                .await
                                .map_err(|failure| describe(&failure));
                            app.dispatch(Msg::CleanupStepDone { step, result });
                        }
                        return;
                    }
                    Effect::AddDevice {
                        base,
                        token,
                        product_id,
                        device_id,
                    } => Msg::DeviceAdded(add_device(&base, &token, product_id, &device_id).await),
                    Effect::ForgetSession => {
                        forget_session();
                        return;
                    }
                };
                app.dispatch(msg);
            });
        }
    }
}

impl App {
    fn is_current(&self, run: u32) -> bool {
        let state = self.state.borrow();
        state.demo.running && state.demo.run == run
    }

    /// A new abort controller for a stream of the demo, remembered so Stop can close it.
    fn open_stream(&self) -> Option<AbortController> {
        let controller = AbortController::new().ok()?;
        self.streams.borrow_mut().push(controller.clone());
        Some(controller)
    }

    /// The relay stream of run `run`: after a failure it reconnects to the same session, asking for
    /// everything after the last event it handled, so no hook is lost or shown twice.
    async fn relay_stream(self: &Rc<Self>, run: u32, url: &str) {
        // (session id, last event id), learnt from the stream itself.
        let resume: RefCell<(Option<String>, Option<String>)> = RefCell::default();
        let target = || match &*resume.borrow() {
            (Some(session), Some(id)) => format!("{url}?session={session}&lastEventId={id}"),
            (Some(session), None) => format!("{url}?session={session}"),
            _ => url.to_owned(),
        };
        let handle = |event: SseEvent| {
            let mut resume = resume.borrow_mut();
            if event.event == "start" {
                resume.0 = serde_json::from_str::<Value>(&event.data)
                    .ok()
                    .and_then(|start| start.get("sessionId")?.as_str().map(str::to_owned));
            }
            resume.1.clone_from(&event.id);
            drop(resume);
            self.dispatch(Msg::RelayEvent {
                run,
                event: event.event,
                data: event.data,
            });
        };
        self.follow(run, "The webhook server's stream", target, &[], handle)
            .await;
    }

    /// The product's event stream of run `run`, read with the token in a header.
    async fn event_stream(self: &Rc<Self>, run: u32, url: &str, token: &str) {
        let authorization = format!("Bearer {token}");
        let handle = |event: SseEvent| {
            self.dispatch(Msg::ParticleEvent {
                run,
                name: event.event,
                data: event.data,
            });
        };
        let headers = [("Authorization", authorization.as_str())];
        let target = || url.to_owned();
        self.follow(run, "The product's event stream", target, &headers, handle)
            .await;
    }

    /// Streams a device's log into `#deviceLog` (the newest 500 lines), replacing the previous one.
    async fn device_log(self: &Rc<Self>, url: &str) {
        let Ok(controller) = AbortController::new() else {
            return;
        };
        if let Some(previous) = self.log_stream.replace(Some(controller.clone())) {
            previous.abort();
        }
        if let Some(log) = by_id("deviceLog") {
            log.set_text_content(None);
        }
        let ended = stream::read(url, &[], &controller.signal(), |event| {
            log_line(&event.data);
        })
        .await;
        if let (Err(reason), Some(log)) = (ended, by_id("deviceLog")) {
            if !controller.signal().aborted() {
                if let Some(line) = element("div", &format!("(the log stopped: {reason})")) {
                    let _ = log.append_child(&line);
                }
            }
        }
    }

    /// Reads a stream of run `run` while that run lasts, reopening it after failures with a
    /// growing delay (0.5 s doubling to 10 s), and saying so in the page.
    async fn follow(
        self: &Rc<Self>,
        run: u32,
        what: &str,
        target: impl Fn() -> String,
        headers: &[(&str, &str)],
        handle: impl Fn(SseEvent),
    ) {
        let backoff = std::cell::Cell::new(500);
        // Events since the last (re)connection: a server that ends a stream that worked is
        // rotating it, and reconnecting at once is all it takes; the learner is not told.
        let delivered = std::cell::Cell::new(false);
        while self.is_current(run) {
            let Some(controller) = self.open_stream() else {
                return;
            };
            delivered.set(false);
            let ended = stream::read(&target(), headers, &controller.signal(), |event| {
                backoff.set(500);
                delivered.set(true);
                handle(event);
            })
            .await;
            if !self.is_current(run) {
                return;
            }
            let reason = ended.err().unwrap_or_default();
            if delivered.get() && reason == stream::ENDED {
                continue;
            }
            self.dispatch(Msg::StreamDown {
                run,
                reason: format!("{what} was interrupted ({reason})."),
            });
            stream::sleep(backoff.get()).await;
            backoff.set((backoff.get() * 2).min(10_000));
        }
    }
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

fn by_id(id: &str) -> Option<Element> {
    document()?.get_element_by_id(id)
}

/// An element with this text (never parsed as HTML).
fn element(tag: &str, text: &str) -> Option<Element> {
    let element = document()?.create_element(tag).ok()?;
    element.set_text_content(Some(text));
    Some(element)
}

fn row_of(cells: &[String]) -> Element {
    let row = element("tr", "").expect("a document");
    for cell in cells {
        if let Some(td) = element("td", cell) {
            let _ = row.append_child(&td);
        }
    }
    row
}

/// Appends a row to the data table; new columns get a header cell and an empty cell in earlier rows.
fn append_data_row(columns: &[String], cells: &[String]) {
    let Some(table) = by_id("webhookDemoDataTable") else {
        return;
    };
    let (Ok(Some(head)), Ok(Some(body))) = (
        table.query_selector("thead tr"),
        table.query_selector("tbody"),
    ) else {
        return;
    };
    let known = head.child_element_count() as usize;
    for column in columns.iter().skip(known) {
        if let Some(th) = element("th", column) {
            let _ = th.set_attribute("scope", "col");
            let _ = head.append_child(&th);
        }
    }
    if columns.len() > known {
        let mut row = body.first_element_child();
        while let Some(tr) = row {
            for _ in tr.child_element_count() as usize..columns.len() {
                if let Some(td) = element("td", "") {
                    let _ = tr.append_child(&td);
                }
            }
            row = tr.next_element_sibling();
        }
    }
    let _ = body.append_child(&row_of(cells));
}

/// Appends an explainer entry (clearing the explainer first when it starts a new cycle).
fn explain(entry: &Entry) {
    let Some(container) = by_id("explainer") else {
        return;
    };
    if entry.fresh {
        container.set_text_content(None);
    }
    let Some(block) = element("div", "") else {
        return;
    };
    let _ = block.set_attribute("class", "entry");
    let _ = block.set_attribute("data-kind", entry.kind);
    for (tag, text) in [("h3", entry.title), ("p", entry.text.as_str())] {
        if let Some(part) = element(tag, text) {
            let _ = block.append_child(&part);
        }
    }
    if !entry.fields.is_empty() {
        if let Some(table) = element("table", "") {
            for (name, value) in &entry.fields {
                let _ = table.append_child(&row_of(&[name.clone(), value.clone()]));
            }
            let _ = block.append_child(&table);
        }
    }
    if let Some(code) = entry.code.as_deref().and_then(|code| element("pre", code)) {
        let _ = block.append_child(&code);
    }
    if let (Some(hook), Some(curl)) = (entry.hook, &entry.curl) {
        if let (Some(command), Some(replay)) = (element("pre", curl), element("button", "Replay")) {
            let _ = command.set_attribute("class", "curl");
            let _ = replay.set_attribute("type", "button");
            let _ = replay.set_attribute("data-action", "replay");
            let _ = replay.set_attribute("data-hook", &hook.to_string());
            let _ = block.append_child(&command);
            let _ = block.append_child(&replay);
        }
    }
    let _ = container.append_child(&block);
}

/// A secret for this run's webhook: 122 random bits from the browser's cryptographic generator.
fn random_secret() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|crypto| crypto.random_uuid().replace('-', ""))
        .unwrap_or_default()
}

/// Appends a line to the device log, keeping the newest 500.
fn log_line(text: &str) {
    let Some(log) = by_id("deviceLog") else {
        return;
    };
    if log.child_element_count() >= 500 {
        if let Some(oldest) = log.first_element_child() {
            oldest.remove();
        }
    }
    if let Some(line) = element("div", text) {
        let _ = log.append_child(&line);
    }
}

/// Asks the learner for a USB serial port (Web Serial), opens it at 115200 baud and appends each
/// line the device writes to the device log, until the port closes or fails.
async fn read_serial() -> Result<(), String> {
    use js_sys::{Function, Object, Promise, Reflect};
    let words = |what: &'static str| move |_| format!("{what} failed.");
    let call = |target: &JsValue, method: &str, args: &[JsValue]| -> Result<JsValue, String> {
        let function: Function = Reflect::get(target, &method.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| format!("This browser's Web Serial has no {method}."))?;
        let args: js_sys::Array = args.iter().collect();
        function
            .apply(target, &args)
            .map_err(|_| format!("{method} failed."))
    };
    let navigator: JsValue = web_sys::window().ok_or("no window")?.navigator().into();
    let serial = Reflect::get(&navigator, &"serial".into()).map_err(words("Web Serial"))?;
    let chosen = call(&serial, "requestPort", &[])?.unchecked_into::<Promise>();
    let port = wasm_bindgen_futures::JsFuture::from(chosen)
        .await
        .map_err(|_| "No port was chosen.".to_owned())?;
    let options = Object::new();
    Reflect::set(&options, &"baudRate".into(), &115_200.into())
        .map_err(words("Setting the speed"))?;
    let opened = call(&port, "open", &[options.into()])?.unchecked_into::<Promise>();
    wasm_bindgen_futures::JsFuture::from(opened)
        .await
        .map_err(|_| "The port could not be opened (is another program using it?).".to_owned())?;
    let readable = Reflect::get(&port, &"readable".into()).map_err(words("Reading"))?;
    let reader: web_sys::ReadableStreamDefaultReader =
        call(&readable, "getReader", &[])?.unchecked_into();
    let mut lines = crate::serial::LineSplitter::new();
    stream::read_chunks(&reader, |bytes| {
        for line in lines.feed(bytes) {
            log_line(&line);
        }
    })
    .await
    .map_err(|()| "The device was disconnected.".to_owned())
}

/// Puts the build's highlighted firmware sources into the firmware panel.
async fn load_sources() {
    let Ok(response) = Request::get("firmware/sources.html").send().await else {
        return;
    };
    let (true, Ok(html)) = (response.ok(), response.text().await) else {
        return;
    };
    if let Some(container) = by_id("firmwareSource") {
        // Our own build output, escaped when it was made; never learner or cloud data.
        container.set_inner_html(&html);
    }
    show_file(crate::state::FIRMWARE_FILES[0]);
}

/// The firmware sources shown (`pre[data-file]`), as `(path, text)`.
fn sources_shown() -> Vec<Element> {
    let Some(list) =
        by_id("firmwareSource").and_then(|c| c.query_selector_all("pre[data-file]").ok())
    else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .collect()
}

fn show_file(file: &str) {
    for pre in sources_shown() {
        let shown = pre.get_attribute("data-file").as_deref() == Some(file);
        let _ = if shown {
            pre.remove_attribute("hidden")
        } else {
            pre.set_attribute("hidden", "")
        };
    }
}

/// Every source as the page shows it, including the learner's edits.
fn shown_sources() -> Vec<(String, String)> {
    sources_shown()
        .iter()
        .filter_map(|pre| Some((pre.get_attribute("data-file")?, pre.text_content()?)))
        .collect()
}

fn copy_shown_file() {
    let Some(text) = sources_shown()
        .into_iter()
        .find(|pre| !pre.has_attribute("hidden"))
        .and_then(|pre| pre.text_content())
    else {
        return;
    };
    if let Some(window) = web_sys::window() {
        // The browser may refuse (no permission); the text stays selectable either way.
        let _ = window.navigator().clipboard().write_text(&text);
    }
}

/// `PUT {base}/v1/devices/{id}` with the sources as multipart files, as the CLI sends them: what the
/// cloud said, or the compiler's error lines (or why it refused).
async fn flash(
    base: &str,
    token: &str,
    device_id: &str,
    sources: &[(String, String)],
) -> Result<String, Vec<String>> {
    let words = |failure: ApiFailure| vec![describe(&failure)];
    let form = FormData::new().map_err(|_| vec!["The browser cannot build a form.".to_owned()])?;
    for (index, (path, text)) in sources.iter().enumerate() {
        let parts = js_sys::Array::of1(&JsValue::from_str(text));
        let Ok(blob) = Blob::new_with_str_sequence(&parts) else {
            continue;
        };
        let field = if index == 0 {
            "file".to_owned()
        } else {
            format!("file{index}")
        };
        let _ = form.append_with_blob_and_filename(&field, &blob, path);
    }
    let response = Request::put(&format!("{base}/v1/devices/{device_id}"))
        .header("Authorization", &format!("Bearer {token}"))
        .body(form)
        .map_err(|e| words(unreachable(e)))?
        .send()
        .await
        .map_err(|e| words(unreachable(e)))?;
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    if response.ok() {
        return Ok(body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("update started")
            .to_owned());
    }
    if let Some(errors) = body.get("errors").and_then(Value::as_array) {
        return Err(errors
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect());
    }
    let error = ApiErrorBody::from_json(&body);
    Err(words(ApiFailure {
        status,
        error: error.error,
        description: error.error_description,
        mfa_token: None,
    }))
}

/// One cleanup step: `webhook` deletes the demo's webhook (and no other), `devices` removes every
/// device from the product, `product` deletes it.
async fn clean(base: &str, token: &str, product_id: u32, step: &str) -> Result<(), ApiFailure> {
    let product = format!("/v1/products/{product_id}");
    let ids: Vec<String> = match step {
        "webhook" => {
            let path = format!("{product}/integrations");
            let id = get_json(base, &path, token, |list| Some(demo::find_webhook(list))).await?;
            id.into_iter().map(|id| format!("{path}/{id}")).collect()
        }
        "tinker" => {
            // Particle's API flashes Tinker by name; the product's online devices get it.
            let path = format!("{product}/devices?per_page=100");
            let read = |reply: &Value| {
                let devices = reply.get("devices")?.as_array()?;
                let online = devices
                    .iter()
                    .filter(|d| d.get("online") == Some(&Value::Bool(true)));
                online
                    .map(|d| d.get("id")?.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            };
            for id in get_json(base, &path, token, read).await? {
                let request = Request::put(&format!("{base}/v1/devices/{id}"))
                    .header("Authorization", &format!("Bearer {token}"))
                    .header("Content-Type", "application/json")
                    .body(r#"{"app":"tinker"}"#);
                reply(request, |_| Some(())).await?;
            }
            return Ok(());
        }
        "devices" => {
            let path = format!("{product}/devices?per_page=100");
            let read = |reply: &Value| {
                let devices = reply.get("devices")?.as_array()?;
                devices
                    .iter()
                    .map(|d| d.get("id")?.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            };
            let devices = get_json(base, &path, token, read).await?;
            devices
                .into_iter()
                .map(|id| format!("{product}/devices/{id}"))
                .collect()
        }
        _ => vec![product.clone()],
    };
    for path in ids {
        let request = Request::delete(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}"))
            .build();
        reply(request, |_| Some(())).await?;
    }
    Ok(())
}

/// Creates the demo's webhook in the product, or updates it when one exists: its integration id.
async fn save_webhook(
    base: &str,
    token: &str,
    product_id: u32,
    settings: String,
) -> Result<String, ApiFailure> {
    let path = format!("/v1/products/{product_id}/integrations");
    let existing = get_json(base, &path, token, |list| Some(demo::find_webhook(list))).await?;
    let read_id = |reply: &Value| reply.get("id")?.as_str().map(str::to_owned);
    match existing {
        Some(id) => {
            let request = Request::put(&format!("{base}{path}/{id}"))
                .header("Authorization", &format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .body(settings);
            reply(request, read_id).await
        }
        None => post_json(base, &path, token, settings, read_id).await,
    }
}

fn checked(id: &str) -> bool {
    by_id(id)
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .is_some_and(|input| input.checked())
}

fn input_value(id: &str) -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .map(|input| input.value())
        .unwrap_or_default()
}

fn select_value(element: &Element) -> String {
    element
        .dyn_ref::<HtmlSelectElement>()
        .map(HtmlSelectElement::value)
        .unwrap_or_default()
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
    let invalid = || "config.json is not valid".to_owned();
    let value = response.json::<Value>().await.map_err(|_| invalid())?;
    Config::from_json(&value).ok_or_else(invalid)
}

/// `POST {base}/v1/user/products` with `{"product": {"name", "platform_id"}}`.
async fn create_product(
    base: &str,
    token: &str,
    name: &str,
    platform_id: u32,
) -> Result<Product, ApiFailure> {
    // JSON.stringify quotes and escapes the name exactly as JSON requires.
    let name = js_sys::JSON::stringify(&JsValue::from_str(name))
        .map(String::from)
        .unwrap_or_default();
    let body = format!(r#"{{"product":{{"name":{name},"platform_id":{platform_id}}}}}"#);
    post_json(
        base,
        "/v1/user/products",
        token,
        body,
        Product::created_from_json,
    )
    .await
}

/// `POST {base}/v1/products/{product_id}/devices` with `{"id": device_id}`: how many devices moved.
async fn add_device(
    base: &str,
    token: &str,
    product_id: u32,
    device_id: &str,
) -> Result<u32, ApiFailure> {
    let id = js_sys::JSON::stringify(&JsValue::from_str(device_id))
        .map(String::from)
        .unwrap_or_default();
    let path = format!("/v1/products/{product_id}/devices");
    let body = format!(r#"{{"id":{id}}}"#);
    post_json(base, &path, token, body, wire::devices_added).await
}

fn unreachable(error: gloo_net::Error) -> ApiFailure {
    ApiFailure {
        status: 0,
        error: "network".into(),
        description: error.to_string(),
        mfa_token: None,
    }
}

async fn failure(response: Response) -> ApiFailure {
    let body = response
        .json::<Value>()
        .await
        .map(|value| ApiErrorBody::from_json(&value))
        .unwrap_or_default();
    ApiFailure {
        status: response.status(),
        error: body.error,
        description: body.error_description,
        mfa_token: body.mfa_token,
    }
}

/// `POST {base}/oauth/token` as Particle's own web tools do: form-encoded, client `particle`.
async fn request_token(base: &str, fields: &[(&str, &str)]) -> Result<String, ApiFailure> {
    let mut form = String::from("client_id=particle&client_secret=particle");
    for (name, value) in fields {
        form.push_str(&format!("&{name}={}", js_sys::encode_uri_component(value)));
    }
    let request = Request::post(&format!("{base}/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form);
    reply(request, wire::access_token).await
}

/// `GET {base}{path}` with the token in the Authorization header (never in the URL).
async fn get_json<T>(
    base: &str,
    path: &str,
    token: &str,
    read: fn(&Value) -> Option<T>,
) -> Result<T, ApiFailure> {
    let request = Request::get(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .build();
    reply(request, read).await
}

/// `POST {base}{path}` with a JSON body and the token in the Authorization header.
async fn post_json<T>(
    base: &str,
    path: &str,
    token: &str,
    body: String,
    read: fn(&Value) -> Option<T>,
) -> Result<T, ApiFailure> {
    let request = Request::post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(body);
    reply(request, read).await
}

/// Sends a request; what `read` finds in its JSON reply, or Particle's error (or the network's,
/// or a reply of an unexpected shape) as an `ApiFailure`.
async fn reply<T>(
    request: Result<Request, gloo_net::Error>,
    read: fn(&Value) -> Option<T>,
) -> Result<T, ApiFailure> {
    let response = request
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    if !response.ok() {
        return Err(failure(response).await);
    }
    let status = response.status();
    // `204 No Content` (a deletion) has no body to parse.
    let value = if status == 204 {
        Value::Null
    } else {
        response.json::<Value>().await.map_err(unreachable)?
    };
    read(&value).ok_or_else(|| ApiFailure {
        status,
        error: "unexpected_reply".into(),
        description: "The cloud's answer was not in the shape this tutorial expects".into(),
        mfa_token: None,
    })
}
