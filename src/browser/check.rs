//! Sending the check's probes to the learner's server, one after another, each with the cloud's
//! 20 s limit and no redirect followed, and handing each outcome back as it comes.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use web_sys::{AbortController, ResponseType};

use super::{
    App,
    fetch::{self, Request},
};
use crate::{
    check::{self, LIMIT_MS, MAX_BODY, Outcome},
    msg::Msg,
};

impl App {
    /// Sends the probes of run `run` in order: the repeat must follow the first request, and the
    /// records are read after both.
    pub(super) async fn probe(self: Rc<Self>, run: u32, requests: Vec<check::Request>) {
        for (index, request) in requests.iter().enumerate() {
            let outcome = probe(request).await;
            self.dispatch(Msg::Check(check::Msg::Probed {
                run,
                index,
                outcome,
            }));
        }
    }
}

/// Milliseconds since the page loaded.
fn now() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or(0.0, |performance| performance.now())
}

/// One probe: its answer and how long it took, cut off at the cloud's limit.
async fn probe(request: &check::Request) -> Outcome {
    let Ok(controller) = AbortController::new() else {
        return Outcome::Failed("the browser cannot time a request".to_owned());
    };
    let signal = controller.signal();
    wasm_bindgen_futures::spawn_local(async move {
        fetch::sleep(LIMIT_MS as i32).await;
        // Aborting a request that already ended does nothing.
        controller.abort();
    });
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let body = request.body.as_deref().map(JsValue::from_str);
    let sent = Request {
        method: request.method,
        url: &request.url,
        headers: &headers,
        body: body.as_ref(),
        signal: Some(&signal),
    };
    let started = now();
    let elapsed = || (now() - started) as u32;
    let response = match fetch::send_unredirected(&sent).await {
        Ok(response) => response,
        Err(_) if signal.aborted() => return Outcome::TimedOut,
        Err(reason) => return Outcome::Failed(reason),
    };
    if response.type_() == ResponseType::Opaqueredirect {
        return Outcome::Redirected;
    }
    let status = response.status();
    let mut body = match fetch::text(&response).await {
        Ok(body) => body,
        Err(_) if signal.aborted() => return Outcome::TimedOut,
        Err(reason) => return Outcome::Failed(reason),
    };
    if body.len() > MAX_BODY {
        let mut end = MAX_BODY;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    Outcome::Answered {
        status,
        ms: elapsed(),
        body,
    }
}
