//! The pure `update`: what each message does to the `State`, and the effects it asks for.
//!
//! Each message is handed to a function named after what it does, by area: signing in and out in
//! `update/sign_in.rs`, the lists and the learner's picks in `update/lists.rs`, the firmware panel
//! in `update/firmware.rs`, the live demo in `update/demo.rs` and the cleanup panel in
//! `update/cleanup.rs`. The state each changes is defined below them (`state.rs`, `demo/`,
//! `cleanup.rs`), so nothing there depends on how it changes. Nothing here touches the browser, so
//! every message is unit-tested natively.

mod cleanup;
pub(crate) mod demo;
mod firmware;
pub(crate) mod lists;
pub(crate) mod sign_in;

use crate::{
    msg::{Effect, Msg},
    state::{Flash, ServerConfig, State},
};

/// The state a fresh page starts in, and the effects that get it going.
pub fn init() -> (State, Vec<Effect>) {
    (State::default(), vec![Effect::FetchConfig])
}

/// Applies `msg` to `state` and says what to do next; saves the signed-in user's picks when they
/// change (once their saved picks, if any, have been restored).
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let before = state.settings();
    let mut effects = apply(state, msg);
    let after = state.settings();
    if let (Some(session), None) = (state.session(), &state.sign_in.restoring) {
        if after != before {
            effects.push(Effect::SaveSettings {
                username: session.username.clone(),
                settings: after.encode(),
            });
        }
    }
    effects
}

/// One arm per message, each a field set or a call: what a message does is in the function it
/// names.
fn apply(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::ConfigLoaded(Ok(config)) => state.server = ServerConfig::Loaded(config),
        Msg::ConfigLoaded(Err(reason)) => state.server = ServerConfig::Unavailable(reason),
        Msg::SandboxSignIn => return sign_in::sandbox(state),
        Msg::TokenSignIn(token) => return sign_in::token(state, &token),
        Msg::PasswordSignIn { username, password } => {
            return sign_in::password(state, &username, password);
        }
        Msg::OtpSignIn(otp) => return sign_in::otp(state, &otp),
        Msg::TokenGranted { base, result } => return sign_in::token_granted(state, base, result),
        Msg::UserLoaded {
            base,
            token,
            created_here,
            result,
        } => return sign_in::user_loaded(state, base, token, created_here, result),
        Msg::Restore {
            base,
            token,
            created_here,
        } => return sign_in::restore(state, base, token, created_here),
        Msg::SignOut => return sign_in::sign_out(state),
        Msg::SetRemember(remember) => state.sign_in.remember = remember,
        Msg::UseSandbox(sandbox) => state.sign_in.use_sandbox = sandbox,
        Msg::SettingsLoaded(saved) => lists::settings_loaded(state, saved.as_deref()),
        Msg::RefreshDevices => return lists::refresh_devices(state),
        Msg::DevicesLoaded(result) => return lists::devices_loaded(state, result),
        Msg::SelectDevice(id) => lists::select_device(state, id),
        Msg::ProductsLoaded(result) => return lists::products_loaded(state, result),
        Msg::SelectPlatform(id) => lists::set_platform(state, id),
        Msg::ChooseProducts(choice) => state.lists.product_choice = choice,
        Msg::SelectProduct(id) => lists::select_product(state, id),
        Msg::CreateProduct(name) => return lists::create_product(state, &name),
        Msg::ProductCreated(result) => return lists::product_created(state, result),
        Msg::AddDevice => return lists::add_device(state),
        Msg::DeviceAdded(result) => return lists::device_added(state, result),
        Msg::RevealSecret(shown) => state.secret_revealed = shown,
        Msg::ShowFile(file) => return firmware::show_file(state, file),
        Msg::FlashDevice(sources) => return firmware::flash(state, sources),
        Msg::Flashed(result) => {
            state.firmware.flash = match result {
                Ok(status) => Flash::Started(status),
                Err(errors) => Flash::Failed(errors),
            }
        }
        Msg::ShowDeviceLog => return firmware::show_device_log(state),
        Msg::SerialSupported(supported) => state.firmware.serial_supported = supported,
        Msg::PageOrigin(origin) => state.page_origin = origin,
        Msg::ConnectSerial => return firmware::connect_serial(state),
        Msg::SerialFailed(reason) => state.firmware.serial_error = Some(reason),
        Msg::CopyFile => return vec![Effect::CopyShownFile],
        Msg::DownloadLog => return vec![Effect::OfferDeviceLog],
        Msg::Demo(msg) => return demo::update(state, msg),
        Msg::Cleanup(msg) => return cleanup::update(state, msg),
    }
    Vec::new()
}

#[cfg(test)]
pub(crate) mod tests;
