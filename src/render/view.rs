//! What the templates see: the view model, made from the `State` for every render, and the
//! `data-state` word of each panel.

use std::collections::BTreeMap;

use serde::Serialize;
use webhook_demo_core::platform;

use crate::{
    cleanup::CleanupStep,
    demo::{
        WebhookState,
        webhook::{self, EVENT_NAME},
    },
    panel::Panel,
    state::{
        Auth, Devices, FIRMWARE_FILES, Flash, PARTICLE_API, ProductChoice, Products, ServerConfig,
        State,
    },
};

/// One entry of the device list.
#[derive(Serialize)]
struct DeviceView<'a> {
    id: &'a str,
    /// The name, or the id for an unnamed device, marked when offline.
    label: String,
    selected: bool,
}

/// One option of a `<select>`.
#[derive(Serialize)]
struct Choice {
    id: u32,
    name: String,
    selected: bool,
}

/// The picked device's details (`deviceInfo`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceInfo<'a> {
    id: &'a str,
    name: &'a str,
    platform: String,
    serial_number: &'a str,
    /// The product's id, or a sentence saying it is in none.
    product: String,
    online: bool,
}

/// What the templates see. Every field is always present (strict mode).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct View<'a> {
    event_name: &'static str,
    signed_in_user: Option<&'a str>,
    sandbox_offered: bool,
    /// Why the page could not read its server's configuration, shown to the learner.
    config_problem: Option<&'a str>,
    sign_in_error: Option<&'a str>,
    /// A sign-in request is in flight: the buttons are disabled.
    busy: bool,
    awaiting_otp: bool,
    devices: Vec<DeviceView<'a>>,
    devices_error: Option<&'a str>,
    devices_loading: bool,
    device: Option<DeviceInfo<'a>>,
    platforms: Vec<Choice>,
    new_product: bool,
    new_product_name: String,
    products: Vec<Choice>,
    creating_product: bool,
    product_error: Option<&'a str>,
    /// The "remember me" box is ticked.
    remember: bool,
    /// The token and password forms sign in to the sandbox.
    use_sandbox: bool,
    /// The picked product's name.
    product_name: Option<&'a str>,
    /// The picked device is already in the picked product.
    device_in_product: bool,
    /// The picked device is in another product, which adding it here would take it out of.
    device_in_other_product: bool,
    adding_device: bool,
    add_device_error: Option<&'a str>,
    demo_running: bool,
    /// The per-hop timeline of the latest cycles, newest first.
    timeline: Vec<crate::timeline::CycleView>,
    /// Every delivery attempt of the demo webhook, newest first.
    deliveries: Vec<crate::timeline::DeliveryView>,
    start_error: Option<&'a str>,
    relay_typed: &'a str,
    smee_typed: &'a str,
    /// The hosting server offers a relay (the address field is then optional).
    relay_offered: bool,
    /// The integration's page in Particle's console (real cloud only).
    console_link: Option<String>,
    /// The relay's hook URL of the running demo.
    hook_url: Option<&'a str>,
    /// The hook URL is on this computer or a private network while the page uses the real cloud.
    private_hook: bool,
    /// The webhook's settings as saved in the product, pretty-printed, the secret masked.
    webhook_source: Option<String>,
    webhook_error: Option<&'a str>,
    test_ready: bool,
    /// The webhook body Particle sends for the previewed event.
    preview_body: Option<String>,
    preview_invalid: bool,
    preview_typed: &'a str,
    /// Which event the preview is for.
    preview_of: Option<String>,
    test_sent: Option<&'a str>,
    test_error: Option<&'a str>,
    stream_error: Option<&'a str>,
    answer_status: u16,
    answer_body: &'a str,
    answer_require_auth: bool,
    answer_delay: u32,
    answer_error: Option<&'a str>,
    firmware_files: Vec<FileView>,
    /// Why flashing is not possible now, if it is not.
    flash_blocked: Option<&'static str>,
    flashing: bool,
    flash_status: Option<&'a str>,
    flash_errors: Vec<&'a str>,
    /// The device log can be streamed (a sandbox device is picked).
    device_log_available: bool,
    serial_supported: bool,
    serial_error: Option<&'a str>,
    cleanup_webhook: bool,
    cleanup_devices: bool,
    cleanup_product: bool,
    cleanup_product_allowed: bool,
    /// The product holds some of the learner's devices.
    cleanup_devices_enabled: bool,
    cleanup_tinker: bool,
    /// Some of the product's devices are online to be flashed.
    cleanup_tinker_enabled: bool,
    /// At least one step is chosen.
    cleanup_any: bool,
    /// The confirmation question, while it is asked.
    cleanup_question: Option<String>,
    cleanup_steps: Vec<StepView>,
    /// Each panel's `data-state`, by panel name (`{{lookup states "select-device"}}`).
    states: BTreeMap<&'static str, &'static str>,
}

/// One entry of the firmware file list.
#[derive(Serialize)]
struct FileView {
    path: &'static str,
    selected: bool,
}

/// One line of the cleanup progress.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepView {
    name: &'static str,
    label: &'static str,
    /// `running`, `done` or `failed`.
    outcome: &'static str,
    mark: &'static str,
    error: Option<String>,
}

/// The cleanup confirmation: exactly what will be removed.
fn cleanup_question(state: &State) -> String {
    let cleanup = &state.cleanup;
    let devices = state.devices_in_product();
    let mut parts = Vec::new();
    let steps = state.cleanup_steps();
    if cleanup.webhook {
        parts.push(format!("delete the webhook {EVENT_NAME}"));
    }
    if steps.contains(&CleanupStep::Tinker) {
        parts.push("restore Tinker on the product's online devices".to_owned());
    }
    if cleanup.devices && devices > 0 {
        parts.push(match devices {
            1 => "remove 1 device from the product".to_owned(),
            n => format!("remove the product's devices ({n} of yours)"),
        });
    }
    if cleanup.product && cleanup.product_allowed(devices) {
        if let Some(product) = state.product() {
            parts.push(format!(
                "delete the product {} ({})",
                product.name, product.id
            ));
        }
    }
    let last = parts.pop().unwrap_or_default();
    if parts.is_empty() {
        format!("This will {last}. Go ahead?")
    } else {
        format!("This will {} and {last}. Go ahead?", parts.join(", "))
    }
}

pub(crate) fn view(state: &State) -> View<'_> {
    let preview = state.demo.preview.as_ref().map(webhook::preview);
    View {
        event_name: EVENT_NAME,
        signed_in_user: state.session().map(|session| session.username.as_str()),
        sign_in_error: match &state.auth {
            Auth::SignedOut { error, .. } | Auth::AwaitingOtp { error, .. } => error.as_deref(),
            Auth::SignedIn(_) => None,
        },
        busy: matches!(
            state.auth,
            Auth::SignedOut { busy: true, .. } | Auth::AwaitingOtp { busy: true, .. }
        ),
        awaiting_otp: matches!(state.auth, Auth::AwaitingOtp { .. }),
        devices: match &state.devices {
            Devices::Loaded(devices) => devices
                .iter()
                .map(|device| DeviceView {
                    id: &device.id,
                    label: format!(
                        "{}{}",
                        device.name.as_deref().unwrap_or(&device.id),
                        if device.online { "" } else { " (offline)" }
                    ),
                    selected: state.selected_device.as_deref() == Some(device.id.as_str()),
                })
                .collect(),
            Devices::NotLoaded | Devices::Loading | Devices::Failed(_) => Vec::new(),
        },
        devices_loading: state.devices == Devices::Loading,
        platforms: platform::PLATFORMS
            .iter()
            .filter(|p| p.product_eligible)
            .map(|p| Choice {
                id: p.id,
                name: p.name.to_owned(),
                selected: state.platform == Some(p.id),
            })
            .collect(),
        new_product: state.product_choice == ProductChoice::New,
        new_product_name: state.suggested_product_name(),
        products: state
            .products_for_platform()
            .into_iter()
            .map(|p| Choice {
                id: p.id,
                name: p.name.clone(),
                selected: state.selected_product == Some(p.id),
            })
            .collect(),
        creating_product: state.creating_product,
        product_error: state.product_error.as_deref().or(match &state.products {
            Products::Failed(reason) => Some(reason),
            Products::NotLoaded | Products::Loading | Products::Loaded(_) => None,
        }),
        device: state.device().map(|device| DeviceInfo {
            id: &device.id,
            name: device.name.as_deref().unwrap_or("(no name)"),
            platform: platform::name(device.platform_id),
            serial_number: device.serial_number.as_deref().unwrap_or("(unknown)"),
            product: if platform::in_product(device.product_id) {
                device.product_id.to_string()
            } else {
                "not in a product yet".to_owned()
            },
            online: device.online,
        }),
        devices_error: match &state.devices {
            Devices::Failed(reason) => Some(reason),
            Devices::NotLoaded | Devices::Loading | Devices::Loaded(_) => None,
        },
        demo_running: state.demo.running,
        timeline: crate::timeline::view(&state.demo.timeline),
        deliveries: crate::timeline::deliveries(&state.demo.timeline),
        start_error: state.demo.start_error.as_deref(),
        relay_typed: &state.demo.relay_typed,
        smee_typed: &state.demo.smee_typed,
        relay_offered: matches!(state.server, ServerConfig::Loaded(_)),
        console_link: match &state.demo.webhook {
            WebhookState::Saved(id) => state
                .selected_product
                .zip(state.session())
                .filter(|(_, session)| session.base == PARTICLE_API)
                .map(|(product, _)| {
                    format!("https://console.particle.io/{product}/integrations/webhooks/{id}")
                }),
            WebhookState::Waiting | WebhookState::Saving | WebhookState::Failed(_) => None,
        },
        hook_url: state.demo.relay.as_ref().map(|r| r.hook_url.as_str()),
        private_hook: state.demo.relay.as_ref().is_some_and(|relay| {
            state.session().is_some_and(|s| s.base == PARTICLE_API)
                && webhook::is_private(&relay.hook_url)
        }),
        webhook_source: state.demo.relay.as_ref().and_then(|relay| {
            let settings = webhook::webhook_settings(
                &relay.hook_url,
                "•••••• (a secret made up for this run)",
            );
            serde_json::to_string_pretty(&settings).ok()
        }),
        webhook_error: match &state.demo.webhook {
            WebhookState::Failed(reason) => Some(reason),
            WebhookState::Waiting | WebhookState::Saving | WebhookState::Saved(_) => None,
        },
        test_ready: state.demo.running && matches!(state.demo.webhook, WebhookState::Saved(_)),
        preview_body: preview.as_ref().map(|(body, _)| body.clone()),
        preview_typed: &state.demo.preview_typed,
        preview_invalid: preview.is_some_and(|(_, valid)| !valid),
        preview_of: state.demo.preview.as_ref().map(|event| {
            format!(
                "{} from {} with data {}",
                event.name, event.coreid, event.data
            )
        }),
        test_sent: state.demo.test_sent.as_deref(),
        test_error: state.demo.test_error.as_deref(),
        stream_error: state.demo.stream_error.as_deref(),
        answer_status: state.demo.answer.status,
        answer_body: &state.demo.answer.body,
        answer_require_auth: state.demo.answer.require_auth,
        answer_delay: state.demo.answer.delay_ms,
        answer_error: state.demo.answer_error.as_deref(),
        firmware_files: FIRMWARE_FILES
            .iter()
            .map(|&path| FileView {
                path,
                selected: state.firmware_file == path,
            })
            .collect(),
        flash_blocked: match state.device() {
            None => Some("Pick a device first."),
            Some(device) if !device.online => {
                Some("The device is offline; it must be online to be flashed.")
            }
            Some(_) => None,
        },
        flashing: state.flash == Flash::Flashing,
        flash_status: match &state.flash {
            Flash::Started(status) => Some(status),
            Flash::Idle | Flash::Flashing | Flash::Failed(_) => None,
        },
        flash_errors: match &state.flash {
            Flash::Failed(errors) => errors.iter().map(String::as_str).collect(),
            Flash::Idle | Flash::Flashing | Flash::Started(_) => Vec::new(),
        },
        serial_supported: state.serial_supported,
        serial_error: state.serial_error.as_deref(),
        device_log_available: state.device().is_some()
            && state.session().map(|s| s.base.as_str()) == state.sandbox(),
        cleanup_webhook: state.cleanup.webhook,
        cleanup_devices: state.cleanup.devices,
        cleanup_product: state.cleanup.product
            && state.cleanup.product_allowed(state.devices_in_product()),
        cleanup_product_allowed: state.cleanup.product_allowed(state.devices_in_product()),
        cleanup_devices_enabled: state.devices_in_product() > 0,
        cleanup_any: !state.cleanup_steps().is_empty() && !state.cleanup.running(),
        cleanup_tinker: state.cleanup.tinker,
        cleanup_tinker_enabled: state.online_in_product() > 0,
        cleanup_question: state.cleanup.confirming.then(|| cleanup_question(state)),
        cleanup_steps: state
            .cleanup
            .progress
            .iter()
            .map(|step| StepView {
                name: step.step.name(),
                label: step.step.label(),
                outcome: match &step.outcome {
                    None => "running",
                    Some(Ok(())) => "done",
                    Some(Err(_)) => "failed",
                },
                mark: match &step.outcome {
                    None => "…",
                    Some(Ok(())) => "✓",
                    Some(Err(_)) => "✗",
                },
                error: step.outcome.clone().and_then(Result::err),
            })
            .collect(),
        remember: state.remember,
        use_sandbox: state.use_sandbox,
        product_name: state.product().map(|p| p.name.as_str()),
        device_in_product: panel_state(state, Panel::AddDevice) == "in-product",
        device_in_other_product: panel_state(state, Panel::AddDevice) == "other-product",
        adding_device: state.adding_device,
        add_device_error: state.add_device_error.as_deref(),
        sandbox_offered: state.sandbox().is_some(),
        config_problem: match &state.server {
            ServerConfig::Unavailable(reason) => Some(reason),
            ServerConfig::Loading | ServerConfig::Loaded(_) => None,
        },
        states: Panel::ALL
            .iter()
            .map(|&panel| (panel.name(), panel_state(state, panel)))
            .collect(),
    }
}

/// The short word a panel's root carries in `data-state`: what the panel is showing.
pub fn panel_state(state: &State, panel: Panel) -> &'static str {
    match (panel, &state.auth) {
        (Panel::SignIn, Auth::AwaitingOtp { .. }) => "otp",
        (Panel::SignIn, Auth::SignedIn(_)) => "signed-in",
        (_, Auth::SignedOut { .. } | Auth::AwaitingOtp { .. }) => "signed-out",
        (Panel::SelectDevice, Auth::SignedIn(_)) => match &state.devices {
            Devices::NotLoaded | Devices::Loading => "loading",
            Devices::Failed(_) => "error",
            Devices::Loaded(devices) if devices.is_empty() => "no-device",
            Devices::Loaded(_) => "choose",
        },
        (Panel::SelectProduct, Auth::SignedIn(_)) => {
            match (&state.products, state.selected_product) {
                (Products::NotLoaded | Products::Loading, _) => "loading",
                (Products::Failed(_), _) => "error",
                (Products::Loaded(_), None) => "no-product",
                (Products::Loaded(_), Some(_)) => "selected",
            }
        }
        (Panel::AddDevice, Auth::SignedIn(_)) => match (state.device(), state.product()) {
            (None, _) => "no-device",
            (_, None) => "no-product",
            (Some(device), Some(product)) if device.product_id == product.id => "in-product",
            _ if state.adding_device => "adding",
            (Some(device), _) if platform::in_product(device.product_id) => "other-product",
            _ => "can-add",
        },
        (Panel::Start, Auth::SignedIn(_)) if state.demo.running => "running",
        (Panel::Start, Auth::SignedIn(_)) if state.selected_product.is_none() => "no-product",
        (Panel::Webhook | Panel::Test, Auth::SignedIn(_)) if !state.demo.running => "stopped",
        (Panel::Webhook, Auth::SignedIn(_)) => match &state.demo.webhook {
            WebhookState::Waiting | WebhookState::Saving => "saving",
            WebhookState::Saved(_) => "created",
            WebhookState::Failed(_) => "error",
        },
        (Panel::Test, Auth::SignedIn(_)) => {
            let demo = &state.demo;
            match &demo.webhook {
                WebhookState::Saved(_) => match (&demo.test_error, &demo.test_sent) {
                    (Some(_), _) => "error",
                    (None, Some(_)) => "sent",
                    (None, None) => "ready",
                },
                WebhookState::Waiting | WebhookState::Saving | WebhookState::Failed(_) => "waiting",
            }
        }
        (Panel::Explainer | Panel::DataTable | Panel::Events, Auth::SignedIn(_)) => {
            if state.demo.running {
                "running"
            } else {
                "stopped"
            }
        }
        (Panel::Firmware, Auth::SignedIn(_)) => match (&state.flash, state.device()) {
            (Flash::Flashing, _) => "flashing",
            (Flash::Started(_), _) => "flashed",
            (Flash::Failed(_), _) => "error",
            (Flash::Idle, None) => "no-device",
            (Flash::Idle, Some(device)) if !device.online => "offline",
            (Flash::Idle, Some(_)) => "ready",
        },
        (Panel::Cleanup, Auth::SignedIn(_)) => {
            if state.cleanup.running() {
                "running"
            } else if state.cleanup.confirming {
                "confirming"
            } else if !state.cleanup.progress.is_empty() {
                "done"
            } else if state.selected_product.is_none() {
                "no-product"
            } else {
                "ready"
            }
        }
        (_, Auth::SignedIn(_)) => "ready",
    }
}
