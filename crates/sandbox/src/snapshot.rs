//! A world's cloud as text, for a sandbox whose worlds live in a shared store (`shared.rs`): what a
//! learner made (products, devices and what they run, integrations, tokens, the logs) is saved
//! after every change and loaded by whichever instance serves the world next.
//!
//! Not saved: the fixture's users (every world has the same), pending second factors (a world
//! has none: they live in the lobby), API publish allowances (they refill), and compiled binaries
//! (up to megabytes each, and a compile is one click to repeat).

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use serde::{Deserialize, Deserializer, Serialize};
use tokio::time::Instant;

use crate::cloud::{Bounds, Cloud, Delivery, Device, Integration, Product, SimDevice, Token};

#[derive(Serialize)]
struct Saved<'a> {
    products: &'a [Product],
    next_product_id: u32,
    tokens: &'a HashMap<String, Token>,
    devices: Vec<SavedDevice<'a>>,
    integrations: &'a [Integration],
    deliveries: &'a VecDeque<Delivery>,
}

#[derive(Serialize)]
struct SavedDevice<'a> {
    #[serde(flatten)]
    device: &'a Device,
    sim: &'a SimDevice,
}

#[derive(Deserialize)]
struct Loaded {
    products: Vec<Product>,
    next_product_id: u32,
    tokens: HashMap<String, Token>,
    devices: Vec<LoadedDevice>,
    integrations: Vec<Integration>,
    deliveries: VecDeque<Delivery>,
}

#[derive(Deserialize)]
struct LoadedDevice {
    #[serde(flatten)]
    device: Device,
    sim: SimDevice,
}

/// The cloud as JSON.
pub(crate) fn save(cloud: &Cloud) -> String {
    serde_json::to_string(&Saved {
        products: &cloud.products,
        next_product_id: cloud.next_product_id,
        tokens: &cloud.tokens,
        devices: cloud
            .devices
            .iter()
            .map(|device| SavedDevice {
                device,
                sim: &device.sim,
            })
            .collect(),
        integrations: &cloud.integrations,
        deliveries: &cloud.deliveries,
    })
    .expect("a cloud is plain data")
}

/// A cloud saved by [`save`], its logs bounded by `bounds` and its bytes charged to their budget.
pub(crate) fn load(text: &str, bounds: Arc<Bounds>) -> Result<Cloud, serde_json::Error> {
    let loaded: Loaded = serde_json::from_str(text)?;
    let mut cloud = Cloud::fixture_in(bounds);
    cloud.products = loaded.products;
    cloud.next_product_id = loaded.next_product_id;
    cloud.tokens = loaded.tokens;
    cloud.devices = loaded
        .devices
        .into_iter()
        .map(|LoadedDevice { mut device, sim }| {
            device.sim = sim;
            device
        })
        .collect();
    cloud.integrations = loaded.integrations;
    cloud.delivery_bytes = loaded.deliveries.iter().map(Delivery::size).sum();
    cloud.deliveries = loaded.deliveries;
    cloud.settle();
    Ok(cloud)
}

/// An `Instant` as milliseconds since the Unix epoch, so that another process reads the same time.
pub(crate) mod instant {
    use super::{Deserialize, Deserializer, Instant};

    fn unix_now_ms() -> i64 {
        i64::try_from(crate::cloud::clock::now_ms()).unwrap_or(i64::MAX)
    }

    pub(crate) fn serialize<S: serde::Serializer>(at: &Instant, to: S) -> Result<S::Ok, S::Error> {
        let now = Instant::now();
        let ms = if *at >= now {
            unix_now_ms().saturating_add(millis(*at - now))
        } else {
            unix_now_ms().saturating_sub(millis(now - *at))
        };
        to.serialize_i64(ms)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Instant, D::Error> {
        let ms = i64::deserialize(from)?;
        let now = Instant::now();
        let offset = ms.saturating_sub(unix_now_ms());
        let span = std::time::Duration::from_millis(offset.unsigned_abs());
        Ok(if offset >= 0 {
            now.checked_add(span).unwrap_or(now)
        } else {
            now.checked_sub(span).unwrap_or(now)
        })
    }

    fn millis(span: std::time::Duration) -> i64 {
        i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_saved_cloud_loads_as_it_was() {
        let bounds = Arc::new(Bounds::single());
        let mut cloud = Cloud::fixture_in(bounds.clone());
        let limits = crate::Limits::default();
        let token = cloud.issue_token(
            "sandbox@example.com",
            std::time::Duration::from_secs(3600),
            Instant::now(),
            &limits,
        );
        cloud.device_log("e00fce680000000000000001", "a line".into());
        cloud.devices[0].development = true;
        cloud.next_product_id = 30_007;
        let text = save(&cloud);
        let loaded = load(&text, bounds).expect("loads");
        assert_eq!(
            serde_json::to_value(&loaded.devices).unwrap(),
            serde_json::to_value(&cloud.devices).unwrap()
        );
        assert_eq!(
            loaded.user_of(&token, Instant::now()),
            Some("sandbox@example.com")
        );
        assert_eq!(loaded.devices[0].sim.log, ["a line"]);
        assert!(loaded.devices[0].development);
        assert_eq!(loaded.next_product_id, 30_007);
    }
}
