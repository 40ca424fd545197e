//! Test vectors for every rule of the webhook template dialect.

use serde_json::{Value, json};

use super::{Budget, MAX_DEPTH, MAX_OUTPUT_BYTES, MAX_STEPS, Template, render};

fn data() -> Value {
    json!({
        "name": "<b>\"Tom\" & 'Jerry'</b>",
        "n": 42, "f": 1.5, "zero": 0, "yes": true, "no": false, "nothing": null, "empty": "",
        "groups": ["GroupA", "GroupB"], "nums": [1, 2], "none": [],
        "c": [{"ca": "first"}, {"ca": "second"}],
        "room": {"name": "lab", "temp": 21, "sensors": [{"id": "s1"}]},
        "PARTICLE_DEVICE_ID": "e00fce68000000000000000a",
    })
}

fn check(template: &str, expected: &str) {
    assert_eq!(
        render(template, &data()).unwrap(),
        expected,
        "template {template:?}"
    );
}

#[test]
fn double_braces_escape_the_five_html_characters() {
    check(
        "{{name}}",
        "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;",
    );
    check(
        "{{ name }}",
        "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;",
    );
}

#[test]
fn triple_braces_and_ampersand_insert_raw() {
    check("{{{name}}}", "<b>\"Tom\" & 'Jerry'</b>");
    check("{{& name}}", "<b>\"Tom\" & 'Jerry'</b>");
    check("{{{ name }}}", "<b>\"Tom\" & 'Jerry'</b>");
}

#[test]
fn scalars_render_bare_and_missing_renders_nothing() {
    check("{{n}}|{{f}}|{{zero}}|{{yes}}|{{no}}", "42|1.5|0|true|false");
    check(
        "[{{nothing}}][{{missing}}][{{room.missing}}][{{c.9.ca}}]",
        "[][][][]",
    );
}

#[test]
fn arrays_render_as_json_elements_joined_by_commas() {
    check(
        r#"{"groups":[{{{groups}}}]}"#,
        r#"{"groups":["GroupA","GroupB"]}"#,
    );
    check("{{{nums}}}", "1,2");
    check("{{groups}}", "&quot;GroupA&quot;,&quot;GroupB&quot;");
    check("{{{none}}}", "");
}

#[test]
fn objects_render_as_javascript_does() {
    check("{{{room}}}", "[object Object]");
}

#[test]
fn dotted_paths_walk_objects_and_array_indices() {
    check("{{{c.0.ca}}} {{{c.1.ca}}}", "first second");
    check("{{room.name}} {{room.sensors.0.id}}", "lab s1");
}

#[test]
fn sections_iterate_arrays_and_enter_objects() {
    check("{{#c}}<{{ca}}>{{/c}}", "<first><second>");
    check("{{#groups}}[{{.}}]{{/groups}}", "[GroupA][GroupB]");
    check("{{#room}}{{name}}={{temp}}{{/room}}", "lab=21");
    // Names not in the inner context are found in the outer ones.
    check("{{#room}}{{n}}{{/room}}", "42");
    check("{{#yes}}shown{{/yes}}{{#no}}hidden{{/no}}", "shown");
    check("{{#n}}{{.}}{{/n}}", "42");
}

#[test]
fn falsy_values_skip_sections_and_show_inverted_ones() {
    for name in ["missing", "nothing", "no", "zero", "empty", "none"] {
        check(&format!("{{{{#{name}}}}}x{{{{/{name}}}}}"), "");
        check(&format!("{{{{^{name}}}}}x{{{{/{name}}}}}"), "x");
    }
    for name in ["yes", "n", "groups", "room", "name"] {
        check(&format!("{{{{^{name}}}}}x{{{{/{name}}}}}"), "");
    }
}

#[test]
fn nested_sections_and_comments() {
    check(
        "{{! a comment }}{{#room}}{{#sensors}}{{id}}@{{name}}{{/sensors}}{{/room}}",
        "s1@lab",
    );
}

#[test]
fn the_demo_body_template_renders_the_event() {
    let vars = json!({
        "PARTICLE_DEVICE_ID": "api",
        "PARTICLE_PUBLISHED_AT": "2026-11-28T10:00:00.000Z",
        "PARTICLE_EVENT_VALUE": "{\"id\":7,\"t\":25}",
    });
    let body = render(
        r#"{"deviceId":"{{{PARTICLE_DEVICE_ID}}}","ts":"{{{PARTICLE_PUBLISHED_AT}}}","sensor":{{{PARTICLE_EVENT_VALUE}}}}"#,
        &vars,
    )
    .unwrap();
    assert_eq!(
        body,
        r#"{"deviceId":"api","ts":"2026-11-28T10:00:00.000Z","sensor":{"id":7,"t":25}}"#
    );
}

#[test]
fn text_without_tags_is_copied_and_single_braces_are_text() {
    let template = Template::parse("plain { text } here").unwrap();
    assert!(template.is_plain());
    assert_eq!(
        template.render_within(&Value::Null, &mut Budget::default()),
        Ok("plain { text } here".to_owned())
    );
    assert!(!Template::parse("{{x}}").unwrap().is_plain());
}

#[test]
fn malformed_templates_say_what_and_where() {
    let cases = [
        ("ab{{x", 2, "never closed"),
        ("{{{x}}", 0, "never closed"),
        ("{{#a}}x", 0, "section `a` is never closed"),
        ("x{{/a}}", 1, "not open"),
        ("{{#a}}{{/b}}", 6, "where `{{/a}}` was expected"),
        ("{{}}", 0, "does not name a value"),
        ("{{a b}}", 0, "does not name a value"),
        ("{{> partial}}", 0, "not supported"),
        ("{{=<% %>=}}", 0, "not supported"),
    ];
    for (source, offset, message) in cases {
        let error = Template::parse(source).unwrap_err();
        assert_eq!(error.offset, Some(offset), "{source:?}");
        assert!(error.message.contains(message), "{source:?}: {error}");
    }
    assert_eq!(
        Template::parse("ab{{x").unwrap_err().to_string(),
        "`{{` is never closed with `}}` (at character 3)"
    );
}

/// Issue 13: `{{^x}}` ten thousand deep overflowed the stack and aborted the server.
#[test]
fn sections_nested_past_the_limit_are_refused_without_recursing() {
    for sigil in ['#', '^'] {
        let deep = format!(
            "{}{}",
            format!("{{{{{sigil}x}}}}").repeat(100_000),
            "{{/x}}".repeat(100_000)
        );
        let error = Template::parse(&deep).unwrap_err();
        assert!(
            error.message.contains("nested more than 64 deep"),
            "{error}"
        );
        assert_eq!(error.offset, Some(MAX_DEPTH * 6), "the first tag too deep");
    }
    let limit = format!(
        "{}{}",
        "{{^x}}".repeat(MAX_DEPTH),
        "{{/x}}".repeat(MAX_DEPTH)
    );
    let template = Template::parse(&format!("{limit}!")).unwrap();
    assert_eq!(
        template.render_within(&json!({}), &mut Budget::default()),
        Ok("!".to_owned())
    );
}

/// Issue 13: 31 bytes of data and eight nested sections rendered 100 MB; nine asked for 1 GiB.
#[test]
fn rendering_stops_at_the_output_budget() {
    let data = json!({"a": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]});
    let nested = |depth: usize, inner: &str| {
        format!(
            "{}{inner}{}",
            "{{#a}}".repeat(depth),
            "{{/a}}".repeat(depth)
        )
    };
    let error = render(&nested(8, "xxxxxxxxxx"), &data).unwrap_err();
    assert_eq!(error.offset, None);
    assert!(
        error
            .message
            .contains(&format!("larger than {MAX_OUTPUT_BYTES} bytes")),
        "{error}"
    );
    // Just inside the budget renders in full.
    assert_eq!(
        render(&nested(5, "xxxxxxxxxx"), &data).unwrap().len(),
        1_000_000
    );
    // Escaping is counted as written: `<` costs four bytes.
    let escaped = render(&nested(6, "{{.}}<"), &json!({"a": vec!["<"; 10]}));
    assert!(escaped.unwrap_err().message.contains("larger than"));
}

/// Nested sections that print nothing still cost a visit per element: bounded too.
#[test]
fn rendering_stops_at_the_step_budget() {
    let data = json!({"a": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]});
    let template = format!("{}{}", "{{#a}}".repeat(9), "{{/a}}".repeat(9));
    let error = render(&template, &data).unwrap_err();
    assert!(
        error.message.contains(&format!("more than {MAX_STEPS}")),
        "{error}"
    );
    // A budget is shared: what one rendering spent, the next cannot.
    let mut budget = Budget {
        bytes: 10,
        steps: 100,
    };
    let small = Template::parse("12345").unwrap();
    assert_eq!(
        small.render_within(&data, &mut budget),
        Ok("12345".to_owned())
    );
    assert_eq!(
        small.render_within(&data, &mut budget),
        Ok("12345".to_owned())
    );
    assert!(small.render_within(&data, &mut budget).is_err());
}
