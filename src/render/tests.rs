//! Rendering tests: the page's structure (panel roots, states, collapse) and escaping.

use webhook_demo_core::wire::Config;

use crate::{
    demo::Msg as D,
    lists::Msg as L,
    msg::Msg,
    panel::Panel,
    render::Renderer,
    sign_in::{Auth, Session},
    state::{Device, Devices, Product, Products, State},
    update::update,
};

fn sign_in_as(state: &mut State, username: &str) {
    state.sign_in.auth = Auth::SignedIn(Session {
        base: "/sandbox".into(),
        token: "t".into(),
        username: username.into(),
        created_here: true,
    });
}

/// Every `data-panel` root in `html`, in document order, with its `data-state`.
fn panel_roots(html: &str) -> Vec<(String, String)> {
    html.split("<section data-panel=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').expect("closing quote");
            let state = rest
                .strip_prefix(" data-state=\"")
                .and_then(|s| s.split_once('"'))
                .map(|(state, _)| state.to_owned())
                .expect("data-state follows data-panel");
            (name.to_owned(), state)
        })
        .collect()
}

fn check(state: &State, expected_states: &[&str]) {
    let renderer = Renderer::new();
    let page = renderer.page(state).expect("page renders");
    let roots = panel_roots(&page);
    let names: Vec<&str> = roots.iter().map(|(name, _)| name.as_str()).collect();
    let expected_names: Vec<&str> = Panel::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(names, expected_names, "every panel once, in page order");
    let states: Vec<&str> = roots.iter().map(|(_, state)| state.as_str()).collect();
    assert_eq!(states, expected_states);
    for panel in Panel::ALL {
        let alone = renderer.panel(state, panel).expect("panel renders");
        assert!(
            page.contains(alone.trim()),
            "{} renders the same alone and in the page",
            panel.name()
        );
    }
}

#[test]
fn before_sign_in_one_gate_says_to_sign_in() {
    let (state, _) = crate::update::init();
    check(&state, &["signed-out"; 14]);
    let renderer = Renderer::new();
    let page = renderer.page(&state).expect("page renders");
    for panel in [
        Panel::SelectDevice,
        Panel::SelectProduct,
        Panel::AddDevice,
        Panel::Start,
        Panel::Webhook,
        Panel::Events,
        Panel::Firmware,
        Panel::Cleanup,
        Panel::Test,
        Panel::Explainer,
        Panel::DataTable,
        Panel::Testing,
    ] {
        let html = renderer.panel(&state, panel).expect("renders");
        assert!(!html.contains("Sign in first."), "{html}");
        assert!(
            !html.contains(r##"href="#""##),
            "actions are buttons: {html}"
        );
    }
    assert_eq!(page.matches("Sign in to unlock").count(), 1, "one gate");
    assert!(page.contains("<nav id=\"steps\""), "the step list");
}

#[test]
fn sandbox_button_only_when_offered() {
    let renderer = Renderer::new();
    let (mut state, _) = crate::update::init();
    let without = renderer.panel(&state, Panel::SignIn).expect("renders");
    assert!(!without.contains("id=\"sandboxSignIn\""));
    let config = Config {
        sandbox: Some("/sandbox".into()),
        relay: "/relay/".into(),
        public_url: None,
        sandbox_idle_minutes: None,
        sandbox_keepalive_ms: None,
    };
    update(&mut state, Msg::ConfigLoaded(Ok(config)));
    let with = renderer.panel(&state, Panel::SignIn).expect("renders");
    assert!(with.contains("id=\"sandboxSignIn\""));
}

#[test]
fn webhook_panel_has_parameters_and_a_collapse() {
    let (state, _) = crate::update::init();
    let html = Renderer::new()
        .panel(&state, Panel::Webhook)
        .expect("renders");
    assert!(html.contains("<code>WebhookDemo01</code>"));
    assert!(html.contains("class=\"webhookUrlSpan\""));
    assert!(html.contains("<code>POST</code>"));
    assert!(html.contains(
        "<details class=\"collapse\"><summary>Tell me more about creating a webhook</summary>"
    ));
    assert!(
        html.contains("PARTICLE_DEVICE_ID"),
        "the response topic is shown literally"
    );
}

#[test]
fn untrusted_text_is_escaped() {
    let (mut state, _) = crate::update::init();
    update(
        &mut state,
        Msg::ConfigLoaded(Err("<img src=x onerror=alert(1)>".into())),
    );
    let renderer = Renderer::new();
    let sign_in = renderer.panel(&state, Panel::SignIn).expect("renders");
    assert!(
        sign_in.contains("&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;"),
        "{sign_in}"
    );
    sign_in_as(&mut state, "<script>alert(1)</script>@example.com");
    state.lists.devices = Devices::Loaded(vec![Device {
        id: "e00fce68aaaaaaaaaaaaaaaa".into(),
        name: Some("<b>bold</b>".into()),
        platform_id: 32,
        product_id: 32,
        serial_number: Some("<i>P2</i>".into()),
        online: false,
    }]);
    state.lists.selected_device = Some("e00fce68aaaaaaaaaaaaaaaa".into());
    let sign_in = renderer.panel(&state, Panel::SignIn).expect("renders");
    assert!(sign_in.contains("&lt;script&gt;alert(1)&lt;/script&gt;@example.com"));
    assert!(!sign_in.contains("<script>"));
    let devices = renderer
        .panel(&state, Panel::SelectDevice)
        .expect("renders");
    assert!(
        devices.contains("&lt;b&gt;bold&lt;/b&gt; (offline)</option>"),
        "{devices}"
    );
    assert!(
        devices.contains("<td>&lt;i&gt;P2&lt;/i&gt;</td>"),
        "the info table escapes too: {devices}"
    );
    state.lists.products = Products::Loaded(vec![Product {
        id: 201,
        name: "<u>fleet</u>".into(),
        platform_id: 32,
    }]);
    state.lists.platform = Some(32);
    let products = renderer
        .panel(&state, Panel::SelectProduct)
        .expect("renders");
    assert!(
        products.contains("&lt;u&gt;fleet&lt;/u&gt; (201)</option>"),
        "{products}"
    );
}

#[test]
fn signed_in_panels_change_state() {
    let (mut state, _) = crate::update::init();
    sign_in_as(&mut state, "sandbox@example.com");
    state.lists.devices = Devices::Loading;
    let mut expected = ["ready"; 14];
    expected[0] = "signed-in";
    expected[1] = "loading";
    expected[2] = "loading";
    expected[3] = "no-device";
    expected[4] = "no-product";
    expected[5..10].fill("stopped");
    expected[10] = "no-device";
    expected[12] = "no-demo";
    expected[13] = "no-product";
    check(&state, &expected);
    state.lists.devices = Devices::Loaded(Vec::new());
    expected[1] = "no-device";
    check(&state, &expected);
    state.lists.devices = Devices::Failed("Something broke (HTTP 500).".into());
    expected[1] = "error";
    check(&state, &expected);
    let panel = Renderer::new()
        .panel(&state, Panel::SelectDevice)
        .expect("renders");
    assert!(
        panel.contains("<p role=\"alert\">Something broke (HTTP 500).</p>"),
        "{panel}"
    );
}

#[test]
fn the_picked_device_is_described() {
    let (mut state, _) = crate::update::init();
    sign_in_as(&mut state, "sandbox@example.com");
    let device = |id: &str, name: &str, platform_id, product_id| Device {
        id: id.into(),
        name: Some(name.into()),
        platform_id,
        product_id,
        serial_number: Some(format!("SN-{name}")),
        online: true,
    };
    let devices = vec![
        device("aa", "first", 32, 32),
        device("bb", "tracker", 26, 12345),
    ];
    update(&mut state, Msg::Lists(L::DevicesLoaded(Ok(devices))));
    let renderer = Renderer::new();
    let html = renderer
        .panel(&state, Panel::SelectDevice)
        .expect("renders");
    assert!(
        html.contains("<option value=\"aa\" selected>first</option>"),
        "{html}"
    );
    assert!(
        html.contains("<td>Photon 2 / P2</td>") && html.contains("<td>not in a product yet</td>"),
        "{html}"
    );
    update(&mut state, Msg::Lists(L::SelectDevice("bb".into())));
    let html = renderer
        .panel(&state, Panel::SelectDevice)
        .expect("renders");
    assert!(
        html.contains("<option value=\"bb\" selected>tracker</option>"),
        "{html}"
    );
    assert!(
        html.contains("<td>Asset Tracker / Monitor One</td>") && html.contains("<td>12345</td>"),
        "{html}"
    );
    update(&mut state, Msg::Lists(L::SelectDevice("zz".into())));
    assert_eq!(
        state.lists.selected_device.as_deref(),
        Some("bb"),
        "an id not in the list is ignored"
    );
}

#[test]
fn add_device_says_what_adding_will_do() {
    let (mut state, _) = crate::update::init();
    sign_in_as(&mut state, "sandbox@example.com");
    let renderer = Renderer::new();
    let panel = |state: &State| {
        let html = renderer.panel(state, Panel::AddDevice).expect("renders");
        (crate::panel::panel_state(state, Panel::AddDevice), html)
    };
    state.lists.devices = Devices::Loaded(vec![Device {
        id: "aa".into(),
        name: Some("<p2>".into()),
        platform_id: 32,
        product_id: 30999,
        serial_number: None,
        online: true,
    }]);
    state.lists.selected_device = Some("aa".into());
    state.lists.products = Products::Loaded(vec![Product {
        id: 30001,
        name: "webhook-demo-p2-1".into(),
        platform_id: 32,
    }]);
    state.lists.platform = Some(32);
    let (word, html) = panel(&state);
    assert_eq!(word, "no-product");
    assert!(html.contains("Choose or create a product first."), "{html}");
    assert!(!html.contains("addDeviceButton"));

    update(&mut state, Msg::Lists(L::SelectProduct(30001)));
    let (word, html) = panel(&state);
    assert_eq!(word, "other-product");
    assert!(
        html.contains("&lt;p2&gt; belongs to product 30999."),
        "{html}"
    );
    assert!(
        html.contains("id=\"addDeviceButton\" data-action=\"add-device\" >"),
        "{html}"
    );

    update(&mut state, Msg::Lists(L::AddDevice));
    let (word, html) = panel(&state);
    assert_eq!(word, "adding");
    assert!(
        html.contains("data-action=\"add-device\" disabled>"),
        "{html}"
    );
    update(&mut state, Msg::Lists(L::DeviceAdded(Ok(0))));
    let (word, html) = panel(&state);
    assert_eq!(word, "other-product");
    assert!(
        html.contains("<p role=\"alert\">The cloud did not add the device."),
        "{html}"
    );

    if let Devices::Loaded(devices) = &mut state.lists.devices {
        devices[0].product_id = 30001;
    }
    let (word, html) = panel(&state);
    assert_eq!(word, "in-product");
    assert!(
        html.contains("is in webhook-demo-p2-1: the product"),
        "{html}"
    );
    if let Devices::Loaded(devices) = &mut state.lists.devices {
        devices[0].product_id = 32;
    }
    assert_eq!(panel(&state).0, "can-add");
}

/// Signed in to the sandbox with a device and product picked, a run going, one hook answered and
/// one event seen: most of what the templates show is there.
pub(super) fn busy_state() -> State {
    let mut state = crate::update::demo::tests::started();
    state.lists.devices = Devices::Loaded(vec![Device {
        id: "e00fce68aaaaaaaaaaaaaaaa".into(),
        name: Some("p2".into()),
        platform_id: 32,
        product_id: 30001,
        serial_number: Some("P2X".into()),
        online: true,
    }]);
    state.lists.selected_device = Some("e00fce68aaaaaaaaaaaaaaaa".into());
    let relay = |state: &mut State, event: &str, data: serde_json::Value| {
        crate::update::demo::tests::relay(state, 1, event, data);
    };
    relay(
        &mut state,
        "start",
        serde_json::json!({"sessionId": "ab", "hookUrl": "http://h/relay/hook/ab",
            "controlUrl": "http://h/relay/control/ab", "resumed": false}),
    );
    update(&mut state, Msg::Demo(D::WebhookSaved(Ok("w1".into()))));
    update(
        &mut state,
        Msg::Demo(D::ParticleEvent {
            run: 1,
            name: "WebhookDemo01".into(),
            data: serde_json::json!({"data": "{\"t\":25}", "ttl": 60,
                "published_at": "2026-01-01T00:00:00.000Z", "coreid": "e00fce68aaaaaaaaaaaaaaaa"})
            .to_string(),
        }),
    );
    relay(
        &mut state,
        "hook",
        serde_json::json!({"hookId": 1, "receivedAt": 1, "method": "POST", "originalUrl": "/",
            "query": "", "headers": [["Content-Type", "application/json"]],
            "body": "{\"deviceId\":\"e00fce68aaaaaaaaaaaaaaaa\",\"sensor\":{\"t\":25}}",
            "bodyBase64": null}),
    );
    relay(
        &mut state,
        "hookResponse",
        serde_json::json!({"hookId": 1, "statusCode": 200, "contentType": "application/json",
            "body": "{\"ok\":true}", "respondedAt": 2, "source": "default"}),
    );
    state
}

/// A refresh renders only the panels whose fields changed, so each panel's list of fields must
/// hold everything it shows: changing any other field leaves the panel exactly as it was.
#[test]
fn a_panel_depends_only_on_the_fields_it_reads() {
    let renderer = Renderer::new();
    for state in [crate::update::init().0, busy_state()] {
        let data = renderer.data(&state);
        let fields: Vec<String> = data
            .data()
            .as_object()
            .expect("the view is an object")
            .keys()
            .cloned()
            .collect();
        for panel in Panel::ALL {
            let html = renderer.panel_from(&data, panel).expect("renders");
            for field in &fields {
                let mut changed = data.data().clone();
                changed[field.as_str()] = serde_json::json!("~changed~");
                let changed = handlebars::Context::from(changed);
                if renderer.affected(Some(&data), &changed).contains(&panel) {
                    continue;
                }
                assert_eq!(
                    renderer.panel_from(&changed, panel).ok().as_ref(),
                    Some(&html),
                    "{} reads {field} but is not re-rendered when it changes",
                    panel.name()
                );
            }
        }
    }
}

#[test]
fn a_new_hook_re_renders_only_what_shows_hooks() {
    let renderer = Renderer::new();
    let state = busy_state();
    let before = renderer.data(&state);
    let mut after_state = state;
    update(
        &mut after_state,
        Msg::Demo(D::RelayEvent {
            run: 1,
            event: crate::demo::RelayEvent::Hook,
            data: serde_json::json!({"hookId": 2, "receivedAt": 3, "method": "POST",
                "originalUrl": "/", "query": "", "headers": [["Content-Type", "application/json"]],
                "body": "{\"deviceId\":\"e00fce68aaaaaaaaaaaaaaaa\",\"ts\":\"2026-01-01T00:01:00.000Z\",\"sensor\":{\"t\":26}}",
                "bodyBase64": null})
            .to_string(),
        }),
    );
    let after = renderer.data(&after_state);
    let affected = renderer.affected(Some(&before), &after);
    // The timeline and the delivery log show hooks; the data table's rows are appended, not
    // rendered.
    assert_eq!(affected, [Panel::Explainer, Panel::Testing]);
    assert_eq!(renderer.affected(Some(&after), &after), []);
    assert_eq!(renderer.affected(None, &after).len(), Panel::ALL.len());
}

#[test]
fn the_webhook_reads_as_the_console_shows_it_and_its_secret_is_masked_until_revealed() {
    let (mut state, _) = crate::update::init();
    sign_in_as(&mut state, "sandbox@example.com");
    state.demo.running = true;
    state.demo.secret = "s3cr3t0123456789".into();
    state.demo.relay = Some(webhook_demo_core::wire::RelayStart {
        session_id: "0".into(),
        hook_url: "http://127.0.0.1:8080/relay/hook/ab".into(),
        control_url: "http://127.0.0.1:8080/relay/control/0".into(),
        resumed: false,
    });
    let renderer = Renderer::new();
    // Not saved yet, or deleted by cleanup: the settings are not shown as the product's.
    let html = renderer.panel(&state, Panel::Webhook).expect("renders");
    assert!(!html.contains("&quot;integration_type&quot;"), "{html}");
    state.demo.webhook = crate::demo::WebhookState::Saved("w1".into());
    let html = renderer.panel(&state, Panel::Webhook).expect("renders");
    let order: Vec<usize> = [
        "integration_type",
        "event",
        "url",
        "requestType",
        "headers",
        "noDefaults",
        "responseTopic",
        "errorResponseTopic",
    ]
    .iter()
    .map(|key| html.find(&format!("&quot;{key}&quot;:")).expect(key))
    .collect();
    assert!(order.is_sorted(), "console order: {html}");
    assert!(
        html.contains("&quot;Authorization&quot;: &quot;Bearer ••••••••&quot;"),
        "{html}"
    );
    assert!(!html.contains("s3cr3t"), "the secret shows: {html}");
    assert!(
        html.contains(
            "{\n  &quot;deviceId&quot;: &quot;{{{PARTICLE_DEVICE_ID}}}&quot;,\n  &quot;ts&quot;: \
             &quot;{{{PARTICLE_PUBLISHED_AT}}}&quot;,\n  &quot;sensor&quot;: {{{PARTICLE_EVENT_VALUE}}}\n}"
        ),
        "the body template as its own block: {html}"
    );
    assert!(
        html.contains("aria-pressed=\"false\">Reveal the secret"),
        "{html}"
    );

    update(&mut state, Msg::RevealSecret(true));
    let html = renderer.panel(&state, Panel::Webhook).expect("renders");
    assert!(html.contains("Bearer s3cr3t0123456789"), "{html}");
    assert!(
        html.contains("aria-pressed=\"true\">Hide the secret"),
        "{html}"
    );
}

#[test]
fn the_device_table_names_its_product_and_a_flashed_device_restarting_is_no_warning() {
    let (mut state, _) = crate::update::init();
    sign_in_as(&mut state, "sandbox@example.com");
    state.lists.devices = Devices::Loaded(vec![Device {
        id: "aa".into(),
        name: Some("argon".into()),
        platform_id: 12,
        product_id: 30001,
        serial_number: None,
        online: false,
    }]);
    state.lists.selected_device = Some("aa".into());
    state.lists.products = Products::Loaded(vec![Product {
        id: 30001,
        name: "webhook-demo-argon-1".into(),
        platform_id: 12,
    }]);
    let renderer = Renderer::new();
    let html = renderer
        .panel(&state, Panel::SelectDevice)
        .expect("renders");
    assert!(
        html.contains("<td>webhook-demo-argon-1 (30001)</td>"),
        "{html}"
    );
    let html = renderer.panel(&state, Panel::Firmware).expect("renders");
    assert!(html.contains("it must be online to be flashed"), "{html}");
    // Right after a flash the device restarts: offline for a moment, which is expected.
    state.firmware.flash = crate::firmware::Flash::Started("success".into());
    let html = renderer.panel(&state, Panel::Firmware).expect("renders");
    assert!(!html.contains("it must be online"), "{html}");
    assert!(html.contains("restarting with the new firmware"), "{html}");
}
