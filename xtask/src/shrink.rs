//! Making the page's WebAssembly small, beyond what the compiler and `wasm-opt` do alone.
//!
//! The page never parses a Handlebars template: `build.rs` compiles them when the app is built, and
//! the page registers the compiled templates. Handlebars still links its parser, because paths the
//! page never takes reach it at run time (reloading templates in dev mode, partials given
//! parameters). So after `wasm-bindgen` the parser's entry points are replaced with `unreachable`
//! (what the `wasm-snip` tool does), and `wasm-opt` then drops everything only they reached: about
//! a sixth of the module. Were the page ever to call one, it would trap with an error in the
//! console, which every browser check fails on.

use std::path::Path;

use anyhow::{Context, Result, bail};
use walrus::{FunctionKind, Module};

/// Name prefixes of the functions the page never calls (the name section's demangled names).
const NEVER_CALLED: [&str; 3] = [
    // The template compiler, reached through dev mode's reloading.
    "handlebars::template::Template::compile2::",
    // A JSON path from text, reached through partials given a context parameter.
    "handlebars::json::path::Path::parse::",
    // The grammar itself, every rule included.
    "<handlebars::grammar::HandlebarsParser as pest::parser::Parser<handlebars::grammar::Rule>>::parse",
];

/// Runs `wasm-bindgen` on the compiled app (`wasm`), snips the functions in [`NEVER_CALLED`] and
/// writes the module and its JavaScript glue into `out`.
pub fn bindgen(wasm: &Path, out: &Path) -> Result<()> {
    let mut output = wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)?
        .typescript(false)
        .generate_output()
        .with_context(|| format!("generating JS bindings for {}", wasm.display()))?;
    snip(output.wasm_mut())?;
    output
        .emit(out)
        .with_context(|| format!("writing the page's module into {}", out.display()))
}

/// Replaces the body of every function named by [`NEVER_CALLED`] with `unreachable`.
fn snip(module: &mut Module) -> Result<()> {
    let mut snipped = [0usize; NEVER_CALLED.len()];
    for function in module.funcs.iter_mut() {
        let Some(index) = function.name.as_deref().and_then(|name| {
            NEVER_CALLED
                .iter()
                .position(|prefix| name.starts_with(prefix))
        }) else {
            continue;
        };
        if let FunctionKind::Local(local) = &mut function.kind {
            let mut body = local.builder_mut().func_body();
            body.instrs_mut().clear();
            body.unreachable();
            snipped[index] += 1;
        }
    }
    for (prefix, count) in NEVER_CALLED.iter().zip(snipped) {
        if count == 0 {
            // A new handlebars release renamed it: look at `twiggy top` and update the list.
            bail!("no function of the page's module is named {prefix}…");
        }
    }
    Ok(())
}
