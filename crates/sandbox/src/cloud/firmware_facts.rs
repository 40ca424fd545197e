//! What the firmware a simulated device runs registers with the cloud: its cloud functions and
//! variables, and the demo firmware's version. The device API shows them (`cloud::SimDevice`'s
//! `Serialize`), and the simulation (`sim.rs`) answers calls and reads by them.

use crate::{cloud::SimDevice, tinker};

/// The `PRODUCT_VERSION` the demo firmware declares (`FIRMWARE_VERSION` in its source). The
/// sandbox does not read it from the sources it flashes: whatever publishes `WebhookDemo01` runs as
/// the demo, and the demo is this version.
pub(crate) const DEMO_VERSION: u32 = 1;

/// The demo firmware's cloud variables, name and type as the device API lists them: one, which
/// holds the firmware's version. Its name is the event's only because the reference firmware
/// names both so (spec 8.1).
pub(crate) const DEMO_VARIABLES: [(&str, &str); 1] = [("WebhookDemo01", "int32")];

/// The cloud functions the firmware a device runs registers, as the device API lists them:
/// Tinker's four, and none for the demo firmware, whose source registers none
/// (`the_simulation_registers_what_the_demo_firmware_declares` reads it).
pub(crate) fn functions(sim: &SimDevice) -> &'static [&'static str] {
    if sim.demo_firmware {
        &[]
    } else {
        &tinker::FUNCTIONS
    }
}

/// The cloud variables, name and type, the firmware a device runs registers: the demo's one, and
/// none for Tinker.
pub(crate) fn variables(sim: &SimDevice) -> &'static [(&'static str, &'static str)] {
    if sim.demo_firmware {
        &DEMO_VARIABLES
    } else {
        &[]
    }
}
