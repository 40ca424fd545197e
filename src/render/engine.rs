//! The page's template renderer: the part of Handlebars its templates use, rendered exactly as
//! the `handlebars` crate (6.x, strict mode) renders it, in a fraction of its code.
//!
//! `build.rs` compiles the templates with that crate and refuses any feature this file does not
//! render; a test renders every template with both and compares. What it renders: text, `{{path}}`
//! and `{{{path}}}`, `{{lookup value "key"}}`, the blocks `if`, `unless`, `each`, `with` and
//! `collapse` (with `{{else}}`), and `{{> partial}}`. As in handlebars' strict mode, a path that
//! is not in the data is an error where it is shown, and `null` where a block tests it.

use serde_json::Value;

/// One piece of a template.
pub(crate) enum Node {
    Text(String),
    /// `{{…}}` (escaped) or `{{{…}}}`.
    Show {
        expression: Expression,
        escape: bool,
    },
    Block(Box<Block>),
    /// `{{> name}}`, with the spaces before it on its line.
    Partial {
        name: String,
        indent: Option<String>,
    },
}

/// What a `{{…}}` shows.
pub(crate) enum Expression {
    Path(Path),
    /// `{{lookup value key}}`.
    Lookup(Param, Param),
}

/// The names between the dots of a path (`this` is the current value: no name).
pub(crate) type Path = Vec<String>;

pub(crate) enum Param {
    Path(Path),
    Literal(Value),
}

/// `{{#helper param}}template{{else}}inverse{{/helper}}`.
pub(crate) struct Block {
    pub(crate) helper: Helper,
    pub(crate) param: Param,
    pub(crate) template: Option<Vec<Node>>,
    pub(crate) inverse: Option<Vec<Node>>,
}

#[derive(Clone, Copy)]
pub(crate) enum Helper {
    If,
    Unless,
    Each,
    With,
    /// `{{#collapse "label"}}…{{/collapse}}`: a `<details>` block the learner can open for more.
    Collapse,
}

impl Helper {
    pub(crate) fn named(name: &str) -> Option<Helper> {
        Some(match name {
            "if" => Helper::If,
            "unless" => Helper::Unless,
            "each" => Helper::Each,
            "with" => Helper::With,
            "collapse" => Helper::Collapse,
            _ => return None,
        })
    }
}

/// Why a template did not render: a field or partial it names is missing, or a helper was
/// given the wrong kind of value.
#[derive(Debug, PartialEq, Eq)]
pub struct RenderError(pub &'static str);

/// The registered templates, by name.
pub(crate) type Templates = [(String, Vec<Node>)];

pub(crate) fn find<'t>(templates: &'t Templates, name: &str) -> Option<&'t [Node]> {
    templates
        .iter()
        .find(|(named, _)| named == name)
        .map(|(_, nodes)| nodes.as_slice())
}

/// Renders `nodes` with `data`; `name` is the template's, which it may not include.
pub(crate) fn render(
    templates: &Templates,
    name: &str,
    nodes: &[Node],
    data: &Value,
) -> Result<String, RenderError> {
    let mut run = Run {
        templates,
        current: vec![name],
        out: String::new(),
        indent: None,
        indent_before_write: false,
        trailing_newline: false,
        content_produced: false,
    };
    run.nodes(nodes, data)?;
    Ok(run.out)
}

/// One render, and the bookkeeping handlebars does to indent a partial's lines.
struct Run<'t> {
    templates: &'t Templates,
    /// The template being rendered and the ones that included it.
    current: Vec<&'t str>,
    out: String,
    indent: Option<&'t str>,
    indent_before_write: bool,
    trailing_newline: bool,
    content_produced: bool,
}

const NULL: Value = Value::Null;

impl<'t> Run<'t> {
    fn nodes(&mut self, nodes: &'t [Node], data: &Value) -> Result<(), RenderError> {
        nodes.iter().try_for_each(|node| self.node(node, data))
    }

    fn node(&mut self, node: &'t Node, data: &Value) -> Result<(), RenderError> {
        match node {
            Node::Text(text) => self.write(text),
            Node::Show { expression, escape } => {
                let value = match expression {
                    Expression::Path(path) => {
                        resolve(data, path)?.ok_or(RenderError("a field is missing"))?
                    }
                    Expression::Lookup(value, key) => {
                        let key = param(data, key)?;
                        let found = match param(data, value)? {
                            Value::Array(items) => {
                                key.as_u64().and_then(|index| items.get(index as usize))
                            }
                            Value::Object(fields) => key.as_str().and_then(|key| fields.get(key)),
                            _ => None,
                        };
                        found.ok_or(RenderError("lookup found nothing"))?
                    }
                };
                let text = shown(value);
                if *escape {
                    self.write(&escape_html(&text));
                } else {
                    self.write(&text);
                }
            }
            Node::Block(block) => self.block(block, data)?,
            Node::Partial { name, indent } => {
                let partial = find(self.templates, name).ok_or(RenderError("no such partial"))?;
                if self.current.contains(&name.as_str()) {
                    return Err(RenderError("a template includes itself"));
                }
                let indent_before_write = self.indent_before_write;
                let content_produced = self.content_produced;
                let outer_indent = self.indent;
                self.indent_before_write = false;
                self.content_produced = false;
                self.indent = indent.as_deref();
                self.current.push(name);
                let result = self.nodes(partial, data);
                self.current.pop();
                self.indent = outer_indent;
                result?;
                if self.content_produced {
                    self.indent_before_write = self.trailing_newline;
                } else {
                    self.content_produced = content_produced;
                    self.indent_before_write = indent_before_write;
                }
            }
        }
        Ok(())
    }

    fn block(&mut self, block: &'t Block, data: &Value) -> Result<(), RenderError> {
        let value = param(data, &block.param)?;
        let template = block.template.as_deref();
        let inverse = block.inverse.as_deref();
        match block.helper {
            Helper::If | Helper::Unless => {
                let yes = truthy(value) == matches!(block.helper, Helper::If);
                if let Some(nodes) = if yes { template } else { inverse } {
                    self.nodes(nodes, data)?;
                }
            }
            Helper::With => {
                if truthy(value) {
                    if let Some(nodes) = template {
                        self.nodes(nodes, value)?;
                    }
                } else if let Some(nodes) = inverse {
                    self.nodes(nodes, data)?;
                }
            }
            Helper::Each => {
                let Some(nodes) = template else {
                    return Ok(());
                };
                let items: Vec<&Value> = match value {
                    Value::Array(items) if !items.is_empty() || inverse.is_none() => {
                        items.iter().collect()
                    }
                    Value::Object(fields) if !fields.is_empty() || inverse.is_none() => {
                        fields.values().collect()
                    }
                    _ => {
                        return match inverse {
                            Some(inverse) => self.nodes(inverse, data),
                            None => Err(RenderError("each needs a list")),
                        };
                    }
                };
                for item in items {
                    self.nodes(nodes, item)?;
                }
            }
            Helper::Collapse => {
                // Written as handlebars' helper wrote it: straight to the output.
                let label = value
                    .as_str()
                    .ok_or(RenderError("collapse needs a label"))?;
                self.out.push_str("<details class=\"collapse\"><summary>");
                self.out.push_str(&escape_html(label));
                self.out.push_str("</summary><div class=\"collapse-body\">");
                if let Some(nodes) = template {
                    self.nodes(nodes, data)?;
                }
                self.out.push_str("</div></details>");
            }
        }
        Ok(())
    }

    /// Writes `text`, indenting each line after the first inside an indented partial.
    fn write(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.content_produced = true;
        let newline = |c: char| c == '\n' || c == '\r';
        if let Some(indent) = self.indent {
            if self.indent_before_write && !text.starts_with(newline) {
                self.out.push_str(indent);
            }
            let mut lines = text.split_inclusive('\n').peekable();
            while let Some(line) = lines.next() {
                self.out.push_str(line);
                if line.ends_with('\n') && lines.peek().is_some() {
                    self.out.push_str(indent);
                }
            }
        } else {
            self.out.push_str(text);
        }
        self.trailing_newline = text.ends_with(newline);
        self.indent_before_write = self.trailing_newline;
    }
}

/// A block's or helper's parameter: a missing path is `null`.
fn param<'v>(data: &'v Value, param: &'v Param) -> Result<&'v Value, RenderError> {
    match param {
        Param::Path(path) => Ok(resolve(data, path)?.unwrap_or(&NULL)),
        Param::Literal(value) => Ok(value),
    }
}

/// The value at `path` in `data`, or none.
fn resolve<'v>(data: &'v Value, path: &[String]) -> Result<Option<&'v Value>, RenderError> {
    let mut value = data;
    for name in path {
        let next = match value {
            Value::Array(items) => {
                let index: usize = name
                    .parse()
                    .map_err(|_| RenderError("a list's item is named by a number"))?;
                items.get(index)
            }
            Value::Object(fields) => fields.get(name),
            _ => None,
        };
        let Some(next) = next else {
            return Ok(None);
        };
        value = next;
    }
    Ok(Some(value))
}

/// How handlebars shows a value.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(shown).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(_) => "[object]".to_owned(),
    }
}

/// Handlebars' truth: `false`, `null`, zero, and empty text, lists and objects are false.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(yes) => *yes,
        Value::Number(number) => number.as_f64().is_some_and(f64::is_normal),
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => !fields.is_empty(),
    }
}

/// Handlebars' HTML escaping.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#x27;"),
            '`' => out.push_str("&#x60;"),
            '=' => out.push_str("&#x3D;"),
            _ => out.push(c),
        }
    }
    out
}
