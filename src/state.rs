//! The app's one `State`, the closed set of messages that change it, and the pure `update`.
//!
//! Everything that happens in the page (a click, an HTTP reply, a stream message, a timer) becomes a
//! `Msg`; `update` changes the state and returns the `Effect`s the DOM layer must run. Nothing here
//! touches the browser, so it is unit-tested natively.

use webhook_demo_core::wire::Config;

/// Where the page's server configuration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerConfig {
    /// `config.json` has been asked for.
    Loading,
    /// The hosting server answered: it may offer a sandbox and a relay.
    Loaded(Config),
    /// The page is hosted as plain files (or the server did not answer): real cloud, no sandbox.
    Unavailable(String),
}

/// Everything the page knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub server: ServerConfig,
    /// The signed-in Particle user, once sign-in succeeded.
    pub user: Option<String>,
}

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The answer to `GET config.json`.
    ConfigLoaded(Result<Config, String>),
}

/// Work the DOM layer does on `update`'s behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    FetchConfig,
}

impl State {
    /// The state a fresh page starts in, and the effects that get it going.
    pub fn new() -> (State, Vec<Effect>) {
        (
            State {
                server: ServerConfig::Loading,
                user: None,
            },
            vec![Effect::FetchConfig],
        )
    }

    /// The sandbox's base path, when the hosting server offers one.
    pub fn sandbox(&self) -> Option<&str> {
        match &self.server {
            ServerConfig::Loaded(config) => config.sandbox.as_deref(),
            ServerConfig::Loading | ServerConfig::Unavailable(_) => None,
        }
    }
}

/// Applies `msg` to `state` and says what to do next.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::ConfigLoaded(Ok(config)) => state.server = ServerConfig::Loaded(config),
        Msg::ConfigLoaded(Err(reason)) => state.server = ServerConfig::Unavailable(reason),
    }
    Vec::new()
}

#[cfg(test)]
mod tests;
