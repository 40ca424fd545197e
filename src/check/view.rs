//! What `templates/check-server.hbs` sees: the address field, whether a check is running or
//! done, one row per check and the report's summary.

use serde_json::Value;

use super::{Check, grade};
use crate::json::Object;

/// The check's fields of the view; `forward` is the forward address, offered until the learner
/// types one of their own.
pub(crate) fn view(check: &Check, forward: &str, secret: &str, view: &mut Object) {
    view.set("checkNoDemo", secret.is_empty().into());
    let typed = if check.typed.is_empty() {
        forward
    } else {
        &check.typed
    };
    view.set("checkTyped", typed.into());
    view.set("checkRunning", check.running().into());
    view.set("checkRun", check.run.into());
    view.set(
        "checkError",
        check.error.clone().map_or(Value::Null, Value::from),
    );
    let rows = match (&check.target, check.done()) {
        (Some(target), true) => grade::rows(target, &check.outcomes),
        _ => Vec::new(),
    };
    let passed = rows
        .iter()
        .filter(|row| row.status == grade::Status::Pass)
        .count();
    view.set(
        "checkSummary",
        if rows.is_empty() {
            Value::Null
        } else {
            format!("{passed} of {} checks passed.", rows.len()).into()
        },
    );
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            let mut out = Object::default();
            out.set("check", row.check.into());
            out.set("status", row.status.name().into());
            out.set("mark", row.status.mark().into());
            out.set("title", row.title.into());
            out.set("sent", row.sent.into());
            out.set("got", row.got.into());
            out.set("why", row.why.into());
            out.into()
        })
        .collect();
    view.set("checkRows", rows.into());
}
