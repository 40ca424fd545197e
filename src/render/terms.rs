//! Words a newcomer may not know are explained where they first appear: in each rendered state of
//! the page, the first use of every term in the prose (not in data: `<pre>`, options, attribute
//! values) is a `<dfn>` followed by its short explanation (`<span class="gloss">`), or the
//! glossary's own entry (`<dt><dfn>`, then `<dd>`) when the page has not used it before.

use super::Renderer;
use crate::state::State;

/// The terms, as the page writes them.
pub(crate) const TERMS: [&str; 16] = [
    "product",
    "platform",
    "Tinker",
    "relay",
    "smee.io",
    "CORS",
    "api",
    "particle-internal",
    "Bearer",
    "{{{PARTICLE_EVENT_VALUE}}}",
    "noDefaults",
    "responseTopic",
    "ETIMEDOUT",
    "chunks",
    "data operation",
    "Device OS",
];

/// A run of prose text: its decoded text and where the HTML goes on after it.
struct Text {
    text: String,
    /// The open element around it, when that element is a `<dfn>`.
    in_dfn: bool,
    after: usize,
}

/// The prose of `html`, in order: text outside tags, `<pre>`, `<option>`, `<textarea>`.
fn prose(html: &str) -> Vec<Text> {
    let mut texts = Vec::new();
    let mut skipping: Option<&str> = None;
    let mut open: Vec<String> = Vec::new();
    let mut rest = 0;
    while let Some(start) = html[rest..].find('<').map(|i| i + rest) {
        let text = &html[rest..start];
        if skipping.is_none() && !text.trim().is_empty() {
            texts.push(Text {
                text: decode(text),
                in_dfn: open.iter().any(|t| t == "dfn"),
                after: start,
            });
        }
        let end = html[start..]
            .find('>')
            .map_or(html.len(), |i| i + start + 1);
        let tag = &html[start + 1..end - 1];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if tag.starts_with('/') {
            if skipping == Some(name.as_str()) {
                skipping = None;
            }
            if let Some(at) = open.iter().rposition(|t| *t == name) {
                open.truncate(at);
            }
        } else if matches!(name.as_str(), "pre" | "option" | "textarea") {
            skipping = skipping.or(Some(match name.as_str() {
                "pre" => "pre",
                "option" => "option",
                _ => "textarea",
            }));
        } else if !matches!(
            name.as_str(),
            "br" | "input" | "img" | "meta" | "link" | "hr" | "wbr"
        ) && !tag.ends_with('/')
        {
            open.push(name);
        }
        rest = end;
    }
    texts
}

fn decode(text: &str) -> String {
    text.replace("&lbrace;", "{")
        .replace("&rbrace;", "}")
        .replace("&#x7B;", "{")
        .replace("&#x7D;", "}")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Whether `term` is a word of `text` (a capital first letter allowed, as at a sentence's start).
fn uses(text: &str, term: &str) -> bool {
    let mut capital = term.to_owned();
    capital[..1].make_ascii_uppercase();
    [term, capital.as_str()].iter().any(|t| {
        text.match_indices(t).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + t.len()..].chars().next();
            // A term inside a URL or an identifier is not a use of it.
            let word = |c: Option<char>| {
                c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/'))
            };
            !word(before) && !word(after)
        })
    })
}

/// The terms whose first use in `html` is not explained there.
fn unexplained(html: &str) -> Vec<String> {
    let texts = prose(html);
    TERMS
        .iter()
        .filter_map(|term| {
            let first = texts.iter().find(|t| uses(&t.text, term))?;
            // Past the tags closing inside the `<dfn>` (a `<code>` term).
            let mut next = &html[first.after..];
            while next.starts_with("</") && !next.starts_with("</dfn>") {
                next = &next[next.find('>').map_or(next.len(), |i| i + 1)..];
            }
            let explained = first.in_dfn
                && next.strip_prefix("</dfn>").is_some_and(|next| {
                    next.starts_with("<span class=\"gloss\">")
                        || next
                            .strip_prefix("</dt>")
                            .is_some_and(|dd| dd.trim_start().starts_with("<dd>"))
                });
            (!explained).then(|| format!("{term} first used in {:?}", first.text.trim()))
        })
        .collect()
}

fn check(state: &State) {
    let html = Renderer::new().page(state).expect("the page renders");
    let missing = unexplained(&html);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // Every term is in the page at least once: the glossary holds them all.
    for term in TERMS {
        assert!(
            prose(&html).iter().any(|t| uses(&t.text, term)),
            "{term} is never used"
        );
    }
}

#[test]
fn every_term_is_explained_where_it_first_appears_signed_out() {
    check(&crate::update::init().0);
}

#[test]
fn every_term_is_explained_where_it_first_appears_in_a_running_demo() {
    check(&super::tests::busy_state());
}

#[test]
fn a_term_inside_data_is_no_use_and_a_bare_use_is_caught() {
    let html = "<pre>product</pre><p>a <dfn>product</dfn><span class=\"gloss\"> (x)</span> \
                and relay</p><p>the relay</p>";
    assert_eq!(unexplained(html), ["relay first used in \"and relay\""]);
}
