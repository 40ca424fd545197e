//! What a store answers when it lets a session or a hook in, or does not: the words every store
//! speaks, below both stores and the handlers, so none of them depends on another for them.

use std::time::Duration;

use crate::session::Answer;

/// Why a session was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenRefused {
    /// The store holds as many sessions as it may.
    Full,
    /// This client holds as many sessions as one client may.
    ClientFull,
    /// This client's network holds as many sessions as one network may.
    NetworkFull,
}

/// A hook admitted under its session's rate limit, with its id and the answer settings to use;
/// or how long until the next one would be.
pub(crate) type Admission = Result<(u64, Answer), Duration>;

/// Why a session was not opened: a bound, or a store that cannot be reached.
#[derive(Debug)]
pub(crate) enum Refused {
    Open(OpenRefused),
    Store(StoreError),
}

/// The shared store failed (unreachable, or answered something unexpected); already logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;
