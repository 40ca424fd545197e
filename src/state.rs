//! The app's one `State`, composed of the features' parts (`sign_in::SignIn`, `Lists`,
//! `firmware::Firmware`, `demo::Demo`, `cleanup::Cleanup`), and what they share: the server's
//! configuration and the device and product lists with the learner's picks, which every feature
//! reads.
//!
//! Nothing here touches the browser, so it is unit-tested natively; what changes the state is
//! `update.rs` (which also makes the first one, `update::init`), and the messages and effects it
//! speaks in are `msg.rs`.

use webhook_demo_core::wire::Config;
pub use webhook_demo_core::wire::{Device, Product};

use crate::{
    cleanup::{Cleanup, CleanupStep},
    demo::Demo,
    firmware::Firmware,
    sign_in::{PARTICLE_API, Session, SignIn},
};

/// Where the page's server configuration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerConfig {
    /// `config.json` has been asked for.
    Loading,
    /// The hosting server answered: it may offer a sandbox and a relay.
    Loaded(Config),
    /// The page is hosted as plain files (or the server did not answer): real cloud, no sandbox.
    Unavailable(String),
}

/// The signed-in user's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Devices {
    NotLoaded,
    Loading,
    Loaded(Vec<Device>),
    Failed(String),
}

/// Everything the page knows: one part per area of the tutorial, each changed by the update of
/// that area (`update/sign_in.rs`, `update/lists.rs`, `update/firmware.rs`, `update/demo.rs`,
/// `update/cleanup.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub server: ServerConfig,
    pub sign_in: SignIn,
    pub lists: Lists,
    pub demo: Demo,
    pub cleanup: Cleanup,
    pub firmware: Firmware,
    /// The check of the learner's own server.
    pub check: crate::check::Check,
    /// Where the page is served from (`http://127.0.0.1:8080`): the one origin the starter
    /// servers allow to call them.
    pub page_origin: String,
    /// The learner asked to see the webhook's secret: it is masked everywhere until then.
    pub secret_revealed: bool,
    /// A run kept from before a reload, waiting for the sign-in and the picks to come back.
    pub resume: Option<KeptRun>,
}

/// What the page keeps of a running demo (`resume.rs`) to take up the same relay session after a
/// reload: the relay keeps the session, its log and its answer; the page keeps how to ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRun {
    pub product_id: u32,
    pub relay: webhook_demo_core::wire::RelayStart,
    pub secret: String,
    /// The webhook's integration id, saved in the product at Start.
    pub webhook_id: String,
    pub answer: crate::demo::Answer,
    /// The demo's events Particle's stream brought before the reload, oldest first: the stream
    /// does not send them again.
    pub events: Vec<webhook_demo_core::wire::ParticleEvent>,
}

/// The signed-in user's device and product lists, and the learner's picks from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lists {
    pub devices: Devices,
    /// The id of the device the learner picked.
    pub selected_device: Option<String>,
    pub products: Products,
    /// The platform the product is for: the picked device's, unless the learner chose another.
    pub platform: Option<u32>,
    pub product_choice: ProductChoice,
    pub selected_product: Option<u32>,
    /// A product is being created.
    pub creating_product: bool,
    pub product_error: Option<String>,
    /// The device is being added to the product.
    pub adding_device: bool,
    pub add_device_error: Option<String>,
    /// The signed-in user's saved picks, applied as the device and product lists arrive.
    pub restoring: Option<Settings>,
}

/// The learner's picks, saved per user so a reload (or signing in again) puts them back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub device: Option<String>,
    pub platform: Option<u32>,
    pub product: Option<u32>,
}

impl Settings {
    /// `device|platform|product`, each empty when not chosen: a plain string, so the page needs no
    /// serializer for it.
    pub fn encode(&self) -> String {
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}",
            self.device.as_deref().unwrap_or_default(),
            number(self.platform),
            number(self.product)
        )
    }

    /// The settings in `encode`'s format; anything else restores nothing.
    pub fn decode(text: &str) -> Option<Settings> {
        let mut parts = text.split('|');
        let (device, platform, product) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Settings {
            device: (!device.is_empty()).then(|| device.to_owned()),
            platform: platform.parse().ok(),
            product: product.parse().ok(),
        })
    }
}

/// The signed-in user's products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Products {
    NotLoaded,
    Loading,
    Loaded(Vec<Product>),
    Failed(String),
}

/// Whether the learner makes a new product for the demo or reuses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductChoice {
    New,
    Existing,
}

/// Prefix of the product names the tutorial suggests; such products are listed first.
pub const DEMO_PRODUCT_PREFIX: &str = "webhook-demo-";

/// The state a fresh page starts in; `update::init` says what gets it going.
impl Default for State {
    fn default() -> State {
        State {
            server: ServerConfig::Loading,
            sign_in: SignIn::default(),
            lists: Lists {
                devices: Devices::NotLoaded,
                selected_device: None,
                products: Products::NotLoaded,
                platform: None,
                product_choice: ProductChoice::New,
                selected_product: None,
                creating_product: false,
                product_error: None,
                adding_device: false,
                add_device_error: None,
                restoring: None,
            },
            demo: Demo::default(),
            cleanup: Cleanup::default(),
            firmware: Firmware::default(),
            check: crate::check::Check::default(),
            page_origin: String::new(),
            secret_revealed: false,
            resume: None,
        }
    }
}

impl ServerConfig {
    /// The sandbox's base path, when the hosting server offers one.
    pub fn sandbox(&self) -> Option<&str> {
        match self {
            ServerConfig::Loaded(config) => config.sandbox.as_deref(),
            ServerConfig::Loading | ServerConfig::Unavailable(_) => None,
        }
    }

    /// The hosting server's webhook relay (a base URL ending in `/`), when it offers one.
    pub fn relay(&self) -> Option<&str> {
        match self {
            ServerConfig::Loaded(config) => Some(&config.relay),
            ServerConfig::Loading | ServerConfig::Unavailable(_) => None,
        }
    }

    /// Where the token and password forms sign in: the sandbox when chosen (and offered), else
    /// the Particle cloud.
    pub fn api_base(&self, use_sandbox: bool) -> String {
        match self.sandbox() {
            Some(sandbox) if use_sandbox => sandbox.to_owned(),
            _ => PARTICLE_API.to_owned(),
        }
    }
}

impl Lists {
    /// The picked device, when it is in the loaded list.
    pub fn device(&self) -> Option<&Device> {
        let Devices::Loaded(devices) = &self.devices else {
            return None;
        };
        let id = self.selected_device.as_deref()?;
        devices.iter().find(|device| device.id == id)
    }

    /// The products of the chosen platform, demo-named ones first.
    pub fn products_for_platform(&self) -> Vec<&Product> {
        let (Products::Loaded(products), Some(platform)) = (&self.products, self.platform) else {
            return Vec::new();
        };
        // A partition rather than a sort: same order within each group, and no sort code in the page.
        let (demo, other): (Vec<&Product>, Vec<&Product>) = products
            .iter()
            .filter(|p| p.platform_id == platform)
            .partition(|p| p.name.starts_with(DEMO_PRODUCT_PREFIX));
        demo.into_iter().chain(other).collect()
    }

    /// A name for a new demo product that none of the learner's products has yet.
    pub fn suggested_product_name(&self) -> String {
        let platform = self
            .platform
            .map(webhook_demo_core::platform::name)
            .unwrap_or_default();
        let slug: String = platform
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let taken = |name: &str| match &self.products {
            Products::Loaded(products) => {
                products.iter().any(|p| p.name.eq_ignore_ascii_case(name))
            }
            Products::NotLoaded | Products::Loading | Products::Failed(_) => false,
        };
        (1..)
            .map(|n| format!("{DEMO_PRODUCT_PREFIX}{slug}-{n}"))
            .find(|name| !taken(name))
            .expect("a free name")
    }

    /// The product the learner picked, when it is in the loaded list.
    pub fn product(&self) -> Option<&Product> {
        let Products::Loaded(products) = &self.products else {
            return None;
        };
        let id = self.selected_product?;
        products.iter().find(|product| product.id == id)
    }

    /// How many of the learner's devices are in the picked product.
    pub fn devices_in_product(&self) -> usize {
        self.product_devices().count()
    }

    fn product_devices(&self) -> impl Iterator<Item = &Device> {
        let devices = match &self.devices {
            Devices::Loaded(devices) => devices.as_slice(),
            Devices::NotLoaded | Devices::Loading | Devices::Failed(_) => &[],
        };
        let product = self.selected_product;
        devices
            .iter()
            .filter(move |d| Some(d.product_id) == product)
    }

    /// How many of the learner's devices in the picked product are online.
    pub fn online_in_product(&self) -> usize {
        self.product_devices().filter(|d| d.online).count()
    }

    /// What is saved for the signed-in user.
    pub fn settings(&self) -> Settings {
        Settings {
            device: self.selected_device.clone(),
            platform: self.platform,
            product: self.selected_product,
        }
    }
}

impl State {
    /// The sandbox's base path, when the hosting server offers one.
    pub fn sandbox(&self) -> Option<&str> {
        self.server.sandbox()
    }

    /// The product the learner picked, when it is in the loaded list.
    pub fn product(&self) -> Option<&Product> {
        self.lists.product()
    }

    /// The cleanup steps the ticked boxes ask for, for the picked product.
    pub fn cleanup_steps(&self) -> Vec<CleanupStep> {
        self.cleanup.chosen(
            self.lists.selected_product,
            self.lists.devices_in_product(),
            self.lists.online_in_product(),
        )
    }

    pub fn session(&self) -> Option<&Session> {
        self.sign_in.session()
    }
}

#[cfg(test)]
mod tests;
