//! The demo firmware (`firmware/webhook-demo`) compiled on the host with g++ against the Device OS
//! stand-in in `firmware/host-test/`, once for a device without a fuel gauge and once for one with
//! it, and run: the C++ side checks the logic (the cloud variable `WebhookDemo01` holding the
//! `PRODUCT_VERSION`, first publish on connect, the five-minute interval across the `millis()`
//! wrap, MODE clicks, hook responses logged and never published back), and this side checks that
//! every payload is the JSON the tutorial expects.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware")
}

/// Compiles and runs the host test; the payloads it published.
fn run_host_test(power_management: bool) -> Vec<Value> {
    let dir = firmware_dir().join("host-test");
    let binary = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("firmware-host-test-{}", u8::from(power_management)));
    let compiled = Command::new("g++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&dir)
        .arg(format!(
            "-DHAL_PLATFORM_POWER_MANAGEMENT={}",
            u8::from(power_management)
        ))
        .arg("-o")
        .arg(&binary)
        .arg(dir.join("host_test.cpp"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run g++ ({e}); install it (Debian: apt-get install g++)")
        });
    assert!(
        compiled.status.success(),
        "the firmware does not compile:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let ran = Command::new(&binary).output().expect("the host test runs");
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(ran.status.success(), "the host test failed:\n{stdout}");
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("PAYLOAD "))
        .map(|data| {
            assert!(data.len() <= 1024, "{} bytes: {data}", data.len());
            serde_json::from_str(data).unwrap_or_else(|e| panic!("not JSON ({e}): {data}"))
        })
        .collect()
}

#[test]
fn payloads_are_numbered_readings() {
    let payloads = run_host_test(false);
    assert_eq!(payloads.len(), 6, "{payloads:?}");
    for (n, payload) in payloads.iter().enumerate() {
        let fields = payload.as_object().expect("an object");
        assert_eq!(fields.len(), 2, "{payload}");
        assert_eq!(payload["id"].as_u64(), Some(n as u64), "{payload}");
        let t = payload["t"].as_i64().expect("an integer temperature");
        assert!((-30..=60).contains(&t), "{payload}");
    }
    // Each reading drifts from the previous one by -3..+2 degrees.
    for pair in payloads.windows(2) {
        let drift =
            pair[1]["t"].as_i64().unwrap_or_default() - pair[0]["t"].as_i64().unwrap_or_default();
        assert!((-3..=2).contains(&drift), "{pair:?}");
    }
}

#[test]
fn devices_with_a_fuel_gauge_add_their_battery() {
    for payload in run_host_test(true) {
        assert_eq!(payload["powerSource"].as_i64(), Some(5), "{payload}");
        assert_eq!(payload["soc"].as_f64(), Some(87.5), "{payload}");
        assert!(payload["id"].is_u64() && payload["t"].is_i64(), "{payload}");
    }
}
