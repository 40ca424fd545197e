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
    firmware, page, particle, serial, storage,
};
use crate::{
    cleanup, demo,
    msg::{Effect, Msg},
    state::describe,
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
    /// runs it.
    fn start(self: &Rc<Self>, effect: Effect) -> Option<Task> {
        let app = Rc::clone(self);
        let task: Task = match effect {
            Effect::SaveSession { session, remember } => {
                storage::save_session(&session, remember);
                return None;
            }
            Effect::ForgetSession => {
                storage::forget_session();
                return None;
            }
            Effect::LoadSettings(username) => {
                self.dispatch(Msg::SettingsLoaded(storage::load_settings(&username)));
                return None;
            }
            Effect::SaveSettings { username, settings } => {
                storage::save_settings(&username, &settings);
                return None;
            }
            Effect::CloseStreams => {
                self.close_streams();
                return None;
            }
            Effect::LogEvent(cells) => {
                append::log_event(&cells);
                return None;
            }
            Effect::DataRow { columns, cells } => {
                append::data_row(&columns, &cells);
                return None;
            }
            Effect::CopyText(text) => {
                append::copy_text(&text);
                return None;
            }
            Effect::Announce(text) => {
                append::announce(&text);
                return None;
            }
            Effect::Reveal(id) => {
                page::reveal(id);
                return None;
            }
            Effect::ShowFile(file) => {
                firmware::show_file(&file);
                return None;
            }
            Effect::CopyShownFile => {
                firmware::copy_shown_file();
                return None;
            }
            Effect::OfferDownload { file, mime, text } => {
                append::offer_download(file, mime, &text);
                return None;
            }
            Effect::OfferDeviceLog => {
                append::offer_device_log();
                return None;
            }
            Effect::FetchConfig => {
                Box::pin(async { Some(Msg::ConfigLoaded(fetch_config().await)) })
            }
            Effect::RequestToken {
                base,
                username,
                password,
            } => Box::pin(async move {
                let form = [
                    ("grant_type", "password"),
                    ("username", username.as_str()),
                    ("password", password.as_str()),
                ];
                let result = particle::request_token(&base, &form).await;
                Some(Msg::TokenGranted { base, result })
            }),
            Effect::RequestOtpToken {
                base,
                mfa_token,
                otp,
            } => Box::pin(async move {
                let form = [
                    ("grant_type", "urn:custom:mfa-otp"),
                    ("mfa_token", mfa_token.as_str()),
                    ("otp", otp.as_str()),
                ];
                let result = particle::request_token(&base, &form).await;
                Some(Msg::TokenGranted { base, result })
            }),
            Effect::CheckToken {
                base,
                token,
                created_here,
            } => Box::pin(async move {
                let result = particle::user_name(&base, &token).await;
                Some(Msg::UserLoaded {
                    base,
                    token,
                    created_here,
                    result,
                })
            }),
            Effect::LoadDevices { base, token } => {
                Box::pin(
                    async move { Some(Msg::DevicesLoaded(particle::devices(&base, &token).await)) },
                )
            }
            Effect::RevokeToken { base, token } => Box::pin(async move {
                particle::revoke(&base, &token).await;
                None
            }),
            Effect::LoadProducts { base, token } => Box::pin(async move {
                Some(Msg::ProductsLoaded(particle::products(&base, &token).await))
            }),
            Effect::CreateProduct {
                base,
                token,
                name,
                platform_id,
            } => Box::pin(async move {
                let created = particle::create_product(&base, &token, &name, platform_id).await;
                Some(Msg::ProductCreated(created))
            }),
            Effect::AddDevice {
                base,
                token,
                product_id,
                device_id,
            } => Box::pin(async move {
                let added = particle::add_device(&base, &token, product_id, &device_id).await;
                Some(Msg::DeviceAdded(added))
            }),
            Effect::OpenRelay { run, url } => Box::pin(async move {
                app.relay_stream(run, &url).await;
                None
            }),
            Effect::OpenSmee { run, url } => Box::pin(async move {
                app.smee_stream(run, &url).await;
                None
            }),
            Effect::OpenEvents {
                run,
                base,
                token,
                product_id,
            } => Box::pin(async move {
                let url = format!("{base}/v1/products/{product_id}/events");
                app.event_stream(run, &url, &token).await;
                None
            }),
            Effect::ControlRelay { url, body } => Box::pin(async move {
                Some(demo::Msg::AnswerApplied(control_relay(&url, &body).await).into())
            }),
            Effect::SaveWebhook {
                base,
                token,
                product_id,
                settings,
            } => Box::pin(async move {
                let saved = particle::save_webhook(&base, &token, product_id, &settings).await;
                Some(demo::Msg::WebhookSaved(saved).into())
            }),
            Effect::Publish {
                base,
                token,
                product_id,
                name,
                data,
            } => Box::pin(async move {
                let published = particle::publish(&base, &token, product_id, &name, &data).await;
                Some(demo::Msg::TestPublished(published.map(|()| data)).into())
            }),
            Effect::Replay {
                url,
                method,
                headers,
                body,
            } => Box::pin(async move {
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
                // What comes of it arrives on the relay stream, like any request.
                let _ = fetch::send(&request).await;
                None
            }),
            Effect::Forward {
                url,
                method,
                headers,
                body,
                respond,
                fallback,
                hook_id,
            } => Box::pin(async move {
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
            }),
            Effect::Timer { ms, msg } => Box::pin(async move {
                fetch::sleep(i32::try_from(ms).unwrap_or(i32::MAX)).await;
                Some(*msg)
            }),
            Effect::Flash {
                base,
                token,
                device_id,
                sources,
            } => Box::pin(async move {
                let flashed = particle::flash(&base, &token, &device_id, &sources).await;
                Some(Msg::Flashed(flashed))
            }),
            Effect::OpenDeviceLog { url, token } => Box::pin(async move {
                app.device_log(&url, &token).await;
                None
            }),
            Effect::ConnectSerial => Box::pin(async {
                let reason = match serial::read().await {
                    Ok(()) => "The serial port closed.".to_owned(),
                    Err(reason) => reason,
                };
                Some(Msg::SerialFailed(reason))
            }),
            Effect::Cleanup {
                base,
                token,
                product_id,
                steps,
            } => Box::pin(async move {
                for step in steps {
                    let result = particle::clean(&base, &token, product_id, step)
                        .await
                        .map_err(|failure| describe(&failure));
                    app.dispatch(cleanup::Msg::StepDone { step, result }.into());
                }
                None
            }),
        };
        Some(task)
    }
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
        .ok()
        .flatten()
        .unwrap_or_else(|| "text/plain".to_owned());
    let text = fetch::text(&response).await?;
    Ok((
        status,
        demo::forward::page_answer(status, &content_type, &text),
    ))
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
