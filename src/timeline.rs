//! The per-hop timeline: for each cycle (one `WebhookDemo01` event), when each hop happened —
//! publish, hook-sent, request received, response sent, hook-response or hook-error — and the
//! drawing of it as an inline SVG: three lanes (the device or this page, Particle's cloud, your
//! webhook server) and an arrow per hop labelled with its time and the gap since the previous hop.

use serde_json::Value;
use webhook_demo_core::time::{iso8601_millis, parse_iso8601_millis};

use crate::render::view::Object;

/// Cycles kept (the newest), for the delivery log; the drawing shows the newest `DRAWN`.
pub const CYCLES: usize = 50;
pub const DRAWN: usize = 5;
/// How long Particle waits for a webhook server; a cycle without its last hop by then failed.
pub const GIVE_UP_MS: u64 = 20_000;

/// The hops of a cycle, in order, with the lanes each arrow joins (0 device, 1 cloud, 2 server).
const HOPS: [(&str, usize, usize, &str); 5] = [
    ("publish", 0, 1, "publish"),
    ("hook-sent", 1, 1, "hook sent"),
    ("request", 1, 2, "request received"),
    ("response", 2, 1, "response sent"),
    ("hook-response", 1, 0, "hook-response"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The publishing device (or `api`) and the event's `published_at`.
    pub key: (String, String),
    /// Milliseconds since the epoch of each hop in `HOPS` order, once it happened.
    pub at: [Option<u64>; 5],
    /// The relay's id of this cycle's request, to match its response.
    pub hook_id: Option<u64>,
    /// The last hop failed: Particle's error text, or why it never came.
    pub failure: Option<String>,
    /// What the in-page server answered: status and body size.
    pub answer: Option<(u16, usize)>,
    /// `hook-response` chunks received.
    pub chunks: u32,
}

impl Cycle {
    fn new(key: (String, String)) -> Cycle {
        Cycle {
            key,
            at: [None; 5],
            hook_id: None,
            failure: None,
            answer: None,
            chunks: 0,
        }
    }

    /// Whether every hop has happened (or the last failed).
    pub fn finished(&self) -> bool {
        self.at[4].is_some() || self.failure.is_some()
    }
}

/// The cycles shown, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub cycles: Vec<Cycle>,
}

impl Timeline {
    /// The cycle for `key`, made (and the oldest dropped) when it is new.
    fn cycle(&mut self, key: &(String, String)) -> &mut Cycle {
        if let Some(index) = self.cycles.iter().position(|c| &c.key == key) {
            return &mut self.cycles[index];
        }
        if self.cycles.len() == CYCLES {
            self.cycles.remove(0);
        }
        self.cycles.push(Cycle::new(key.clone()));
        self.cycles.last_mut().expect("just pushed")
    }

    /// The demo event was published. True when it starts a new cycle.
    pub fn published(&mut self, coreid: &str, published_at: &str) -> bool {
        let key = (coreid.to_owned(), published_at.to_owned());
        let new = !self.cycles.iter().any(|c| c.key == key);
        self.cycle(&key).at[0] = parse_iso8601_millis(published_at);
        new
    }

    /// The server received the cycle's request (its body names the device and `ts`).
    pub fn request(&mut self, key: (String, String), hook_id: u64, received_at: u64) {
        let cycle = self.cycle(&key);
        cycle.at[2] = Some(received_at);
        cycle.hook_id = Some(hook_id);
    }

    /// The server answered request `hook_id` with `status` and a body of `size` bytes.
    pub fn response(&mut self, hook_id: u64, responded_at: u64, status: u16, size: usize) {
        if let Some(cycle) = self
            .cycles
            .iter_mut()
            .rev()
            .find(|c| c.hook_id == Some(hook_id))
        {
            cycle.at[3] = Some(responded_at);
            cycle.answer = Some((status, size));
        }
    }

    /// A webhook event (`hook-sent`, `…hook-response…`, `…hook-error…`) for the newest cycle that
    /// still lacks it.
    pub fn webhook_event(&mut self, name: &str, data: &str, published_at: &str) {
        let at = parse_iso8601_millis(published_at);
        // Later chunks of a response count towards the cycle that got its first.
        if name.contains("hook-response") && !name.ends_with("/0") {
            if let Some(cycle) = self.cycles.iter_mut().rev().find(|c| c.at[4].is_some()) {
                cycle.chunks += 1;
            }
            return;
        }
        let (slot, failure) = if name.starts_with("hook-sent") {
            (1, None)
        } else if name.contains("hook-response") {
            (4, None)
        } else if name.contains("hook-error") {
            (4, Some(data.to_owned()))
        } else {
            return;
        };
        let Some(cycle) = self
            .cycles
            .iter_mut()
            .rev()
            .find(|c| c.at[slot].is_none() && c.failure.is_none())
        else {
            return;
        };
        match failure {
            Some(reason) => cycle.failure = Some(reason),
            None => {
                cycle.at[slot] = at;
                if slot == 4 {
                    cycle.chunks = 1;
                }
            }
        }
    }

    /// `now_ms` has come: a cycle still unfinished `GIVE_UP_MS` after its publish has failed.
    pub fn give_up(&mut self, key: &(String, String)) {
        if let Some(cycle) = self.cycles.iter_mut().find(|c| &c.key == key) {
            if !cycle.finished() {
                cycle.failure = Some("no answer within 20 s: Particle gave up".to_owned());
            }
        }
    }
}

/// One cycle, ready for the template.
#[derive(Debug)]
pub struct CycleView {
    pub key: String,
    pub title: String,
    pub height: u32,
    pub hops: Vec<HopView>,
}

/// One arrow.
#[derive(Debug)]
pub struct HopView {
    pub hop: &'static str,
    pub x1: u32,
    pub x2: u32,
    pub y: u32,
    /// Where the label starts.
    pub tx: u32,
    pub label: String,
    /// Milliseconds since the previous hop that happened (absent for the first).
    pub gap: Option<u64>,
    /// `done`, `waiting` or `failed`.
    pub status: &'static str,
}

impl CycleView {
    /// As the template reads it.
    pub fn to_json(&self) -> Value {
        let mut cycle = Object::default();
        cycle.set("key", self.key.as_str().into());
        cycle.set("title", self.title.as_str().into());
        cycle.set("height", self.height.into());
        let hops: Vec<Value> = self.hops.iter().map(HopView::to_json).collect();
        cycle.set("hops", hops.into());
        cycle.into()
    }
}

impl HopView {
    fn to_json(&self) -> Value {
        let mut hop = Object::default();
        hop.set("hop", self.hop.into());
        hop.set("x1", self.x1.into());
        hop.set("x2", self.x2.into());
        hop.set("y", self.y.into());
        hop.set("tx", self.tx.into());
        hop.set("label", self.label.as_str().into());
        hop.set("gap", self.gap.into());
        hop.set("status", self.status.into());
        hop.into()
    }
}

const LANE_X: [u32; 3] = [80, 300, 520];

/// The cycles as the template draws them, newest first.
pub fn view(timeline: &Timeline) -> Vec<CycleView> {
    timeline
        .cycles
        .iter()
        .rev()
        .take(DRAWN)
        .map(|cycle| {
            let mut previous: Option<u64> = None;
            let hops = HOPS
                .iter()
                .enumerate()
                .map(|(index, &(hop, from, to, name))| {
                    let failed = index == 4 && cycle.failure.is_some();
                    let at = cycle.at[index];
                    let gap = match (at, previous) {
                        (Some(at), Some(before)) => Some(at.saturating_sub(before)),
                        _ => None,
                    };
                    if at.is_some() {
                        previous = at;
                    }
                    let label = match (at, &cycle.failure) {
                        (_, Some(reason)) if failed => format!("hook-error: {reason}"),
                        (Some(at), _) => {
                            let time = iso8601_millis(at);
                            let clock = time.split_once('T').map_or(time.as_str(), |(_, t)| t);
                            match gap {
                                Some(gap) => format!("{name} {clock} (+{gap} ms)"),
                                None => format!("{name} {clock}"),
                            }
                        }
                        (None, _) => format!("{name}: waiting"),
                    };
                    HopView {
                        hop: if failed { "hook-error" } else { hop },
                        x1: LANE_X[from],
                        x2: if from == to {
                            LANE_X[to] + 40
                        } else {
                            LANE_X[to]
                        },
                        y: 40 + 26 * index as u32,
                        tx: LANE_X[from.min(to)] + 8,
                        label,
                        gap,
                        status: if failed {
                            "failed"
                        } else if at.is_some() {
                            "done"
                        } else {
                            "waiting"
                        },
                    }
                })
                .collect();
            CycleView {
                key: format!("{}@{}", cycle.key.0, cycle.key.1),
                title: format!("{} from {}", cycle.key.1, cycle.key.0),
                height: 40 + 26 * 5,
                hops,
            }
        })
        .collect()
}

/// One row of the delivery log.
#[derive(Debug)]
pub struct DeliveryView {
    pub time: String,
    pub event: String,
    /// `sent`, `response`, `error` or `throttled`.
    pub status: &'static str,
    pub answer_status: Option<u16>,
    /// From the request reaching your server to its answer, in ms.
    pub latency: Option<u64>,
    pub size: Option<usize>,
    pub chunks: u32,
}

impl DeliveryView {
    /// As the template reads it.
    pub fn to_json(&self) -> Value {
        let mut delivery = Object::default();
        delivery.set("time", self.time.as_str().into());
        delivery.set("event", self.event.as_str().into());
        delivery.set("status", self.status.into());
        delivery.set("answerStatus", self.answer_status.into());
        delivery.set("latency", self.latency.into());
        delivery.set("size", self.size.into());
        delivery.set("chunks", self.chunks.into());
        delivery.into()
    }
}

/// Every delivery attempt of the demo webhook, newest first.
pub fn deliveries(timeline: &Timeline) -> Vec<DeliveryView> {
    timeline
        .cycles
        .iter()
        .rev()
        .map(|cycle| DeliveryView {
            time: cycle
                .key
                .1
                .split_once('T')
                .map_or(cycle.key.1.as_str(), |(_, t)| t)
                .to_owned(),
            event: format!("WebhookDemo01 from {}", cycle.key.0),
            status: match (&cycle.failure, cycle.at[4], cycle.at[1]) {
                (Some(reason), _, _) if reason.starts_with("Sleeping") => "throttled",
                (Some(_), _, _) => "error",
                (None, Some(_), _) => "response",
                (None, None, Some(_)) => "sent",
                (None, None, None) => "published",
            },
            answer_status: cycle.answer.map(|(status, _)| status),
            latency: match (cycle.at[2], cycle.at[3]) {
                (Some(received), Some(answered)) => Some(answered.saturating_sub(received)),
                _ => None,
            },
            size: cycle.answer.map(|(_, size)| size),
            chunks: cycle.chunks,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "2026-11-28T10:00:00.100Z";

    #[test]
    fn hops_arrive_from_both_streams_in_any_order() {
        let mut timeline = Timeline::default();
        let key = ("api".to_owned(), AT.to_owned());
        // The request can overtake its event.
        let ms = |text: &str| parse_iso8601_millis(text).expect("a time");
        timeline.request(key.clone(), 7, ms("2026-11-28T10:00:00.160Z"));
        assert!(!timeline.published("api", AT), "the request made the cycle");
        timeline.webhook_event(
            "hook-sent/WebhookDemo01",
            "undefined",
            "2026-11-28T10:00:00.120Z",
        );
        timeline.response(7, ms("2026-11-28T10:00:00.170Z"), 200, 1300);
        timeline.webhook_event(
            "api/hook-response/WebhookDemo01/0",
            "{}",
            "2026-11-28T10:00:00.190Z",
        );
        timeline.webhook_event(
            "api/hook-response/WebhookDemo01/1",
            "{}",
            "2026-11-28T10:00:00.191Z",
        );
        timeline.webhook_event(
            "api/hook-response/WebhookDemo01/2",
            "{}",
            "2026-11-28T10:00:00.192Z",
        );
        let cycle = &timeline.cycles[0];
        assert!(cycle.finished());
        let log = deliveries(&timeline);
        assert_eq!(
            (
                log[0].status,
                log[0].answer_status,
                log[0].latency,
                log[0].size,
                log[0].chunks
            ),
            ("response", Some(200), Some(10), Some(1300), 3)
        );
        let view = view(&timeline);
        let gaps: Vec<Option<u64>> = view[0].hops.iter().map(|h| h.gap).collect();
        assert_eq!(gaps, [None, Some(20), Some(40), Some(10), Some(20)]);
        assert!(view[0].hops.iter().all(|h| h.status == "done"));
        assert_eq!(view[0].hops[0].label, "publish 10:00:00.100Z");
    }

    #[test]
    fn errors_and_silence_fail_the_last_hop() {
        let mut timeline = Timeline::default();
        timeline.published("api", AT);
        timeline.webhook_event(
            "api/hook-error/WebhookDemo01/0",
            "error status 500 from 127.0.0.1",
            AT,
        );
        let view = view(&timeline);
        let last = &view[0].hops[4];
        assert_eq!((last.hop, last.status), ("hook-error", "failed"));
        assert_eq!(deliveries(&timeline)[0].status, "error");
        assert!(last.label.contains("error status 500"));

        let key = ("e00f".to_owned(), "2026-11-28T10:01:00.000Z".to_owned());
        timeline.published(&key.0, &key.1);
        timeline.give_up(&key);
        assert_eq!(
            timeline.cycles[1].failure.as_deref(),
            Some("no answer within 20 s: Particle gave up")
        );
    }

    #[test]
    fn only_the_newest_cycles_are_kept_and_drawn() {
        let mut timeline = Timeline::default();
        for n in 0..(CYCLES + 3) {
            timeline.published(
                "api",
                &format!("2026-11-28T10:{:02}:{:02}.000Z", n / 60, n % 60),
            );
        }
        assert_eq!(timeline.cycles.len(), CYCLES);
        assert_eq!(timeline.cycles[0].key.1, "2026-11-28T10:00:03.000Z");
        assert_eq!(view(&timeline).len(), DRAWN);
        assert_eq!(deliveries(&timeline).len(), CYCLES);
        assert_eq!(deliveries(&timeline)[0].status, "published");
    }
}
