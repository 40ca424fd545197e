//! USB serial through Web Serial: asking the learner for a port, opening it at 115200 baud and
//! appending each line the device writes to the device log (`crate::serial` splits the lines).

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use super::{append, fetch};
use crate::serial::LineSplitter;

/// Whether this browser has Web Serial (`navigator.serial`).
pub(super) fn supported() -> bool {
    web_sys::window()
        .map(|w| w.navigator())
        .is_some_and(|navigator| Reflect::has(&navigator, &"serial".into()).unwrap_or(false))
}

/// Calls `target.method(...args)`; web-sys has no Web Serial bindings without unstable APIs.
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let function: Function = Reflect::get(target, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| format!("This browser's Web Serial has no {method}."))?;
    let args: js_sys::Array = args.iter().collect();
    function
        .apply(target, &args)
        .map_err(|_| format!("{method} failed."))
}

/// Asks for a port and streams its lines into the device log until the port closes or fails.
pub(super) async fn read() -> Result<(), String> {
    let words = |what: &'static str| move |_| format!("{what} failed.");
    let navigator: JsValue = web_sys::window().ok_or("no window")?.navigator().into();
    let serial = Reflect::get(&navigator, &"serial".into()).map_err(words("Web Serial"))?;
    let chosen = call(&serial, "requestPort", &[])?.unchecked_into::<Promise>();
    let port = JsFuture::from(chosen)
        .await
        .map_err(|_| "No port was chosen.".to_owned())?;
    let options = Object::new();
    Reflect::set(&options, &"baudRate".into(), &115_200.into())
        .map_err(words("Setting the speed"))?;
    let opened = call(&port, "open", &[options.into()])?.unchecked_into::<Promise>();
    JsFuture::from(opened)
        .await
        .map_err(|_| "The port could not be opened (is another program using it?).".to_owned())?;
    let readable = Reflect::get(&port, &"readable".into()).map_err(words("Reading"))?;
    let reader: ReadableStreamDefaultReader = call(&readable, "getReader", &[])?.unchecked_into();
    let mut lines = LineSplitter::new();
    fetch::read_chunks(&reader, &mut |bytes| {
        for line in lines.feed(bytes) {
            append::log_line(&line);
        }
    })
    .await
    .map_err(|()| "The device was disconnected.".to_owned())
}
