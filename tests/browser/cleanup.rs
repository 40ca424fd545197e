//! Cleanup against the sandbox as against Particle's cloud: Tinker goes back as
//! particle-cli puts it back (the device marked as a development device, then Particle's Tinker
//! binary for its platform uploaded with `file_type=binary`, never `{"app": "tinker"}`, which the
//! sandbox refuses), and the device runs Tinker afterwards; a product with an integration the
//! tutorial did not make lists it, keeps the product and says why unless the learner chooses to
//! delete it too. The binaries' license is served beside them.

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use serde_json::json;
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

/// Keeps, in `window.sent`, each request the page makes to the sandbox's API (method, path and
/// body: JSON as text, a form as its fields).
const RECORD: &str = "window.sent = []; const original = window.fetch; \
    window.fetch = async (input, init) => { \
      const request = new Request(input, init); \
      const url = new URL(request.url); \
      if (url.pathname.startsWith('/sandbox/v1/')) { \
        const type = request.headers.get('Content-Type') || ''; \
        const shown = type.startsWith('multipart/') \
          ? [...(await request.clone().formData()).entries()] \
              .map(([k, v]) => k + '=' + (v instanceof Blob ? 'file:' + v.name + ':' + v.size : v)).join('&') \
          : await request.clone().text(); \
        window.sent.push([request.method, url.pathname.slice(8), shown]); \
      } \
      return original(request); }; return true;";

const TOKEN: &str = "const token = sessionStorage.getItem('webhook-demo:token') || \
    localStorage.getItem('webhook-demo:token'); const auth = {Authorization: 'Bearer ' + token};";

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    // A sandbox of its own: the Boron in no product yet, whatever the checks before left it in.
    let server = start_server(Options::default()).await?;
    open(browser, &server.url).await?;
    // The license of the Tinker binaries the page serves, and the binaries themselves.
    let served = in_page(
        browser,
        "const license = await (await fetch('tinker/LICENSE.txt')).text(); \
         const notice = await (await fetch('tinker/NOTICE.txt')).text(); \
         const boron = await fetch('tinker/boron.bin'); \
         return [license.includes('Apache License'), notice.includes('particle-cli@3.43.1'), \
                 boron.status, (await boron.arrayBuffer()).byteLength > 1000];",
    )
    .await?;
    ensure!(
        served == json!([true, true, 200, true]),
        "tinker/ serves {served}"
    );

    set_up_with(browser, BORON).await?;
    let product = selected_product(browser).await?;
    // An integration the learner made elsewhere.
    let created = in_page(
        browser,
        &format!(
            "{TOKEN} const r = await fetch('/sandbox/v1/products/{product}/integrations', \
             {{method: 'POST', headers: {{...auth, 'Content-Type': 'application/json'}}, \
             body: JSON.stringify({{event: 'MyOwnEvent', url: 'http://127.0.0.1:9/mine'}})}}); \
             return r.status;"
        ),
    )
    .await?;
    ensure!(created == 200, "creating an integration answered {created}");

    // Clean up lists it; deleting it is off, so the product stays, and the page says why.
    in_page(browser, RECORD).await?;
    click(browser, "cleanupButton").await?;
    wait_for(browser, "#cleanupQuestion", "no question").await?;
    let others = texts(browser, "#cleanupOthers li").await?;
    ensure!(
        others == ["MyOwnEvent → http://127.0.0.1:9/mine"],
        "other integrations {others:?}"
    );
    let box_ticked = browser
        .client
        .find(Locator::Id("cleanupIntegrations"))
        .await?
        .prop("checked")
        .await?;
    ensure!(box_ticked.as_deref() == Some("false"), "the box is ticked");
    let kept = text_of(browser, "cleanupProductKept").await?;
    ensure!(
        kept.contains("The product stays: it still has another integration"),
        "why the product stays: {kept}"
    );
    let question = text_of(browser, "cleanupQuestion").await?;
    ensure!(
        question.contains("restore Tinker") && !question.contains("delete the product"),
        "question: {question}"
    );
    confirm_and_expect(browser, &["webhook", "tinker", "devices"]).await?;

    // Tinker went as particle-cli sends it: development first, then the binary.
    let sent = in_page(browser, "return window.sent;").await?;
    let sent = sent.as_array().context("recorded requests")?;
    ensure!(
        sent.iter()
            .all(|request| !request[2].as_str().unwrap_or_default().contains("\"app\"")),
        "a request flashed an app by name: {sent:?}"
    );
    let tinker: Vec<&serde_json::Value> = sent
        .iter()
        .filter(|request| request[0] == "PUT")
        .collect();
    ensure!(
        tinker.len() == 2
            && tinker[0][1] == format!("/v1/products/{product}/devices/{BORON}")
            && tinker[0][2] == r#"{"development":true}"#
            && tinker[1][1] == format!("/v1/devices/{BORON}")
            && tinker[1][2]
                .as_str()
                .is_some_and(|form| form.starts_with("file=file:boron.bin:")
                    && form.ends_with("&file_type=binary")),
        "Tinker's requests: {tinker:?}"
    );
    // And the Boron runs Tinker: its four functions, and digitalwrite answers.
    let runs_tinker = in_page(
        browser,
        &format!(
            "{TOKEN} for (let i = 0; i < 100; i++) {{ \
               const d = await (await fetch('/sandbox/v1/devices/{BORON}', {{headers: auth}})).json(); \
               if (d.online && d.functions.length === 4) {{ \
                 const r = await fetch('/sandbox/v1/devices/{BORON}/digitalwrite', {{method: 'POST', \
                   headers: {{...auth, 'Content-Type': 'application/json'}}, body: '{{\"arg\":\"D7,HIGH\"}}'}}); \
                 return [d.functions, (await r.json()).return_value]; }} \
               await new Promise(done => setTimeout(done, 100)); }} \
             return 'never ran Tinker';"
        ),
    )
    .await?;
    ensure!(
        runs_tinker
            == json!([
                ["digitalread", "digitalwrite", "analogread", "analogwrite"],
                1
            ]),
        "the Boron after cleanup: {runs_tinker}"
    );

    // Chosen, the other integration goes before the product.
    click(browser, "cleanupButton").await?;
    wait_for(browser, "#cleanupIntegrations", "no box for the other integration").await?;
    click(browser, "cleanupIntegrations").await?;
    click(browser, "cleanupButton").await?;
    wait_for(browser, "#cleanupQuestion", "no question").await?;
    let question = text_of(browser, "cleanupQuestion").await?;
    ensure!(
        question.contains("delete the product's other integration")
            && question.contains(&format!("({product}). Go ahead?")),
        "question: {question}"
    );
    confirm_and_expect(browser, &["webhook", "integrations", "product"]).await?;
    let gone = in_page(
        browser,
        &format!(
            "{TOKEN} return (await fetch('/sandbox/v1/products/{product}', {{headers: auth}})).status;"
        ),
    )
    .await?;
    ensure!(gone == 404, "the product answered {gone} after cleanup");
    sign_out(browser).await?;
    no_app_errors(browser).await
}

/// Confirms the cleanup and waits for it: exactly `steps` ran, each done.
async fn confirm_and_expect(browser: &Browser, steps: &[&str]) -> Result<()> {
    click(browser, "cleanupConfirm").await?;
    wait_for_state(browser, "cleanup", "done").await?;
    let ran = attrs(browser, "#cleanupProgress li", "data-step").await?;
    let outcomes = attrs(browser, "#cleanupProgress li", "data-outcome").await?;
    ensure!(
        ran == steps && outcomes.iter().all(|outcome| outcome == "done"),
        "steps {ran:?}: {outcomes:?}"
    );
    Ok(())
}
