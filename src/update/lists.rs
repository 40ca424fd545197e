//! The device and product lists and the learner's picks: loading and refreshing them, choosing a
//! device, a platform and a product, creating a product, adding the device to it, and putting back
//! the picks saved for this user once the lists allow.

use super::Context;
use crate::{
    failure::{ApiFailure, describe},
    lists::Msg,
    msg::Effect,
    sign_in::Session,
    state::{Device, Devices, Lists, Product, ProductChoice, Products, Settings},
};

/// One arm per message, each a field set or a call. A failure saying the cloud no longer takes the
/// token only ends what was under way here: the root signs out.
pub(super) fn update(state: &mut Lists, context: &Context, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::SettingsLoaded(saved) => settings_loaded(state, saved.as_deref()),
        Msg::RefreshDevices => return refresh_devices(state, context),
        Msg::DevicesLoaded(result) => devices_loaded(state, result),
        Msg::SelectDevice(id) => select_device(state, id),
        Msg::ProductsLoaded(result) => products_loaded(state, result),
        Msg::SelectPlatform(id) => set_platform(state, id),
        Msg::ChooseProducts(choice) => state.product_choice = choice,
        Msg::SelectProduct(id) => select_product(state, id),
        Msg::CreateProduct(name) => return create_product(state, context, &name),
        Msg::ProductCreated(result) => product_created(state, result),
        Msg::AddDevice => return add_device(state, context),
        Msg::DeviceAdded(result) => return device_added(state, context, result),
    }
    Vec::new()
}

fn refresh_devices(state: &mut Lists, context: &Context) -> Vec<Effect> {
    let Some(session) = context.session else {
        return Vec::new();
    };
    let load = Effect::LoadDevices {
        base: session.base.clone(),
        token: session.token.clone(),
    };
    state.devices = Devices::Loading;
    vec![load]
}

fn devices_loaded(state: &mut Lists, result: Result<Vec<Device>, ApiFailure>) {
    let devices = match result {
        Ok(devices) => devices,
        Err(failure) if failure.status == 401 => return,
        Err(failure) => {
            state.devices = Devices::Failed(describe(&failure));
            return;
        }
    };
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

fn select_device(state: &mut Lists, id: String) {
    let Devices::Loaded(devices) = &state.devices else {
        return;
    };
    if let Some(platform_id) = devices
        .iter()
        .find(|device| device.id == id)
        .map(|d| d.platform_id)
    {
        set_platform(state, platform_id);
        state.selected_device = Some(id);
    }
}

fn products_loaded(state: &mut Lists, result: Result<Vec<Product>, ApiFailure>) {
    match result {
        Ok(products) => {
            state.products = Products::Loaded(products);
            restore(state);
        }
        Err(failure) if failure.status == 401 => {}
        Err(failure) => state.products = Products::Failed(describe(&failure)),
    }
}

fn select_product(state: &mut Lists, id: u32) {
    if state
        .products_for_platform()
        .iter()
        .any(|product| product.id == id)
    {
        state.selected_product = Some(id);
        state.product_choice = ProductChoice::Existing;
    }
}

fn create_product(state: &mut Lists, context: &Context, name: &str) -> Vec<Effect> {
    let (Some(session), Some(platform_id)) = (context.session, state.platform) else {
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
    vec![effect]
}

fn product_created(state: &mut Lists, result: Result<Product, ApiFailure>) {
    state.creating_product = false;
    match result {
        Ok(product) => {
            state.selected_product = Some(product.id);
            state.product_choice = ProductChoice::Existing;
            if let Products::Loaded(products) = &mut state.products {
                products.push(product);
            } else {
                state.products = Products::Loaded(vec![product]);
            }
        }
        Err(failure) if failure.status == 401 => {}
        Err(failure) => state.product_error = Some(describe(&failure)),
    }
}

fn add_device(state: &mut Lists, context: &Context) -> Vec<Effect> {
    let (Some(session), Some(device), Some(product_id)) =
        (context.session, state.device(), state.selected_product)
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
    vec![effect]
}

/// The answer to adding the device: how many devices the cloud moved into the product.
fn device_added(
    state: &mut Lists,
    context: &Context,
    result: Result<u32, ApiFailure>,
) -> Vec<Effect> {
    state.adding_device = false;
    match result {
        Ok(0) => {
            state.add_device_error = Some(
                "The cloud did not add the device. A product takes devices of its own \
                 platform only: check the platform, or pick another product."
                    .into(),
            );
        }
        // The device now reports the product as its own; the product counts it.
        Ok(_) => return context.session.map(reload_lists).unwrap_or_default(),
        Err(failure) if failure.status == 401 => {}
        Err(failure) => state.add_device_error = Some(describe(&failure)),
    }
    Vec::new()
}

/// The picks saved for this user (`Settings::encode`), if any, applied as far as the lists allow.
fn settings_loaded(state: &mut Lists, saved: Option<&str>) {
    state.restoring = Some(saved.and_then(Settings::decode).unwrap_or_default());
    restore(state);
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

/// Applies the saved picks that the lists loaded so far allow; done once both lists are in.
fn restore(state: &mut Lists) {
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
fn set_platform(state: &mut Lists, platform_id: u32) {
    if state.platform != Some(platform_id) {
        state.platform = Some(platform_id);
        state.selected_product = None;
    }
}
