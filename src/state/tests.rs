//! `State` tests: the saved picks' format.

use crate::state::Settings;

#[test]
fn settings_round_trip_and_refuse_garbage() {
    let all = Settings {
        device: Some("e00fce68".into()),
        platform: Some(32),
        product: Some(30001),
    };
    assert_eq!(all.encode(), "e00fce68|32|30001");
    assert_eq!(Settings::decode(&all.encode()), Some(all));
    assert_eq!(Settings::decode("||"), Some(Settings::default()));
    assert_eq!(Settings::decode("a|b"), None);
    assert_eq!(Settings::decode("a|1|2|3"), None);
}
