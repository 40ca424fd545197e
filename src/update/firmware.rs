//! The firmware panel and the device's own output: the file shown, flashing the sources as shown,
//! the sandbox device's log and USB serial.

use webhook_demo_core::wire::ParticleEvent;

use super::Context;
use crate::{
    firmware::{FIRMWARE_FILES, FLASH_STATUS, Firmware, Flash, Msg},
    msg::Effect,
    state::Lists,
};

/// One arm per message, each a field set or a call.
pub(super) fn update(state: &mut Firmware, context: &Context, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::ShowFile(file) => return show_file(state, file),
        Msg::CopyFile => return vec![Effect::CopyShownFile],
        Msg::FlashDevice(sources) => return flash(state, context, sources),
        Msg::Flashed(result) => {
            state.flash = match result {
                Ok(status) => Flash::Started(status),
                Err(errors) => Flash::Failed(errors),
            }
        }
        Msg::ShowDeviceLog => return show_device_log(context),
        Msg::DownloadLog => return vec![Effect::OfferDeviceLog],
        Msg::SerialSupported(supported) => state.serial_supported = supported,
        Msg::ConnectSerial => return connect_serial(state),
        Msg::SerialFailed(reason) => state.serial_error = Some(reason),
    }
    Vec::new()
}

fn show_file(state: &mut Firmware, file: String) -> Vec<Effect> {
    if !FIRMWARE_FILES.contains(&file.as_str()) {
        return Vec::new();
    }
    state.file.clone_from(&file);
    vec![Effect::ShowFile(file)]
}

/// Flashes the sources (path, text) to the picked device, one flash at a time and only online.
fn flash(state: &mut Firmware, context: &Context, sources: Vec<(String, String)>) -> Vec<Effect> {
    let (Some(session), Some(device)) = (context.session, context.lists.device()) else {
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
    vec![effect]
}

fn show_device_log(context: &Context) -> Vec<Effect> {
    let (Some(session), Some(sandbox), Some(device)) = (
        context.session,
        context.server.sandbox(),
        context.lists.device(),
    ) else {
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

fn connect_serial(state: &mut Firmware) -> Vec<Effect> {
    if !state.serial_supported {
        return Vec::new();
    }
    state.serial_error = None;
    vec![Effect::ConnectSerial]
}

/// The picked device reports its update's progress on the demo's event stream while it is
/// flashed: `data` is a `spark/flash/status` event's JSON.
pub(super) fn flash_progress(state: &mut Firmware, lists: &Lists, data: &str) {
    let Some(event) = serde_json::from_str(data)
        .ok()
        .and_then(|value| ParticleEvent::from_json(FLASH_STATUS, &value))
    else {
        return;
    };
    let flashing = matches!(state.flash, Flash::Flashing | Flash::Started(_))
        && lists.selected_device.as_deref() == Some(event.coreid.as_str());
    if flashing {
        state.flash = Flash::Started(event.data.trim().to_owned());
    }
}
