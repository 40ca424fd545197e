//! What the app adds to the page outside the templates: event log and data table rows and device
//! log lines (inside `[data-live]` elements, which re-renders carry over), and
//! the targets of download links. Text always goes in as `textContent`, never as HTML.

use wasm_bindgen::JsCast;
use web_sys::Element;

use super::page::{by_id, element};
use crate::msg::DataRow;

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
pub(super) fn data_row(row: &DataRow) {
    let DataRow {
        columns,
        cells,
        key,
        attempt,
    } = row;
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
    let row = row_of(cells);
    let _ = row.set_attribute("data-row", key);
    let _ = row.set_attribute("data-attempt", &attempt.to_string());
    // One row per event: a repeat of it (the cloud's retry) takes the place of its row.
    let mut existing = body.first_element_child();
    while let Some(tr) = existing {
        if tr.get_attribute("data-row").as_deref() == Some(key.as_str()) {
            let _ = tr.replace_with_with_node_1(&row);
            return;
        }
        existing = tr.next_element_sibling();
    }
    let _ = body.append_child(&row);
}

/// Copies `text` to the clipboard; the browser may refuse (no permission), and the text stays
/// selectable in the page either way.
pub(super) fn copy_text(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// Appends a line to the device log with the time it arrived (`data-time`, which the style sheet
/// shows before the line), keeping the newest `LOG_LINES`. The log follows its newest line
/// unless the learner has scrolled up to read an older one.
pub(super) fn log_line(text: &str) {
    let Some(log) = by_id("deviceLog") else {
        return;
    };
    // A line's height of slack: at the bottom is where the log was left by the last line.
    let following = log.scroll_top() + log.client_height() >= log.scroll_height() - 24;
    if log.child_element_count() >= LOG_LINES {
        if let Some(oldest) = log.first_element_child() {
            oldest.remove();
        }
    }
    if let Some(line) = element("div", text) {
        let _ = line.set_attribute("data-time", &clock());
        let _ = log.append_child(&line);
    }
    if following {
        log.set_scroll_top(log.scroll_height());
    }
}

/// The local time now, `HH:MM:SS`.
fn clock() -> String {
    let now = js_sys::Date::new_0();
    format!(
        "{:02}:{:02}:{:02}",
        now.get_hours(),
        now.get_minutes(),
        now.get_seconds()
    )
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

/// Downloads what the device log holds now, a line each, with its time.
pub(super) fn offer_device_log() {
    let mut text = String::new();
    let lines = by_id("deviceLog").map(|log| log.children());
    for index in 0..lines.as_ref().map_or(0, |lines| lines.length()) {
        if let Some(line) = lines.as_ref().and_then(|lines| lines.item(index)) {
            let time = line.get_attribute("data-time").unwrap_or_default();
            let said = line.text_content().unwrap_or_default();
            text.push_str(&format!("{time} {said}\n"));
        }
    }
    offer_download("device-log.txt", "text/plain", &text);
}
