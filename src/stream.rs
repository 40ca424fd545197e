//! Browser only: reading a `text/event-stream` with `fetch` (so a request can carry an
//! `Authorization` header, which `EventSource` cannot) and `core::sse`, abortably, plus a timer.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, ReadableStreamDefaultReader, RequestInit, Response};
use webhook_demo_core::sse::{SseEvent, SseParser};

/// Why `read` stopped when the server ended the stream normally.
pub const ENDED: &str = "the server ended the stream";

/// Reads the stream at `url` until it ends, fails or `signal` aborts it, handing every event to
/// `on_event`. The error says why it stopped, in words.
pub async fn read(
    url: &str,
    headers: &[(&str, &str)],
    signal: &AbortSignal,
    mut on_event: impl FnMut(SseEvent),
) -> Result<(), String> {
    let words = |e: JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_signal(Some(signal));
    let sent = Headers::new().map_err(words)?;
    sent.set("Accept", "text/event-stream").map_err(words)?;
    for (name, value) in headers {
        sent.set(name, value).map_err(words)?;
    }
    init.set_headers(&sent);
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| "the connection failed".to_owned())?
        .unchecked_into();
    if !response.ok() {
        return Err(format!("the stream answered HTTP {}", response.status()));
    }
    let body = response.body().ok_or("the stream has no body")?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut parser = SseParser::new();
    read_chunks(&reader, |bytes| {
        for event in parser.feed(bytes) {
            on_event(event);
        }
    })
    .await
    .map_err(|()| "the connection dropped".to_owned())?;
    Err(ENDED.to_owned())
}

/// Hands each chunk a stream reader delivers to `on_chunk`, until the stream ends (`Ok`) or
/// fails (`Err`).
pub async fn read_chunks(
    reader: &ReadableStreamDefaultReader,
    mut on_chunk: impl FnMut(&[u8]),
) -> Result<(), ()> {
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|_| ())?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|done| done.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(());
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(|_| ())?;
        on_chunk(&Uint8Array::new(&value).to_vec());
    }
}

/// Sends one request as given (a replay); its status, or why it failed.
pub async fn send(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Result<u16, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_method(method);
    let sent = Headers::new().map_err(|_| "no headers")?;
    for (name, value) in headers {
        // The browser refuses a few headers (User-Agent in some); the rest go as they came.
        let _ = sent.set(name, value);
    }
    init.set_headers(&sent);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| "the request failed".to_owned())?
        .unchecked_into();
    Ok(response.status())
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let wait = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(wait).await;
}
