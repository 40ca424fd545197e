//! Particle's webhook template language: the mustache dialect the cloud applies to a webhook's URL,
//! headers, query, form, JSON, body and topics, and to `responseTemplate`.
//!
//! The sandbox renders with it what it sends, and the page renders with it the preview of what
//! Particle will send, so both agree byte for byte. The rules (spec section 9):
//!
//! - `{{x}}` inserts `x` with `& < > " '` escaped as HTML entities; `{{{x}}}` and `{{& x}}` insert it raw.
//! - `{{#x}}…{{/x}}` renders its content once for a truthy scalar, once per element of a non-empty
//!   array (the element becomes the context) and once for an object (the object becomes the
//!   context). `{{^x}}…{{/x}}` renders when `x` is missing, `null`, `false`, `0`, `""` or `[]`.
//! - Names are looked up through the stack of contexts, innermost first; `a.b.0.c` walks objects by
//!   key and arrays by index from wherever `a` was found; `{{.}}` is the current context.
//! - Numbers and booleans render bare, `null` and missing names as nothing, an array as its
//!   elements in JSON joined by commas (so `[{{{groups}}}]` yields a JSON array of strings, as the
//!   Particle cloud does), an object as `[object Object]`.
//! - `{{! comments }}` render nothing. Partials and delimiter changes are not part of the dialect.
//!
//! Whitespace around standalone section tags is kept as written (mustache's standalone-line rule is
//! not applied); the webhook bodies this renders are JSON, form fields and URLs, where that rule
//! changes nothing a receiver sees.
//!
//! No maintained crate implements this dialect: `handlebars` has no standalone inverted sections and
//! renders arrays as `[a, b]`, `ramhorns` resolves dotted names as nested sections (no indices) and
//! fixes its own escape set, and `mustache` 0.9 has no index paths and has been unmaintained since
//! 2019. The dialect is small, so it lives here with a test vector for every rule.
//!
//! Templates come from whoever creates an integration and data from whoever publishes, so both
//! are hostile. Parsing refuses sections nested deeper than [`MAX_DEPTH`] (nothing here recurses
//! further than that: not parsing, not rendering, not dropping the tree), and rendering stops with
//! an error once it has spent its [`Budget`] of output bytes or node visits: ten nested sections
//! over a ten-element array would otherwise ask for gigabytes from a few bytes of event data.

use std::{borrow::Cow, fmt};

use serde_json::Value;

/// Sections may be nested this deep and no deeper. Particle's own templates nest two or three;
/// the bound keeps every walk of the tree (parse, render, drop) to a fixed stack depth.
pub const MAX_DEPTH: usize = 64;
/// Bytes one rendering may produce, by default: the largest webhook body the relay accepts.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// Template nodes one rendering may visit, by default. A section over an array visits its body once
/// per element, so nested sections multiply; a million visits take a few milliseconds.
pub const MAX_STEPS: usize = 1_000_000;

/// A template that did not parse (with the byte offset where the problem is), or a rendering that
/// outgrew its [`Budget`] (no offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{} (at character {})", self.message, offset + 1),
            None => f.write_str(&self.message),
        }
    }
}

/// What renderings may still spend. The templates of one webhook request share one budget, so a
/// request with many templated fields is bounded as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of output left.
    pub bytes: usize,
    /// Node visits left.
    pub steps: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            bytes: MAX_OUTPUT_BYTES,
            steps: MAX_STEPS,
        }
    }
}

impl Budget {
    /// Takes `bytes` more of output; an error once the budget is spent.
    fn spend(&mut self, bytes: usize) -> Result<(), TemplateError> {
        self.bytes = self.bytes.checked_sub(bytes).ok_or_else(|| TemplateError {
            offset: None,
            message: format!(
                "the rendered text is larger than {MAX_OUTPUT_BYTES} bytes, the most a webhook may send"
            ),
        })?;
        Ok(())
    }

    /// Takes one node visit; an error once the budget is spent.
    fn step(&mut self) -> Result<(), TemplateError> {
        self.steps = self.steps.checked_sub(1).ok_or_else(|| TemplateError {
            offset: None,
            message: format!(
                "rendering visits more than {MAX_STEPS} template parts (sections over arrays multiply)"
            ),
        })?;
        Ok(())
    }
}

impl std::error::Error for TemplateError {}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Value {
        name: String,
        escape: bool,
    },
    Section {
        name: String,
        inverted: bool,
        body: Vec<Node>,
    },
}

/// A parsed template, ready to render against any data.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

/// Parses `source` and renders it against `data` in one step, within the default [`Budget`].
pub fn render(source: &str, data: &Value) -> Result<String, TemplateError> {
    Template::parse(source)?.render_within(data, &mut Budget::default())
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        // Open sections: (name, inverted, where the tag was, the nodes before it).
        let mut open: Vec<(String, bool, usize, Vec<Node>)> = Vec::new();
        let mut nodes = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            let offset = source.len() - rest.len() + start;
            if start > 0 {
                nodes.push(Node::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let (tag, close_len, raw_braces) = if let Some(inner) = after.strip_prefix('{') {
                (inner, "}}}".len(), true)
            } else {
                (after, "}}".len(), false)
            };
            let close = if raw_braces { "}}}" } else { "}}" };
            let end = tag.find(close).ok_or_else(|| TemplateError {
                offset: Some(offset),
                message: format!("`{{{{` is never closed with `{close}`"),
            })?;
            let content = tag[..end].trim();
            rest = &tag[end + close_len..];
            let error = |message: String| TemplateError {
                offset: Some(offset),
                message,
            };
            let name = |sigil: usize| -> Result<String, TemplateError> {
                let name = content[sigil..].trim();
                if name.is_empty() || name.contains(char::is_whitespace) {
                    Err(error(format!("`{{{{{content}}}}}` does not name a value")))
                } else {
                    Ok(name.to_owned())
                }
            };
            if raw_braces {
                nodes.push(Node::Value {
                    name: name(0)?,
                    escape: false,
                });
                continue;
            }
            match content.chars().next() {
                Some('!') => {}
                Some('#') | Some('^') => {
                    if open.len() == MAX_DEPTH {
                        return Err(error(format!(
                            "sections are nested more than {MAX_DEPTH} deep"
                        )));
                    }
                    let outer = std::mem::take(&mut nodes);
                    open.push((name(1)?, content.starts_with('^'), offset, outer));
                }
                Some('/') => {
                    let closing = name(1)?;
                    let (name, inverted, _, outer) = open.pop().ok_or_else(|| {
                        error(format!(
                            "`{{{{/{closing}}}}}` closes a section that is not open"
                        ))
                    })?;
                    if name != closing {
                        return Err(error(format!(
                            "`{{{{/{closing}}}}}` found where `{{{{/{name}}}}}` was expected"
                        )));
                    }
                    let body = std::mem::replace(&mut nodes, outer);
                    nodes.push(Node::Section {
                        name,
                        inverted,
                        body,
                    });
                }
                Some('&') => nodes.push(Node::Value {
                    name: name(1)?,
                    escape: false,
                }),
                Some('>') | Some('=') => {
                    return Err(error(format!(
                        "`{{{{{content}}}}}`: partials and delimiter changes are not supported in webhook templates"
                    )));
                }
                _ => nodes.push(Node::Value {
                    name: name(0)?,
                    escape: true,
                }),
            }
        }
        if !rest.is_empty() {
            nodes.push(Node::Text(rest.to_owned()));
        }
        if let Some((name, _, offset, _)) = open.pop() {
            return Err(TemplateError {
                offset: Some(offset),
                message: format!("section `{name}` is never closed with `{{{{/{name}}}}}`"),
            });
        }
        Ok(Template { nodes })
    }

    /// Renders against `data`, the outermost context, spending from `budget`.
    pub fn render_within(
        &self,
        data: &Value,
        budget: &mut Budget,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        render_nodes(&self.nodes, &mut vec![data], &mut out, budget)?;
        Ok(out)
    }

    /// True when the template inserts nothing (plain text only), so rendering is a copy.
    pub fn is_plain(&self) -> bool {
        self.nodes.iter().all(|n| matches!(n, Node::Text(_)))
    }
}

fn render_nodes<'a>(
    nodes: &'a [Node],
    stack: &mut Vec<&'a Value>,
    out: &mut String,
    budget: &mut Budget,
) -> Result<(), TemplateError> {
    for node in nodes {
        budget.step()?;
        let before = out.len();
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Value { name, escape } => {
                if let Some(value) = lookup(stack, name) {
                    let text = as_text(value);
                    if *escape {
                        escape_html(&text, out);
                    } else {
                        out.push_str(&text);
                    }
                }
            }
            Node::Section {
                name,
                inverted,
                body,
            } => {
                let value = lookup(stack, name).filter(|v| is_truthy(v));
                match (value, inverted) {
                    (None, true) => render_nodes(body, stack, out, budget)?,
                    (None, false) | (Some(_), true) => {}
                    (Some(Value::Array(items)), false) => {
                        for item in items {
                            stack.push(item);
                            render_nodes(body, stack, out, budget)?;
                            stack.pop();
                        }
                    }
                    (Some(Value::Bool(true)), false) => render_nodes(body, stack, out, budget)?,
                    (Some(value), false) => {
                        stack.push(value);
                        render_nodes(body, stack, out, budget)?;
                        stack.pop();
                    }
                }
                // The nodes inside the section paid for what it produced.
                continue;
            }
        }
        budget.spend(out.len() - before)?;
    }
    Ok(())
}

fn lookup<'a>(stack: &[&'a Value], name: &str) -> Option<&'a Value> {
    if name == "." {
        return stack.last().copied();
    }
    let mut parts = name.split('.');
    let first = parts.next()?;
    let found = stack
        .iter()
        .rev()
        .find_map(|context| child(context, first))?;
    parts.try_fold(found, child)
}

fn child<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(fields) => fields.get(key),
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => None,
    }
}

fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

fn as_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Null => Cow::Borrowed(""),
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Array(items) => Cow::Owned(
            items
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => Cow::Borrowed("[object Object]"),
    }
}

fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
