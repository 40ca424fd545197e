//! The cleanup panel: what the learner chose to remove, the check of the product's integrations
//! before the confirmation, each step's outcome, and what each step asks of the Particle API.
//!
//! A step is a closed enum, so a step that does not exist cannot be asked for, and every match over
//! the steps is checked by the compiler: no step can fall through to another's action (deleting
//! the product, say). What each step sends is computed here, purely, so tests can check that each
//! step calls exactly its own API; the browser layer only sends it. What each message does to it
//! is `update/cleanup.rs`.
//!
//! Tinker is restored as Particle's CLI restores it (`particle flash <device> tinker`): a product
//! device is marked as a development device, so the cloud does not put the product's released
//! firmware back on it, then the Tinker binary the CLI ships for its platform is uploaded as a
//! binary. The API's way of flashing Tinker by name (`{"app": "tinker"}`) was deprecated by
//! particle-api-js in 2017 and removed in its 12.0.0. The page serves the binaries (`tinker/`,
//! fetched from particle-cli's package when the page is built, with its license); a platform the
//! CLI has none for is named in the step's outcome with what to do instead.

use serde_json::Value;
use webhook_demo_core::platform;

use crate::demo::webhook::find_webhook;

/// One thing the tutorial created (or the product holds) and cleanup can remove, in the order
/// the steps must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupStep {
    /// Delete the demo's webhook.
    Webhook,
    /// Delete the product's other integrations, which the learner made elsewhere (off unless
    /// ticked): a product that has integrations cannot be deleted.
    Integrations,
    /// Flash Tinker to the product's online devices (they run the demo firmware otherwise).
    Tinker,
    /// Remove the learner's devices from the product.
    Devices,
    /// Delete the product.
    Product,
}

impl CleanupStep {
    /// Every step, in the order they run.
    pub const ALL: [CleanupStep; 5] = [
        CleanupStep::Webhook,
        CleanupStep::Integrations,
        CleanupStep::Tinker,
        CleanupStep::Devices,
        CleanupStep::Product,
    ];

    /// The step's name in the page: its checkbox's `data-action` is `cleanup-<name>` and its
    /// progress line's `data-step` is `<name>`.
    pub fn name(self) -> &'static str {
        match self {
            CleanupStep::Webhook => "webhook",
            CleanupStep::Integrations => "integrations",
            CleanupStep::Tinker => "tinker",
            CleanupStep::Devices => "devices",
            CleanupStep::Product => "product",
        }
    }

    /// The `data-action` of the step's checkbox, `cleanup-<name>`.
    pub fn action(self) -> &'static str {
        match self {
            CleanupStep::Webhook => "cleanup-webhook",
            CleanupStep::Integrations => "cleanup-integrations",
            CleanupStep::Tinker => "cleanup-tinker",
            CleanupStep::Devices => "cleanup-devices",
            CleanupStep::Product => "cleanup-product",
        }
    }

    /// What the progress list calls it.
    pub fn label(self) -> &'static str {
        match self {
            CleanupStep::Webhook => "Delete the webhook",
            CleanupStep::Integrations => "Delete the product's other integrations",
            CleanupStep::Tinker => "Restore Tinker on the devices",
            CleanupStep::Devices => "Remove the devices from the product",
            CleanupStep::Product => "Delete the product",
        }
    }

    /// What the step did, once done, as the summary says it: "the webhook deleted".
    pub fn done_text(self) -> &'static str {
        match self {
            CleanupStep::Webhook => "the webhook deleted",
            CleanupStep::Integrations => "the product's other integrations deleted",
            CleanupStep::Tinker => "Tinker restored on the devices",
            CleanupStep::Devices => "the devices removed from the product",
            CleanupStep::Product => "the product deleted",
        }
    }

    /// What the step reads first to know what to remove (a path under the API base), if anything.
    pub fn listing(self, product_id: u32) -> Option<String> {
        match self {
            CleanupStep::Webhook | CleanupStep::Integrations => {
                Some(format!("/v1/products/{product_id}/integrations"))
            }
            CleanupStep::Tinker | CleanupStep::Devices => {
                Some(format!("/v1/products/{product_id}/devices?per_page=100"))
            }
            CleanupStep::Product => None,
        }
    }

    /// What the step does with what `listed` (the listing's reply, `null` without one) holds: the
    /// requests, in order, and what the learner must do by hand; `None` when the reply is not in
    /// the shape Particle documents.
    pub fn plan(self, product_id: u32, listed: &Value) -> Option<Plan> {
        let product = format!("/v1/products/{product_id}");
        let delete = |path: String| Call {
            method: Method::Delete,
            path,
            body: Body::None,
        };
        let calls = match self {
            CleanupStep::Webhook => find_webhook(listed)
                .map(|id| delete(format!("{product}/integrations/{id}")))
                .into_iter()
                .collect(),
            // The ones there when the step runs, which the check listed moments before.
            CleanupStep::Integrations => others(listed)?
                .into_iter()
                .map(|other| delete(format!("{product}/integrations/{}", other.id)))
                .collect(),
            CleanupStep::Tinker => return tinker(&product, listed),
            CleanupStep::Devices => product_devices(listed)?
                .into_iter()
                .map(|device| delete(format!("{product}/devices/{}", device.id)))
                .collect(),
            CleanupStep::Product => vec![delete(product)],
        };
        Some(Plan {
            calls,
            notes: Vec::new(),
        })
    }
}

/// Tinker for each online device of the product whose platform has a binary (marked as a
/// development device first, as particle-cli does for a product device); the others named in a
/// note with what to do instead.
fn tinker(product: &str, listed: &Value) -> Option<Plan> {
    let mut plan = Plan::default();
    for device in product_devices(listed)? {
        let name = device.name.as_deref().unwrap_or(&device.id);
        if !device.online {
            plan.notes.push(format!(
                "{name} is offline and keeps the demo firmware: once it is online, \
                 `particle flash {} tinker` restores Tinker.",
                device.id
            ));
            continue;
        }
        let Some(binary) = device.platform_id.and_then(platform::tinker_binary) else {
            let platform = device
                .platform_id
                .map_or_else(|| "its platform".to_owned(), platform::name);
            plan.notes.push(format!(
                "{name} keeps the demo firmware: Particle ships no Tinker binary for {platform}. \
                 Flash your own firmware to it instead (Particle Workbench, or \
                 `particle flash {} <your project>`).",
                device.id
            ));
            continue;
        };
        plan.calls.push(Call {
            method: Method::Put,
            path: format!("{product}/devices/{}", device.id),
            body: Body::Json(r#"{"development":true}"#),
        });
        plan.calls.push(Call {
            method: Method::Put,
            path: format!("/v1/devices/{}", device.id),
            body: Body::Binary(binary),
        });
    }
    Some(plan)
}

/// A device in a product's device list.
struct ProductDevice {
    id: String,
    name: Option<String>,
    /// `None` when the list does not say (the Tinker step then has no binary for it).
    platform_id: Option<u32>,
    online: bool,
}

/// The devices in a product's device list (`{"devices": [{"id", "name", "platform_id",
/// "online"}, …]}`); `None` when one lacks its id.
fn product_devices(listed: &Value) -> Option<Vec<ProductDevice>> {
    listed
        .get("devices")?
        .as_array()?
        .iter()
        .map(|device| {
            Some(ProductDevice {
                id: device.get("id")?.as_str()?.to_owned(),
                name: device
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                platform_id: device
                    .get("platform_id")
                    .and_then(Value::as_u64)
                    .and_then(|id| u32::try_from(id).ok()),
                online: device.get("online") == Some(&Value::Bool(true)),
            })
        })
        .collect()
}

/// An integration of the product other than the demo's webhook: the learner's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherIntegration {
    pub id: String,
    /// The event it is triggered by.
    pub event: String,
    /// Where a webhook sends its requests (other integration types have none).
    pub url: Option<String>,
}

/// The integrations in a product's integration list other than the demo's webhook; `None` when
/// the reply is not a list of integrations with ids.
pub fn others(listed: &Value) -> Option<Vec<OtherIntegration>> {
    let demo = find_webhook(listed);
    listed
        .as_array()?
        .iter()
        .map(|integration| {
            let text = |name: &str| {
                integration
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            Some(OtherIntegration {
                id: text("id")?,
                event: text("event").unwrap_or_default(),
                url: text("url"),
            })
        })
        .filter(|other| {
            other
                .as_ref()
                .is_none_or(|other| Some(&other.id) != demo.as_ref())
        })
        .collect()
}

/// What a step does: its requests, in order, and what it leaves for the learner to do by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub calls: Vec<Call>,
    /// Sentences for the step's line in the progress list.
    pub notes: Vec<String>,
}

/// A request a cleanup step sends with the session's token, relative to the API base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Body,
}

/// What a cleanup request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    None,
    /// A JSON body.
    Json(&'static str),
    /// The page's file at this path (relative to the page), uploaded as particle-api-js's
    /// `flashDevice` and Particle's OTA guide do: the multipart field `file`, with
    /// `file_type=binary`.
    Binary(String),
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

/// The cleanup panel: what to remove, the check, the confirmation, and each step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    pub webhook: bool,
    /// Delete the product's other integrations too: off until the learner ticks it, since they
    /// are the learner's own work, not the tutorial's.
    pub integrations: bool,
    /// Restore Tinker on the product's online devices (they run the demo firmware otherwise).
    pub tinker: bool,
    pub devices: bool,
    pub product: bool,
    /// Clean up was clicked: the product's integrations are being listed before the question.
    pub checking: bool,
    /// The check is done and the learner is asked to confirm.
    pub confirming: bool,
    /// What the last check found: the product it checked and its other integrations.
    pub others: Option<(u32, Vec<OtherIntegration>)>,
    pub progress: Vec<Progress>,
}

impl Default for Cleanup {
    fn default() -> Cleanup {
        Cleanup {
            webhook: true,
            integrations: false,
            tinker: true,
            devices: true,
            product: true,
            checking: false,
            confirming: false,
            others: None,
            progress: Vec::new(),
        }
    }
}

/// How a step ended: done (with what is left for the learner, if anything), or why it failed.
pub type Outcome = Result<Vec<String>, String>;

/// One step of a cleanup run and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub step: CleanupStep,
    /// `None` while it has not finished.
    pub outcome: Option<Outcome>,
}

impl Cleanup {
    /// Whether the box of `step` is ticked.
    pub fn ticked(&self, step: CleanupStep) -> bool {
        match step {
            CleanupStep::Webhook => self.webhook,
            CleanupStep::Integrations => self.integrations,
            CleanupStep::Tinker => self.tinker,
            CleanupStep::Devices => self.devices,
            CleanupStep::Product => self.product,
        }
    }

    /// Ticks or unticks the box of `step`.
    pub fn tick(&mut self, step: CleanupStep, on: bool) {
        match step {
            CleanupStep::Webhook => self.webhook = on,
            CleanupStep::Integrations => self.integrations = on,
            CleanupStep::Tinker => self.tinker = on,
            CleanupStep::Devices => self.devices = on,
            CleanupStep::Product => self.product = on,
        }
    }

    /// The other integrations the last check found in `product` (none if it checked another).
    pub fn others_in(&self, product: Option<u32>) -> &[OtherIntegration] {
        match &self.others {
            Some((checked, others)) if Some(*checked) == product => others,
            Some(_) | None => &[],
        }
    }

    /// Why `product` cannot be deleted with the boxes as they are, in the learner's words; `None`
    /// when it can. Particle deletes no product that still has integrations or devices.
    pub fn product_kept_because(
        &self,
        product: Option<u32>,
        devices_in_product: usize,
    ) -> Option<String> {
        let others = self.others_in(product).len();
        if !self.webhook {
            Some("it keeps the demo's webhook".to_owned())
        } else if others > 0 && !self.integrations {
            Some(match others {
                1 => "it still has another integration".to_owned(),
                n => format!("it still has {n} other integrations"),
            })
        } else if devices_in_product > 0 && !self.devices {
            Some("your devices stay in it".to_owned())
        } else {
            None
        }
    }

    /// The product can only go once its integrations go, and its devices (when it has any).
    pub fn product_allowed(&self, product: Option<u32>, devices_in_product: usize) -> bool {
        self.product_kept_because(product, devices_in_product)
            .is_none()
    }

    /// The steps the ticked boxes ask for, in the order they must run, for `product` holding
    /// `devices_in_product` of the learner's devices (`online` of them online).
    pub fn chosen(
        &self,
        product: Option<u32>,
        devices_in_product: usize,
        online: usize,
    ) -> Vec<CleanupStep> {
        CleanupStep::ALL
            .into_iter()
            .filter(|&step| {
                self.ticked(step)
                    && match step {
                        CleanupStep::Webhook => true,
                        CleanupStep::Integrations => !self.others_in(product).is_empty(),
                        CleanupStep::Tinker => online > 0,
                        CleanupStep::Devices => devices_in_product > 0,
                        CleanupStep::Product => self.product_allowed(product, devices_in_product),
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
    /// Clean up was clicked: check the product's integrations, then ask for confirmation.
    Ask,
    /// The product's integrations other than the demo's (or why they could not be listed).
    Checked {
        product_id: u32,
        result: Result<Vec<OtherIntegration>, String>,
    },
    Cancel,
    /// Confirmed: run the chosen steps.
    Confirm,
    /// A step finished.
    StepDone {
        step: CleanupStep,
        result: Outcome,
    },
}

#[cfg(test)]
mod tests;
