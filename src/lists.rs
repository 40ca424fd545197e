//! The setup steps' messages: the signed-in user's device and product lists arriving, and the
//! learner's picks from them (a device, a platform, a product, a new product, adding the device to
//! it). Its update is `update/lists.rs`.
//!
//! What they change, `state::Lists`, stays in the root `State`: every other feature reads the
//! picks (the demo's product, the firmware's device, what the cleanup removes).

use crate::{
    failure::ApiFailure,
    state::{Device, Product, ProductChoice},
};

/// The setup steps' messages, and the cloud's answers to what they ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    DevicesLoaded(Result<Vec<Device>, ApiFailure>),
    RefreshDevices,
    SelectDevice(String),
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
    /// The signed-in user's saved settings (`Settings::encode`), if any.
    SettingsLoaded(Option<String>),
}

impl Msg {
    /// The failure this message carries, when it is an answer of the cloud that failed.
    pub fn failure(&self) -> Option<&ApiFailure> {
        match self {
            Msg::DevicesLoaded(Err(failure))
            | Msg::ProductsLoaded(Err(failure))
            | Msg::ProductCreated(Err(failure))
            | Msg::DeviceAdded(Err(failure)) => Some(failure),
            Msg::DevicesLoaded(Ok(_))
            | Msg::ProductsLoaded(Ok(_))
            | Msg::ProductCreated(Ok(_))
            | Msg::DeviceAdded(Ok(_))
            | Msg::RefreshDevices
            | Msg::SelectDevice(_)
            | Msg::SelectPlatform(_)
            | Msg::ChooseProducts(_)
            | Msg::SelectProduct(_)
            | Msg::CreateProduct(_)
            | Msg::AddDevice
            | Msg::SettingsLoaded(_) => None,
        }
    }
}
