//! The device and product lists and the learner's picks: loading and refreshing them, choosing a
//! device, a platform and a product, creating a product, adding the device to it, and putting back
//! the picks saved for this user once the lists allow.

use super::sign_in::signed_out_by;
use crate::{
    failure::{ApiFailure, describe},
    msg::Effect,
    state::{Device, Devices, Flash, Product, ProductChoice, Products, Session, Settings, State},
};

pub(super) fn refresh_devices(state: &mut State) -> Vec<Effect> {
    let Some(session) = state.session() else {
        return Vec::new();
    };
    let load = Effect::LoadDevices {
        base: session.base.clone(),
        token: session.token.clone(),
    };
    state.lists.devices = Devices::Loading;
    vec![load]
}

pub(super) fn devices_loaded(
    state: &mut State,
    result: Result<Vec<Device>, ApiFailure>,
) -> Vec<Effect> {
    let devices = match result {
        Ok(devices) => devices,
        Err(failure) if failure.status == 401 => return signed_out_by(state, &failure),
        Err(failure) => {
            state.lists.devices = Devices::Failed(describe(&failure));
            return Vec::new();
        }
    };
    // Keep the learner's pick across refreshes; otherwise pick what the list shows first.
    let kept = state
        .lists
        .selected_device
        .as_ref()
        .is_some_and(|id| devices.iter().any(|d| &d.id == id));
    if !kept {
        state.lists.selected_device = devices.first().map(|device| device.id.clone());
    }
    state.lists.devices = Devices::Loaded(devices);
    if state.lists.platform.is_none() {
        state.lists.platform = state.device().map(|device| device.platform_id);
    }
    restore(state);
    Vec::new()
}

pub(super) fn select_device(state: &mut State, id: String) {
    let Devices::Loaded(devices) = &state.lists.devices else {
        return;
    };
    if let Some(platform_id) = devices
        .iter()
        .find(|device| device.id == id)
        .map(|d| d.platform_id)
    {
        set_platform(state, platform_id);
        state.lists.selected_device = Some(id);
        state.firmware.flash = Flash::Idle;
    }
}

pub(super) fn products_loaded(
    state: &mut State,
    result: Result<Vec<Product>, ApiFailure>,
) -> Vec<Effect> {
    match result {
        Ok(products) => {
            state.lists.products = Products::Loaded(products);
            restore(state);
        }
        Err(failure) if failure.status == 401 => return signed_out_by(state, &failure),
        Err(failure) => state.lists.products = Products::Failed(describe(&failure)),
    }
    Vec::new()
}

pub(super) fn select_product(state: &mut State, id: u32) {
    if state
        .products_for_platform()
        .iter()
        .any(|product| product.id == id)
    {
        state.lists.selected_product = Some(id);
        state.lists.product_choice = ProductChoice::Existing;
    }
}

pub(super) fn create_product(state: &mut State, name: &str) -> Vec<Effect> {
    let (Some(session), Some(platform_id)) = (state.session(), state.lists.platform) else {
        return Vec::new();
    };
    let name = name.trim().to_owned();
    if name.is_empty() {
        state.lists.product_error = Some("Give the new product a name.".into());
        return Vec::new();
    }
    let effect = Effect::CreateProduct {
        base: session.base.clone(),
        token: session.token.clone(),
        name,
        platform_id,
    };
    state.lists.creating_product = true;
    state.lists.product_error = None;
    vec![effect]
}

pub(super) fn product_created(
    state: &mut State,
    result: Result<Product, ApiFailure>,
) -> Vec<Effect> {
    state.lists.creating_product = false;
    match result {
        Ok(product) => {
            state.lists.selected_product = Some(product.id);
            state.lists.product_choice = ProductChoice::Existing;
            if let Products::Loaded(products) = &mut state.lists.products {
                products.push(product);
            } else {
                state.lists.products = Products::Loaded(vec![product]);
            }
        }
        Err(failure) if failure.status == 401 => return signed_out_by(state, &failure),
        Err(failure) => state.lists.product_error = Some(describe(&failure)),
    }
    Vec::new()
}

pub(super) fn add_device(state: &mut State) -> Vec<Effect> {
    let (Some(session), Some(device), Some(product_id)) = (
        state.session(),
        state.device(),
        state.lists.selected_product,
    ) else {
        return Vec::new();
    };
    let effect = Effect::AddDevice {
        base: session.base.clone(),
        token: session.token.clone(),
        product_id,
        device_id: device.id.clone(),
    };
    state.lists.adding_device = true;
    state.lists.add_device_error = None;
    vec![effect]
}

/// The answer to adding the device: how many devices the cloud moved into the product.
pub(super) fn device_added(state: &mut State, result: Result<u32, ApiFailure>) -> Vec<Effect> {
    state.lists.adding_device = false;
    match result {
        Ok(0) => {
            state.lists.add_device_error = Some(
                "The cloud did not add the device. A product takes devices of its own \
                 platform only: check the platform, or pick another product."
                    .into(),
            );
        }
        // The device now reports the product as its own; the product counts it.
        Ok(_) => return state.session().map(reload_lists).unwrap_or_default(),
        Err(failure) if failure.status == 401 => return signed_out_by(state, &failure),
        Err(failure) => state.lists.add_device_error = Some(describe(&failure)),
    }
    Vec::new()
}

/// The picks saved for this user (`Settings::encode`), if any, applied as far as the lists allow.
pub(super) fn settings_loaded(state: &mut State, saved: Option<&str>) {
    state.sign_in.restoring = Some(saved.and_then(Settings::decode).unwrap_or_default());
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
fn restore(state: &mut State) {
    let Some(saved) = state.sign_in.restoring.clone() else {
        return;
    };
    if let (Devices::Loaded(devices), Some(id)) = (&state.lists.devices, &saved.device) {
        if devices.iter().any(|d| &d.id == id) {
            state.lists.selected_device = Some(id.clone());
        }
    }
    if let Some(platform) = saved.platform {
        state.lists.platform = Some(platform);
    }
    if let (Products::Loaded(_), Some(product)) = (&state.lists.products, saved.product) {
        if state
            .products_for_platform()
            .iter()
            .any(|p| p.id == product)
        {
            state.lists.selected_product = Some(product);
            state.lists.product_choice = ProductChoice::Existing;
        }
    }
    if matches!(state.lists.devices, Devices::Loaded(_) | Devices::Failed(_))
        && matches!(
            state.lists.products,
            Products::Loaded(_) | Products::Failed(_)
        )
    {
        state.sign_in.restoring = None;
    }
}

/// Chooses the product's platform; a product of the previous platform no longer fits.
pub(super) fn set_platform(state: &mut State, platform_id: u32) {
    if state.lists.platform != Some(platform_id) {
        state.lists.platform = Some(platform_id);
        state.lists.selected_product = None;
    }
}
