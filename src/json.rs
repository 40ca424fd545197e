//! JSON objects built field by field, for the templates' view and the bodies the page sends.
//!
//! `json!` with values in it would unwrap a `to_value` that cannot fail, and its panic path
//! formats serde_json's error: kilobytes of the page's code, which building the map directly does
//! without.

use serde_json::{Map, Value};

/// A JSON object, built field by field.
#[derive(Default)]
pub struct Object(Map<String, Value>);

impl Object {
    pub fn set(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_owned(), value);
    }
}

/// A JSON object of `fields`, in that order.
pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut object = Object::default();
    for (name, value) in fields {
        object.set(name, value);
    }
    object.into()
}

impl From<Object> for Value {
    fn from(object: Object) -> Value {
        Value::Object(object.0)
    }
}
