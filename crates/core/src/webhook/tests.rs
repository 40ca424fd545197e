//! Which events trigger a webhook, what it sends, and how its answer is chunked.

use serde_json::{Value, json};

use super::*;

fn event(data: &str) -> EventContext {
    EventContext {
        name: "WebhookDemo01".to_owned(),
        data: data.to_owned(),
        published_at: "2026-11-28T10:00:00.123Z".to_owned(),
        coreid: "e00fce680000000000000001".to_owned(),
        event_id: "ev1".to_owned(),
        product_id: Some(30001),
        product_user_id: Some("sandbox@example.com".to_owned()),
        product_version: Some(3),
    }
}

fn settings(value: Value) -> WebhookSettings {
    serde_json::from_value(value).unwrap()
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn event_names_trigger_by_prefix_and_never_chain() {
    let hook = settings(json!({"event": "WebhookDemo01", "url": "http://x/"}));
    for (name, fires) in [
        ("WebhookDemo01", true),
        ("WebhookDemo011", true),
        ("WebhookDemo01Test", true),
        ("WebhookDemo", false),
        ("SomethingElse", false),
        ("webhookdemo01", false),
    ] {
        assert_eq!(triggers(&hook, name, "api"), fires, "{name}");
    }
    let chained = settings(json!({"event": "hook-response", "url": "http://x/"}));
    assert!(!triggers(&chained, "hook-response/WebhookDemo01/0", "api"));
    let everything = settings(json!({"event": "", "url": "http://x/"}));
    for name in [
        "hook-sent/a",
        "hook-response/a/0",
        "hook-error/a/0",
        "hook-sent",
    ] {
        assert!(is_webhook_event(name), "{name}");
        assert!(!triggers(&everything, name, "api"), "{name}");
    }
    assert!(!is_webhook_event("hook-sentinel"));
    assert!(triggers(&everything, "hook-sentinel", "api"));
}

#[test]
fn a_device_filter_limits_the_sources() {
    let hook =
        settings(json!({"event": "t", "url": "http://x/", "deviceID": "E00FCE680000000000000001"}));
    assert!(triggers(&hook, "t", "e00fce680000000000000001"));
    assert!(!triggers(&hook, "t", "e00fce680000000000000002"));
    assert!(!triggers(&hook, "t", "api"));
}

#[test]
fn variables_hold_predefined_names_and_the_data_keys() {
    let vars = variables(&event(
        r#"{"t":25,"PARTICLE_DEVICE_ID":"spoofed","room":{"n":"lab"}}"#,
    ));
    assert_eq!(vars["t"], json!(25));
    assert_eq!(vars["room"]["n"], json!("lab"));
    assert_eq!(
        vars["PARTICLE_DEVICE_ID"],
        json!("e00fce680000000000000001")
    );
    assert_eq!(vars["PARTICLE_EVENT_NAME"], json!("WebhookDemo01"));
    assert_eq!(
        vars["PARTICLE_PUBLISHED_AT"],
        json!("2026-11-28T10:00:00.123Z")
    );
    assert_eq!(vars["PRODUCT_ID"], json!(30001));
    assert_eq!(vars["PRODUCT_USER_ID"], json!("sandbox@example.com"));
    assert_eq!(vars["PRODUCT_VERSION"], json!(3));
    assert_eq!(vars["SPARK_EVENT_VALUE"], vars["PARTICLE_EVENT_VALUE"]);
    let whole: Value = serde_json::from_str(vars["PARTICLE_EVENT_JSON"].as_str().unwrap()).unwrap();
    assert_eq!(whole["event"], json!("WebhookDemo01"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(vars["PARTICLE_EVENT_BASE64"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        decoded,
        vars["PARTICLE_EVENT_JSON"].as_str().unwrap().as_bytes()
    );
    // Data that is not a JSON object adds no keys.
    let plain = variables(&event("25"));
    assert!(plain.get("t").is_none());
    assert_eq!(plain["PARTICLE_EVENT_VALUE"], json!("25"));
}

#[test]
fn the_demo_webhook_sends_its_json_body_and_headers() {
    let hook = settings(json!({
        "integration_type": "Webhook",
        "event": "WebhookDemo01",
        "url": "http://127.0.0.1:8080/relay/hook/abc",
        "requestType": "POST",
        "noDefaults": true,
        "json": "{\"deviceId\":\"{{{PARTICLE_DEVICE_ID}}}\",\"ts\":\"{{{PARTICLE_PUBLISHED_AT}}}\",\"sensor\":{{{PARTICLE_EVENT_VALUE}}}}",
        "headers": {"Content-Type": "application/json", "Authorization": "Bearer s3cret"},
        "responseTopic": "{{{PARTICLE_DEVICE_ID}}}/hook-response/{{{PARTICLE_EVENT_NAME}}}",
    }));
    let event = event(r#"{"id":7,"t":25}"#);
    let request = build_request(&hook, &event).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "http://127.0.0.1:8080/relay/hook/abc");
    assert_eq!(
        request.headers,
        [
            ("Authorization".to_owned(), "Bearer s3cret".to_owned()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("User-Agent".to_owned(), USER_AGENT.to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ]
    );
    assert_eq!(
        request.body.as_deref(),
        Some(
            r#"{"deviceId":"e00fce680000000000000001","ts":"2026-11-28T10:00:00.123Z","sensor":{"id":7,"t":25}}"#
        )
    );
    assert_eq!(
        response_topic(&hook, &event).unwrap(),
        "e00fce680000000000000001/hook-response/WebhookDemo01"
    );
    assert_eq!(
        error_topic(&hook, &event).unwrap(),
        "hook-error/WebhookDemo01"
    );
}

#[test]
fn without_a_body_setting_defaults_are_a_form_body() {
    let hook = settings(json!({"event": "demo", "url": "http://h/p"}));
    let mut event = event("mydata");
    event.name = "demo".to_owned();
    let request = build_request(&hook, &event).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.body.as_deref(),
        Some(
            "event=demo&data=mydata&published_at=2026-11-28T10%3A00%3A00.123Z&coreid=e00fce680000000000000001"
        )
    );
    assert_eq!(
        header(&request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(&request, "user-agent"), Some(USER_AGENT));
}

#[test]
fn get_puts_defaults_and_query_in_the_url() {
    let hook = settings(json!({
        "event": "demo", "url": "http://h/p?k=1", "requestType": "get",
        "query": {"t": "{{t}}", "who": "{{PARTICLE_DEVICE_ID}}"},
    }));
    let request = build_request(&hook, &event(r#"{"t":"a b&c"}"#)).unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.url,
        "http://h/p?k=1&event=WebhookDemo01&data=%7B%22t%22%3A%22a+b%26c%22%7D&published_at=2026-11-28T10%3A00%3A00.123Z&coreid=e00fce680000000000000001&t=a+b%26amp%3Bc&who=e00fce680000000000000001"
    );
    assert_eq!(request.body, None);
    let quiet = settings(
        json!({"event": "d", "url": "http://h/", "requestType": "GET", "noDefaults": true}),
    );
    let request = build_request(&quiet, &event("x")).unwrap();
    assert_eq!((request.url.as_str(), request.body), ("http://h/", None));
}

#[test]
fn form_and_json_objects_merge_the_defaults_unless_told_not_to() {
    let form = settings(
        json!({"event": "d", "url": "http://h/", "form": {"temp": "{{{t}}}", "data": "mine"}}),
    );
    let request = build_request(&form, &event(r#"{"t":25}"#)).unwrap();
    assert_eq!(
        request.body.as_deref(),
        Some(
            "event=WebhookDemo01&published_at=2026-11-28T10%3A00%3A00.123Z&coreid=e00fce680000000000000001&data=mine&temp=25"
        )
    );
    let json = settings(
        json!({"event": "d", "url": "http://h/", "json": {"temp": "{{{t}}}", "n": 5, "list": ["{{{t}}}"]}}),
    );
    let request = build_request(&json, &event(r#"{"t":25}"#)).unwrap();
    let body: Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"event": "WebhookDemo01", "data": "{\"t\":25}", "published_at": "2026-11-28T10:00:00.123Z",
               "coreid": "e00fce680000000000000001", "temp": "25", "n": 5, "list": ["25"]})
    );
    let no_defaults = settings(
        json!({"event": "d", "url": "http://h/", "noDefaults": true, "json": {"temp": "{{{t}}}"}}),
    );
    let request = build_request(&no_defaults, &event(r#"{"t":25}"#)).unwrap();
    assert_eq!(request.body.as_deref(), Some(r#"{"temp":"25"}"#));
}

#[test]
fn a_raw_body_is_sent_as_rendered_with_only_the_senders_headers() {
    let hook = settings(json!({
        "event": "d", "url": "http://h/{{{PARTICLE_EVENT_NAME}}}", "requestType": "PUT",
        "body": "t={{t}}", "headers": {"X-{{{PARTICLE_EVENT_NAME}}}": "{{{t}}}"},
        "auth": {"username": "u{{{t}}}", "password": "p"},
    }));
    let request = build_request(&hook, &event(r#"{"t":"<1>"}"#)).unwrap();
    assert_eq!(request.method, "PUT");
    assert_eq!(request.url, "http://h/WebhookDemo01");
    assert_eq!(request.body.as_deref(), Some("t=&lt;1&gt;"));
    assert_eq!(header(&request, "X-WebhookDemo01"), Some("<1>"));
    // "u<1>:p" in base64.
    assert_eq!(header(&request, "authorization"), Some("Basic dTwxPjpw"));
    assert_eq!(header(&request, "content-type"), None);
}

#[test]
fn template_errors_name_the_setting() {
    let hook = settings(json!({"event": "d", "url": "http://h/", "headers": {"X": "{{#a}}"}}));
    let error = build_request(&hook, &event("")).unwrap_err();
    assert_eq!(error.field, "headers.X");
    assert!(error.to_string().contains("never closed"), "{error}");
}

#[test]
fn responses_are_chunked_at_512_bytes_up_to_100_kb() {
    let body = "x".repeat(1300);
    let chunks = response_chunks(&body);
    assert_eq!(
        chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
        [512, 512, 276]
    );
    assert_eq!(chunks.concat(), body);
    assert!(response_chunks("").is_empty());
    let huge = "y".repeat(200_000);
    let chunks = response_chunks(&huge);
    assert_eq!(chunks.len(), 200);
    assert_eq!(
        chunks.iter().map(|c| c.len()).sum::<usize>(),
        MAX_RESPONSE_BYTES
    );
    // A multi-byte character is never cut in two.
    let text = format!("{}é{}", "a".repeat(511), "b".repeat(10));
    let chunks = response_chunks(&text);
    assert_eq!(chunks[0].len(), 511);
    assert_eq!(chunks.concat(), text);
}

#[test]
fn a_response_template_sees_the_response_fields() {
    let hook = settings(
        json!({"event": "d", "url": "http://h/", "responseTemplate": "{{{results.0.elevation}}} for {{{PARTICLE_EVENT_NAME}}}"}),
    );
    let data = response_data(&hook, &event(""), r#"{"results":[{"elevation":1608.6}]}"#).unwrap();
    assert_eq!(data, "1608.6 for WebhookDemo01");
    let plain = settings(json!({"event": "d", "url": "http://h/"}));
    assert_eq!(response_data(&plain, &event(""), "raw").unwrap(), "raw");
}

#[test]
fn settings_round_trip_in_particles_field_names() {
    let value = json!({
        "event": "WebhookDemo01", "deviceid": "abc", "url": "http://h/", "requestType": "POST",
        "noDefaults": true, "responseTopic": "t", "errorResponseTopic": "e",
        "headers": {"A": "b"}, "json": "{}", "rejectUnauthorized": false, "responseTemplate": "r",
    });
    let parsed = settings(value.clone());
    assert_eq!(parsed.device_id.as_deref(), Some("abc"));
    assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
}
