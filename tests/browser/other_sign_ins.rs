//! Signing in with a token, with a password and MFA, and what a revoked token does.

use anyhow::{Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    // A token from `particle token create`, pasted, signed in to the sandbox.
    let token = sandbox_token(browser, "sandbox%40example.com").await?;
    choose(browser, "apiBaseSelect", "sandbox").await?;
    type_into(browser, "tokenInput", &token).await?;
    click(browser, "tokenSignIn").await?;
    // The same user: their picks come back.
    wait_for_state(browser, "add-device", "in-product").await?;
    ensure!(
        text_of(browser, "signedInUser").await? == SANDBOX_USER,
        "token user"
    );

    // The token is revoked elsewhere: the next call returns the learner to sign-in, saying why.
    let revoked = in_page(
        browser,
        &format!(
            "const r = await fetch('/sandbox/v1/access_tokens/current', {{method: 'DELETE', \
             headers: {{Authorization: 'Bearer {token}'}}}}); return r.status;"
        ),
    )
    .await?;
    ensure!(revoked == 200, "revoking answered {revoked}");
    click(browser, "refreshDevices").await?;
    wait_for_state(browser, "sign-in", "signed-out").await?;
    let alert = browser
        .client
        .find(Locator::Css(
            "section[data-panel=\"sign-in\"] [role=\"alert\"]",
        ))
        .await?
        .text()
        .await?;
    ensure!(alert.contains("invalid or has expired"), "alert: {alert}");

    // Password and the MFA code, against the sandbox; another user's picks are not applied.
    mfa_sign_in(browser).await?;
    wait_for_state(browser, "select-device", "no-device").await?;
    ensure!(
        text_of(browser, "signedInUser").await? == MFA_USER,
        "mfa user"
    );
    expect_state(
        browser,
        "add-device",
        "no-device",
        "another user's picks applied",
    )
    .await?;
    sign_out(browser).await?;
    // The refusals this check provoked are logged by the browser; the app itself logs nothing.
    let errors = browser.console_errors().await?;
    let expected = [
        "/v1/devices - Failed",
        "/oauth/token - Failed",
        "/oauth/token - Failed",
    ];
    ensure!(
        errors.len() == expected.len() && errors.iter().zip(expected).all(|(e, x)| e.contains(x)),
        "console errors: {errors:?}"
    );
    Ok(())
}
