//! The closed set of messages that change the `State`, and the effects `update` asks the browser
//! layer to run.
//!
//! Every feature of the page speaks in a message enum of its own (`sign_in::Msg`, `lists::Msg`,
//! `firmware::Msg`, `demo::Msg`, `cleanup::Msg`), wrapped here, so each is matched exhaustively by
//! its own update; the root's own messages are what no feature owns (the server's configuration,
//! the page's origin, the secret shown). Effects are the other direction: requests, streams,
//! storage and the few DOM changes the templates do not render.

use webhook_demo_core::wire::Config;

use crate::{
    check,
    cleanup::{self, CleanupStep},
    demo, firmware, lists,
    sign_in::{self, Session},
};

/// Everything that can happen: a click, an HTTP reply, a stream message, a timer. Listeners only
/// ever dispatch one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The answer to `GET config.json`.
    ConfigLoaded(Result<Config, String>),
    /// The page's origin, as the browser sends it in `Origin`.
    PageOrigin(String),
    /// Show (true) or mask again the webhook's `Authorization` secret.
    RevealSecret(bool),
    /// A run this tab kept before a reload (`resume::encode`) and its events
    /// (`resume::encode_events`), to pick up again once signed in.
    Resume {
        run: String,
        events: Option<String>,
    },
    /// Signing in and out.
    SignIn(sign_in::Msg),
    /// The device and product lists and the picks from them.
    Lists(lists::Msg),
    /// The firmware panel's messages.
    Firmware(firmware::Msg),
    /// The live demo's messages.
    Demo(demo::Msg),
    /// The cleanup panel's messages.
    Cleanup(cleanup::Msg),
    Check(check::Msg),
}

/// Work the browser layer does on `update`'s behalf.
/// An event's row of the data table, whose columns are now `columns`: appended, or in place of
/// the row of event `key` when a repeat of it (a retry) came before; `attempt` is the cloud's
/// attempt it came with (0: not the cloud's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRow {
    pub columns: Vec<String>,
    pub cells: Vec<String>,
    pub key: String,
    pub attempt: u32,
}

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
    /// Put an event's row in the data table.
    DataRow(DataRow),
    /// Copy this text to the clipboard.
    CopyText(String),
    /// Say this in the page's one status region (`#announce`, a polite live region that exists
    /// from page load), for screen readers: a hop, a test sent, Start and Stop, cleanup, flashing.
    Announce(String),
    /// Pass request `hook_id` on to the learner's server at `url`; `POST` its answer (or, when it
    /// cannot be reached, `fallback`) to the relay's `respond` URL.
    Forward {
        url: String,
        method: String,
        headers: Vec<(String, String)>,
        body: Option<String>,
        respond: String,
        fallback: String,
        hook_id: u64,
    },
    /// `POST` the page's own answer to a request (a `PageAnswer`) to the relay's `respond` URL.
    Respond {
        url: String,
        body: String,
    },
    /// Scroll the element with this id into view and move focus to it (after Test: the result).
    Reveal(&'static str),
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
        /// The learner's token: on a hosted server `_sim` acts only for its owner.
        token: String,
    },
    /// Ask for a USB serial port and stream its lines into the device log.
    ConnectSerial,
    /// List the product's integrations other than the demo's, before cleanup asks.
    CleanupCheck {
        base: String,
        token: String,
        product_id: u32,
    },
    /// Run these cleanup steps in order for the product, reporting each.
    Cleanup {
        base: String,
        token: String,
        product_id: u32,
        steps: Vec<CleanupStep>,
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
    /// Copy the firmware file shown to the clipboard.
    CopyShownFile,
    /// Download `text` as a file named `file` of type `mime`.
    OfferDownload {
        file: &'static str,
        mime: &'static str,
        text: String,
    },
    /// Download what the device log holds now.
    OfferDeviceLog,
    /// Sends the check's requests to the learner's server in order, each answer coming back as
    /// `check::Msg::Probed`.
    CheckServer {
        run: u32,
        requests: Vec<check::Request>,
    },
}

impl From<sign_in::Msg> for Msg {
    fn from(msg: sign_in::Msg) -> Msg {
        Msg::SignIn(msg)
    }
}

impl From<lists::Msg> for Msg {
    fn from(msg: lists::Msg) -> Msg {
        Msg::Lists(msg)
    }
}

impl From<firmware::Msg> for Msg {
    fn from(msg: firmware::Msg) -> Msg {
        Msg::Firmware(msg)
    }
}

impl From<demo::Msg> for Msg {
    fn from(msg: demo::Msg) -> Msg {
        Msg::Demo(msg)
    }
}

impl From<cleanup::Msg> for Msg {
    fn from(msg: cleanup::Msg) -> Msg {
        Msg::Cleanup(msg)
    }
}

impl From<check::Msg> for Msg {
    fn from(msg: check::Msg) -> Msg {
        Msg::Check(msg)
    }
}
