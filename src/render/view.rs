//! What the templates see: the view, made from the `State` for every render, and the
//! `data-state` word of each panel.
//!
//! The view is built as JSON field by field, where a struct deriving `Serialize` would read more
//! like a schema: the page carried a serializer for that struct and one for each of its field
//! types, bytes that building the JSON directly does without. Measured on the whole page as the
//! server sends it: the sign-in, device list, product, add-device, firmware and cleanup parts as
//! `Serialize` structs merged into this object cost 1,730 bytes in brotli and 2,434 in gzip, the
//! firmware's alone 790 and 923 (`serde_json::to_value` and its struct serializer come with the
//! first), when the page was 491 bytes under its 153,600-byte brotli budget. Every field is
//! always present (strict mode): `null` stands for "none".

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
    crate::summary::view(state, &mut view);

    sign_in(state, &mut view);
    devices(state, &mut view);
    products(state, &mut view);
    add_device(state, &mut view);
    demo(state, &mut view);
    firmware(state, &mut view);
    cleanup(state, &mut view);
    let forward = state.demo.forwarding.to.as_deref().unwrap_or_default();
    crate::check::view::view(&state.check, forward, &state.demo.secret, &mut view);
    view.into()
}

/// Sign-in: who is signed in, what the forms show, and why a sign-in failed.
fn sign_in(state: &State, view: &mut Object) {
    let session = state.session();
    view.set(
        "signedInUser",
        session.map(|session| session.username.as_str()).into(),
    );
    view.set("sandboxOffered", state.sandbox().is_some().into());
    // A hosted sandbox gives each sign-in a world of its own, which expires unused.
    let idle_minutes = match &state.server {
        ServerConfig::Loaded(config) if config.sandbox.is_some() => config.sandbox_idle_minutes,
        ServerConfig::Loaded(_) | ServerConfig::Loading | ServerConfig::Unavailable(_) => None,
    };
    view.set("sandboxHosted", idle_minutes.is_some().into());
    view.set(
        "sandboxIdleMinutes",
        idle_minutes.unwrap_or_default().into(),
    );
    // Why the page could not read its server's configuration, shown to the learner.
    let config_problem = match &state.server {
        ServerConfig::Unavailable(reason) => Some(reason.as_str()),
        ServerConfig::Loading | ServerConfig::Loaded(_) => None,
    };
    view.set("configProblem", config_problem.into());
    let sign_in_error = match &state.sign_in.auth {
        Auth::SignedOut { error, .. } | Auth::AwaitingOtp { error, .. } => error.as_deref(),
        Auth::SignedIn(_) => None,
    };
    view.set("signInError", sign_in_error.into());
    // A sign-in request is in flight: the buttons are disabled.
    let busy = matches!(
        state.sign_in.auth,
        Auth::SignedOut { busy: true, .. } | Auth::AwaitingOtp { busy: true, .. }
    );
    view.set("busy", busy.into());
    view.set(
        "awaitingOtp",
        matches!(state.sign_in.auth, Auth::AwaitingOtp { .. }).into(),
    );
    // The "remember me" box is ticked.
    view.set("remember", state.sign_in.remember.into());
    // The token and password forms sign in to the sandbox.
    view.set("useSandbox", state.sign_in.use_sandbox.into());
    view.set("signOutAsking", state.sign_in.asking_sign_out.into());
}

/// The device list and the picked device's details (`deviceInfo`).
fn devices(state: &State, view: &mut Object) {
    // The device list: each device's name (or id), marked when offline.
    let devices: Vec<Value> = match &state.lists.devices {
        Devices::Loaded(devices) => devices
            .iter()
            .map(|device| {
                let mut entry = Object::default();
                entry.set("id", device.id.as_str().into());
                let label = format!(
                    "{}{}",
                    device.name.as_deref().unwrap_or(&device.id),
                    if device.online { "" } else { " (offline)" }
                );
                entry.set("label", label.into());
                let selected = state.lists.selected_device.as_deref() == Some(device.id.as_str());
                entry.set("selected", selected.into());
                entry.into()
            })
            .collect(),
        Devices::NotLoaded | Devices::Loading | Devices::Failed(_) => Vec::new(),
    };
    view.set("devices", devices.into());
    let devices_error = match &state.lists.devices {
        Devices::Failed(reason) => Some(reason.as_str()),
        Devices::NotLoaded | Devices::Loading | Devices::Loaded(_) => None,
    };
    view.set("devicesError", devices_error.into());
    view.set(
        "devicesLoading",
        (state.lists.devices == Devices::Loading).into(),
    );
    // The picked device's details (`deviceInfo`).
    let device = state.lists.device().map(|device| {
        let mut info = Object::default();
        info.set("id", device.id.as_str().into());
        info.set("name", device.name.as_deref().unwrap_or("(no name)").into());
        info.set("platform", platform::name(device.platform_id).into());
        info.set(
            "serialNumber",
            device
                .serial_number
                .as_deref()
                .unwrap_or("(unknown)")
                .into(),
        );
        // The product's name and id, or a sentence saying it is in none.
        let product = if platform::in_product(device.product_id) {
            let named = match &state.lists.products {
                Products::Loaded(products) => products.iter().find(|p| p.id == device.product_id),
                Products::NotLoaded | Products::Loading | Products::Failed(_) => None,
            };
            match named {
                Some(product) => format!("{} ({})", product.name, product.id),
                None => device.product_id.to_string(),
            }
        } else {
            "not in a product yet".to_owned()
        };
        info.set("product", product.into());
        info.set("online", device.online.into());
        Value::from(info)
    });
    view.set("device", device.into());
}

/// The product: the platforms and products to choose from, and creating one.
fn products(state: &State, view: &mut Object) {
    let platforms: Vec<Value> = platform::PLATFORMS
        .iter()
        .filter(|p| p.product_eligible)
        .map(|p| choice(p.id, p.name, state.lists.platform == Some(p.id)))
        .collect();
    view.set("platforms", platforms.into());
    let products: Vec<Value> = state
        .lists
        .products_for_platform()
        .into_iter()
        .map(|p| choice(p.id, &p.name, state.lists.selected_product == Some(p.id)))
        .collect();
    view.set("products", products.into());
    view.set(
        "newProduct",
        (state.lists.product_choice == ProductChoice::New).into(),
    );
    view.set(
        "newProductName",
        state.lists.suggested_product_name().into(),
    );
    view.set("creatingProduct", state.lists.creating_product.into());
    let product_error = state
        .lists
        .product_error
        .as_deref()
        .or(match &state.lists.products {
            Products::Failed(reason) => Some(reason),
            Products::NotLoaded | Products::Loading | Products::Loaded(_) => None,
        });
    view.set("productError", product_error.into());
    // The picked product's name.
    view.set(
        "productName",
        state.product().map(|p| p.name.as_str()).into(),
    );
}

/// Adding the device: whether it is in the picked product already, or in another one, which
/// adding it here would take it out of.
fn add_device(state: &State, view: &mut Object) {
    let add_device = panel_state(state, Panel::AddDevice);
    view.set("deviceInProduct", (add_device == "in-product").into());
    view.set(
        "deviceInOtherProduct",
        (add_device == "other-product").into(),
    );
    view.set("addingDevice", state.lists.adding_device.into());
    view.set(
        "addDeviceError",
        state.lists.add_device_error.as_deref().into(),
    );
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
    // The relay's hook URL of the running demo (or of the webhook a stopped one left in the
    // product; none once cleanup deleted it), and whether it is on this computer or a private
    // network while the page uses the real cloud.
    let relay = demo
        .relay
        .as_ref()
        .filter(|_| demo.running || matches!(demo.webhook, WebhookState::Saved(_)));
    view.set("hookUrl", relay.map(|r| r.hook_url.as_str()).into());
    let private_hook = relay.is_some_and(|relay| {
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
    view.set("streamStates", stream_states(demo).into());
    view.set("answerStatus", demo.answer.status.into());
    view.set("answerBody", demo.answer.body.as_str().into());
    view.set("answerRequireAuth", demo.answer.require_auth.into());
    view.set("answerDelay", demo.answer.delay_ms.into());
    view.set("answerError", demo.answer_error.as_deref().into());
}

/// Each demo stream's state in words: `feed`, `label`, `status` (its kind) and `words`.
fn stream_states(demo: &crate::demo::Demo) -> Vec<Value> {
    use crate::demo::stream_state::Feed;
    [Feed::Events, Feed::Requests]
        .into_iter()
        .map(|feed| {
            let status = demo.streams.get(feed);
            let mut stream = Object::default();
            stream.set("feed", feed.key().into());
            stream.set("label", feed.label().into());
            stream.set("status", status.kind().into());
            stream.set("words", status.words().into());
            stream.into()
        })
        .collect()
}

/// The firmware, flashing it, and the device's log.
fn firmware(state: &State, view: &mut Object) {
    let session = state.session();
    let files: Vec<Value> = FIRMWARE_FILES
        .iter()
        .map(|&path| {
            let mut file = Object::default();
            file.set("path", path.into());
            file.set("selected", (state.firmware.file == path).into());
            file.into()
        })
        .collect();
    view.set("firmwareFiles", files.into());
    // Why flashing is not possible now, if it is not.
    let flash_blocked = match state.lists.device() {
        None => Some("Pick a device first."),
        // A device restarts after a flash: offline for a moment, not a reason to worry.
        Some(device) if !device.online && matches!(state.firmware.flash, Flash::Started(_)) => {
            Some("The device is restarting with the new firmware.")
        }
        Some(device) if !device.online => {
            Some("The device is offline; it must be online to be flashed.")
        }
        Some(_) => None,
    };
    view.set("flashBlocked", flash_blocked.into());
    view.set("flashing", (state.firmware.flash == Flash::Flashing).into());
    let (flash_status, flash_errors) = match &state.firmware.flash {
        Flash::Started(status) => (Some(status.as_str()), Vec::new()),
        Flash::Failed(errors) => (None, errors.iter().map(String::as_str).collect()),
        Flash::Idle | Flash::Flashing => (None, Vec::new()),
    };
    view.set("flashStatus", flash_status.into());
    view.set("flashErrors", flash_errors.into());
    // The device log can be streamed (a sandbox device is picked).
    let device_log_available =
        state.lists.device().is_some() && session.map(|s| s.base.as_str()) == state.sandbox();
    view.set("deviceLogAvailable", device_log_available.into());
    view.set("serialSupported", state.firmware.serial_supported.into());
    view.set("serialError", state.firmware.serial_error.as_deref().into());
}

/// Cleanup: the boxes, whether each can be ticked, the question, and each step's outcome.
fn cleanup(state: &State, view: &mut Object) {
    let cleanup = &state.cleanup;
    let devices_in_product = state.lists.devices_in_product();
    let product = state.lists.selected_product;
    let kept_because = cleanup.product_kept_because(product, devices_in_product);
    let product_allowed = kept_because.is_none();
    view.set("cleanupWebhook", cleanup.webhook.into());
    view.set("cleanupIntegrations", cleanup.integrations.into());
    // The product's other integrations, as the check found them.
    let others: Vec<Value> = cleanup
        .others_in(product)
        .iter()
        .map(|other| {
            let mut shown = Object::default();
            shown.set("event", other.event.as_str().into());
            shown.set("url", other.url.as_deref().into());
            shown.into()
        })
        .collect();
    view.set("cleanupOthers", others.into());
    // Why the product cannot go with the boxes as they are, in a sentence.
    view.set(
        "cleanupProductKept",
        kept_because
            .map(|why| format!("The product stays: {why}, and Particle deletes no product that still has integrations or devices."))
            .into(),
    );
    view.set("cleanupChecking", cleanup.checking.into());
    view.set("cleanupTinker", cleanup.tinker.into());
    // Some of the product's devices are online to be flashed.
    view.set(
        "cleanupTinkerEnabled",
        (state.lists.online_in_product() > 0).into(),
    );
    view.set("cleanupDevices", cleanup.devices.into());
    // The product holds some of the learner's devices.
    view.set("cleanupDevicesEnabled", (devices_in_product > 0).into());
    view.set(
        "cleanupProduct",
        (cleanup.product && product_allowed).into(),
    );
    view.set("cleanupProductAllowed", product_allowed.into());
    // At least one step is chosen.
    let cleanup_any = !state.cleanup_steps().is_empty() && !cleanup.running() && !cleanup.checking;
    view.set("cleanupAny", cleanup_any.into());
    // The confirmation question, while it is asked.
    view.set(
        "cleanupQuestion",
        cleanup.confirming.then(|| cleanup_question(state)).into(),
    );
    let steps: Vec<Value> = cleanup
        .progress
        .iter()
        .map(|progress| {
            let mut step = Object::default();
            step.set("name", progress.step.name().into());
            step.set("label", progress.step.label().into());
            let (outcome, mark) = match &progress.outcome {
                None => ("running", "…"),
                Some(Ok(_)) => ("done", "✓"),
                Some(Err(_)) => ("failed", "✗"),
            };
            step.set("outcome", outcome.into());
            step.set("mark", mark.into());
            let error = progress.outcome.as_ref().and_then(|o| o.as_ref().err());
            step.set("error", error.map(String::as_str).into());
            // What the step left for the learner to do by hand.
            let notes: &[String] = match &progress.outcome {
                Some(Ok(notes)) => notes,
                Some(Err(_)) | None => &[],
            };
            let notes: Vec<Value> = notes.iter().map(|note| note.as_str().into()).collect();
            step.set("notes", notes.into());
            step.into()
        })
        .collect();
    view.set("cleanupSteps", steps.into());
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

/// One option of a `<select>`.
fn choice(id: u32, name: &str, selected: bool) -> Value {
    let mut choice = Object::default();
    choice.set("id", id.into());
    choice.set("name", name.into());
    choice.set("selected", selected.into());
    choice.into()
}
