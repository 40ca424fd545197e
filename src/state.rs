//! The app's one `State`, the closed set of messages that change it, and the pure `update`.
//!
//! Everything that happens in the page (a click, an HTTP reply, a stream message, a timer) becomes a
//! `Msg`; `update` changes the state and returns the `Effect`s the DOM layer must run. Nothing here
//! touches the browser, so it is unit-tested natively.

use webhook_demo_core::wire::{Config, HookRequest, HookResponse, ParticleEvent, RelayStart};
pub use webhook_demo_core::wire::{Device, Product};

use crate::demo::{self, Answer, Demo, Entry, WebhookState};

/// The demo firmware's files, as the firmware panel lists them.
pub const FIRMWARE_FILES: [&str; 3] = ["src/webhook-demo.cpp", "project.properties", "README.md"];

/// The real Particle cloud, used unless the learner picks the sandbox.
pub const PARTICLE_API: &str = "https://api.particle.io";
/// The sandbox's fixture user, signed in by "Try the sandbox".
pub const SANDBOX_USER: (&str, &str) = ("sandbox@example.com", "sandbox");

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

/// Who the page talks to the Particle API as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    SignedOut {
        /// Why the last attempt failed, in words for the learner.
        error: Option<String>,
        busy: bool,
    },
    /// The account has MFA: the password was right, the one-time code is needed.
    AwaitingOtp {
        base: String,
        mfa_token: String,
        error: Option<String>,
        busy: bool,
    },
    SignedIn(Session),
}

/// A signed-in Particle session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The API base URL: the real cloud or the sandbox.
    pub base: String,
    pub token: String,
    pub username: String,
    /// True when the page created the token (password sign-in) and so revokes it on sign-out.
    pub created_here: bool,
}

/// The signed-in user's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Devices {
    NotLoaded,
    Loading,
    Loaded(Vec<Device>),
    Failed(String),
}

/// A failed Particle API call: the HTTP status (0 when there was no answer) and Particle's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub error: String,
    pub description: String,
    /// Present on `mfa_required`.
    pub mfa_token: Option<String>,
}

/// Everything the page knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub server: ServerConfig,
    pub auth: Auth,
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
    /// Keep the session in `localStorage` (this browser) rather than `sessionStorage` (this tab).
    pub remember: bool,
    /// The token and password forms sign in to the sandbox rather than the Particle cloud.
    pub use_sandbox: bool,
    /// The signed-in user's saved picks, applied as the device and product lists arrive.
    pub restoring: Option<Settings>,
    pub demo: Demo,
    pub cleanup: Cleanup,
    /// The firmware file shown (its path in the project).
    pub firmware_file: String,
    pub flash: Flash,
    /// The browser has Web Serial.
    pub serial_supported: bool,
    /// What became of connecting to USB serial, when it did not work.
    pub serial_error: Option<String>,
}

/// Flashing the firmware to the picked device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    Idle,
    Flashing,
    /// The cloud took it: what it said.
    Started(String),
    /// Compile errors (`file:line:column: error: …`) or why the cloud refused.
    Failed(Vec<String>),
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
    pub steps: Vec<CleanupStep>,
}

impl Default for Cleanup {
    fn default() -> Cleanup {
        Cleanup {
            webhook: true,
            tinker: true,
            devices: true,
            product: true,
            confirming: false,
            steps: Vec::new(),
        }
    }
}

/// One step of a cleanup run: `webhook`, `tinker`, `devices` or `product`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupStep {
    pub name: &'static str,
    /// `None` while it has not finished.
    pub outcome: Option<Result<(), String>>,
}

impl Cleanup {
    /// The product can only go once its webhook goes, and its devices (when it has any).
    pub fn product_allowed(&self, devices_in_product: usize) -> bool {
        self.webhook && (self.devices || devices_in_product == 0)
    }

    /// The steps the ticked boxes ask for, in the order they must run, for a product holding
    /// `devices_in_product` of the learner's devices (`online` of them online).
    pub fn chosen(&self, devices_in_product: usize, online: usize) -> Vec<&'static str> {
        [
            ("webhook", self.webhook),
            ("tinker", self.tinker && online > 0),
            ("devices", self.devices && devices_in_product > 0),
            (
                "product",
                self.product && self.product_allowed(devices_in_product),
            ),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }

    pub fn running(&self) -> bool {
        self.steps.iter().any(|step| step.outcome.is_none())
    }
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

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The answer to `GET config.json`.
    ConfigLoaded(Result<Config, String>),
    SandboxSignIn,
    TokenSignIn(String),
    PasswordSignIn {
        username: String,
        password: String,
    },
    OtpSignIn(String),
    /// The answer to `POST /oauth/token` (a token, or why not).
    TokenGranted {
        base: String,
        result: Result<String, ApiFailure>,
    },
    /// The answer to `GET /v1/user` for a token being tried.
    UserLoaded {
        base: String,
        token: String,
        created_here: bool,
        result: Result<String, ApiFailure>,
    },
    DevicesLoaded(Result<Vec<Device>, ApiFailure>),
    RefreshDevices,
    SelectDevice(String),
    SignOut,
    ProductsLoaded(Result<Vec<Product>, ApiFailure>),
    SelectPlatform(u32),
    ChooseProducts(ProductChoice),
    SelectProduct(u32),
    /// Create a product with this name for the chosen platform.
    CreateProduct(String),
    ProductCreated(Result<Product, ApiFailure>),
    /// Put the picked device into the picked product.
    AddDevice,
    /// The answer to adding it: how many devices the cloud moved into the product.
    DeviceAdded(Result<u32, ApiFailure>),
    /// The "remember me" box.
    SetRemember(bool),
    /// Which cloud the token and password forms sign in to: the sandbox (`true`) or Particle's.
    UseSandbox(bool),
    /// The signed-in user's saved settings (`Settings::encode`), if any.
    SettingsLoaded(Option<String>),
    /// Start the live demo, with a fresh random secret for the webhook's `Authorization` header.
    StartDemo {
        secret: String,
        /// The relay the learner typed (a base URL ending in `/`), or empty for the hosting
        /// server's own.
        relay: String,
        /// A smee.io channel URL to use instead of a relay, or empty.
        smee: String,
    },
    /// A fresh smee.io channel was made up for the learner.
    SmeeChannel(String),
    StopDemo,
    /// An event of the relay stream of run `run`.
    RelayEvent {
        run: u32,
        event: String,
        data: String,
    },
    /// An event of the product's event stream of run `run` (`data` is its JSON).
    ParticleEvent {
        run: u32,
        name: String,
        data: String,
    },
    /// A stream of run `run` broke; it is being reopened.
    StreamDown {
        run: u32,
        reason: String,
    },
    /// The demo's webhook was created or updated: its integration id.
    WebhookSaved(Result<String, ApiFailure>),
    /// Publish a test event with this id.
    TestWebhook {
        id: u32,
    },
    /// The test event was published (its data), or why not.
    TestPublished(Result<String, ApiFailure>),
    /// Preview the webhook's body for this event data (as if published from this page).
    PreviewData(String),
    /// Publish this data as `WebhookDemo01`, to see the previewed body sent for real.
    PublishData(String),
    /// Particle's time for the cycle `key` of run `run` is up: a missing last hop failed.
    GiveUp {
        run: u32,
        key: (String, String),
    },
    /// Send request `hook_id` to the hook URL again, marked as a replay.
    Replay(u64),
    /// Make the in-page server answer like this.
    ApplyAnswer(Answer),
    AnswerApplied(Result<(), String>),
    /// A cleanup box (`webhook`, `devices` or `product`) was ticked or unticked.
    CleanupChoice {
        step: &'static str,
        on: bool,
    },
    /// Clean up was clicked: ask for confirmation.
    CleanupAsk,
    CleanupCancel,
    /// Confirmed: run the chosen steps.
    CleanupConfirm,
    /// Show this firmware file.
    ShowFile(String),
    /// Flash these sources (path, text), as shown (and perhaps edited) in the page.
    FlashDevice(Vec<(String, String)>),
    Flashed(Result<String, Vec<String>>),
    /// Stream the picked device's log into the page (sandbox devices).
    ShowDeviceLog,
    /// Whether the browser has Web Serial.
    SerialSupported(bool),
    /// Connect to a device on USB serial.
    ConnectSerial,
    /// Connecting to USB serial failed, or the port closed: why.
    SerialFailed(String),
    /// A cleanup step finished.
    CleanupStepDone {
        step: &'static str,
        result: Result<(), String>,
    },
    /// A session saved in this tab (page reload): check it is still valid.
    Restore {
        base: String,
        token: String,
        created_here: bool,
    },
}

/// Work the DOM layer does on `update`'s behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    FetchConfig,
    /// `POST {base}/oauth/token` with a password grant.
    RequestToken {
        base: String,
        username: String,
        password: String,
    },
    /// `POST {base}/oauth/token` with the MFA second step.
    RequestOtpToken {
        base: String,
        mfa_token: String,
        otp: String,
    },
    /// `GET {base}/v1/user`, to check a token and learn whose it is.
    CheckToken {
        base: String,
        token: String,
        created_here: bool,
    },
    LoadDevices {
        base: String,
        token: String,
    },
    /// `DELETE {base}/v1/access_tokens/current`.
    RevokeToken {
        base: String,
        token: String,
    },
    LoadProducts {
        base: String,
        token: String,
    },
    CreateProduct {
        base: String,
        token: String,
        name: String,
        platform_id: u32,
    },
    /// `POST {base}/v1/products/{product_id}/devices` with `{"id": device_id}`.
    AddDevice {
        base: String,
        token: String,
        product_id: u32,
        device_id: String,
    },
    /// Read the relay stream at `url` for run `run`, reconnecting to the same session on failure.
    OpenRelay {
        run: u32,
        url: String,
    },
    /// Read the smee.io channel at `url` for run `run`, reconnecting on failure.
    OpenSmee {
        run: u32,
        url: String,
    },
    /// Read the product's event stream for run `run`, reconnecting on failure.
    OpenEvents {
        run: u32,
        base: String,
        token: String,
        product_id: u32,
    },
    /// Close every stream the demo opened.
    CloseStreams,
    /// `POST` this JSON to the relay's control URL.
    ControlRelay {
        url: String,
        body: String,
    },
    /// Create the demo's webhook in the product, or update it when it exists.
    SaveWebhook {
        base: String,
        token: String,
        product_id: u32,
        settings: String,
    },
    /// `POST {base}/v1/products/{product_id}/events`.
    Publish {
        base: String,
        token: String,
        product_id: u32,
        name: String,
        data: String,
    },
    /// Add a row at the top of the event log.
    LogEvent(Vec<String>),
    /// Append a row to the data table, whose columns are now `columns`.
    DataRow {
        columns: Vec<String>,
        cells: Vec<String>,
    },
    /// Append an explainer entry.
    Explain(Entry),
    /// Send this request (a replay); nothing comes back but the relay's stream.
    Replay {
        url: String,
        method: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
    },
    /// Dispatch `msg` after `ms` milliseconds.
    Timer {
        ms: u32,
        msg: Box<Msg>,
    },
    /// Show only this firmware file.
    ShowFile(String),
    /// `PUT {base}/v1/devices/{device_id}` with the sources as multipart files.
    Flash {
        base: String,
        token: String,
        device_id: String,
        sources: Vec<(String, String)>,
    },
    /// Stream the log at `url` into the device log, replacing any other.
    OpenDeviceLog {
        url: String,
    },
    /// Ask for a USB serial port and stream its lines into the device log.
    ConnectSerial,
    /// Run these cleanup steps in order for the product, reporting each.
    Cleanup {
        base: String,
        token: String,
        product_id: u32,
        steps: Vec<&'static str>,
    },
    /// Keep the session for this tab (`sessionStorage`) or, remembered, for this browser
    /// (`localStorage`), so a reload stays signed in.
    SaveSession {
        session: Session,
        remember: bool,
    },
    /// Read this user's saved settings.
    LoadSettings(String),
    /// Save this user's settings (`Settings::encode`).
    SaveSettings {
        username: String,
        settings: String,
    },
    ForgetSession,
}

impl State {
    /// The state a fresh page starts in, and the effects that get it going.
    pub fn new() -> (State, Vec<Effect>) {
        let state = State {
            server: ServerConfig::Loading,
            auth: Auth::SignedOut {
                error: None,
                busy: false,
            },
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
            remember: false,
            use_sandbox: false,
            restoring: None,
            demo: Demo::default(),
            cleanup: Cleanup::default(),
            firmware_file: FIRMWARE_FILES[0].to_owned(),
            flash: Flash::Idle,
            serial_supported: false,
            serial_error: None,
        };
        (state, vec![Effect::FetchConfig])
    }

    /// The sandbox's base path, when the hosting server offers one.
    pub fn sandbox(&self) -> Option<&str> {
        match &self.server {
            ServerConfig::Loaded(config) => config.sandbox.as_deref(),
            ServerConfig::Loading | ServerConfig::Unavailable(_) => None,
        }
    }

    /// Where the token and password forms sign in: the sandbox when chosen (and offered), else
    /// the Particle cloud.
    pub fn api_base(&self) -> String {
        match self.sandbox() {
            Some(sandbox) if self.use_sandbox => sandbox.to_owned(),
            _ => PARTICLE_API.to_owned(),
        }
    }

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

    /// The cleanup steps the ticked boxes ask for, for the picked product.
    pub fn cleanup_steps(&self) -> Vec<&'static str> {
        self.cleanup
            .chosen(self.devices_in_product(), self.online_in_product())
    }

    /// What is saved for the signed-in user.
    pub fn settings(&self) -> Settings {
        Settings {
            device: self.selected_device.clone(),
            platform: self.platform,
            product: self.selected_product,
        }
    }

    pub fn session(&self) -> Option<&Session> {
        match &self.auth {
            Auth::SignedIn(session) => Some(session),
            Auth::SignedOut { .. } | Auth::AwaitingOtp { .. } => None,
        }
    }
}

/// Applies `msg` to `state` and says what to do next; saves the signed-in user's picks when they
/// change (once their saved picks, if any, have been restored).
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let before = state.settings();
    let mut effects = apply(state, msg);
    let after = state.settings();
    if let (Some(session), None) = (state.session(), &state.restoring) {
        if after != before {
            effects.push(Effect::SaveSettings {
                username: session.username.clone(),
                settings: after.encode(),
            });
        }
    }
    effects
}

fn apply(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::ConfigLoaded(Ok(config)) => state.server = ServerConfig::Loaded(config),
        Msg::ConfigLoaded(Err(reason)) => state.server = ServerConfig::Unavailable(reason),
        Msg::SandboxSignIn => {
            let Some(base) = state.sandbox() else {
                return Vec::new();
            };
            let (username, password) = SANDBOX_USER;
            let effect = Effect::RequestToken {
                base: base.to_owned(),
                username: username.into(),
                password: password.into(),
            };
            state.auth = Auth::SignedOut {
                error: None,
                busy: true,
            };
            return vec![effect];
        }
        Msg::TokenSignIn(token) => {
            let token = token.trim().to_owned();
            if token.is_empty() {
                state.auth = Auth::SignedOut {
                    error: Some("Paste an access token first.".into()),
                    busy: false,
                };
                return Vec::new();
            }
            state.auth = Auth::SignedOut {
                error: None,
                busy: true,
            };
            return vec![Effect::CheckToken {
                base: state.api_base(),
                token,
                created_here: false,
            }];
        }
        Msg::PasswordSignIn { username, password } => {
            if username.trim().is_empty() || password.is_empty() {
                let error = Some("Enter your email and password.".into());
                state.auth = Auth::SignedOut { error, busy: false };
                return Vec::new();
            }
            state.auth = Auth::SignedOut {
                error: None,
                busy: true,
            };
            return vec![Effect::RequestToken {
                base: state.api_base(),
                username: username.trim().into(),
                password,
            }];
        }
        Msg::OtpSignIn(otp) => {
            if let Auth::AwaitingOtp {
                base,
                mfa_token,
                error,
                busy,
            } = &mut state.auth
            {
                *error = None;
                *busy = true;
                return vec![Effect::RequestOtpToken {
                    base: base.clone(),
                    mfa_token: mfa_token.clone(),
                    otp: otp.trim().into(),
                }];
            }
        }
        Msg::TokenGranted { base, result } => match result {
            Ok(token) => {
                return vec![Effect::CheckToken {
                    base,
                    token,
                    created_here: true,
                }];
            }
            Err(failure) => {
                state.auth = match (failure.mfa_token.clone(), &state.auth) {
                    (Some(mfa_token), _) => Auth::AwaitingOtp {
                        base,
                        mfa_token,
                        error: None,
                        busy: false,
                    },
                    (
                        None,
                        Auth::AwaitingOtp {
                            base, mfa_token, ..
                        },
                    ) => Auth::AwaitingOtp {
                        base: base.clone(),
                        mfa_token: mfa_token.clone(),
                        error: Some(describe(&failure)),
                        busy: false,
                    },
                    (None, _) => Auth::SignedOut {
                        error: Some(describe(&failure)),
                        busy: false,
                    },
                }
            }
        },
        Msg::UserLoaded {
            base,
            token,
            created_here,
            result,
        } => match result {
            Ok(username) => {
                let load = Effect::LoadDevices {
                    base: base.clone(),
                    token: token.clone(),
                };
                let session = Session {
                    base,
                    token,
                    username,
                    created_here,
                };
                let products = Effect::LoadProducts {
                    base: session.base.clone(),
                    token: session.token.clone(),
                };
                let settings = Effect::LoadSettings(session.username.clone());
                let save = Effect::SaveSession {
                    session: session.clone(),
                    remember: state.remember,
                };
                state.auth = Auth::SignedIn(session);
                state.devices = Devices::Loading;
                state.products = Products::Loading;
                // Nothing is saved for this user until their saved picks have been looked up.
                state.restoring = Some(Settings::default());
                return vec![settings, load, products, save];
            }
            Err(failure) => {
                state.auth = Auth::SignedOut {
                    error: Some(describe(&failure)),
                    busy: false,
                };
                // A saved token the cloud refuses is of no further use; a network failure may pass.
                if failure.status == 401 {
                    return vec![Effect::ForgetSession];
                }
            }
        },
        Msg::ProductsLoaded(Ok(products)) => {
            state.products = Products::Loaded(products);
            restore(state);
        }
        Msg::ProductsLoaded(Err(failure)) if failure.status == 401 => {
            return signed_out_by(state, &failure);
        }
        Msg::ProductsLoaded(Err(failure)) => state.products = Products::Failed(describe(&failure)),
        Msg::SelectPlatform(id) => set_platform(state, id),
        Msg::ChooseProducts(choice) => state.product_choice = choice,
        Msg::SelectProduct(id) => {
            if state
                .products_for_platform()
                .iter()
                .any(|product| product.id == id)
            {
                state.selected_product = Some(id);
                state.product_choice = ProductChoice::Existing;
            }
        }
        Msg::CreateProduct(name) => {
            let (Some(session), Some(platform_id)) = (state.session(), state.platform) else {
                return Vec::new();
            };
            let name = name.trim().to_owned();
            if name.is_empty() {
                state.product_error = Some("Give the new product a name.".into());
                return Vec::new();
            }
            let effect = Effect::CreateProduct {
                base: session.base.clone(),
                token: session.token.clone(),
                name,
                platform_id,
            };
            state.creating_product = true;
            state.product_error = None;
            return vec![effect];
        }
        Msg::ProductCreated(Ok(product)) => {
            state.creating_product = false;
            state.selected_product = Some(product.id);
            state.product_choice = ProductChoice::Existing;
            if let Products::Loaded(products) = &mut state.products {
                products.push(product);
            } else {
                state.products = Products::Loaded(vec![product]);
            }
        }
        Msg::ProductCreated(Err(failure)) if failure.status == 401 => {
            state.creating_product = false;
            return signed_out_by(state, &failure);
        }
        Msg::ProductCreated(Err(failure)) => {
            state.creating_product = false;
            state.product_error = Some(describe(&failure));
        }
        Msg::AddDevice => {
            let (Some(session), Some(device), Some(product_id)) =
                (state.session(), state.device(), state.selected_product)
            else {
                return Vec::new();
            };
            let effect = Effect::AddDevice {
                base: session.base.clone(),
                token: session.token.clone(),
                product_id,
                device_id: device.id.clone(),
            };
            state.adding_device = true;
            state.add_device_error = None;
            return vec![effect];
        }
        Msg::DeviceAdded(result) => {
            state.adding_device = false;
            match result {
                Ok(0) => {
                    state.add_device_error = Some(
                        "The cloud did not add the device. A product takes devices of its own \
                         platform only: check the platform, or pick another product."
                            .into(),
                    )
                }
                Ok(_) => {
                    // The device now reports the product as its own; the product counts it.
                    if let Some(session) = state.session() {
                        return reload_lists(session);
                    }
                }
                Err(failure) if failure.status == 401 => return signed_out_by(state, &failure),
                Err(failure) => state.add_device_error = Some(describe(&failure)),
            }
        }
        Msg::SetRemember(remember) => state.remember = remember,
        Msg::CleanupChoice { step, on } => {
            let cleanup = &mut state.cleanup;
            match step {
                "webhook" => cleanup.webhook = on,
                "tinker" => cleanup.tinker = on,
                "devices" => cleanup.devices = on,
                _ => cleanup.product = on,
            }
            cleanup.confirming = false;
        }
        Msg::ShowFile(file) => {
            if FIRMWARE_FILES.contains(&file.as_str()) {
                state.firmware_file.clone_from(&file);
                return vec![Effect::ShowFile(file)];
            }
        }
        Msg::FlashDevice(sources) => {
            let (Some(session), Some(device)) = (state.session(), state.device()) else {
                return Vec::new();
            };
            if !device.online || state.flash == Flash::Flashing {
                return Vec::new();
            }
            let effect = Effect::Flash {
                base: session.base.clone(),
                token: session.token.clone(),
                device_id: device.id.clone(),
                sources,
            };
            state.flash = Flash::Flashing;
            return vec![effect];
        }
        Msg::Flashed(result) => {
            state.flash = match result {
                Ok(status) => Flash::Started(status),
                Err(errors) => Flash::Failed(errors),
            }
        }
        Msg::ShowDeviceLog => {
            let (Some(session), Some(sandbox), Some(device)) =
                (state.session(), state.sandbox(), state.device())
            else {
                return Vec::new();
            };
            // Only the sandbox's simulated devices have a log the page can read.
            if session.base != sandbox {
                return Vec::new();
            }
            let url = format!("{}/_sim/devices/{}/log", session.base, device.id);
            return vec![Effect::OpenDeviceLog { url }];
        }
        Msg::SerialSupported(supported) => state.serial_supported = supported,
        Msg::ConnectSerial => {
            if state.serial_supported {
                state.serial_error = None;
                return vec![Effect::ConnectSerial];
            }
        }
        Msg::SerialFailed(reason) => state.serial_error = Some(reason),
        Msg::CleanupAsk => {
            state.cleanup.confirming =
                state.product().is_some() && !state.cleanup_steps().is_empty();
        }
        Msg::CleanupCancel => state.cleanup.confirming = false,
        Msg::CleanupConfirm => {
            let (Some(session), Some(product_id)) = (state.session(), state.selected_product)
            else {
                return Vec::new();
            };
            if !state.cleanup.confirming || state.cleanup.running() {
                return Vec::new();
            }
            let steps = state.cleanup_steps();
            let effect = Effect::Cleanup {
                base: session.base.clone(),
                token: session.token.clone(),
                product_id,
                steps: steps.clone(),
            };
            state.cleanup.confirming = false;
            state.cleanup.steps = steps
                .into_iter()
                .map(|name| CleanupStep {
                    name,
                    outcome: None,
                })
                .collect();
            // The demo's streams and webhook go first.
            let stop = std::mem::take(&mut state.demo.running).then_some(Effect::CloseStreams);
            return stop.into_iter().chain([effect]).collect();
        }
        Msg::CleanupStepDone { step, result } => {
            let deleted = step == "product" && result.is_ok();
            if let Some(entry) = state.cleanup.steps.iter_mut().find(|s| s.name == step) {
                entry.outcome = Some(result);
            }
            if step == "webhook" {
                state.demo.webhook = WebhookState::Waiting;
            }
            if state.cleanup.running() {
                return Vec::new();
            }
            // Done: the lists change (devices left the product, the product may be gone).
            if deleted {
                state.selected_product = None;
                state.product_choice = ProductChoice::New;
            }
            if let Some(session) = state.session() {
                return reload_lists(session);
            }
        }
        Msg::StartDemo { .. }
        | Msg::SmeeChannel(_)
        | Msg::StopDemo
        | Msg::RelayEvent { .. }
        | Msg::ParticleEvent { .. }
        | Msg::StreamDown { .. }
        | Msg::WebhookSaved(_)
        | Msg::TestWebhook { .. }
        | Msg::TestPublished(_)
        | Msg::ApplyAnswer(_)
        | Msg::PreviewData(_)
        | Msg::GiveUp { .. }
        | Msg::Replay(_)
        | Msg::PublishData(_)
        | Msg::AnswerApplied(_) => return live(state, msg),
        Msg::UseSandbox(sandbox) => state.use_sandbox = sandbox,
        Msg::SettingsLoaded(saved) => {
            state.restoring = Some(
                saved
                    .as_deref()
                    .and_then(Settings::decode)
                    .unwrap_or_default(),
            );
            restore(state);
        }
        Msg::Restore {
            base,
            token,
            created_here,
        } => {
            state.auth = Auth::SignedOut {
                error: None,
                busy: true,
            };
            return vec![Effect::CheckToken {
                base,
                token,
                created_here,
            }];
        }
        Msg::RefreshDevices => {
            if let Some(session) = state.session() {
                let load = Effect::LoadDevices {
                    base: session.base.clone(),
                    token: session.token.clone(),
                };
                state.devices = Devices::Loading;
                return vec![load];
            }
        }
        Msg::DevicesLoaded(Ok(devices)) => {
            // Keep the learner's pick across refreshes; otherwise pick what the list shows first.
            let kept = state
                .selected_device
                .as_ref()
                .is_some_and(|id| devices.iter().any(|d| &d.id == id));
            if !kept {
                state.selected_device = devices.first().map(|device| device.id.clone());
            }
            state.devices = Devices::Loaded(devices);
            if state.platform.is_none() {
                state.platform = state.device().map(|device| device.platform_id);
            }
            restore(state);
        }
        Msg::SelectDevice(id) => {
            if let Devices::Loaded(devices) = &state.devices {
                if let Some(platform_id) = devices
                    .iter()
                    .find(|device| device.id == id)
                    .map(|d| d.platform_id)
                {
                    set_platform(state, platform_id);
                    state.selected_device = Some(id);
                    state.flash = Flash::Idle;
                }
            }
        }
        Msg::DevicesLoaded(Err(failure)) => {
            if failure.status == 401 {
                return signed_out_by(state, &failure);
            }
            state.devices = Devices::Failed(describe(&failure));
        }
        Msg::SignOut => {
            let revoke = state
                .session()
                .filter(|session| session.created_here)
                .map(|session| Effect::RevokeToken {
                    base: session.base.clone(),
                    token: session.token.clone(),
                });
            state.auth = Auth::SignedOut {
                error: None,
                busy: false,
            };
            state.devices = Devices::NotLoaded;
            state.selected_device = None;
            state.products = Products::NotLoaded;
            state.platform = None;
            state.selected_product = None;
            state.product_error = None;
            state.add_device_error = None;
            state.restoring = None;
            let stop = state.demo.running.then_some(Effect::CloseStreams);
            state.cleanup = Cleanup::default();
            state.demo = Demo {
                run: state.demo.run,
                ..Demo::default()
            };
            return revoke
                .into_iter()
                .chain(stop)
                .chain([Effect::ForgetSession])
                .collect();
        }
    }
    Vec::new()
}

/// Loads the device and product lists again (after they changed in the cloud).
fn reload_lists(session: &Session) -> Vec<Effect> {
    vec![
        Effect::LoadDevices {
            base: session.base.clone(),
            token: session.token.clone(),
        },
        Effect::LoadProducts {
            base: session.base.clone(),
            token: session.token.clone(),
        },
    ]
}

/// The token expired or was revoked elsewhere: back to sign-in, saying why. The learner's picks
/// stay saved, so signing in again puts them back.
fn signed_out_by(state: &mut State, failure: &ApiFailure) -> Vec<Effect> {
    state.auth = Auth::SignedOut {
        error: Some(describe(failure)),
        busy: false,
    };
    state.devices = Devices::NotLoaded;
    state.products = Products::NotLoaded;
    state.restoring = None;
    // A running demo stops with the session.
    let stop = std::mem::take(&mut state.demo.running).then_some(Effect::CloseStreams);
    stop.into_iter().chain([Effect::ForgetSession]).collect()
}

/// What a request the in-page server received becomes: explainer entries and a data table row.
fn hook_effects(demo: &mut Demo, hook: &HookRequest) -> Vec<Effect> {
    let mut entries = demo::explain_hook(hook);
    let hook_url = demo
        .relay
        .as_ref()
        .map(|r| r.hook_url.as_str())
        .unwrap_or_default();
    entries[0].curl = Some(demo::curl(hook, hook_url));
    demo::keep(&mut demo.hooks, hook.clone());
    if let Some(key) = demo::hook_cycle(hook) {
        demo.timeline
            .request(key.clone(), hook.hook_id, hook.received_at);
        entries[0].fresh = demo.starts_cycle(key);
    }
    let mut effects: Vec<Effect> = entries.into_iter().map(Effect::Explain).collect();
    if let Some(cells) = hook.body.as_deref().and_then(|b| demo.data_row(b)) {
        effects.push(Effect::DataRow {
            columns: demo.columns.clone(),
            cells,
        });
    }
    effects
}

/// Starts a run on a smee.io channel: the channel is the hook URL, known at once, so the webhook is
/// saved right away; smee answers every request itself, so there is nothing to control.
fn start_smee(state: &mut State, secret: String, smee: &str) -> Vec<Effect> {
    if !smee.starts_with("https://") && !smee.starts_with("http://") {
        state.demo.start_error = Some("A smee.io channel is an https:// address.".into());
        return Vec::new();
    }
    let (Some(session), Some(product_id)) = (state.session().cloned(), state.selected_product)
    else {
        return Vec::new();
    };
    let demo = &mut state.demo;
    *demo = Demo {
        running: true,
        run: demo.run + 1,
        columns: std::mem::take(&mut demo.columns),
        answer: demo.answer.clone(),
        relay_typed: std::mem::take(&mut demo.relay_typed),
        smee_typed: smee.to_owned(),
        relay: Some(RelayStart {
            session_id: String::new(),
            hook_url: smee.to_owned(),
            control_url: String::new(),
            resumed: false,
        }),
        webhook: WebhookState::Saving,
        secret,
        ..Demo::default()
    };
    vec![
        Effect::CloseStreams,
        Effect::OpenSmee {
            run: demo.run,
            url: smee.to_owned(),
        },
        Effect::OpenEvents {
            run: demo.run,
            base: session.base.clone(),
            token: session.token.clone(),
            product_id,
        },
        Effect::SaveWebhook {
            base: session.base,
            token: session.token,
            product_id,
            settings: demo::webhook_settings(smee, &demo.secret).to_string(),
        },
    ]
}

/// The live demo's messages.
fn live(state: &mut State, msg: Msg) -> Vec<Effect> {
    let session = state.session().cloned();
    let product_id = state.selected_product;
    let relay_base = match &state.server {
        ServerConfig::Loaded(config) => Some(config.relay.clone()),
        ServerConfig::Loading | ServerConfig::Unavailable(_) => None,
    };
    let current = |run: u32, demo: &Demo| demo.running && run == demo.run;
    match msg {
        Msg::SmeeChannel(url) => state.demo.smee_typed = url,
        Msg::StartDemo {
            secret,
            relay,
            smee,
        } => {
            let smee = smee.trim();
            if !smee.is_empty() {
                return start_smee(state, secret, smee);
            }
            let typed = relay.trim();
            let relay_base = if typed.is_empty() {
                relay_base
            } else if typed.starts_with("http://") || typed.starts_with("https://") {
                Some(format!("{}/", typed.trim_end_matches('/')))
            } else {
                state.demo.start_error =
                    Some("A relay address starts with http:// or https://.".into());
                return Vec::new();
            };
            let Some(relay_base) = relay_base else {
                state.demo.start_error = Some(
                    "This page's server offers no webhook relay: enter the address of one \
                     (run `webhook-demo serve --public-url …` on a public host)."
                        .into(),
                );
                return Vec::new();
            };
            let (Some(session), Some(product_id)) = (session, product_id) else {
                return Vec::new();
            };
            let demo = &mut state.demo;
            *demo = Demo {
                running: true,
                run: demo.run + 1,
                secret,
                columns: std::mem::take(&mut demo.columns),
                answer: demo.answer.clone(),
                relay_typed: typed.to_owned(),
                ..Demo::default()
            };
            return vec![
                Effect::CloseStreams,
                Effect::OpenRelay {
                    run: demo.run,
                    url: format!("{relay_base}stream"),
                },
                Effect::OpenEvents {
                    run: demo.run,
                    base: session.base,
                    token: session.token,
                    product_id,
                },
            ];
        }
        Msg::StopDemo => {
            let was_running = std::mem::take(&mut state.demo.running);
            return was_running
                .then_some(Effect::CloseStreams)
                .into_iter()
                .collect();
        }
        Msg::RelayEvent { run, event, data } if current(run, &state.demo) => {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&data) else {
                return Vec::new();
            };
            let demo = &mut state.demo;
            demo.stream_error = None;
            match event.as_str() {
                "start" => {
                    let Some(start) = RelayStart::from_json(&value) else {
                        return Vec::new();
                    };
                    let control = Effect::ControlRelay {
                        url: start.control_url.clone(),
                        body: demo::control_body(&demo.answer, &demo.secret),
                    };
                    let save = match (&session, product_id, &demo.webhook) {
                        (Some(session), Some(product_id), WebhookState::Waiting) => {
                            Some(Effect::SaveWebhook {
                                base: session.base.clone(),
                                token: session.token.clone(),
                                product_id,
                                settings: demo::webhook_settings(&start.hook_url, &demo.secret)
                                    .to_string(),
                            })
                        }
                        _ => None,
                    };
                    if save.is_some() {
                        demo.webhook = WebhookState::Saving;
                    }
                    demo.relay = Some(start);
                    return [Some(control), save].into_iter().flatten().collect();
                }
                "hook" => {
                    if let Some(hook) = HookRequest::from_json(&value) {
                        return hook_effects(demo, &hook);
                    }
                }
                "smee" => {
                    demo.smee_count += 1;
                    if let Some(hook) = demo::smee_hook(&value, demo.smee_count) {
                        return hook_effects(demo, &hook);
                    }
                }
                "hookResponse" => {
                    if let Some(response) = HookResponse::from_json(&value) {
                        demo::keep(&mut demo.responses, response.clone());
                        demo.timeline.response(
                            response.hook_id,
                            response.responded_at,
                            response.status_code,
                            response.body.len(),
                        );
                        return vec![Effect::Explain(demo::explain_response(&response))];
                    }
                }
                "dropped" => {
                    let count = value.get("count").and_then(|c| c.as_u64()).unwrap_or(0);
                    demo.stream_error = Some(format!(
                        "The relay could not keep {count} requests while this page was away."
                    ));
                }
                _ => {}
            }
        }
        Msg::ParticleEvent { run, name, data } if current(run, &state.demo) => {
            let Some(event) = serde_json::from_str(&data)
                .ok()
                .and_then(|value| ParticleEvent::from_json(&name, &value))
            else {
                return Vec::new();
            };
            state.demo.stream_error = None;
            let device = match &state.devices {
                Devices::Loaded(devices) => devices
                    .iter()
                    .find(|d| d.id == event.coreid)
                    .and_then(|d| d.name.clone()),
                Devices::NotLoaded | Devices::Loading | Devices::Failed(_) => None,
            }
            .unwrap_or_else(|| event.coreid.clone());
            // The picked device reports its update's progress while it is being flashed.
            let flashing = matches!(state.flash, Flash::Flashing | Flash::Started(_))
                && state.selected_device.as_deref() == Some(event.coreid.as_str());
            if flashing && event.name == "spark/flash/status" {
                state.flash = Flash::Started(event.data.trim().to_owned());
            }
            let mut effects = vec![Effect::LogEvent(demo::log_cells(&event, &device))];
            demo::keep(&mut state.demo.events, event.clone());
            if event.name == demo::EVENT_NAME {
                state.demo.preview = Some(event.clone());
                if state
                    .demo
                    .timeline
                    .published(&event.coreid, &event.published_at)
                {
                    effects.push(Effect::Timer {
                        ms: crate::timeline::GIVE_UP_MS as u32,
                        msg: Box::new(Msg::GiveUp {
                            run,
                            key: (event.coreid.clone(), event.published_at.clone()),
                        }),
                    });
                }
            } else if event.name.contains(demo::EVENT_NAME) {
                state
                    .demo
                    .timeline
                    .webhook_event(&event.name, &event.data, &event.published_at);
            }
            if let Some(mut entry) = demo::explain_event(&event, &device) {
                if entry.fresh {
                    let key = (event.coreid.clone(), event.published_at.clone());
                    entry.fresh = state.demo.starts_cycle(key);
                }
                effects.push(Effect::Explain(entry));
            }
            if let (Some(session), "spark/status") = (session, event.name.as_str()) {
                // A device went online or offline: its mark in the device list follows.
                effects.push(Effect::LoadDevices {
                    base: session.base,
                    token: session.token,
                });
            }
            return effects;
        }
        Msg::Replay(hook_id) => {
            let demo = &state.demo;
            let (Some(hook), Some(relay)) = (
                demo.hooks.iter().find(|h| h.hook_id == hook_id),
                &demo.relay,
            ) else {
                return Vec::new();
            };
            let origin = demo::origin(&relay.hook_url);
            let mut headers = demo::replay_headers(hook);
            headers.push((demo::REPLAY_HEADER.to_owned(), "1".to_owned()));
            return vec![Effect::Replay {
                url: format!("{origin}{}", hook.original_url),
                method: hook.method.clone(),
                headers,
                body: hook.body.clone(),
            }];
        }
        Msg::GiveUp { run, key } if current(run, &state.demo) => {
            state.demo.timeline.give_up(&key);
        }
        Msg::StreamDown { run, reason } if current(run, &state.demo) => {
            state.demo.stream_error = Some(reason);
        }
        Msg::WebhookSaved(Ok(id)) => state.demo.webhook = WebhookState::Saved(id),
        Msg::WebhookSaved(Err(failure)) | Msg::TestPublished(Err(failure))
            if failure.status == 401 =>
        {
            return signed_out_by(state, &failure);
        }
        Msg::WebhookSaved(Err(failure)) => {
            state.demo.webhook = WebhookState::Failed(describe(&failure));
        }
        Msg::PreviewData(data) => {
            state.demo.preview_typed.clone_from(&data);
            // The cloud sets the time; until then the preview shows where it goes.
            state.demo.preview = Some(ParticleEvent {
                name: demo::EVENT_NAME.to_owned(),
                data,
                published_at: "(the time the cloud receives it)".to_owned(),
                coreid: "api".to_owned(),
            });
        }
        Msg::PublishData(data) => {
            state.demo.preview_typed.clone_from(&data);
            let (Some(session), Some(product_id), true) = (session, product_id, state.demo.running)
            else {
                return Vec::new();
            };
            return vec![Effect::Publish {
                base: session.base,
                token: session.token,
                product_id,
                name: demo::EVENT_NAME.to_owned(),
                data,
            }];
        }
        Msg::TestWebhook { id } => {
            let (Some(session), Some(product_id), true) = (session, product_id, state.demo.running)
            else {
                return Vec::new();
            };
            state.demo.test_error = None;
            return vec![Effect::Publish {
                base: session.base,
                token: session.token,
                product_id,
                name: demo::EVENT_NAME.to_owned(),
                data: demo::test_data(id),
            }];
        }
        Msg::TestPublished(Ok(data)) => state.demo.test_sent = Some(demo::pretty(&data)),
        Msg::TestPublished(Err(failure)) => state.demo.test_error = Some(describe(&failure)),
        Msg::ApplyAnswer(answer) => {
            let demo = &mut state.demo;
            if !(100..=599).contains(&answer.status) {
                demo.answer_error = Some("A status is a number from 100 to 599.".into());
                return Vec::new();
            }
            if answer.delay_ms > 15_000 {
                demo.answer_error = Some(
                    "Wait at most 15,000 ms: Particle gives up on a webhook after 20 seconds."
                        .into(),
                );
                return Vec::new();
            }
            demo.answer_error = None;
            demo.answer = answer;
            if demo.running && !demo.smee_typed.is_empty() {
                demo.answer_error = Some(
                    "smee.io answers every request itself, with 200; these settings apply to a \
                     webhook relay only."
                        .into(),
                );
                return Vec::new();
            }
            if let Some(relay) = &demo.relay {
                return vec![Effect::ControlRelay {
                    url: relay.control_url.clone(),
                    body: demo::control_body(&demo.answer, &demo.secret),
                }];
            }
        }
        Msg::AnswerApplied(result) => state.demo.answer_error = result.err(),
        // Stream messages of an earlier run, and messages that are not the demo's.
        _ => {}
    }
    Vec::new()
}

/// Applies the saved picks that the lists loaded so far allow; done once both lists are in.
fn restore(state: &mut State) {
    let Some(saved) = state.restoring.clone() else {
        return;
    };
    if let (Devices::Loaded(devices), Some(id)) = (&state.devices, &saved.device) {
        if devices.iter().any(|d| &d.id == id) {
            state.selected_device = Some(id.clone());
        }
    }
    if let Some(platform) = saved.platform {
        state.platform = Some(platform);
    }
    if let (Products::Loaded(_), Some(product)) = (&state.products, saved.product) {
        if state
            .products_for_platform()
            .iter()
            .any(|p| p.id == product)
        {
            state.selected_product = Some(product);
            state.product_choice = ProductChoice::Existing;
        }
    }
    if matches!(state.devices, Devices::Loaded(_) | Devices::Failed(_))
        && matches!(state.products, Products::Loaded(_) | Products::Failed(_))
    {
        state.restoring = None;
    }
}

/// Chooses the product's platform; a product of the previous platform no longer fits.
fn set_platform(state: &mut State, platform_id: u32) {
    if state.platform != Some(platform_id) {
        state.platform = Some(platform_id);
        state.selected_product = None;
    }
}

/// A failure in words a learner can act on.
pub fn describe(failure: &ApiFailure) -> String {
    match (failure.status, failure.error.as_str()) {
        (0, _) => format!(
            "Could not reach the Particle cloud ({}). Check your connection and try again.",
            failure.description
        ),
        (_, "invalid_grant") if failure.description == "User credentials are invalid" => {
            "That email and password do not match a Particle account.".to_owned()
        }
        (401, _) => "The access token is invalid or has expired. Sign in again.".to_owned(),
        (429, _) => "The Particle cloud is rate-limiting requests. Wait a minute, then try again."
            .to_owned(),
        (_, _) if !failure.description.is_empty() => format!(
            "{} (HTTP {}).",
            failure.description.trim_end_matches('.'),
            failure.status
        ),
        (status, _) => format!("The Particle cloud answered HTTP {status}."),
    }
}

#[cfg(test)]
mod tests;
