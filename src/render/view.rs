//! What the templates see: the view, made from the `State` for every render, and the
//! `data-state` word of each panel.
//!
//! The view is built as JSON field by field, where a struct deriving `Serialize` would read more
//! like a schema: the page carried a serializer for that struct and one for each of its field
//! types, kilobytes that building the JSON directly does without. Every field is always present
//! (strict mode): `null` stands for "none".

use serde::Serialize;
use serde_json::Value;
use webhook_demo_core::platform;

use crate::{
    cleanup::CleanupStep,
    demo::{
        SECRET_MASK, WebhookState,
        webhook::{self, EVENT_NAME},
    },
    firmware::{FIRMWARE_FILES, Flash},
    json::Object,
    panel::{Panel, panel_state},
    sign_in::{Auth, PARTICLE_API},
    state::{Devices, ProductChoice, Products, ServerConfig, State},
};

/// The cleanup confirmation: exactly what will be removed.
fn cleanup_question(state: &State) -> String {
    let cleanup = &state.cleanup;
    let devices = state.lists.devices_in_product();
    let mut parts = Vec::new();
    let steps = state.cleanup_steps();
    if cleanup.webhook {
        parts.push(format!("delete the webhook {EVENT_NAME}"));
    }
    if steps.contains(&CleanupStep::Integrations) {
        parts.push(
            match cleanup.others_in(state.lists.selected_product).len() {
                1 => "delete the product's other integration".to_owned(),
                n => format!("delete the product's {n} other integrations"),
            },
        );
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
    if steps.contains(&CleanupStep::Product) {
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

/// Everything the templates see.
pub(crate) fn view(state: &State) -> Value {
    let mut view = Object::default();
    view.set("eventName", EVENT_NAME.into());
    // Each panel's `data-state`, by panel name (`{{lookup states "select-device"}}`).
    let mut states = Object::default();
    for panel in Panel::ALL {
        states.set(panel.name(), panel_state(state, panel).into());
    }
    view.set("states", states.into());
    crate::steps::view(state, &mut view);

    view.merge(&sign_in(state));
    view.merge(&devices(state));
    view.merge(&products(state));
    view.merge(&add_device(state));
    demo(state, &mut view);
    view.merge(&firmware(state));
    view.merge(&cleanup(state));
    view.into()
}

/// Sign-in: who is signed in, what the forms show, and why a sign-in failed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignIn<'a> {
    signed_in_user: Option<&'a str>,
    sandbox_offered: bool,
    /// A sandbox served to the public gives each sign-in a world of its own, which expires.
    sandbox_hosted: bool,
    /// Why the page could not read its server's configuration, shown to the learner.
    config_problem: Option<&'a str>,
    sign_in_error: Option<&'a str>,
    /// A sign-in request is in flight: the buttons are disabled.
    busy: bool,
    awaiting_otp: bool,
    /// The "remember me" box is ticked.
    remember: bool,
    /// The token and password forms sign in to the sandbox.
    use_sandbox: bool,
}

fn sign_in(state: &State) -> SignIn<'_> {
    let auth = &state.sign_in.auth;
    SignIn {
        signed_in_user: state.session().map(|session| session.username.as_str()),
        sandbox_offered: state.sandbox().is_some(),
        sandbox_hosted: match &state.server {
            ServerConfig::Loaded(config) => config.sandbox.is_some() && config.public_url.is_some(),
            ServerConfig::Loading | ServerConfig::Unavailable(_) => false,
        },
        config_problem: match &state.server {
            ServerConfig::Unavailable(reason) => Some(reason.as_str()),
            ServerConfig::Loading | ServerConfig::Loaded(_) => None,
        },
        sign_in_error: match auth {
            Auth::SignedOut { error, .. } | Auth::AwaitingOtp { error, .. } => error.as_deref(),
            Auth::SignedIn(_) => None,
        },
        busy: matches!(
            auth,
            Auth::SignedOut { busy: true, .. } | Auth::AwaitingOtp { busy: true, .. }
        ),
        awaiting_otp: matches!(auth, Auth::AwaitingOtp { .. }),
        remember: state.sign_in.remember,
        use_sandbox: state.sign_in.use_sandbox,
    }
}

/// The device list and the picked device's details.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceList<'a> {
    devices: Vec<DeviceOption<'a>>,
    devices_error: Option<&'a str>,
    devices_loading: bool,
    /// The picked device's details (`deviceInfo`).
    device: Option<DeviceInfo<'a>>,
}

/// One device of the list: its name (or id), marked when offline.
#[derive(Serialize)]
struct DeviceOption<'a> {
    id: &'a str,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceInfo<'a> {
    id: &'a str,
    name: &'a str,
    platform: String,
    serial_number: &'a str,
    /// The product's name and id, or a sentence saying it is in none.
    product: String,
    online: bool,
}

fn devices(state: &State) -> DeviceList<'_> {
    let lists = &state.lists;
    let devices = match &lists.devices {
        Devices::Loaded(devices) => devices
            .iter()
            .map(|device| DeviceOption {
                id: &device.id,
                label: format!(
                    "{}{}",
                    device.name.as_deref().unwrap_or(&device.id),
                    if device.online { "" } else { " (offline)" }
                ),
                selected: lists.selected_device.as_deref() == Some(device.id.as_str()),
            })
            .collect(),
        Devices::NotLoaded | Devices::Loading | Devices::Failed(_) => Vec::new(),
    };
    let device = lists.device().map(|device| DeviceInfo {
        id: &device.id,
        name: device.name.as_deref().unwrap_or("(no name)"),
        platform: platform::name(device.platform_id),
        serial_number: device.serial_number.as_deref().unwrap_or("(unknown)"),
        product: if platform::in_product(device.product_id) {
            let named = match &lists.products {
                Products::Loaded(products) => products.iter().find(|p| p.id == device.product_id),
                Products::NotLoaded | Products::Loading | Products::Failed(_) => None,
            };
            match named {
                Some(product) => format!("{} ({})", product.name, product.id),
                None => device.product_id.to_string(),
            }
        } else {
            "not in a product yet".to_owned()
        },
        online: device.online,
    });
    DeviceList {
        devices,
        devices_error: match &lists.devices {
            Devices::Failed(reason) => Some(reason),
            Devices::NotLoaded | Devices::Loading | Devices::Loaded(_) => None,
        },
        devices_loading: lists.devices == Devices::Loading,
        device,
    }
}

/// The product: the platforms and products to choose from, and creating one.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProductPick<'a> {
    platforms: Vec<Choice<'a>>,
    products: Vec<Choice<'a>>,
    new_product: bool,
    new_product_name: String,
    creating_product: bool,
    product_error: Option<&'a str>,
    /// The picked product's name.
    product_name: Option<&'a str>,
}

/// One option of a `<select>`.
#[derive(Serialize)]
struct Choice<'a> {
    id: u32,
    name: &'a str,
    selected: bool,
}

fn products(state: &State) -> ProductPick<'_> {
    let lists = &state.lists;
    ProductPick {
        platforms: platform::PLATFORMS
            .iter()
            .filter(|p| p.product_eligible)
            .map(|p| Choice {
                id: p.id,
                name: p.name,
                selected: lists.platform == Some(p.id),
            })
            .collect(),
        products: lists
            .products_for_platform()
            .into_iter()
            .map(|p| Choice {
                id: p.id,
                name: &p.name,
                selected: lists.selected_product == Some(p.id),
            })
            .collect(),
        new_product: lists.product_choice == ProductChoice::New,
        new_product_name: lists.suggested_product_name(),
        creating_product: lists.creating_product,
        product_error: lists.product_error.as_deref().or(match &lists.products {
            Products::Failed(reason) => Some(reason),
            Products::NotLoaded | Products::Loading | Products::Loaded(_) => None,
        }),
        product_name: state.product().map(|p| p.name.as_str()),
    }
}

/// Adding the device: whether it is in the picked product already, or in another one, which
/// adding it here would take it out of.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddDevice<'a> {
    device_in_product: bool,
    device_in_other_product: bool,
    adding_device: bool,
    add_device_error: Option<&'a str>,
}

fn add_device(state: &State) -> AddDevice<'_> {
    let add_device = panel_state(state, Panel::AddDevice);
    AddDevice {
        device_in_product: add_device == "in-product",
        device_in_other_product: add_device == "other-product",
        adding_device: state.lists.adding_device,
        add_device_error: state.lists.add_device_error.as_deref(),
    }
}

/// The demo: its run, the journey, the relay and the webhook, the test and the answer.
fn demo(state: &State, view: &mut Object) {
    let session = state.session();
    let demo = &state.demo;
    view.set("demoRunning", demo.running.into());
    // The journey: the shown cycle's diagram and cards, the request list, the delivery log and
    // the answer presets.
    crate::demo::journey::set_view(demo, state.secret_revealed, &state.page_origin, view);
    view.set("startError", demo.start_error.as_deref().into());
    view.set("relayTyped", demo.relay_typed.as_str().into());
    view.set("smeeTyped", demo.smee_typed.as_str().into());
    // The hosting server offers a relay (the address field is then optional).
    view.set(
        "relayOffered",
        matches!(state.server, ServerConfig::Loaded(_)).into(),
    );
    // The integration's page in Particle's console (real cloud only).
    let console_link = match &demo.webhook {
        WebhookState::Saved(id) => state
            .lists
            .selected_product
            .zip(session)
            .filter(|(_, session)| session.base == PARTICLE_API)
            .map(|(product, _)| {
                format!("https://console.particle.io/{product}/integrations/webhooks/{id}")
            }),
        WebhookState::Waiting | WebhookState::Saving | WebhookState::Failed(_) => None,
    };
    view.set("consoleLink", console_link.into());
    // The relay's hook URL of the running demo, and whether it is on this computer or a private
    // network while the page uses the real cloud.
    view.set(
        "hookUrl",
        demo.relay.as_ref().map(|r| r.hook_url.as_str()).into(),
    );
    let private_hook = demo.relay.as_ref().is_some_and(|relay| {
        session.is_some_and(|s| s.base == PARTICLE_API) && webhook::is_private(&relay.hook_url)
    });
    view.set("privateHook", private_hook.into());
    // The webhook's settings as saved in the product, in the console's order, the secret masked
    // until the learner reveals it; the body template as a block of its own.
    let secret = if state.secret_revealed {
        demo.secret.as_str()
    } else {
        SECRET_MASK
    };
    // Only while the product has it: not before it is saved, nor after cleanup deleted it.
    let webhook_source = demo
        .relay
        .as_ref()
        .filter(|_| matches!(demo.webhook, WebhookState::Saved(_)))
        .map(|relay| console_json(&webhook::webhook_settings(&relay.hook_url, secret)));
    view.set("webhookSource", webhook_source.into());
    view.set("webhookBody", body_block(webhook::BODY_TEMPLATE).into());
    view.set("secretRevealed", state.secret_revealed.into());
    let webhook_error = match &demo.webhook {
        WebhookState::Failed(reason) => Some(reason.as_str()),
        WebhookState::Waiting | WebhookState::Saving | WebhookState::Saved(_) => None,
    };
    view.set("webhookError", webhook_error.into());
    let test_ready = demo.running && matches!(demo.webhook, WebhookState::Saved(_));
    view.set("testReady", test_ready.into());
    // The webhook body Particle sends for the previewed event, and which event that is.
    let preview = demo.preview.as_ref().map(webhook::preview);
    view.set(
        "previewInvalid",
        preview.as_ref().is_some_and(|(_, valid)| !valid).into(),
    );
    view.set("previewBody", preview.map(|(body, _)| body).into());
    view.set("previewTyped", demo.preview_typed.as_str().into());
    let preview_of = demo.preview.as_ref().map(|event| {
        format!(
            "{} from {} with data {}",
            event.name, event.coreid, event.data
        )
    });
    view.set("previewOf", preview_of.into());
    view.set("testSent", demo.test_sent.as_deref().into());
    view.set("testError", demo.test_error.as_deref().into());
    view.set("streamError", demo.stream_error.as_deref().into());
    view.set("answerStatus", demo.answer.status.into());
    view.set("answerBody", demo.answer.body.as_str().into());
    view.set("answerRequireAuth", demo.answer.require_auth.into());
    view.set("answerDelay", demo.answer.delay_ms.into());
    view.set("answerError", demo.answer_error.as_deref().into());
}

/// The firmware, flashing it, and the device's log.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FirmwareView<'a> {
    firmware_files: Vec<FirmwareFile<'a>>,
    /// Why flashing is not possible now, if it is not.
    flash_blocked: Option<&'a str>,
    flashing: bool,
    flash_status: Option<&'a str>,
    flash_errors: &'a [String],
    /// The device log can be streamed (a sandbox device is picked).
    device_log_available: bool,
    serial_supported: bool,
    serial_error: Option<&'a str>,
}

/// One of the firmware's files, to show.
#[derive(Serialize)]
struct FirmwareFile<'a> {
    path: &'a str,
    selected: bool,
}

fn firmware(state: &State) -> FirmwareView<'_> {
    let firmware = &state.firmware;
    let (flash_status, flash_errors) = match &firmware.flash {
        Flash::Started(status) => (Some(status.as_str()), &[][..]),
        Flash::Failed(errors) => (None, &errors[..]),
        Flash::Idle | Flash::Flashing => (None, &[][..]),
    };
    FirmwareView {
        firmware_files: FIRMWARE_FILES
            .iter()
            .map(|&path| FirmwareFile {
                path,
                selected: firmware.file == path,
            })
            .collect(),
        flash_blocked: match state.lists.device() {
            None => Some("Pick a device first."),
            // A device restarts after a flash: offline for a moment, not a reason to worry.
            Some(device) if !device.online && matches!(firmware.flash, Flash::Started(_)) => {
                Some("The device is restarting with the new firmware.")
            }
            Some(device) if !device.online => {
                Some("The device is offline; it must be online to be flashed.")
            }
            Some(_) => None,
        },
        flashing: firmware.flash == Flash::Flashing,
        flash_status,
        flash_errors,
        device_log_available: state.lists.device().is_some()
            && state.session().map(|s| s.base.as_str()) == state.sandbox(),
        serial_supported: firmware.serial_supported,
        serial_error: firmware.serial_error.as_deref(),
    }
}

/// Cleanup: the boxes, whether each can be ticked, the question, and each step's outcome.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CleanupView<'a> {
    cleanup_webhook: bool,
    cleanup_integrations: bool,
    /// The product's other integrations, as the check found them.
    cleanup_others: Vec<OtherIntegration<'a>>,
    /// Why the product cannot go with the boxes as they are, in a sentence.
    cleanup_product_kept: Option<String>,
    cleanup_checking: bool,
    cleanup_tinker: bool,
    /// Some of the product's devices are online to be flashed.
    cleanup_tinker_enabled: bool,
    cleanup_devices: bool,
    /// The product holds some of the learner's devices.
    cleanup_devices_enabled: bool,
    cleanup_product: bool,
    cleanup_product_allowed: bool,
    /// At least one step is chosen.
    cleanup_any: bool,
    /// The confirmation question, while it is asked.
    cleanup_question: Option<String>,
    cleanup_steps: Vec<StepProgress<'a>>,
}

/// One of the product's other integrations.
#[derive(Serialize)]
struct OtherIntegration<'a> {
    event: &'a str,
    url: Option<&'a str>,
}

/// A cleanup step that was started, and how it went.
#[derive(Serialize)]
struct StepProgress<'a> {
    name: &'static str,
    label: &'static str,
    outcome: &'static str,
    mark: &'static str,
    error: Option<&'a str>,
    /// What the step left for the learner to do by hand.
    notes: &'a [String],
}

fn cleanup(state: &State) -> CleanupView<'_> {
    let cleanup = &state.cleanup;
    let devices_in_product = state.lists.devices_in_product();
    let product = state.lists.selected_product;
    let kept_because = cleanup.product_kept_because(product, devices_in_product);
    let product_allowed = kept_because.is_none();
    CleanupView {
        cleanup_webhook: cleanup.webhook,
        cleanup_integrations: cleanup.integrations,
        cleanup_others: cleanup
            .others_in(product)
            .iter()
            .map(|other| OtherIntegration {
                event: &other.event,
                url: other.url.as_deref(),
            })
            .collect(),
        cleanup_product_kept: kept_because.map(|why| {
            format!(
                "The product stays: {why}, and Particle deletes no product that still has \
                 integrations or devices."
            )
        }),
        cleanup_checking: cleanup.checking,
        cleanup_tinker: cleanup.tinker,
        cleanup_tinker_enabled: state.lists.online_in_product() > 0,
        cleanup_devices: cleanup.devices,
        cleanup_devices_enabled: devices_in_product > 0,
        cleanup_product: cleanup.product && product_allowed,
        cleanup_product_allowed: product_allowed,
        cleanup_any: !state.cleanup_steps().is_empty() && !cleanup.running() && !cleanup.checking,
        cleanup_question: cleanup.confirming.then(|| cleanup_question(state)),
        cleanup_steps: cleanup
            .progress
            .iter()
            .map(|progress| {
                let (outcome, mark) = match &progress.outcome {
                    None => ("running", "…"),
                    Some(Ok(_)) => ("done", "✓"),
                    Some(Err(_)) => ("failed", "✗"),
                };
                StepProgress {
                    name: progress.step.name(),
                    label: progress.step.label(),
                    outcome,
                    mark,
                    error: progress
                        .outcome
                        .as_ref()
                        .and_then(|o| o.as_ref().err())
                        .map(String::as_str),
                    notes: match &progress.outcome {
                        Some(Ok(notes)) => notes,
                        Some(Err(_)) | None => &[],
                    },
                }
            })
            .collect(),
    }
}

/// The webhook's settings as the Particle console lists them, pretty-printed, without the body
/// (shown as a block of its own): serde_json's map would sort the keys.
fn console_json(settings: &Value) -> String {
    const ORDER: [&str; 8] = [
        "integration_type",
        "event",
        "url",
        "requestType",
        "headers",
        "noDefaults",
        "responseTopic",
        "errorResponseTopic",
    ];
    let mut out = String::from("{");
    for key in ORDER {
        let Some(Ok(value)) = settings.get(key).map(serde_json::to_string_pretty) else {
            continue;
        };
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str("\n  \"");
        out.push_str(key);
        out.push_str("\": ");
        for c in value.chars() {
            out.push(c);
            if c == '\n' {
                out.push_str("  ");
            }
        }
    }
    out.push_str("\n}");
    out
}

/// A one-line JSON body template, one field a line (it is no JSON itself: `{{{…}}}` stands
/// unquoted where the event's value goes).
/// (A loop over the bytes rather than `str::replace` with a string pattern, whose searcher
/// would cost the page kilobytes.)
fn body_block(template: &str) -> String {
    let bytes = template.as_bytes();
    let mut out = Vec::with_capacity(template.len() + 16);
    for (i, &byte) in bytes.iter().enumerate() {
        let next = bytes.get(i + 1).copied();
        let last = i + 1 == bytes.len();
        match byte {
            b'}' if last => out.extend_from_slice(b"\n}"),
            b'{' if i == 0 => out.extend_from_slice(b"{\n  "),
            b',' if next == Some(b'"') => out.extend_from_slice(b",\n  "),
            b':' if i > 0 && bytes[i - 1] == b'"' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    String::from_utf8(out).unwrap_or_default()
}
