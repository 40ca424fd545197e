//! End-to-end tests in a real browser: the real server on `127.0.0.1:0`, the real page, headless
//! Chromium over WebDriver. One browser serves every check; checks run in order and report like a
//! test runner ("N passed, N failed").
//!
//! A check is one file here with `pub async fn run(browser, server)`, and one line in `checks!`
//! below. What checks share (the server, the browser, the waits, the sandbox's fixture) is in
//! `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

use std::{future::Future, pin::Pin, process::ExitCode};

use anyhow::Result;
use support::{Browser, Server, start_server};
use webhook_demo_server::Options;

type Check = for<'a> fn(&'a Browser, &'a Server) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// Declares each check's module and lists the checks in the order they run, with their names.
macro_rules! checks {
    ($($module:ident: $name:literal,)*) => {
        $(mod $module;)*
        const CHECKS: &[(&str, Check)] = &[$(($name, |browser, server| Box::pin($module::run(browser, server)))),*];
    };
}

checks! {
    panels: "every_panel_renders_signed_out_without_console_errors",
    every_state: "the_shipped_page_renders_every_template_and_helper",
    collapse: "the_collapse_opens",
    sign_in: "sandbox_sign_in_lists_devices_and_sign_out_returns",
    picks: "add_device_then_reload_keeps_the_picks_per_user",
    other_sign_ins: "token_mfa_and_revoked_token_sign_ins",
    demo: "the_live_demo_shows_every_hop",
    firmware: "the_firmware_is_shown_downloaded_and_flashed",
    relay_drops: "relay_drops_lose_no_hook",
    streams: "a_silent_stream_is_noticed_and_reopened_and_a_529_is_waited_out",
    relay_answer: "a_relay_answer_cannot_script_the_tutorial",
    smee: "a_smee_channel_can_stand_in_for_the_relay",
    device_names: "device_names_are_shown_as_text",
    no_sandbox: "no_sandbox_means_no_sandbox_button",
    journey: "the_journey_in_order_readable_selectable_and_failing_on_purpose",
    late_answer: "an_answer_after_the_cloud_gave_up_reads_as_a_timeout_everywhere",
    retries: "a_retry_rescues_a_delivery_and_the_table_holds_the_event_once",
    forward: "forward_to_my_server_and_a_refused_forward_explained",
    check_server: "check_your_server_passes_the_starters_and_fails_each_fault",
    inspector: "a_selected_request_stays_while_a_device_publishes_every_second",
    hostile_order: "cards_keep_their_slots_when_the_streams_deliver_in_hostile_orders",
    device_log: "the_device_log_shows_times_and_follows_its_newest_line",
    keyboard: "the_tutorial_works_with_the_keyboard_only",
    next_action: "after_each_step_the_next_action_is_focused_and_in_view",
    leaving: "leaving_a_running_demo_asks_first_and_no_keeps_the_run",
    reload: "a_reload_mid_run_resumes_it_and_test_works_without_start",
    phone: "a_phone_never_scrolls_sideways_with_a_63_character_device_name",
    summary: "the_opening_pictures_the_loop_and_the_end_sums_up_the_learners_run",
    looks: "the_page_looks_right_to_axe_and_on_a_phone_in_light_and_dark",
    load_balancer: "through_a_load_balancer_a_killed_instance_loses_no_hook",
    worlds_balancer: "two_learners_keep_their_own_worlds_when_an_instance_dies",
    cleanup: "cleanup_restores_tinker_as_particle_cli_does_and_lists_other_integrations",
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let setup = async {
            let server = start_server(Options::default()).await?;
            let browser = Browser::launch().await?;
            Ok::<_, anyhow::Error>((server, browser))
        };
        let (server, browser) = match setup.await {
            Ok(both) => both,
            Err(error) => {
                eprintln!("browser tests could not start: {error:#}");
                return ExitCode::FAILURE;
            }
        };
        // `cargo test --test browser -- WORD` runs only the checks whose names contain WORD.
        let filter: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let (mut passed, mut failed) = (0, 0);
        for (name, check) in CHECKS {
            if !filter.is_empty() && !filter.iter().any(|word| name.contains(word.as_str())) {
                continue;
            }
            match check(&browser, &server).await {
                Ok(()) => {
                    eprintln!("test {name} ... ok");
                    passed += 1;
                }
                Err(error) => {
                    eprintln!("test {name} ... FAILED\n    {error:#}");
                    failed += 1;
                }
            }
        }
        if let Err(error) = browser.close().await {
            eprintln!("closing the browser: {error:#}");
        }
        eprintln!("\nbrowser: {passed} passed, {failed} failed");
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}
