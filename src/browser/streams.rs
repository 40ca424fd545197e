//! The demo's streams and the device log: reading a `text/event-stream` with `fetch` (so a request
//! can carry an `Authorization` header, which `EventSource` cannot) and `core::sse`, and keeping
//! each stream open while its run lasts, by the rules of `demo::stream_state`: a stream quiet past
//! its ping interval and a margin is stalled, closed and reopened; reopening waits a growing,
//! spread delay (a 529 as long as the server asks, else Particle's whole window); each change of
//! state goes to `update` as a message, a countdown once a second.
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
use crate::{
    demo::{
        self, RelayEvent,
        stream_state::{Backoff, Ended, Feed, RELAY_PING_MS, Status, particle_ping_ms, stall_ms},
    },
    state::ServerConfig,
};

/// Milliseconds on the page's clock.
fn now() -> f64 {
    js_sys::Date::now()
}

/// How a stream a reader follows behaves: its ping interval, if it has one the page knows (a
/// stream quiet for longer is stalled), and whether it replays what it missed when reopened.
struct Kind {
    feed: Feed,
    ping_ms: Option<u32>,
    replays: bool,
}

/// Reads the stream at `url` until it ends, fails or `signal` aborts it: `on_open` once it
/// answered, `heard` set to the time of every chunk (a ping is a chunk too), every event to
/// `on_event`. Says why it stopped.
async fn read(
    url: &str,
    authorization: Option<&str>,
    signal: &AbortSignal,
    on_open: &mut dyn FnMut(),
    heard: &Cell<f64>,
    on_event: &mut dyn FnMut(SseEvent),
) -> Ended {
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
    let Ok(response) = fetch::send(&request).await else {
        return Ended::Failed("the connection failed".to_owned());
    };
    if response.status() == 529 {
        let retry_after_secs = response
            .headers()
            .get("retry-after")
            .and_then(|secs| secs.trim().parse().ok());
        return Ended::Refused { retry_after_secs };
    }
    if !response.ok() {
        return Ended::Failed(format!("the stream answered HTTP {}", response.status()));
    }
    let Some(body) = response.body() else {
        return Ended::Failed("the stream has no body".to_owned());
    };
    on_open();
    let reader: ReadableStreamDefaultReader =
        wasm_bindgen::JsCast::unchecked_into(body.get_reader());
    let mut parser = SseParser::new();
    let read = fetch::read_chunks(&reader, &mut |bytes| {
        heard.set(now());
        for event in parser.feed(bytes) {
            on_event(event);
        }
    })
    .await;
    match read {
        Ok(()) => Ended::Ended,
        Err(()) => Ended::Failed("the connection dropped".to_owned()),
    }
}

/// Why a stream stopped, in words.
fn reason(ended: &Ended) -> String {
    match ended {
        Ended::Ended => "the server ended the stream".to_owned(),
        Ended::Failed(reason) => reason.clone(),
        Ended::Stalled => "nothing came, not even a ping".to_owned(),
        Ended::Refused { .. } => "the server refused it with HTTP 529".to_owned(),
    }
}

/// Aborts `controller` once nothing was `heard` for `stall_ms`, saying so in `stalled`; ends
/// (within a second) when the controller is aborted otherwise.
async fn watch(
    controller: AbortController,
    heard: Rc<Cell<f64>>,
    stalled: Rc<Cell<bool>>,
    stall_ms: u32,
) {
    let signal = controller.signal();
    while !signal.aborted() {
        let left = f64::from(stall_ms) - (now() - heard.get());
        if left <= 0.0 {
            stalled.set(true);
            controller.abort();
            return;
        }
        fetch::sleep(left.clamp(50.0, 1000.0) as i32).await;
    }
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
        let kind = Kind {
            feed: Feed::Requests,
            ping_ms: Some(RELAY_PING_MS),
            replays: true,
        };
        self.follow(run, &kind, &target, None, &mut handle).await;
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
        // smee.io documents no ping interval, and replays nothing.
        let kind = Kind {
            feed: Feed::Requests,
            ping_ms: None,
            replays: false,
        };
        self.follow(run, &kind, &target, None, &mut handle).await;
    }

    /// The product's event stream of run `run`, read with the token in a header; its ping
    /// interval is the sandbox's own (from the server's config) or Particle's documented one.
    pub(super) async fn event_stream(
        self: &Rc<Self>,
        run: u32,
        base: &str,
        product_id: u32,
        token: &str,
    ) {
        let url = format!("{base}/v1/products/{product_id}/events");
        let ping_ms = match &self.state.borrow().server {
            ServerConfig::Loaded(config) => particle_ping_ms(Some(config), base),
            ServerConfig::Loading | ServerConfig::Unavailable(_) => particle_ping_ms(None, base),
        };
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
        let target = || url.clone();
        let kind = Kind {
            feed: Feed::Events,
            ping_ms: Some(ping_ms),
            replays: false,
        };
        self.follow(run, &kind, &target, Some(&authorization), &mut handle)
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
        let heard = Cell::new(now());
        let ended = read(
            &url,
            Some(&authorization),
            &controller.signal(),
            &mut || {},
            &heard,
            &mut handle,
        )
        .await;
        if let Some(log) = by_id("deviceLog") {
            if !controller.signal().aborted() {
                let stopped = format!("(the log stopped: {})", reason(&ended));
                if let Some(line) = element("div", &stopped) {
                    let _ = log.append_child(&line);
                }
            }
        }
    }

    /// Reads a stream of run `run` while that run lasts, reopening it after it stops (stalled,
    /// dropped, ended or refused) after the wait `Backoff` gives, and telling `update` its state.
    async fn follow(
        self: &Rc<Self>,
        run: u32,
        kind: &Kind,
        target: &dyn Fn() -> String,
        authorization: Option<&str>,
        handle: &mut dyn FnMut(SseEvent),
    ) {
        let feed = kind.feed;
        let tell = |status: Status| self.dispatch(demo::Msg::Stream { run, feed, status }.into());
        let mut backoff = Backoff::default();
        // Whether the stream was down since it last opened, and whether it stalled meanwhile.
        let (mut was_down, mut stalled_since) = (false, false);
        while self.is_current(run) {
            let Some(controller) = self.open_stream() else {
                return;
            };
            let heard = Rc::new(Cell::new(now()));
            let stalled = Rc::new(Cell::new(false));
            if let Some(ping_ms) = kind.ping_ms {
                wasm_bindgen_futures::spawn_local(watch(
                    controller.clone(),
                    Rc::clone(&heard),
                    Rc::clone(&stalled),
                    stall_ms(ping_ms),
                ));
            }
            let opened_at = Cell::new(None);
            let mut on_open = || {
                opened_at.set(Some(now()));
                tell(if was_down && !kind.replays {
                    Status::Resumed {
                        stalled: stalled_since,
                    }
                } else {
                    Status::Live
                });
            };
            let ended = read(
                &target(),
                authorization,
                &controller.signal(),
                &mut on_open,
                &heard,
                handle,
            )
            .await;
            // Ends the watch, which may already have ended the stream.
            controller.abort();
            if !self.is_current(run) {
                return;
            }
            let ended = if stalled.get() { Ended::Stalled } else { ended };
            if opened_at.get().is_some() {
                stalled_since = false;
            }
            was_down = true;
            stalled_since |= ended == Ended::Stalled;
            let lived_ms = opened_at.get().map_or(0, |opened| (now() - opened) as u32);
            let wait = backoff.wait_ms(&ended, lived_ms, js_sys::Math::random());
            self.count_down(run, feed, wait, &ended).await;
            if self.is_current(run) {
                tell(Status::Reconnecting);
            }
        }
    }

    /// Says the stream is down and reopened in so many seconds, once a second for `wait_ms`.
    async fn count_down(self: &Rc<Self>, run: u32, feed: Feed, wait_ms: u32, ended: &Ended) {
        let mut left = wait_ms;
        while left > 0 && self.is_current(run) {
            let secs = left.div_ceil(1000);
            let status = Status::Waiting {
                secs,
                ended: ended.clone(),
            };
            self.dispatch(demo::Msg::Stream { run, feed, status }.into());
            let step = left - (secs - 1) * 1000;
            fetch::sleep(step as i32).await;
            left -= step;
        }
    }
}
