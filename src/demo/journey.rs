//! The journey as the page shows it: the shown cycle as a sequence diagram (three lanes, an arrow
//! per hop with its name, time and the gap since the hop before), its explainer cards in slot
//! order, the request list (one row per cycle, newest first) and the delivery log.
//!
//! The diagram is HTML laid out by a CSS grid rather than an SVG scaled into its box, so its text
//! keeps its size at every width, and on a phone it reads top to bottom.

use serde_json::Value;
use webhook_demo_core::time::iso8601_millis;

use super::{
    Demo, SECRET_MASK,
    answer::Preset,
    explain::Entry,
    requests::replay_headers,
    timeline::{ATTEMPTS, Attempt, Cycle, Slot},
};
use crate::json::Object;

mod list;

use list::row;
pub(crate) use list::{answer_text, latency_text, outcome, size_text};

/// The hops of a cycle, in order: its `data-hop`, the lanes its arrow joins (0 the device or this
/// page, 1 Particle's cloud, 2 your webhook server), its name and the slot of its card.
const HOPS: [(&str, usize, usize, &str, Slot); 5] = [
    ("publish", 0, 1, "publish", Slot::Event),
    ("hook-sent", 1, 1, "hook sent", Slot::HookSent),
    ("request", 1, 2, "request", Slot::HookReceived),
    ("response", 2, 1, "response", Slot::ServerResponse),
    ("hook-response", 1, 0, "hook-response", Slot::Outcome),
];

/// The key as the page writes it (`data-cycle`, a request list row's `data-row`).
pub fn key_text(key: &(String, String)) -> String {
    format!("{}@{}", key.0, key.1)
}

/// The key a `key_text` names.
pub fn parse_key(text: &str) -> Option<(String, String)> {
    let (device, at) = text.split_once('@')?;
    Some((device.to_owned(), at.to_owned()))
}

/// The time of day (UTC, to the millisecond) of an epoch time.
fn clock(ms: u64) -> String {
    let time = iso8601_millis(ms);
    time.split_once('T')
        .map_or(time.as_str(), |(_, t)| t)
        .trim_end_matches('Z')
        .to_owned()
}

/// The time of day of Particle's `published_at`.
fn clock_of(published_at: &str) -> String {
    published_at
        .split_once('T')
        .map_or(published_at, |(_, t)| t)
        .trim_end_matches('Z')
        .to_owned()
}

fn lane_names(cycle: &Cycle) -> [&str; 3] {
    let first = if cycle.key.0 == "api" {
        "This page"
    } else {
        "Device"
    };
    [first, "Particle cloud", "Your webhook server"]
}

/// A Particle hop of a cycle the page was away for, on the diagram and on its card: the cloud may
/// well have published it, but the page cannot know.
const AWAY_NOTE: &str = "not seen: this page was away";
const AWAY_CARD: &str = "Not seen: this page was away (reloading) while the cloud published this, \
                         and Particle's event stream does not send again what a page missed. The \
                         relay keeps your server's requests and answers, so those are still shown.";

/// What the cloud publishes once a server answered (or not): a hook-response for a 2xx in time,
/// else a hook-error; either, when no answer is known.
fn expected_outcome(attempt: &Attempt) -> &'static str {
    match attempt.answer {
        Some((status, _)) if (200..300).contains(&status) && !attempt.late() => "hook-response",
        Some(_) => "hook-error",
        None => "hook-response or hook-error",
    }
}

/// The order an attempt's hops are drawn in (`HOPS` indices): as they happen, so an answer that
/// came after the cloud gave up follows the `hook-error`. A replay has no cloud hops.
fn order(attempt: &Attempt) -> &'static [usize] {
    if attempt.replay {
        &[2, 3]
    } else if attempt.late() {
        &[1, 2, 4, 3]
    } else {
        &[1, 2, 3, 4]
    }
}

/// The order a cycle's cards are shown in: `Slot::ALL`, but a late answer after the `hook-error`,
/// as on the diagram.
fn slots(cycle: &Cycle) -> [Slot; 6] {
    if cycle.latest().late() {
        let [event, sent, received, data, response, outcome] = Slot::ALL;
        [event, sent, received, data, outcome, response]
    } else {
        Slot::ALL
    }
}

/// When a late answer came, in the learner's words.
fn late_text(attempt: &Attempt) -> String {
    match attempt.late_by_ms() {
        Some(ms) if ms >= 1000 => {
            format!("{} s after the cloud stopped waiting", (ms + 500) / 1000)
        }
        Some(ms) => format!("{ms} ms after the cloud stopped waiting"),
        None => "after the cloud stopped waiting".to_owned(),
    }
}

/// A gap between two hops, in the learner's words.
fn gap_text(gap: u64) -> String {
    match gap {
        0 => "+<1 ms".to_owned(),
        gap if gap >= 10_000 => format!("+{} s", (gap + 500) / 1000),
        gap => format!("+{gap} ms"),
    }
}

/// How long Particle waits before retry `number` (2 or 3), as its guide says.
fn retry_wait(number: usize) -> &'static str {
    if number <= 2 {
        "30 seconds"
    } else {
        "1 minute"
    }
}

/// What the diagram's rows share: the lanes, the time of the row before, the newest done hop.
struct Rows<'a> {
    lanes: [&'a str; 3],
    previous: Option<u64>,
    slow: bool,
    /// The page was away for the hops being drawn (`Cycle::away_for`): those missing from
    /// Particle's stream are not waited for.
    away: bool,
    hops: Vec<Value>,
}

impl Rows<'_> {
    /// The hop `index` (`HOPS`) of an attempt (`None`: the publish), at `at`.
    fn hop(&mut self, index: usize, at: Option<u64>, attempt: Option<(&Attempt, usize, bool)>) {
        let (hop, from, to, name, slot) = HOPS[index];
        let failed = index == 4 && attempt.is_some_and(|(a, ..)| a.failure.is_some());
        let late = attempt.is_some_and(|(a, ..)| a.late());
        let ignored = index == 3 && late;
        let gap = at.zip(self.previous).map(|(at, b)| at.saturating_sub(b));
        if at.is_some() {
            self.previous = at;
        }
        // Particle's stream brings the publish, hook-sent and the outcome; the relay replays the
        // rest, so only those can be missed for good.
        let missed = self.away && at.is_none() && matches!(index, 0 | 1 | 4);
        let status = match (failed, ignored, at) {
            (true, ..) => "failed",
            (_, true, _) => "late",
            (_, _, Some(_)) => "done",
            (_, _, None) if missed => "away",
            (_, _, None) => "waiting",
        };
        let answer = attempt.and_then(|(a, ..)| a.answer);
        let name = match (failed, hop, answer) {
            (true, ..) => "hook-error".to_owned(),
            // Which of the two the cloud published was not seen.
            _ if missed && index == 4 => attempt
                .map_or("hook-response or hook-error", |(a, ..)| expected_outcome(a))
                .to_owned(),
            (false, "response", Some((status, _))) if ignored => {
                format!("{name} {status}, too late")
            }
            // The server's answer says its status on the arrow, as the request list does.
            (false, "response", Some((status, _))) => format!("{name} {status}"),
            _ => name.to_owned(),
        };
        let note = match (attempt, at) {
            (Some((a, ..)), _) if failed => a.failure.clone(),
            (Some((a, ..)), _) if ignored => {
                Some(format!("{}; the cloud never saw it", late_text(a)))
            }
            (Some((a, ..)), None) if a.failure.is_some() => Some("not in time".to_owned()),
            (_, None) if missed => Some(AWAY_NOTE.to_owned()),
            (_, None) => Some("waiting…".to_owned()),
            _ => None,
        };
        // The newest attempt's hops take the ids the cards link to; earlier ones are numbered.
        let (number, latest) = attempt.map_or((0, true), |(_, n, latest)| (n, latest));
        let id = if latest {
            format!("hop-{}", slot.name())
        } else {
            format!("hop-{}-{number}", slot.name())
        };
        let mut view = Object::default();
        view.set("id", id.into());
        view.set("hop", (if failed { "hook-error" } else { hop }).into());
        view.set("attempt", (number > 0).then_some(number).into());
        view.set("wait", Value::Null);
        view.set("status", status.into());
        view.set("span", format!("d{from}{to}").into());
        view.set(
            "route",
            format!("{} → {}", self.lanes[from], self.lanes[to]).into(),
        );
        view.set("name", name.into());
        view.set("time", at.map(clock).into());
        view.set("gap", gap.into());
        view.set("gapText", gap.map(gap_text).into());
        view.set("note", note.into());
        view.set("slot", slot.name().into());
        view.set("fresh", false.into());
        self.hops.push(view.into());
    }

    /// A row between attempts: `wait` (`retry`, `retry-due`, `dropped`, `replay`), its words and
    /// the time it took, when known.
    fn wait(&mut self, wait: &str, text: String, note: Option<String>, until: Option<u64>) {
        let gap = until.zip(self.previous).map(|(at, b)| at.saturating_sub(b));
        if until.is_some() {
            self.previous = until;
        }
        let mut view = Object::default();
        view.set("wait", wait.into());
        view.set(
            "status",
            (if until.is_some() { "done" } else { "waiting" }).into(),
        );
        view.set("name", text.into());
        // A wait says how long it took; Particle's own wait is in the words of `wait` rows.
        view.set(
            "gapText",
            gap.map(|gap| gap_text(gap).replacen('+', "after ", 1))
                .into(),
        );
        view.set("note", note.into());
        self.hops.push(view.into());
    }
}

/// A cycle's diagram, as the template reads it: the publish, then each attempt's hops with the
/// wait before each retry, and what the cloud does next when an attempt failed.
pub fn diagram(cycle: &Cycle, slow: bool) -> Value {
    let lanes = lane_names(cycle);
    let mut rows = Rows {
        lanes,
        previous: None,
        slow,
        away: cycle.away_for(None),
        hops: Vec::new(),
    };
    rows.hop(0, cycle.published, None);
    let newest = cycle.attempts.len() - 1;
    for (index, attempt) in cycle.attempts.iter().enumerate() {
        let number = cycle.number(index);
        let first = attempt.at.iter().flatten().min().copied();
        match number {
            None => rows.wait(
                "replay",
                "Sent again from this page, not by the cloud".to_owned(),
                None,
                first,
            ),
            Some(n) if n > 1 => rows.wait(
                "retry",
                format!("The cloud tries again: attempt {n} of {ATTEMPTS}"),
                Some(format!(
                    "Particle waits {} after a failed attempt",
                    retry_wait(n)
                )),
                first,
            ),
            Some(_) => {}
        }
        // The failed hop happened when the cloud published its hook-error.
        let time = |hop: usize| match hop {
            4 if attempt.failure.is_some() => attempt.failed_at,
            hop => attempt.at[hop - 1],
        };
        let start = rows.hops.len();
        rows.away = cycle.away_for(Some(index));
        for &hop in order(attempt) {
            let attempt = Some((attempt, number.unwrap_or(0), index == newest));
            rows.hop(hop, time(hop), attempt);
        }
        // Slow motion draws the newest attempt's newest hop in.
        if rows.slow && index == newest {
            let done = rows.hops[start..]
                .iter()
                .rposition(|h| h["time"].is_string());
            if let Some(done) = done {
                rows.hops[start + done]["fresh"] = true.into();
            }
        }
    }
    let next = cycle.cloud_attempts() + 1;
    if cycle.retry_due() {
        let text = format!(
            "The cloud tries again after {}: attempt {next} of {ATTEMPTS}",
            retry_wait(next)
        );
        rows.wait("retry-due", text, None, None);
    } else if !cycle.delivered() && cycle.cloud_attempts() >= ATTEMPTS && cycle.latest().done() {
        let text = format!("After {ATTEMPTS} failed attempts the cloud drops the event");
        rows.wait("dropped", text, None, cycle.latest().failed_at);
    }
    let mut view = Object::default();
    view.set("key", key_text(&cycle.key).into());
    let who = if cycle.key.0 == "api" {
        "Test from this page".to_owned()
    } else {
        format!("Publish by {}", cycle.device)
    };
    view.set(
        "title",
        format!("{who} at {} UTC", clock_of(&cycle.key.1)).into(),
    );
    view.set("lanes", lanes.to_vec().into());
    view.set("slow", slow.into());
    view.set("hops", rows.hops.into());
    view.set(
        "retries",
        (cycle.cloud_attempts() > 1 || cycle.retry_due()).into(),
    );
    view.into()
}

/// The card of a Particle hop the page was away for: the first such card of the shown attempt
/// says why, the others name what else was missed.
fn away_card(cycle: &Cycle, slot: Slot) -> String {
    let cards = cycle.cards();
    let first = [Slot::Event, Slot::HookSent, Slot::Outcome]
        .into_iter()
        .find(|slot| cards[slot.index()].is_none());
    let what = match slot {
        Slot::Event => "The publish",
        Slot::HookSent => "hook-sent",
        _ => expected_outcome(cycle.latest()),
    };
    if first == Some(slot) {
        AWAY_CARD.to_owned()
    } else {
        format!("{what}: not seen either, as this page was away.")
    }
}

/// The run's secret as the explainer shows it: masked until the learner reveals it.
#[derive(Clone, Copy)]
struct Secret<'a> {
    secret: &'a str,
    revealed: bool,
}

impl Secret<'_> {
    /// `text` with the secret masked where it is sent: after `Bearer ` (the webhook's
    /// `Authorization` header), so the same letters elsewhere in a request stay as they are.
    fn hide(self, text: &str) -> String {
        if self.revealed || self.secret.is_empty() {
            text.to_owned()
        } else {
            text.replace(
                &format!("Bearer {}", self.secret),
                &format!("Bearer {SECRET_MASK}"),
            )
        }
    }
}

/// A card as the template reads it.
fn card(slot: Slot, entry: Option<&Entry>, cycle: &Cycle, demo: &Demo, secret: Secret) -> Value {
    let mut view = Object::default();
    view.set("slot", slot.name().into());
    let attempt = cycle.latest();
    let hop = HOPS.iter().find(|h| h.4 == slot).map(|h| {
        if slot == Slot::Outcome && attempt.failure.is_some() {
            "hook-error"
        } else {
            h.0
        }
    });
    view.set("hop", hop.into());
    match entry {
        Some(entry) => {
            view.set("kind", entry.kind.name().into());
            if slot == Slot::ServerResponse && attempt.late() {
                let status = attempt.answer.map_or(0, |(status, _)| status);
                view.set("title", "Your webhook server answered too late".into());
                view.set(
                    "text",
                    format!(
                        "It answered HTTP {status} {}; the cloud never saw it. Particle waits 20 \
                         seconds for an answer, then publishes a hook-error (ETIMEDOUT) and \
                         ignores whatever comes after, so no hook-response came of this answer, \
                         whatever its status.",
                        late_text(attempt)
                    )
                    .into(),
                );
            } else {
                view.set("title", entry.title.into());
                view.set("text", entry.text.as_str().into());
            }
            let fields: Vec<Value> = entry
                .fields
                .iter()
                .map(|(name, value)| {
                    let mut field = Object::default();
                    field.set("name", name.as_str().into());
                    field.set("value", secret.hide(value).into());
                    field.into()
                })
                .collect();
            view.set("fields", fields.into());
            view.set(
                "code",
                entry.code.as_deref().map(|code| secret.hide(code)).into(),
            );
            view.set("hookId", entry.hook.into());
            view.set(
                "curl",
                entry.curl.as_deref().map(|curl| secret.hide(curl)).into(),
            );
            view.set("secretRevealed", secret.revealed.into());
            // What "edit and resend" starts from: the request's own headers and body.
            let hook = entry
                .hook
                .and_then(|id| demo.history.hooks.iter().find(|h| h.hook_id == id));
            let headers = hook.map(|hook| {
                replay_headers(hook)
                    .iter()
                    .map(|(name, value)| format!("{name}: {}\n", secret.hide(value)))
                    .collect::<String>()
            });
            view.set("replayHeaders", headers.into());
            view.set("replayBody", hook.and_then(|h| h.body.as_deref()).into());
            view.set("waiting", Value::Null);
        }
        None => {
            let waiting = match (&attempt.failure, slot) {
                (Some(reason), Slot::Outcome) => format!("Failed: {reason}"),
                (Some(_), _) => "This hop did not happen in time.".to_owned(),
                (None, Slot::HookSent | Slot::Outcome) if attempt.replay => {
                    "This request was sent again from this page, not by the cloud: no cloud \
                     event comes of it."
                        .to_owned()
                }
                (None, Slot::Event) if cycle.away_for(None) => away_card(cycle, slot),
                (None, Slot::HookSent | Slot::Outcome)
                    if cycle.away_for(Some(cycle.attempts.len() - 1)) =>
                {
                    away_card(cycle, slot)
                }
                (None, slot) => slot.waiting().to_owned(),
            };
            view.set("kind", Value::Null);
            view.set("waiting", waiting.into());
        }
    }
    view.into()
}

/// Sets what the explainer, the answer form and the testing panel's delivery log read; the
/// secret shows only once `revealed`.
pub(crate) fn set_view(demo: &Demo, revealed: bool, origin: &str, view: &mut Object) {
    let secret = Secret {
        secret: &demo.secret,
        revealed,
    };
    let shown = demo.shown();
    let slow = demo.inspector.slow;
    view.set("cycle", shown.map(|cycle| diagram(cycle, slow)).into());
    let cards: Vec<Value> = shown
        .map(|cycle| {
            slots(cycle)
                .into_iter()
                .map(|slot| card(slot, cycle.cards()[slot.index()], cycle, demo, secret))
                .collect()
        })
        .unwrap_or_default();
    view.set("cards", cards.into());
    let shown_key = shown.map(|c| &c.key);
    let rows: Vec<Value> = demo
        .timeline
        .cycles
        .iter()
        .rev()
        .map(|cycle| {
            row(
                cycle,
                demo.inspector.pinned.is_some() && shown_key == Some(&cycle.key),
            )
        })
        .collect();
    view.set("requests", rows.into());
    view.set("inspectorPaused", demo.inspector.pinned.is_some().into());
    view.set("inspectorUnseen", demo.inspector.unseen.into());
    view.set("slowMotion", slow.into());
    let deliveries: Vec<Value> = demo
        .timeline
        .cycles
        .iter()
        .rev()
        .map(|cycle| {
            let mut view = Object::default();
            view.set("time", clock_of(&cycle.key.1).into());
            view.set(
                "event",
                format!("{} from {}", super::webhook::EVENT_NAME, cycle.device).into(),
            );
            view.set("status", outcome(cycle).into());
            view.set("answerStatus", answer_text(cycle).into());
            view.set("latency", latency_text(cycle).into());
            view.set("size", size_text(cycle).into());
            view.set("chunks", cycle.delivery().chunks.into());
            view.into()
        })
        .collect();
    view.set("deliveries", deliveries.into());
    let presets: Vec<Value> = Preset::ALL
        .iter()
        .map(|preset| {
            let mut view = Object::default();
            view.set("name", preset.name().into());
            view.set("label", preset.label().into());
            view.set("sentence", preset.sentence().into());
            view.set("chosen", (demo.answer == preset.answer()).into());
            view.into()
        })
        .collect();
    view.set("presets", presets.into());
    view.set("pageOrigin", origin.into());
    let starters: Vec<Value> = super::answer::starters(&demo.answer, origin)
        .into_iter()
        .enumerate()
        .map(|(index, (name, file, source))| {
            let mut view = Object::default();
            view.set("id", format!("starter-{index}").into());
            view.set("name", name.into());
            view.set("file", file.into());
            // One element a line: a multi-line value would be indented when the panel is
            // rendered inside the page.
            let lines: Vec<Value> = source
                .lines()
                .map(|line| if line.is_empty() { " " } else { line }.into())
                .collect();
            view.set("lines", lines.into());
            view.into()
        })
        .collect();
    view.set("starters", starters.into());
    view.set("forwardTyped", demo.forwarding.typed.as_str().into());
    view.set("forwarding", demo.forwarding.to.as_deref().into());
    view.set("forwardError", demo.forwarding.error.as_deref().into());
}

#[cfg(test)]
mod tests;
