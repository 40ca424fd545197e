//! The firmware panel, as pure state: the file shown, flashing it to the picked device, USB
//! serial, and the panel's messages (`Msg`). Its update is `update/firmware.rs`.

/// The demo firmware's files, as the firmware panel lists them.
pub const FIRMWARE_FILES: [&str; 3] = ["src/webhook-demo.cpp", "project.properties", "README.md"];

/// The event a device publishes while it is flashed, with the update's progress.
pub const FLASH_STATUS: &str = "spark/flash/status";

/// The firmware panel and the device's own output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firmware {
    /// The file shown (its path in the project).
    pub file: String,
    pub flash: Flash,
    /// The browser has Web Serial.
    pub serial_supported: bool,
    /// What became of connecting to USB serial, when it did not work.
    pub serial_error: Option<String>,
}

impl Default for Firmware {
    fn default() -> Firmware {
        Firmware {
            file: FIRMWARE_FILES[0].to_owned(),
            flash: Flash::Idle,
            serial_supported: false,
            serial_error: None,
        }
    }
}

/// Flashing the firmware to the picked device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    Idle,
    Flashing,
    /// The cloud took it: what it said.
    Started(String),
    /// Compile errors (`file:line:column: error: …`) or why the cloud refused.
    Failed(Vec<String>),
}

/// The firmware panel's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Show this firmware file.
    ShowFile(String),
    /// Copy the firmware file shown to the clipboard.
    CopyFile,
    /// Flash these sources (path, text), as shown (and perhaps edited) in the page.
    FlashDevice(Vec<(String, String)>),
    Flashed(Result<String, Vec<String>>),
    /// Stream the picked device's log into the page (sandbox devices).
    ShowDeviceLog,
    /// Point the device log's download link at what the log holds now.
    DownloadLog,
    /// Whether the browser has Web Serial.
    SerialSupported(bool),
    /// Connect to a device on USB serial.
    ConnectSerial,
    /// Connecting to USB serial failed, or the port closed: why.
    SerialFailed(String),
}
