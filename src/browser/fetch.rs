//! The one way the page makes HTTP requests: `gloo-net`'s `fetch`, with the headers and body given,
//! abortable, plus reading a response's body as text or chunk by chunk, and a timer.
//!
//! Every caller (the Particle API, the relay's control URL, replays, event streams) goes through
//! `send`, one non-generic path, which keeps the page small; failures come back in words.

use gloo_net::http::{Headers, Method, RequestBuilder, Response};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ReadableStreamDefaultReader, RequestRedirect};

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
    send_with(request, RequestRedirect::Follow).await
}

/// Sends `request` without following a redirect: a 3xx comes back as an `opaqueredirect`
/// response, whose target the page never learns (the check of a learner's server goes only
/// where the learner typed).
pub(super) async fn send_unredirected(request: &Request<'_>) -> Result<Response, String> {
    send_with(request, RequestRedirect::Manual).await
}

async fn send_with(request: &Request<'_>, redirect: RequestRedirect) -> Result<Response, String> {
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("{:?} is no HTTP method", request.method))?;
    let headers = web_sys::Headers::new().map_err(words)?;
    for (name, value) in request.headers {
        // A header the browser cannot send (a line break in a value edited for a replay) is left
        // out rather than failing the request; gloo-net's own `set` would throw.
        let _ = headers.set(name, value);
    }
    let builder = RequestBuilder::new(request.url)
        .method(method)
        .headers(Headers::from_raw(headers))
        .redirect(redirect)
        .abort_signal(request.signal);
    let built = match request.body {
        Some(body) => builder.body(body),
        None => builder.build(),
    };
    let response = built.map_err(failure)?.send().await.map_err(failure)?;
    Ok(response)
}

/// A response's body as text.
pub(super) async fn text(response: &Response) -> Result<String, String> {
    response.text().await.map_err(failure)
}

/// What gloo-net says went wrong, as `words` says it of a JavaScript error.
fn failure(error: gloo_net::Error) -> String {
    match error {
        gloo_net::Error::JsError(error) => format!("{}: {}", error.name, error.message),
        gloo_net::Error::GlooError(message) => message,
    }
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
