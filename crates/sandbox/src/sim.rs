//! The simulated devices: what the fixture's online devices do when they run the demo firmware
//! (spec 8.1, `firmware/webhook-demo`). They publish `WebhookDemo01` `{"id", "t"}` (plus
//! `powerSource` and `soc` on a cellular device, which has a fuel gauge) on connect, every
//! publish interval and on a MODE click; they receive their own `hook-response` chunks and log
//! them; going online or offline publishes `spark/status`. The demo firmware registers one cloud
//! variable, `WebhookDemo01`, holding its `PRODUCT_VERSION`. A device running Tinker answers
//! Tinker's cloud functions (`tinker.rs`) and has no variable.

use std::sync::Arc;

use serde_json::json;

use crate::{
    Root, Shared,
    cloud::{
        Device,
        firmware_facts::{functions, variables},
    },
    events::{self, Event},
    tinker,
};

/// The event the demo firmware publishes.
pub(crate) const EVENT_NAME: &str = "WebhookDemo01";

/// Runs the periodic publishing of every world's devices until the sandbox closes (one task for
/// all worlds: a hosted sandbox has thousands, mostly idle).
pub(crate) async fn run(root: Root) {
    let mut closed = root.closed.subscribe();
    let Some(period) = root.settings.sim_publish_interval else {
        return;
    };
    let mut ticker = tokio::time::interval(period);
    // The first tick is immediate: the online devices have just connected.
    loop {
        let ticked = tokio::select! {
            _ = ticker.tick() => true,
            _ = closed.wait_for(|closed| *closed) => false,
        };
        if !ticked {
            return;
        }
        for shared in root.worlds.all() {
            let online: Vec<String> = crate::lock(&shared)
                .devices
                .iter()
                .filter(|d| d.online && d.sim.demo_firmware)
                .map(|d| d.id.clone())
                .collect();
            for id in online {
                let _ = publish_reading(&shared, &id);
            }
            // A hosted sandbox ticks thousands of worlds at once: let the learners' requests in
            // between, rather than holding this worker for the whole round.
            tokio::task::yield_now().await;
        }
    }
}

/// Why a device cannot publish now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unknown,
    Offline,
    NotDemoFirmware,
}

/// The device publishes one reading now, as the firmware does when its interval elapses or MODE is
/// clicked.
pub(crate) fn publish_reading(shared: &Shared, id: &str) -> Result<(), Refusal> {
    let event = {
        let mut cloud = crate::lock(shared);
        let device = cloud.device_mut(id).ok_or(Refusal::Unknown)?;
        if !device.online {
            return Err(Refusal::Offline);
        }
        if !device.sim.demo_firmware {
            return Err(Refusal::NotDemoFirmware);
        }
        let sim = &mut device.sim;
        if sim.sequence == 0 {
            sim.sequence = random_below(1_000_000) + 1;
        }
        let temperature = match sim.temperature {
            None => random_below(40) as i32,
            Some(t) => t + random_below(6) as i32 - 3,
        };
        sim.temperature = Some(temperature);
        let mut payload = json!({"id": sim.sequence, "t": temperature});
        sim.sequence = sim.sequence.wrapping_add(1).max(1);
        if device.cellular {
            payload["powerSource"] = json!(5);
            payload["soc"] = json!(87.5);
        }
        let data = payload.to_string();
        let product = (device.product_id > 100).then_some(device.product_id);
        let event = Event::new(EVENT_NAME, &data, id, &device.owner, product);
        let line = format!("published {EVENT_NAME} {data}: ok");
        log_locked(shared, &mut cloud, id, line);
        event
    };
    events::publish(shared, event);
    Ok(())
}

/// The device publishes an event of its own choosing (whatever firmware it runs), as a script or
/// test would make a real device do.
pub(crate) fn publish_as(shared: &Shared, id: &str, name: &str, data: &str) -> Result<(), Refusal> {
    let event = {
        let mut cloud = crate::lock(shared);
        let device = cloud.device_mut(id).ok_or(Refusal::Unknown)?;
        if !device.online {
            return Err(Refusal::Offline);
        }
        let product = (device.product_id > 100).then_some(device.product_id);
        let event = Event::new(name, data, id, &device.owner.clone(), product);
        log_locked(
            shared,
            &mut cloud,
            id,
            format!("published {name} {data}: ok"),
        );
        event
    };
    events::publish(shared, event);
    Ok(())
}

/// Connects or disconnects a device: `spark/status` `online`/`offline`, and a publish on connect.
pub(crate) fn set_online(shared: &Shared, id: &str, online: bool) -> Result<(), Refusal> {
    let event = {
        let mut cloud = crate::lock(shared);
        let device = cloud.device_mut(id).ok_or(Refusal::Unknown)?;
        if device.online == online {
            return Ok(());
        }
        device.online = online;
        device.connected = online;
        if online {
            device.sim.handshake_ms = Some(events::now_ms());
        }
        let product = (device.product_id > 100).then_some(device.product_id);
        let status = if online { "online" } else { "offline" };
        Event::new("spark/status", status, id, &device.owner.clone(), product)
    };
    events::publish(shared, event);
    if online {
        // The firmware publishes as soon as it is cloud-connected; Tinker does not.
        let _ = publish_reading(shared, id);
    }
    Ok(())
}

/// Reads a cloud variable as the device's firmware would answer it; `None` when the firmware
/// registers no variable by that name. The demo's one variable holds the version the cloud knows
/// the device runs, as the firmware's holds its `PRODUCT_VERSION`.
pub(crate) fn read_variable(device: &Device, name: &str) -> Option<u32> {
    variables(&device.sim)
        .iter()
        .any(|(registered, _)| *registered == name)
        .then_some(device.firmware_version)
        .flatten()
}

/// Runs a cloud function on a device as its firmware would; `None` when the firmware registers
/// no function by that name.
pub(crate) fn run_function(device: &Device, name: &str, arg: &str) -> Option<i32> {
    if !functions(&device.sim).contains(&name) {
        return None;
    }
    // A floating analog input reads anywhere in the 12-bit range.
    tinker::call(device.platform_id, name, arg, || random_below(4096) as i32)
}

/// Hands an event to the devices subscribed to it: a demo-firmware device receives
/// `<its id>/hook-response/WebhookDemo01…` and logs each chunk.
pub(crate) fn deliver(shared: &Shared, event: &Arc<Event>) {
    let mut cloud = crate::lock(shared);
    let receivers: Vec<String> = cloud
        .devices
        .iter()
        .filter(|d| d.online && d.sim.demo_firmware)
        .filter(|d| {
            event
                .name
                .starts_with(&format!("{}/hook-response/{EVENT_NAME}", d.id))
        })
        .map(|d| d.id.clone())
        .collect();
    for id in receivers {
        let line = format!("hook response {}: {}", event.name, event.data);
        log_locked(shared, &mut cloud, &id, line);
    }
}

/// Appends a line to a device's log.
pub(crate) fn log(shared: &Shared, id: &str, line: String) {
    let mut cloud = crate::lock(shared);
    log_locked(shared, &mut cloud, id, line);
}

/// Appends a line to a device's log and tells the log streams.
fn log_locked(shared: &Shared, cloud: &mut crate::cloud::Cloud, id: &str, line: String) {
    cloud.device_log(id, line.clone());
    shared.events.send_log(Arc::new((id.to_owned(), line)));
}

fn random_below(bound: u32) -> u32 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    u32::from_le_bytes(bytes) % bound
}
