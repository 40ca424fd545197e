//! The one way the page makes HTTP requests: the browser's `fetch`, with the headers and body given,
//! abortable, plus reading a response's body as text or chunk by chunk, and a timer.
//!
//! One plain function rather than an HTTP client crate: every caller (the Particle API, the relay's
//! control URL, replays, event streams) needs only this, and one non-generic path keeps the page
//! small.

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, ReadableStreamDefaultReader, RequestInit, Response};

/// A request: method, URL, header fields, body (a string or a `FormData`) and abort signal.
pub(super) struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<&'a JsValue>,
    pub signal: Option<&'a AbortSignal>,
}

impl<'a> Request<'a> {
    pub(super) fn get(url: &'a str) -> Request<'a> {
        Request {
            method: "GET",
            url,
            headers: &[],
            body: None,
            signal: None,
        }
    }
}

/// Sends `request`: the response (of any status), or why there was none, in words.
pub(super) async fn send(request: &Request<'_>) -> Result<Response, String> {
    let window = web_sys::window().ok_or("no window")?;
    let init = RequestInit::new();
    init.set_method(request.method);
    let headers = Headers::new().map_err(words)?;
    for (name, value) in request.headers {
        // The browser refuses a few header fields (User-Agent in some); the rest go as they came.
        let _ = headers.set(name, value);
    }
    init.set_headers(&headers);
    if let Some(body) = request.body {
        init.set_body(body);
    }
    if let Some(signal) = request.signal {
        init.set_signal(Some(signal));
    }
    let response = JsFuture::from(window.fetch_with_str_and_init(request.url, &init))
        .await
        .map_err(words)?;
    Ok(response.unchecked_into())
}

/// A response's body as text.
pub(super) async fn text(response: &Response) -> Result<String, String> {
    let promise = response.text().map_err(words)?;
    let text = JsFuture::from(promise).await.map_err(words)?;
    Ok(text.as_string().unwrap_or_default())
}

/// A rejection in words: a JavaScript error's name and message (`TypeError: Failed to fetch`).
fn words(error: JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!("{}: {}", error.name(), error.message()),
        None => error
            .as_string()
            .unwrap_or_else(|| "the browser refused".to_owned()),
    }
}

/// Hands each chunk a stream reader delivers to `on_chunk`, until the stream ends (`Ok`) or
/// fails (`Err`).
pub(super) async fn read_chunks(
    reader: &ReadableStreamDefaultReader,
    on_chunk: &mut dyn FnMut(&[u8]),
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

/// Resolves after `ms` milliseconds.
pub(super) async fn sleep(ms: i32) {
    let wait = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(wait).await;
}
