//! The page's controls: one click, submit and change listener on the app's root for the page's
//! whole life, and the table from an element's `data-action` to the `Msg` it dispatches, with the
//! form values that message carries. Listeners never act themselves; `update` decides.

use std::rc::Rc;

use wasm_bindgen::{JsCast, closure::Closure};
use web_sys::{Element, Event, HtmlInputElement, HtmlSelectElement};

use super::{App, firmware, page::by_id};
use crate::{
    action::Action,
    cleanup,
    demo::{self, Answer},
    lists,
    msg::Msg,
    sign_in,
    state::ProductChoice,
};

/// Listens on the root for the page's whole life.
pub(super) fn listen(app: &Rc<App>) {
    for kind in ["click", "submit", "change"] {
        let target = Rc::clone(app);
        let listener = Closure::<dyn Fn(Event)>::new(move |event: Event| on_event(&target, &event));
        app.page
            .root()
            .add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref())
            // The error is a JsValue; formatting it would add code for nothing.
            .unwrap_or_else(|_| panic!("the root accepts listeners"));
        // The root lives as long as the page, and so must its listeners.
        listener.forget();
    }
}

/// Asks before the tab closes, reloads or goes Back while a demo runs (`beforeunload`: the browser
/// shows its own question, where it allows one at all); signing out asks in the page instead.
pub(super) fn ask_before_leaving(app: &Rc<App>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let target = Rc::clone(app);
    let listener = Closure::<dyn Fn(Event)>::new(move |event: Event| {
        if target.state.borrow().demo.running {
            event.prevent_default();
            // Older browsers ask only when `returnValue` is set.
            let _ = js_sys::Reflect::set(&event, &"returnValue".into(), &"".into());
        }
    });
    let _ =
        window.add_event_listener_with_callback("beforeunload", listener.as_ref().unchecked_ref());
    // The window lives as long as the page, and so must its listener.
    listener.forget();
}

fn on_event(app: &Rc<App>, event: &Event) {
    let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
        return;
    };
    let Ok(Some(element)) = target.closest("[data-action]") else {
        return;
    };
    // Forms act on submit, selects on change, everything else on click.
    let expected = match element.tag_name().as_str() {
        "FORM" => "submit",
        "SELECT" => "change",
        _ => "click",
    };
    if event.type_() != expected {
        return;
    }
    if expected == "submit" {
        // The app handles every form itself; the browser must not navigate.
        event.prevent_default();
    }
    let action = element.get_attribute("data-action").unwrap_or_default();
    if let Some(msg) = msg_for(&action, &element) {
        app.dispatch(msg);
    }
}

/// The message an element with `data-action="<action>"` dispatches; `None` for an action this page
/// does not have, or a control whose value is not a choice yet (a select's placeholder).
fn msg_for(action: &str, element: &Element) -> Option<Msg> {
    Some(match Action::parse(action)? {
        Action::SandboxSignIn => Msg::SignIn(sign_in::Msg::SandboxSignIn),
        Action::TokenSignIn => Msg::SignIn(sign_in::Msg::TokenSignIn(input_value("tokenInput"))),
        Action::PasswordSignIn => Msg::SignIn(sign_in::Msg::PasswordSignIn {
            username: input_value("usernameInput"),
            password: input_value("passwordInput"),
        }),
        Action::OtpSignIn => Msg::SignIn(sign_in::Msg::OtpSignIn(input_value("otpInput"))),
        Action::Remember => Msg::SignIn(sign_in::Msg::SetRemember(is_checked(element))),
        Action::UseSandbox => {
            Msg::SignIn(sign_in::Msg::UseSandbox(select_value(element) == "sandbox"))
        }
        Action::SignOut => Msg::SignIn(sign_in::Msg::SignOut),
        Action::SignOutConfirm => Msg::SignIn(sign_in::Msg::SignOutAnyway),
        Action::SignOutCancel => Msg::SignIn(sign_in::Msg::KeepSignedIn),
        Action::RefreshDevices => Msg::Lists(lists::Msg::RefreshDevices),
        Action::SelectDevice => Msg::Lists(lists::Msg::SelectDevice(select_value(element))),
        Action::SelectPlatform => Msg::Lists(lists::Msg::SelectPlatform(
            select_value(element).parse().ok()?,
        )),
        Action::ChooseNewProduct => Msg::Lists(lists::Msg::ChooseProducts(ProductChoice::New)),
        Action::ChooseExistingProduct => {
            Msg::Lists(lists::Msg::ChooseProducts(ProductChoice::Existing))
        }
        Action::CreateProduct => Msg::Lists(lists::Msg::CreateProduct(input_value(
            "newProductNameInput",
        ))),
        // The placeholder option is no number: nothing chosen.
        Action::SelectProduct => Msg::Lists(lists::Msg::SelectProduct(
            select_value(element).parse().ok()?,
        )),
        Action::AddDevice => Msg::Lists(lists::Msg::AddDevice),
        Action::StartDemo => Msg::Demo(demo::Msg::Start {
            secret: random_secret(),
            relay: input_value("relayUrlInput"),
            smee: input_value("smeeUrlInput"),
        }),
        Action::NewSmee => Msg::Demo(demo::Msg::SmeeChannel(format!(
            "https://smee.io/{}",
            &random_secret()[..16]
        ))),
        Action::StopDemo => Msg::Demo(demo::Msg::Stop),
        Action::TestWebhook => Msg::Demo(demo::Msg::Test {
            id: (js_sys::Math::random() * 1_000_000.0) as u32,
        }),
        Action::PreviewData => Msg::Demo(demo::Msg::PreviewData(input_value("previewData"))),
        Action::PublishData => Msg::Demo(demo::Msg::PublishData(input_value("previewData"))),
        Action::Replay => Msg::Demo(demo::Msg::Replay(
            element.get_attribute("data-hook")?.parse().ok()?,
        )),
        Action::ApplyAnswer => Msg::Demo(demo::Msg::ApplyAnswer(Answer {
            status: input_value("answerStatus").trim().parse().unwrap_or(0),
            body: input_value("answerBody"),
            require_auth: by_id("answerRequireAuth").is_some_and(|e| is_checked(&e)),
            delay_ms: input_value("answerDelay")
                .trim()
                .parse()
                .unwrap_or(u32::MAX),
            ..Answer::default()
        })),
        Action::AnswerPreset => Msg::Demo(demo::Msg::Preset(demo::answer::Preset::from_name(
            &element.get_attribute("data-preset")?,
        )?)),
        Action::SelectCycle => Msg::Demo(demo::Msg::SelectCycle(demo::journey::parse_key(
            &element.get_attribute("data-row")?,
        )?)),
        Action::InspectorPause => Msg::Demo(demo::Msg::TogglePause),
        Action::ApplyForward => Msg::Demo(demo::Msg::ApplyForward(input_value("forwardUrl"))),
        Action::SlowMotion => Msg::Demo(demo::Msg::SlowMotion(is_checked(element))),
        // `innerText`: the text as shown, with a line break after each line's element.
        Action::Copy => Msg::Demo(demo::Msg::Copy(inner_text(&by_id(
            &element.get_attribute("data-copy")?,
        )?)?)),
        Action::ReplayEdited => Msg::Demo(demo::Msg::ReplayEdited {
            hook_id: element.get_attribute("data-hook")?.parse().ok()?,
            headers: textarea_value("replayHeaders"),
            body: textarea_value("replayBody"),
        }),
        Action::Export => Msg::Demo(demo::Msg::Export),
        Action::ShowFile => Msg::Firmware(crate::firmware::Msg::ShowFile(
            element.get_attribute("data-file")?,
        )),
        Action::CopyFile => Msg::Firmware(crate::firmware::Msg::CopyFile),
        Action::Flash => {
            Msg::Firmware(crate::firmware::Msg::FlashDevice(firmware::shown_sources()))
        }
        Action::DeviceLog => Msg::Firmware(crate::firmware::Msg::ShowDeviceLog),
        Action::SerialConnect => Msg::Firmware(crate::firmware::Msg::ConnectSerial),
        Action::DownloadLog => Msg::Firmware(crate::firmware::Msg::DownloadLog),
        Action::RevealSecret => Msg::RevealSecret(element.get_attribute("aria-pressed")? != "true"),
        Action::Cleanup => Msg::Cleanup(cleanup::Msg::Ask),
        Action::CleanupCancel => Msg::Cleanup(cleanup::Msg::Cancel),
        Action::CleanupConfirm => Msg::Cleanup(cleanup::Msg::Confirm),
        Action::CleanupChoose(step) => Msg::Cleanup(cleanup::Msg::Choose {
            step,
            on: is_checked(element),
        }),
        Action::CheckServer => Msg::Check(crate::check::Msg::Run {
            url: input_value("checkServerUrl"),
            now_ms: js_sys::Date::now() as u64,
        }),
        Action::CopyCheckReport => Msg::Check(crate::check::Msg::CopyReport),
        Action::DownloadCheckReport => Msg::Check(crate::check::Msg::DownloadReport),
    })
}

/// A secret for this run's webhook: 122 random bits from the browser's cryptographic generator.
fn random_secret() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|crypto| crypto.random_uuid().replace('-', ""))
        .unwrap_or_default()
}

fn is_checked(element: &Element) -> bool {
    element
        .dyn_ref::<HtmlInputElement>()
        .is_some_and(HtmlInputElement::checked)
}

fn input_value(id: &str) -> String {
    by_id(id)
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .map(|input| input.value())
        .unwrap_or_default()
}

/// An element's text as rendered (line breaks between block elements included).
fn inner_text(element: &Element) -> Option<String> {
    js_sys::Reflect::get(element, &"innerText".into())
        .ok()?
        .as_string()
}

/// A textarea's value, read as a property (the page's web-sys features leave out the textarea type).
fn textarea_value(id: &str) -> String {
    by_id(id)
        .and_then(|area| js_sys::Reflect::get(&area, &"value".into()).ok())
        .and_then(|value| value.as_string())
        .unwrap_or_default()
}

fn select_value(element: &Element) -> String {
    element
        .dyn_ref::<HtmlSelectElement>()
        .map(HtmlSelectElement::value)
        .unwrap_or_default()
}
