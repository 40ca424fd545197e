//! The firmware panel and the device's own output: the file shown, flashing the sources as shown,
//! the sandbox device's log and USB serial.

use webhook_demo_core::wire::ParticleEvent;

use crate::{
    msg::Effect,
    state::{FIRMWARE_FILES, Flash, State},
};

pub(super) fn show_file(state: &mut State, file: String) -> Vec<Effect> {
    if !FIRMWARE_FILES.contains(&file.as_str()) {
        return Vec::new();
    }
    state.firmware.file.clone_from(&file);
    vec![Effect::ShowFile(file)]
}

/// Flashes the sources (path, text) to the picked device, one flash at a time and only online.
pub(super) fn flash(state: &mut State, sources: Vec<(String, String)>) -> Vec<Effect> {
    let (Some(session), Some(device)) = (state.session(), state.device()) else {
        return Vec::new();
    };
    if !device.online || state.firmware.flash == Flash::Flashing {
        return Vec::new();
    }
    let effect = Effect::Flash {
        base: session.base.clone(),
        token: session.token.clone(),
        device_id: device.id.clone(),
        sources,
    };
    state.firmware.flash = Flash::Flashing;
    vec![effect]
}

pub(super) fn show_device_log(state: &State) -> Vec<Effect> {
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
    vec![Effect::OpenDeviceLog { url, token }]
}

pub(super) fn connect_serial(state: &mut State) -> Vec<Effect> {
    if !state.firmware.serial_supported {
        return Vec::new();
    }
    state.firmware.serial_error = None;
    vec![Effect::ConnectSerial]
}

/// The picked device reports its update's progress on the event stream while it is flashed.
pub(super) fn flash_progress(state: &mut State, event: &ParticleEvent) {
    let flashing = matches!(state.firmware.flash, Flash::Flashing | Flash::Started(_))
        && state.lists.selected_device.as_deref() == Some(event.coreid.as_str());
    if flashing && event.name == "spark/flash/status" {
        state.firmware.flash = Flash::Started(event.data.trim().to_owned());
    }
}
