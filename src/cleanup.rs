//! The cleanup panel: what the learner chose to remove, the confirmation, each step's outcome, and
//! what each step asks of the Particle API.
//!
//! A step is a closed enum, so a step that does not exist cannot be asked for, and every match over
//! the steps is checked by the compiler: no step can fall through to another's action (deleting
//! the product, say). What each step sends is computed here, purely, so tests can check that each
//! step calls exactly its own API; the browser layer only sends it. What each message does to it
//! is `update/cleanup.rs`.

use serde_json::Value;

use crate::demo::webhook::find_webhook;

/// One thing the tutorial created and cleanup can remove, in the order the steps must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupStep {
    /// Delete the demo's webhook (and no other integration).
    Webhook,
    /// Flash Tinker to the product's online devices (they run the demo firmware otherwise).
    Tinker,
    /// Remove the learner's devices from the product.
    Devices,
    /// Delete the product.
    Product,
}

impl CleanupStep {
    /// Every step, in the order they run.
    pub const ALL: [CleanupStep; 4] = [
        CleanupStep::Webhook,
        CleanupStep::Tinker,
        CleanupStep::Devices,
        CleanupStep::Product,
    ];

    /// The step's name in the page: its checkbox's `data-action` is `cleanup-<name>` and its
    /// progress line's `data-step` is `<name>`.
    pub fn name(self) -> &'static str {
        match self {
            CleanupStep::Webhook => "webhook",
            CleanupStep::Tinker => "tinker",
            CleanupStep::Devices => "devices",
            CleanupStep::Product => "product",
        }
    }

    /// The `data-action` of the step's checkbox, `cleanup-<name>`.
    pub fn action(self) -> &'static str {
        match self {
            CleanupStep::Webhook => "cleanup-webhook",
            CleanupStep::Tinker => "cleanup-tinker",
            CleanupStep::Devices => "cleanup-devices",
            CleanupStep::Product => "cleanup-product",
        }
    }

    /// What the progress list calls it.
    pub fn label(self) -> &'static str {
        match self {
            CleanupStep::Webhook => "Delete the webhook",
            CleanupStep::Tinker => "Restore Tinker on the devices",
            CleanupStep::Devices => "Remove the devices from the product",
            CleanupStep::Product => "Delete the product",
        }
    }

    /// What the step reads first to know what to remove (a path under the API base), if anything.
    pub fn listing(self, product_id: u32) -> Option<String> {
        match self {
            CleanupStep::Webhook => Some(format!("/v1/products/{product_id}/integrations")),
            CleanupStep::Tinker | CleanupStep::Devices => {
                Some(format!("/v1/products/{product_id}/devices?per_page=100"))
            }
            CleanupStep::Product => None,
        }
    }

    /// The requests that remove what `listed` (the listing's reply, `null` without one) holds;
    /// `None` when the reply is not in the shape Particle documents.
    pub fn calls(self, product_id: u32, listed: &Value) -> Option<Vec<Call>> {
        let product = format!("/v1/products/{product_id}");
        let delete = |path: String| Call {
            method: Method::Delete,
            path,
            body: None,
        };
        Some(match self {
            CleanupStep::Webhook => find_webhook(listed)
                .map(|id| delete(format!("{product}/integrations/{id}")))
                .into_iter()
                .collect(),
            // Particle's API flashes Tinker by name; the product's online devices get it.
            CleanupStep::Tinker => device_ids(listed, true)?
                .into_iter()
                .map(|id| Call {
                    method: Method::Put,
                    path: format!("/v1/devices/{id}"),
                    body: Some(r#"{"app":"tinker"}"#),
                })
                .collect(),
            CleanupStep::Devices => device_ids(listed, false)?
                .into_iter()
                .map(|id| delete(format!("{product}/devices/{id}")))
                .collect(),
            CleanupStep::Product => vec![delete(product)],
        })
    }
}

/// The ids in a product's device list (`{"devices": [{"id", "online"}, …]}`), only the online
/// ones when asked; `None` when a device has no id.
fn device_ids(listed: &Value, online_only: bool) -> Option<Vec<String>> {
    listed
        .get("devices")?
        .as_array()?
        .iter()
        .filter(|device| !online_only || device.get("online") == Some(&Value::Bool(true)))
        .map(|device| device.get("id")?.as_str().map(str::to_owned))
        .collect()
}

/// A request a cleanup step sends with the session's token, relative to the API base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: Method,
    pub path: String,
    /// A JSON body.
    pub body: Option<&'static str>,
}

impl Call {
    /// Whether a reply with `status` leaves the call done: a success, or for a deletion a 404,
    /// since what it removes is gone already (deleted in the console, or by an earlier cleanup
    /// whose reply was lost), which is what the learner asked for.
    pub fn done_by(&self, status: u16) -> bool {
        (200..300).contains(&status) || (self.method == Method::Delete && status == 404)
    }
}

/// The HTTP methods cleanup uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// The cleanup panel: what to remove, the confirmation, and each step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    pub webhook: bool,
    /// Restore Tinker on the product's online devices (they run the demo firmware otherwise).
    pub tinker: bool,
    pub devices: bool,
    pub product: bool,
    /// The learner clicked Clean up and is asked to confirm.
    pub confirming: bool,
    pub progress: Vec<Progress>,
}

impl Default for Cleanup {
    fn default() -> Cleanup {
        Cleanup {
            webhook: true,
            tinker: true,
            devices: true,
            product: true,
            confirming: false,
            progress: Vec::new(),
        }
    }
}

/// One step of a cleanup run and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub step: CleanupStep,
    /// `None` while it has not finished.
    pub outcome: Option<Result<(), String>>,
}

impl Cleanup {
    /// Whether the box of `step` is ticked.
    pub fn ticked(&self, step: CleanupStep) -> bool {
        match step {
            CleanupStep::Webhook => self.webhook,
            CleanupStep::Tinker => self.tinker,
            CleanupStep::Devices => self.devices,
            CleanupStep::Product => self.product,
        }
    }

    /// Ticks or unticks the box of `step`.
    pub fn tick(&mut self, step: CleanupStep, on: bool) {
        match step {
            CleanupStep::Webhook => self.webhook = on,
            CleanupStep::Tinker => self.tinker = on,
            CleanupStep::Devices => self.devices = on,
            CleanupStep::Product => self.product = on,
        }
    }

    /// The product can only go once its webhook goes, and its devices (when it has any).
    pub fn product_allowed(&self, devices_in_product: usize) -> bool {
        self.webhook && (self.devices || devices_in_product == 0)
    }

    /// The steps the ticked boxes ask for, in the order they must run, for a product holding
    /// `devices_in_product` of the learner's devices (`online` of them online).
    pub fn chosen(&self, devices_in_product: usize, online: usize) -> Vec<CleanupStep> {
        CleanupStep::ALL
            .into_iter()
            .filter(|&step| {
                self.ticked(step)
                    && match step {
                        CleanupStep::Webhook => true,
                        CleanupStep::Tinker => online > 0,
                        CleanupStep::Devices => devices_in_product > 0,
                        CleanupStep::Product => self.product_allowed(devices_in_product),
                    }
            })
            .collect()
    }

    pub fn running(&self) -> bool {
        self.progress.iter().any(|step| step.outcome.is_none())
    }
}

/// The cleanup panel's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A step's box was ticked or unticked.
    Choose {
        step: CleanupStep,
        on: bool,
    },
    /// Clean up was clicked: ask for confirmation.
    Ask,
    Cancel,
    /// Confirmed: run the chosen steps.
    Confirm,
    /// A step finished.
    StepDone {
        step: CleanupStep,
        result: Result<(), String>,
    },
}

#[cfg(test)]
mod tests;
