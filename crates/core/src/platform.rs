//! Particle's platform ids: the name the tutorial shows for each, and whether a product can be
//! created for it. Both the page (device info, platform choice) and the sandbox use this table.

/// A Device OS platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub id: u32,
    pub name: &'static str,
    /// Whether products can be created for this platform today.
    pub product_eligible: bool,
}

const fn platform(id: u32, name: &'static str, product_eligible: bool) -> Platform {
    Platform {
        id,
        name,
        product_eligible,
    }
}

/// Every platform id the Particle cloud reports, in id order.
pub const PLATFORMS: [Platform; 25] = [
    platform(0, "Core", false),
    platform(3, "gcc", false),
    platform(6, "Photon", true),
    platform(8, "P1", true),
    platform(10, "Electron", true),
    platform(11, "ESP32", false),
    platform(12, "Argon", true),
    platform(13, "Boron", true),
    platform(14, "Xenon", false),
    platform(15, "E-SoM-X", true),
    platform(22, "A-SoM", false),
    platform(23, "B-SoM", true),
    platform(24, "X-SoM", false),
    platform(25, "B5-SoM", true),
    platform(26, "Asset Tracker / Monitor One", true),
    platform(28, "Tracker-M", true),
    platform(31, "Raspberry Pi", false),
    platform(32, "Photon 2 / P2", true),
    platform(35, "M-SoM", true),
    platform(37, "Electron 2", true),
    platform(42, "Tachyon", true),
    platform(43, "Linux", true),
    platform(82, "Oak", false),
    platform(88, "Duo", false),
    platform(103, "Bluz", false),
];

/// The platform with this id, if Particle has one.
pub fn find(id: u32) -> Option<Platform> {
    PLATFORMS.iter().copied().find(|platform| platform.id == id)
}

/// A name to show for any platform id, known or not.
pub fn name(id: u32) -> String {
    find(id).map_or_else(
        || format!("Platform {id}"),
        |platform| platform.name.to_owned(),
    )
}

/// The platforms Particle's CLI ships a Tinker binary for, by the folder its release 3.43.1 keeps
/// it in (`assets/knownApps/<folder>/tinker/*.bin`): `cargo xtask build` copies each to the page's
/// `tinker/<folder>.bin`, and cleanup flashes it to a device of that platform. The CLI has none for
/// the other platforms (the E-SoM-X, the Tracker-M, the M-SoM, the Electron 2, Tachyon, Linux).
pub const TINKER_BINARIES: [(u32, &str); 11] = [
    (0, "core"),
    (6, "photon"),
    (8, "p1"),
    (10, "electron"),
    (12, "argon"),
    (13, "boron"),
    (14, "xenon"),
    (23, "bsom"),
    (25, "b5som"),
    (26, "tracker"),
    (32, "p2"),
];

/// Where the page serves the Tinker binary for a platform (relative to the page), if it has one.
pub fn tinker_binary(id: u32) -> Option<String> {
    TINKER_BINARIES
        .iter()
        .find(|(platform, _)| *platform == id)
        .map(|(_, folder)| format!("tinker/{folder}.bin"))
}

/// True when a device with this `product_id` belongs to a product (not just its platform).
pub fn in_product(product_id: u32) -> bool {
    product_id > 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_platforms() {
        assert_eq!(name(32), "Photon 2 / P2");
        assert_eq!(name(13), "Boron");
        assert_eq!(name(9999), "Platform 9999");
        assert!(find(12).is_some_and(|p| p.product_eligible));
        assert!(
            find(14).is_some_and(|p| !p.product_eligible),
            "Xenon is retired"
        );
    }

    #[test]
    fn table_is_in_id_order_without_duplicates() {
        assert!(PLATFORMS.windows(2).all(|pair| pair[0].id < pair[1].id));
    }

    #[test]
    fn tinker_binaries_are_named_by_platform_and_only_some_platforms_have_one() {
        assert_eq!(tinker_binary(32).as_deref(), Some("tinker/p2.bin"));
        assert_eq!(tinker_binary(13).as_deref(), Some("tinker/boron.bin"));
        assert_eq!(tinker_binary(35), None, "particle-cli has no M-SoM Tinker");
        assert!(TINKER_BINARIES.iter().all(|(id, _)| find(*id).is_some()));
    }

    #[test]
    fn product_ids_above_100_are_products() {
        assert!(
            !in_product(32),
            "a non-product device reports its platform id"
        );
        assert!(in_product(12345));
    }
}
