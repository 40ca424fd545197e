// Loads the tutorial's WebAssembly module; its start function renders the page into #app.
import init from "./webhook_demo.js";

init({ module_or_path: new URL("webhook_demo_bg.wasm", import.meta.url) });
