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
use web_sys::{Element, Event, HtmlInputElement, HtmlSelectElement};
use webhook_demo_core::wire::{self, ApiErrorBody, Config};

use crate::{
    panel::Panel,
    render::Renderer,
    state::{ApiFailure, Device, Effect, Msg, Product, ProductChoice, State, update},
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
    app.listen();
    app.run(effects);
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
    let value = response.json::<Value>().await.map_err(unreachable)?;
    read(&value).ok_or_else(|| ApiFailure {
        status,
        error: "unexpected_reply".into(),
        description: "The cloud's answer was not in the shape this tutorial expects".into(),
        mfa_token: None,
    })
}
