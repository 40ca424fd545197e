//! What the app adds to the page outside the templates: event log and data table rows and device
//! log lines (inside `[data-live]` elements, which re-renders carry over), and
//! the targets of download links. Text always goes in as `textContent`, never as HTML.

use wasm_bindgen::JsCast;
use web_sys::Element;

use super::page::{by_id, element};

/// The newest lines the device log keeps.
const LOG_LINES: u32 = 500;

fn row_of(cells: &[String]) -> Element {
    let row = element("tr", "").expect("a document");
    for cell in cells {
        if let Some(td) = element("td", cell) {
            let _ = row.append_child(&td);
        }
    }
    row
}

/// Puts `text` in the status region; the same text twice is announced twice.
pub(super) fn announce(text: &str) {
    if let Some(region) = by_id("announce") {
        if region.text_content().as_deref() == Some(text) {
            region.set_text_content(Some(""));
        }
        region.set_text_content(Some(text));
    }
}

/// Adds a row at the top of the event log.
pub(super) fn log_event(cells: &[String]) {
    if let Some(body) =
        by_id("eventsTable").and_then(|table| table.query_selector("tbody").ok().flatten())
    {
        let _ = body.insert_before(&row_of(cells), body.first_child().as_ref());
    }
}

/// Appends a row to the data table; new columns get a header cell and an empty cell in earlier rows.
pub(super) fn data_row(columns: &[String], cells: &[String]) {
    let Some(table) = by_id("webhookDemoDataTable") else {
        return;
    };
    let (Ok(Some(head)), Ok(Some(body))) = (
        table.query_selector("thead tr"),
        table.query_selector("tbody"),
    ) else {
        return;
    };
    let known = head.child_element_count() as usize;
    for column in columns.iter().skip(known) {
        if let Some(th) = element("th", column) {
            let _ = th.set_attribute("scope", "col");
            let _ = head.append_child(&th);
        }
    }
    if columns.len() > known {
        let mut row = body.first_element_child();
        while let Some(tr) = row {
            for _ in tr.child_element_count() as usize..columns.len() {
                if let Some(td) = element("td", "") {
                    let _ = tr.append_child(&td);
                }
            }
            row = tr.next_element_sibling();
        }
    }
    let _ = body.append_child(&row_of(cells));
}

/// Copies `text` to the clipboard; the browser may refuse (no permission), and the text stays
/// selectable in the page either way.
pub(super) fn copy_text(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// Appends a line to the device log, keeping the newest `LOG_LINES`.
pub(super) fn log_line(text: &str) {
    let Some(log) = by_id("deviceLog") else {
        return;
    };
    if log.child_element_count() >= LOG_LINES {
        if let Some(oldest) = log.first_element_child() {
            oldest.remove();
        }
    }
    if let Some(line) = element("div", text) {
        let _ = log.append_child(&line);
    }
}

/// Empties the device log (a new log replaces the old one).
pub(super) fn clear_log() {
    if let Some(log) = by_id("deviceLog") {
        log.set_text_content(None);
    }
}

/// Downloads `text` as a file named `file` of type `mime`, through a hidden link outside the
/// app (`#downloadLink`, made once) clicked for the learner: the buttons that ask for a download
/// stay buttons, and what was offered stays readable in the link.
pub(super) fn offer_download(file: &str, mime: &str, text: &str) {
    let link = by_id("downloadLink").or_else(|| {
        let link = element("a", "")?;
        link.set_id("downloadLink");
        let _ = link.set_attribute("hidden", "");
        web_sys::window()?
            .document()?
            .body()?
            .append_child(&link)
            .ok()?;
        Some(link)
    });
    let Some(link) = link else {
        return;
    };
    let href = format!(
        "data:{mime};charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(text))
    );
    let _ = link.set_attribute("href", &href);
    let _ = link.set_attribute("download", file);
    if let Some(link) = link.dyn_ref::<web_sys::HtmlElement>() {
        link.click();
    }
}

/// Downloads what the device log holds now.
pub(super) fn offer_device_log() {
    let text = by_id("deviceLog")
        .and_then(|log| log.text_content())
        .unwrap_or_default();
    offer_download("device-log.txt", "text/plain", &text);
}
