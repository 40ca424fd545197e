//! Property tests of the template dialect against hostile input: arbitrary text never panics,
//! nesting past the limit is refused, and no template with any data renders past its budget.
//! `cargo xtask fuzz` runs them for longer (`PROPTEST_CASES`).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Budget, MAX_DEPTH, Template, render};

/// Template text built from the dialect's own pieces, so that most cases parse and render.
fn template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{#a}}".to_owned()),
        Just("{{^a}}".to_owned()),
        Just("{{/a}}".to_owned()),
        Just("{{#b}}".to_owned()),
        Just("{{/b}}".to_owned()),
        Just("{{.}}".to_owned()),
        Just("{{{a}}}".to_owned()),
        Just("{{& b.0}}".to_owned()),
        Just("{{! note }}".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        "[a-z<>&\"' {}]{0,6}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn data() -> impl Strategy<Value = Value> {
    (0usize..12, "[a-z<>&]{0,8}")
        .prop_map(|(n, text)| json!({"a": vec![json!(text); n], "b": [text, n], "c": {"d": n}}))
}

proptest! {
    #[test]
    fn fuzz_template_arbitrary_text_never_panics(source in "\\PC{0,200}", data in data()) {
        let _ = render(&source, &data);
    }

    #[test]
    fn fuzz_template_renders_within_its_budget(
        source in template(),
        data in data(),
        bytes in 0usize..4096,
        steps in 0usize..4096,
    ) {
        let Ok(template) = Template::parse(&source) else {
            return Ok(());
        };
        let mut budget = Budget { bytes, steps };
        match template.render_within(&data, &mut budget) {
            Ok(text) => {
                prop_assert!(text.len() <= bytes);
                prop_assert_eq!(budget.bytes, bytes - text.len());
                // With room to spare the same text comes out: the budget never changes output.
                let roomy = template.render_within(&data, &mut Budget::default());
                prop_assert_eq!(roomy, Ok(text));
            }
            Err(error) => prop_assert_eq!(error.offset, None),
        }
    }

    #[test]
    fn fuzz_template_nesting_is_refused_past_the_limit(depth in 0usize..200, inverted: bool) {
        let open = if inverted { "{{^x}}" } else { "{{#x}}" };
        let source = format!("{}{}", open.repeat(depth), "{{/x}}".repeat(depth));
        let parsed = Template::parse(&source);
        prop_assert_eq!(parsed.is_ok(), depth <= MAX_DEPTH);
    }
}
