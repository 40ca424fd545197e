//! The tutorial's panels: one Handlebars partial each (`templates/<name>.hbs`), one
//! `<section data-panel>` root each, and the `data-state` word saying what each shows.

use webhook_demo_core::platform;

use crate::{
    demo::WebhookState,
    firmware::Flash,
    sign_in::Auth,
    state::{Devices, Products, State},
};

/// A panel of the tutorial, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    SignIn,
    SelectDevice,
    SelectProduct,
    AddDevice,
    Start,
    Webhook,
    Test,
    Explainer,
    DataTable,
    Events,
    Firmware,
    Testing,
    CheckServer,
    Cleanup,
}

impl Panel {
    /// Every panel, in the order the page shows them.
    pub const ALL: [Panel; 14] = [
        Panel::SignIn,
        Panel::SelectDevice,
        Panel::SelectProduct,
        Panel::AddDevice,
        Panel::Start,
        Panel::Webhook,
        Panel::Test,
        Panel::Explainer,
        Panel::DataTable,
        Panel::Events,
        Panel::Firmware,
        Panel::Testing,
        Panel::CheckServer,
        Panel::Cleanup,
    ];

    /// The panel's name: its template file (`templates/<name>.hbs`) and its `data-panel` value.
    pub fn name(self) -> &'static str {
        match self {
            Panel::SignIn => "sign-in",
            Panel::SelectDevice => "select-device",
            Panel::SelectProduct => "select-product",
            Panel::AddDevice => "add-device",
            Panel::Start => "start",
            Panel::Webhook => "webhook",
            Panel::Test => "test",
            Panel::Explainer => "explainer",
            Panel::DataTable => "data-table",
            Panel::Events => "events",
            Panel::Firmware => "firmware",
            Panel::Testing => "testing",
            Panel::CheckServer => "check-server",
            Panel::Cleanup => "cleanup",
        }
    }
}

/// The short word a panel's root carries in `data-state`: what the panel is showing.
pub fn panel_state(state: &State, panel: Panel) -> &'static str {
    match (panel, &state.sign_in.auth) {
        (Panel::SignIn, Auth::AwaitingOtp { .. }) => "otp",
        (Panel::SignIn, Auth::SignedIn(_)) => "signed-in",
        (_, Auth::SignedOut { .. } | Auth::AwaitingOtp { .. }) => "signed-out",
        (Panel::SelectDevice, Auth::SignedIn(_)) => match &state.lists.devices {
            Devices::NotLoaded | Devices::Loading => "loading",
            Devices::Failed(_) => "error",
            Devices::Loaded(devices) if devices.is_empty() => "no-device",
            Devices::Loaded(_) => "choose",
        },
        (Panel::SelectProduct, Auth::SignedIn(_)) => {
            match (&state.lists.products, state.lists.selected_product) {
                (Products::NotLoaded | Products::Loading, _) => "loading",
                (Products::Failed(_), _) => "error",
                (Products::Loaded(_), None) => "no-product",
                (Products::Loaded(_), Some(_)) => "selected",
            }
        }
        (Panel::AddDevice, Auth::SignedIn(_)) => match (state.lists.device(), state.product()) {
            (None, _) => "no-device",
            (_, None) => "no-product",
            (Some(device), Some(product)) if device.product_id == product.id => "in-product",
            _ if state.lists.adding_device => "adding",
            (Some(device), _) if platform::in_product(device.product_id) => "other-product",
            _ => "can-add",
        },
        (Panel::Start, Auth::SignedIn(_)) if state.demo.running => "running",
        (Panel::Start, Auth::SignedIn(_)) if state.lists.selected_product.is_none() => "no-product",
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
        (Panel::Firmware, Auth::SignedIn(_)) => match (&state.firmware.flash, state.lists.device())
        {
            (Flash::Flashing, _) => "flashing",
            (Flash::Started(_), _) => "flashed",
            (Flash::Failed(_), _) => "error",
            (Flash::Idle, None) => "no-device",
            (Flash::Idle, Some(device)) if !device.online => "offline",
            (Flash::Idle, Some(_)) => "ready",
        },
        (Panel::CheckServer, Auth::SignedIn(_)) => {
            match (state.check.running(), state.check.done()) {
                (true, _) => "checking",
                (false, true) => "done",
                (false, false) if state.demo.secret.is_empty() => "no-demo",
                (false, false) => "ready",
            }
        }
        (Panel::Cleanup, Auth::SignedIn(_)) => {
            if state.cleanup.running() {
                "running"
            } else if state.cleanup.checking {
                "checking"
            } else if state.cleanup.confirming {
                "confirming"
            } else if !state.cleanup.progress.is_empty() {
                "done"
            } else if state.lists.selected_product.is_none() {
                "no-product"
            } else {
                "ready"
            }
        }
        (_, Auth::SignedIn(_)) => "ready",
    }
}
