//! The pure `update`: what each message does to the `State`, and the effects it asks for.
//!
//! Sign-in, the device and product lists, the learner's picks and the firmware panel are handled
//! here; the live demo's messages in `demo/update.rs` and the cleanup panel's in `cleanup.rs`. Nothing
//! here touches the browser, so every message is unit-tested natively.

use crate::{
    cleanup::{self, Cleanup},
    demo::{self, Demo},
    msg::{Effect, Msg},
    state::{
        ApiFailure, Auth, Devices, FIRMWARE_FILES, Flash, ProductChoice, Products, SANDBOX_USER,
        ServerConfig, Session, Settings, State, describe,
    },
};

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
        Msg::RevealSecret(shown) => state.secret_revealed = shown,
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
            let token = session.token.clone();
            return vec![Effect::OpenDeviceLog { url, token }];
        }
        Msg::SerialSupported(supported) => state.serial_supported = supported,
        Msg::PageOrigin(origin) => state.page_origin = origin,
        Msg::ConnectSerial => {
            if state.serial_supported {
                state.serial_error = None;
                return vec![Effect::ConnectSerial];
            }
        }
        Msg::SerialFailed(reason) => state.serial_error = Some(reason),
        Msg::Demo(msg) => return demo::update::update(state, msg),
        Msg::Cleanup(msg) => return cleanup::update(state, msg),
        Msg::CopyFile => return vec![Effect::CopyShownFile],
        Msg::DownloadLog => return vec![Effect::OfferDeviceLog],
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
pub(crate) fn reload_lists(session: &Session) -> Vec<Effect> {
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
pub(crate) fn signed_out_by(state: &mut State, failure: &ApiFailure) -> Vec<Effect> {
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

#[cfg(test)]
pub(crate) mod tests;
