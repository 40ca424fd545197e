//! The demo's streams and the device log: reading a `text/event-stream` with `fetch` (so a request
//! can carry an `Authorization` header, which `EventSource` cannot) and `core::sse`, and keeping
//! each stream open while its run lasts, reconnecting with backoff.
//!
//! The relay stream reconnects to the same session from the last event it handled, so no hook is
//! lost or shown twice; Stop aborts every stream of the run (`App::streams`).

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use serde_json::Value;
use web_sys::{AbortController, AbortSignal, ReadableStreamDefaultReader};
use webhook_demo_core::sse::{SseEvent, SseParser};

use super::{
    App, append,
    fetch::{self, Request},
    page::{by_id, element},
    particle,
};
use crate::demo::{self, RelayEvent};

/// Why `read` stopped when the server ended the stream normally.
const ENDED: &str = "the server ended the stream";

/// Reads the stream at `url` until it ends, fails or `signal` aborts it, handing every event to
/// `on_event`. The error says why it stopped, in words.
async fn read(
    url: &str,
    authorization: Option<&str>,
    signal: &AbortSignal,
    on_event: &mut dyn FnMut(SseEvent),
) -> Result<(), String> {
    let mut headers = vec![("Accept", "text/event-stream")];
    if let Some(authorization) = authorization {
        headers.push(("Authorization", authorization));
    }
    let request = Request {
        method: "GET",
        url,
        headers: &headers,
        body: None,
        signal: Some(signal),
    };
    let response = fetch::send(&request)
        .await
        .map_err(|_| "the connection failed".to_owned())?;
    if !response.ok() {
        return Err(format!("the stream answered HTTP {}", response.status()));
    }
    let body = response.body().ok_or("the stream has no body")?;
    let reader: ReadableStreamDefaultReader =
        wasm_bindgen::JsCast::unchecked_into(body.get_reader());
    let mut parser = SseParser::new();
    fetch::read_chunks(&reader, &mut |bytes| {
        for event in parser.feed(bytes) {
            on_event(event);
        }
    })
    .await
    .map_err(|()| "the connection dropped".to_owned())?;
    Err(ENDED.to_owned())
}

impl App {
    /// A new abort controller for a stream of the demo, remembered so Stop can close it.
    fn open_stream(&self) -> Option<AbortController> {
        let controller = AbortController::new().ok()?;
        self.streams.borrow_mut().push(controller.clone());
        Some(controller)
    }

    /// Closes every stream the demo opened.
    pub(super) fn close_streams(&self) {
        for stream in self.streams.borrow_mut().drain(..) {
            stream.abort();
        }
    }

    /// The relay stream of run `run`: after a failure it reconnects to the same session, asking for
    /// everything after the last event it handled, so no hook is lost or shown twice.
    pub(super) async fn relay_stream(self: Rc<Self>, run: u32, url: String) {
        // (session id, last event id), learnt from the stream itself.
        let resume: RefCell<(Option<String>, Option<String>)> = RefCell::default();
        // A resumed run's first URL names its session already; reconnections name it anew.
        let base = url.split_once('?').map_or(url.as_str(), |(base, _)| base);
        let target = || match &*resume.borrow() {
            (Some(session), Some(id)) => format!("{base}?session={session}&lastEventId={id}"),
            (Some(session), None) => format!("{base}?session={session}"),
            _ => url.to_owned(),
        };
        let mut handle = |event: SseEvent| {
            let mut resume = resume.borrow_mut();
            if event.event == "start" {
                resume.0 = serde_json::from_str::<Value>(&event.data)
                    .ok()
                    .and_then(|start| start.get("sessionId")?.as_str().map(str::to_owned));
            }
            resume.1.clone_from(&event.id);
            drop(resume);
            if let Some(kind) = RelayEvent::from_name(&event.event) {
                self.dispatch(
                    demo::Msg::RelayEvent {
                        run,
                        event: kind,
                        data: event.data,
                    }
                    .into(),
                );
            }
        };
        self.follow(
            run,
            "The webhook server's stream",
            &target,
            None,
            &mut handle,
        )
        .await;
    }

    /// A smee.io channel of run `run`: each of its messages is a request the channel received.
    pub(super) async fn smee_stream(self: Rc<Self>, run: u32, url: String) {
        let mut handle = |event: SseEvent| {
            // smee.io also sends `ready` and `ping`; requests are plain messages.
            if event.event == "message" {
                self.dispatch(
                    demo::Msg::RelayEvent {
                        run,
                        event: RelayEvent::SmeeRequest,
                        data: event.data,
                    }
                    .into(),
                );
            }
        };
        let target = || url.to_owned();
        self.follow(run, "The smee.io channel", &target, None, &mut handle)
            .await;
    }

    /// The product's event stream of run `run`, read with the token in a header.
    pub(super) async fn event_stream(self: &Rc<Self>, run: u32, url: &str, token: &str) {
        let authorization = particle::authorization(token);
        let mut handle = |event: SseEvent| {
            self.dispatch(
                demo::Msg::ParticleEvent {
                    run,
                    name: event.event,
                    data: event.data,
                }
                .into(),
            );
        };
        let target = || url.to_owned();
        let what = "The product's event stream";
        self.follow(run, what, &target, Some(&authorization), &mut handle)
            .await;
    }

    /// Streams a device's log into `#deviceLog` (the newest 500 lines), replacing the previous one.
    /// With the token, which a hosted sandbox's `_sim` asks for.
    pub(super) async fn device_log(self: Rc<Self>, url: String, token: String) {
        let Ok(controller) = AbortController::new() else {
            return;
        };
        if let Some(previous) = self.log_stream.replace(Some(controller.clone())) {
            previous.abort();
        }
        append::clear_log();
        let mut handle = |event: SseEvent| append::log_line(&event.data);
        let authorization = particle::authorization(&token);
        let ended = read(
            &url,
            Some(&authorization),
            &controller.signal(),
            &mut handle,
        )
        .await;
        if let (Err(reason), Some(log)) = (ended, by_id("deviceLog")) {
            if !controller.signal().aborted() {
                if let Some(line) = element("div", &format!("(the log stopped: {reason})")) {
                    let _ = log.append_child(&line);
                }
            }
        }
    }

    /// Reads a stream of run `run` while that run lasts, reopening it after failures with a
    /// growing delay (0.5 s doubling to 10 s), and saying so in the page.
    async fn follow(
        self: &Rc<Self>,
        run: u32,
        what: &str,
        target: &dyn Fn() -> String,
        authorization: Option<&str>,
        handle: &mut dyn FnMut(SseEvent),
    ) {
        let backoff = Cell::new(500);
        // Events since the last (re)connection: a server that ends a stream that worked is
        // rotating it, and reconnecting at once is all it takes; the learner is not told.
        let delivered = Cell::new(false);
        while self.is_current(run) {
            let Some(controller) = self.open_stream() else {
                return;
            };
            delivered.set(false);
            let ended = read(
                &target(),
                authorization,
                &controller.signal(),
                &mut |event| {
                    backoff.set(500);
                    delivered.set(true);
                    handle(event);
                },
            )
            .await;
            if !self.is_current(run) {
                return;
            }
            let reason = ended.err().unwrap_or_default();
            if delivered.get() && reason == ENDED {
                continue;
            }
            self.dispatch(
                demo::Msg::StreamDown {
                    run,
                    reason: format!("{what} was interrupted ({reason})."),
                }
                .into(),
            );
            fetch::sleep(backoff.get()).await;
            backoff.set((backoff.get() * 2).min(10_000));
        }
    }
}
