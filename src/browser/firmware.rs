//! The firmware panel's files: the build's syntax-highlighted sources (`firmware/sources.html`,
//! made by xtask) put into the page, showing one file at a time, the sources as the learner edited
//! them (for flashing), and copying the file shown.

use wasm_bindgen::JsCast;
use web_sys::Element;

use super::{
    fetch::{self, Request},
    page::by_id,
};
use crate::firmware::FIRMWARE_FILES;

/// Puts the build's highlighted firmware sources into the firmware panel, in the background.
pub(super) fn load_sources() {
    wasm_bindgen_futures::spawn_local(async {
        let Ok(response) = fetch::send(&Request::get("firmware/sources.html")).await else {
            return;
        };
        let (true, Ok(html)) = (response.ok(), fetch::text(&response).await) else {
            return;
        };
        if let Some(container) = by_id("firmwareSource") {
            // Our own build output, escaped when it was made; never learner or cloud data.
            container.set_inner_html(&html);
        }
        show_file(FIRMWARE_FILES[0]);
    });
}

/// The firmware sources shown (`pre[data-file]`).
fn sources_shown() -> Vec<Element> {
    let Some(list) =
        by_id("firmwareSource").and_then(|c| c.query_selector_all("pre[data-file]").ok())
    else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .collect()
}

/// Shows only this file.
pub(super) fn show_file(file: &str) {
    for pre in sources_shown() {
        let shown = pre.get_attribute("data-file").as_deref() == Some(file);
        let _ = if shown {
            pre.remove_attribute("hidden")
        } else {
            pre.set_attribute("hidden", "")
        };
    }
}

/// Every source as the page shows it, including the learner's edits, as `(path, text)`.
pub(super) fn shown_sources() -> Vec<(String, String)> {
    sources_shown()
        .iter()
        .filter_map(|pre| Some((pre.get_attribute("data-file")?, pre.text_content()?)))
        .collect()
}

/// Copies the file shown to the clipboard.
pub(super) fn copy_shown_file() {
    let Some(text) = sources_shown()
        .into_iter()
        .find(|pre| !pre.has_attribute("hidden"))
        .and_then(|pre| pre.text_content())
    else {
        return;
    };
    if let Some(window) = web_sys::window() {
        // The browser may refuse (no permission); the text stays selectable either way.
        let _ = window.navigator().clipboard().write_text(&text);
    }
}
