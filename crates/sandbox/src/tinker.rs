//! Tinker, the app a Particle device runs out of the box: the four cloud functions it registers
//! and what each returns, as Device OS's `user/applications/tinker/application.cpp` computes it.
//!
//! - `digitalread PIN` reads the pin with its pull-down on: 0, since nothing is wired to a
//!   simulated pin.
//! - `digitalwrite PIN,HIGH` (or `LOW`) returns 1.
//! - `analogread PIN` returns a 12-bit reading (0–4095) on an analog input pin; a simulated pin
//!   floats, so the reading is noise.
//! - `analogwrite PIN,VALUE` (0–255) returns 1 on a PWM pin.
//!
//! The separator between pin and value is the first character that is not a letter or a digit
//! (`D7,HIGH`, `D7=HIGH`, `D7 HIGH`). Errors are Tinker's: -1 for a pin the device does not have,
//! or one that cannot do what was asked (or no separator), -2 for a value other than `HIGH`/`LOW`
//! or outside 0–255.
//!
//! Tinker registers no cloud variable.

/// Tinker's functions, in the order it registers them.
pub(crate) const FUNCTIONS: [&str; 4] =
    ["digitalread", "digitalwrite", "analogread", "analogwrite"];

/// A device family's pins, by the names Tinker looks them up by (those printed on the board).
struct Pins {
    names: &'static [&'static str],
    /// Pins with an analog-to-digital converter.
    analog_in: &'static [&'static str],
    /// Pins that can drive PWM (none of these families has a DAC).
    pwm: &'static [&'static str],
}

/// The Argon, the Boron and the other Gen 3 devices: A0–A5 are also D19–D14.
const GEN3: Pins = Pins {
    names: &[
        "D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D10", "D11", "D12", "D13",
        "D14", "D15", "D16", "D17", "D18", "D19", "A0", "A1", "A2", "A3", "A4", "A5", "SCK",
        "MISO", "MOSI", "SDA", "SCL", "TX", "RX",
    ],
    analog_in: &[
        "A0", "A1", "A2", "A3", "A4", "A5", "D14", "D15", "D16", "D17", "D18", "D19",
    ],
    pwm: &[
        "D2", "D3", "D4", "D5", "D6", "D7", "D8", "A0", "A1", "A2", "A3", "A4", "A5", "D14", "D15",
        "D16", "D17", "D18", "D19",
    ],
};

/// The Photon 2 / P2, which has no A3 or A4.
const P2: Pins = Pins {
    names: &[
        "D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D10", "A0", "A1", "A2", "A5",
        "S0", "S1", "S2", "S3", "S4", "S5", "S6", "SCK", "MISO", "MOSI", "SDA", "SCL", "TX", "RX",
    ],
    analog_in: &["A0", "A1", "A2", "A5"],
    pwm: &["D1", "A2", "A5", "S0", "S1"],
};

/// The P2's platform id; every other platform is given the Gen 3 pins.
const P2_PLATFORM: u32 = 32;

fn pins(platform_id: u32) -> &'static Pins {
    if platform_id == P2_PLATFORM {
        &P2
    } else {
        &GEN3
    }
}

/// Runs one of Tinker's functions on a device of this platform; `None` when `name` is not one of
/// them. `noise` gives a floating analog input's reading.
pub(crate) fn call(
    platform_id: u32,
    name: &str,
    arg: &str,
    noise: impl FnOnce() -> i32,
) -> Option<i32> {
    let pins = pins(platform_id);
    let has = |set: &[&str], pin: &str| set.contains(&pin);
    Some(match name {
        "digitalread" => {
            if has(pins.names, arg) {
                0
            } else {
                -1
            }
        }
        "digitalwrite" => match split(arg) {
            None => -1,
            Some((_, state)) if state != "HIGH" && state != "LOW" => -2,
            Some((pin, _)) if has(pins.names, pin) => 1,
            Some(_) => -1,
        },
        "analogread" => {
            if has(pins.analog_in, arg) {
                noise()
            } else {
                -1
            }
        }
        "analogwrite" => match split(arg) {
            None => -1,
            Some((_, value)) if !(0..=255).contains(&to_int(value)) => -2,
            Some((pin, _)) if has(pins.pwm, pin) => 1,
            Some(_) => -1,
        },
        _ => return None,
    })
}

/// `PIN` and the value after the first character that is neither a letter nor a digit; `None`
/// when there is no such character or it comes first.
fn split(command: &str) -> Option<(&str, &str)> {
    let at = command.find(|c: char| !c.is_ascii_alphanumeric())?;
    (at > 0).then(|| (&command[..at], &command[at + 1..]))
}

/// Device OS's `String::toInt`: C's `atol`, so leading blanks and a sign are read, then digits
/// up to the first other character, and text without digits is 0.
fn to_int(text: &str) -> i64 {
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    sign * digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARGON: u32 = 12;

    fn check(platform: u32, name: &str, arg: &str, expected: i32) {
        assert_eq!(
            call(platform, name, arg, || 1234),
            Some(expected),
            "{name}({arg:?}) on platform {platform}"
        );
    }

    #[test]
    fn tinker_returns_what_device_os_tinker_returns() {
        for (name, arg, expected) in [
            ("digitalwrite", "D7,HIGH", 1),
            ("digitalwrite", "D7=LOW", 1),
            ("digitalwrite", "A5 HIGH", 1),
            ("digitalwrite", "D7,high", -2),
            ("digitalwrite", "D7,", -2),
            ("digitalwrite", "D99,HIGH", -1),
            ("digitalwrite", "D7HIGH", -1),
            ("digitalwrite", ",HIGH", -1),
            ("digitalread", "D7", 0),
            ("digitalread", "d7", -1),
            ("digitalread", "D7,", -1),
            ("analogread", "A0", 1234),
            ("analogread", "D19", 1234),
            ("analogread", "D7", -1),
            ("analogwrite", "D2,255", 1),
            ("analogwrite", "A0, 128", 1),
            ("analogwrite", "D2,12abc", 1),
            ("analogwrite", "D2,256", -2),
            ("analogwrite", "D2,-1", -2),
            ("analogwrite", "D0,10", -1),
            ("analogwrite", "D2", -1),
        ] {
            check(ARGON, name, arg, expected);
        }
        // The P2 has no A3, and its PWM pins differ from the Argon's.
        check(P2_PLATFORM, "digitalread", "A3", -1);
        check(ARGON, "digitalread", "A3", 0);
        check(P2_PLATFORM, "analogwrite", "D1,100", 1);
        check(P2_PLATFORM, "analogwrite", "D2,100", -1);
        check(P2_PLATFORM, "digitalwrite", "S3,HIGH", 1);
        assert_eq!(call(ARGON, "digitalWrite", "D7,HIGH", || 0), None);
    }

    #[test]
    fn every_registered_function_runs() {
        for name in FUNCTIONS {
            assert!(call(ARGON, name, "D2,1", || 0).is_some(), "{name}");
        }
    }
}
