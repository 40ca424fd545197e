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

use std::{borrow::Cow, fmt};

use serde_json::Value;

/// A template that did not parse, with the byte offset where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.offset + 1)
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

/// Parses `source` and renders it against `data` in one step.
pub fn render(source: &str, data: &Value) -> Result<String, TemplateError> {
    Ok(Template::parse(source)?.render(data))
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
                offset,
                message: format!("`{{{{` is never closed with `{close}`"),
            })?;
            let content = tag[..end].trim();
            rest = &tag[end + close_len..];
            let error = |message: String| TemplateError { offset, message };
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
                offset,
                message: format!("section `{name}` is never closed with `{{{{/{name}}}}}`"),
            });
        }
        Ok(Template { nodes })
    }

    /// Renders against `data`, the outermost context.
    pub fn render(&self, data: &Value) -> String {
        let mut out = String::new();
        render_nodes(&self.nodes, &mut vec![data], &mut out);
        out
    }

    /// True when the template inserts nothing (plain text only), so rendering is a copy.
    pub fn is_plain(&self) -> bool {
        self.nodes.iter().all(|n| matches!(n, Node::Text(_)))
    }
}

fn render_nodes<'a>(nodes: &'a [Node], stack: &mut Vec<&'a Value>, out: &mut String) {
    for node in nodes {
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
                    (None, true) => render_nodes(body, stack, out),
                    (None, false) | (Some(_), true) => {}
                    (Some(Value::Array(items)), false) => {
                        for item in items {
                            stack.push(item);
                            render_nodes(body, stack, out);
                            stack.pop();
                        }
                    }
                    (Some(Value::Bool(true)), false) => render_nodes(body, stack, out),
                    (Some(value), false) => {
                        stack.push(value);
                        render_nodes(body, stack, out);
                        stack.pop();
                    }
                }
            }
        }
    }
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
mod tests;
