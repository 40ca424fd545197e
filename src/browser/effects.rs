//! Running the effects `update` returns. Those that only touch the page or the browser's storage
//! run at once, within the event that caused them (a download link's target must be set before the
//! browser follows the link); requests, streams and timers run in the background and come back as
//! messages.

use std::{future::Future, pin::Pin, rc::Rc};

use serde_json::Value;
use wasm_bindgen::JsValue;
use webhook_demo_core::wire::Config;

use super::{
    App, append,
    fetch::{self, Request},
    firmware, particle, serial, storage,
};
use crate::{
    cleanup::{self, CleanupStep},
    demo,
    failure::describe,
    lists,
    msg::{Effect, Msg},
    sign_in,
};

/// Background work: what it comes to, as a message to dispatch (or nothing).
type Task = Pin<Box<dyn Future<Output = Option<Msg>>>>;

impl App {
    pub(super) fn run(self: &Rc<Self>, effects: Vec<Effect>) {
        for effect in effects {
            if let Some(task) = self.start(effect) {
                // One boxed future type for every task, so spawning is one piece of code.
                let app = Rc::clone(self);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(msg) = task.await {
                        app.dispatch(msg);
                    }
                });
            }
        }
    }

    /// Runs `effect` now when it only touches the page or storage; otherwise returns the task that
    /// runs it. One arm per effect, each a call: what a task does is in the function it names.
    fn start(self: &Rc<Self>, effect: Effect) -> Option<Task> {
        let app = Rc::clone(self);
        match effect {
            Effect::SaveSession { session, remember } => storage::save_session(&session, remember),
            Effect::ForgetSession => storage::forget_session(),
            Effect::LoadSettings(username) => {
                self.dispatch(Msg::Lists(lists::Msg::SettingsLoaded(
                    storage::load_settings(&username),
                )));
            }
            Effect::SaveSettings { username, settings } => {
                storage::save_settings(&username, &settings);
            }
            Effect::CloseStreams => self.close_streams(),
            Effect::LogEvent(cells) => append::log_event(&cells),
            Effect::DataRow(row) => append::data_row(&row),
            Effect::CopyText(text) => append::copy_text(&text),
            Effect::Announce(text) => append::announce(&text),
            Effect::Reveal(id) => self.reveal(id),
            Effect::ShowFile(file) => firmware::show_file(&file),
            Effect::CopyShownFile => firmware::copy_shown_file(),
            Effect::OfferDownload { file, mime, text } => append::offer_download(file, mime, &text),
            Effect::OfferDeviceLog => append::offer_device_log(),
            Effect::FetchConfig => return task(config()),
            Effect::RequestToken {
                base,
                username,
                password,
            } => return task(password_token(base, username, password)),
            Effect::RequestOtpToken {
                base,
                mfa_token,
                otp,
            } => return task(otp_token(base, mfa_token, otp)),
            Effect::CheckToken {
                base,
                token,
                created_here,
            } => return task(check_token(base, token, created_here)),
            Effect::LoadDevices { base, token } => return task(devices(base, token)),
            Effect::RevokeToken { base, token } => return quietly(revoke(base, token)),
            Effect::LoadProducts { base, token } => return task(products(base, token)),
            Effect::CreateProduct {
                base,
                token,
                name,
                platform_id,
            } => return task(create_product(base, token, name, platform_id)),
            Effect::AddDevice {
                base,
                token,
                product_id,
                device_id,
            } => return task(add_device(base, token, product_id, device_id)),
            Effect::OpenRelay { run, url } => return quietly(app.relay_stream(run, url)),
            Effect::OpenSmee { run, url } => return quietly(app.smee_stream(run, url)),
            Effect::OpenEvents {
                run,
                base,
                token,
                product_id,
            } => return quietly(app.events(run, base, token, product_id)),
            Effect::ControlRelay { url, body } => return task(apply_answer(url, body)),
            Effect::SaveWebhook {
                base,
                token,
                product_id,
                settings,
            } => return task(save_webhook(base, token, product_id, settings)),
            Effect::Publish {
                base,
                token,
                product_id,
                name,
                data,
            } => return task(publish(base, token, product_id, name, data)),
            Effect::Replay {
                url,
                method,
                headers,
                body,
            } => return quietly(replay(url, method, headers, body)),
            Effect::Forward {
                url,
                method,
                headers,
                body,
                respond,
                fallback,
                hook_id,
            } => {
                let forwarded =
                    forward_and_answer(url, method, headers, body, respond, fallback, hook_id);
                return task(forwarded);
            }
            Effect::Respond { url, body } => return quietly(respond(url, body)),
            Effect::Timer { ms, msg } => return task(timer(ms, *msg)),
            Effect::Flash {
                base,
                token,
                device_id,
                sources,
            } => return task(flash(base, token, device_id, sources)),
            Effect::OpenDeviceLog { url, token } => return quietly(app.device_log(url, token)),
            Effect::ConnectSerial => return task(connect_serial()),
            Effect::CleanupCheck {
                base,
                token,
                product_id,
            } => return task(check_cleanup(base, token, product_id)),
            Effect::Cleanup {
                base,
                token,
                product_id,
                steps,
            } => return quietly(app.clean(base, token, product_id, steps)),
            Effect::CheckServer { run, requests } => return quietly(app.probe(run, requests)),
        }
        None
    }
}

/// Background work, boxed: one future type for every task, so spawning is one piece of code.
fn task(work: impl Future<Output = Option<Msg>> + 'static) -> Option<Task> {
    Some(Box::pin(work))
}

/// Background work that dispatches what it has to say itself, or has nothing to say.
fn quietly(work: impl Future<Output = ()> + 'static) -> Option<Task> {
    task(async move {
        work.await;
        None
    })
}

impl App {
    /// The product's event stream.
    async fn events(self: Rc<Self>, run: u32, base: String, token: String, product_id: u32) {
        self.event_stream(run, &base, product_id, &token).await;
    }

    /// Runs the cleanup's steps in order, saying how each went as it ends.
    async fn clean(
        self: Rc<Self>,
        base: String,
        token: String,
        product_id: u32,
        steps: Vec<CleanupStep>,
    ) {
        for step in steps {
            let result = particle::clean(&base, &token, product_id, step)
                .await
                .map_err(|failure| describe(&failure));
            self.dispatch(cleanup::Msg::StepDone { step, result }.into());
        }
    }
}

async fn check_cleanup(base: String, token: String, product_id: u32) -> Option<Msg> {
    let result = particle::other_integrations(&base, &token, product_id)
        .await
        .map_err(|failure| describe(&failure));
    Some(cleanup::Msg::Checked { product_id, result }.into())
}

async fn config() -> Option<Msg> {
    Some(Msg::ConfigLoaded(fetch_config().await))
}

async fn devices(base: String, token: String) -> Option<Msg> {
    Some(Msg::Lists(lists::Msg::DevicesLoaded(
        particle::devices(&base, &token).await,
    )))
}

async fn revoke(base: String, token: String) {
    particle::revoke(&base, &token).await;
}

async fn products(base: String, token: String) -> Option<Msg> {
    Some(Msg::Lists(lists::Msg::ProductsLoaded(
        particle::products(&base, &token).await,
    )))
}

async fn create_product(
    base: String,
    token: String,
    name: String,
    platform_id: u32,
) -> Option<Msg> {
    let created = particle::create_product(&base, &token, &name, platform_id).await;
    Some(Msg::Lists(lists::Msg::ProductCreated(created)))
}

async fn add_device(
    base: String,
    token: String,
    product_id: u32,
    device_id: String,
) -> Option<Msg> {
    let added = particle::add_device(&base, &token, product_id, &device_id).await;
    Some(Msg::Lists(lists::Msg::DeviceAdded(added)))
}

async fn apply_answer(url: String, body: String) -> Option<Msg> {
    Some(demo::Msg::AnswerApplied(control_relay(&url, &body).await).into())
}

async fn save_webhook(
    base: String,
    token: String,
    product_id: u32,
    settings: String,
) -> Option<Msg> {
    let saved = particle::save_webhook(&base, &token, product_id, &settings).await;
    Some(demo::Msg::WebhookSaved(saved).into())
}

async fn publish(
    base: String,
    token: String,
    product_id: u32,
    name: String,
    data: String,
) -> Option<Msg> {
    let published = particle::publish(&base, &token, product_id, &name, &data).await;
    Some(demo::Msg::TestPublished(published.map(|()| data)).into())
}

async fn timer(ms: u32, msg: Msg) -> Option<Msg> {
    fetch::sleep(i32::try_from(ms).unwrap_or(i32::MAX)).await;
    Some(msg)
}

async fn flash(
    base: String,
    token: String,
    device_id: String,
    sources: Vec<(String, String)>,
) -> Option<Msg> {
    let flashed = particle::flash(&base, &token, &device_id, &sources).await;
    Some(Msg::Firmware(crate::firmware::Msg::Flashed(flashed)))
}

async fn password_token(base: String, username: String, password: String) -> Option<Msg> {
    let form = [
        ("grant_type", "password"),
        ("username", username.as_str()),
        ("password", password.as_str()),
    ];
    let result = particle::request_token(&base, &form).await;
    Some(Msg::SignIn(sign_in::Msg::TokenGranted { base, result }))
}

async fn otp_token(base: String, mfa_token: String, otp: String) -> Option<Msg> {
    let form = [
        ("grant_type", "urn:custom:mfa-otp"),
        ("mfa_token", mfa_token.as_str()),
        ("otp", otp.as_str()),
    ];
    let result = particle::request_token(&base, &form).await;
    Some(Msg::SignIn(sign_in::Msg::TokenGranted { base, result }))
}

async fn check_token(base: String, token: String, created_here: bool) -> Option<Msg> {
    let result = particle::user_name(&base, &token).await;
    Some(Msg::SignIn(sign_in::Msg::UserLoaded {
        base,
        token,
        created_here,
        result,
    }))
}

/// Sends a recorded request again; what comes of it arrives on the relay stream, like any
/// request.
async fn replay(url: String, method: String, headers: Vec<(String, String)>, body: Option<String>) {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let body = body.map(JsValue::from);
    let request = Request {
        method: &method,
        url: &url,
        headers: &headers,
        body: body.as_ref(),
        signal: None,
    };
    let _ = fetch::send(&request).await;
}

/// Forwards a hook to the learner's server and gives the relay that server's answer, or the
/// page's own (`fallback`) when it cannot be reached.
async fn forward_and_answer(
    url: String,
    method: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    respond: String,
    fallback: String,
    hook_id: u64,
) -> Option<Msg> {
    let result = forward(&url, &method, &headers, body).await;
    let answer = match &result {
        Ok((_, answer)) => answer.clone(),
        Err(_) => fallback,
    };
    // The relay sends this to the cloud; if it is gone, the relay's deadline answers.
    let _ = control_relay(&respond, &answer).await;
    Some(
        demo::Msg::Forwarded {
            hook_id,
            result: result.map(|(status, _)| status),
        }
        .into(),
    )
}

async fn connect_serial() -> Option<Msg> {
    let reason = match serial::read().await {
        Ok(()) => "The serial port closed.".to_owned(),
        Err(reason) => reason,
    };
    Some(Msg::Firmware(crate::firmware::Msg::SerialFailed(reason)))
}

/// `GET config.json` next to the page; any failure means "no hosting server features".
async fn fetch_config() -> Result<Config, String> {
    let response = fetch::send(&Request::get("config.json")).await?;
    if !response.ok() {
        return Err(format!("config.json answered {}", response.status()));
    }
    let invalid = || "config.json is not valid".to_owned();
    let text = fetch::text(&response).await.map_err(|_| invalid())?;
    let value: Value = serde_json::from_str(&text).map_err(|_| invalid())?;
    Config::from_json(&value).ok_or_else(invalid)
}

/// `POST`s an answer setting to the relay's control URL.
/// Passes a request on to the learner's server: its status and its answer as a `respond` body,
/// or why it could not be reached (a refused connection and missing CORS headers look the same
/// to the page).
async fn forward(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: Option<String>,
) -> Result<(u16, String), String> {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let body = body.map(JsValue::from);
    let request = Request {
        method,
        url,
        headers: &headers,
        body: body.as_ref(),
        signal: None,
    };
    let response = fetch::send(&request).await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap_or_else(|| "text/plain".to_owned());
    let text = fetch::text(&response).await?;
    Ok((
        status,
        demo::forward::page_answer(status, &content_type, &text),
    ))
}

/// The page's own answer to a request; should it fail, the relay's deadline answers with the
/// answer set.
async fn respond(url: String, body: String) {
    drop(control_relay(&url, &body).await);
}

async fn control_relay(url: &str, body: &str) -> Result<(), String> {
    let body = JsValue::from_str(body);
    let request = Request {
        method: "POST",
        url,
        headers: &[("Content-Type", "application/json")],
        body: Some(&body),
        signal: None,
    };
    match fetch::send(&request).await {
        Ok(response) if response.ok() => Ok(()),
        Ok(response) => Err(format!(
            "The webhook server refused the settings (HTTP {}).",
            response.status()
        )),
        Err(error) => Err(format!("The webhook server is unreachable: {error}")),
    }
}
