// The sandbox and the relay driven by Particle's own JavaScript client, particle-api-js, through
// the tutorial's whole loop: sign in, devices, a product, the device added to it, a webhook to a
// relay session, an event published, the webhook's request at the relay and its answer back on
// the product's event stream, then clean-up. Run by `particle_api_js.rs` with the server's origin;
// exits non-zero naming the step that failed.
'use strict';

const Particle = require('particle-api-js');

const origin = process.argv[2];
const particle = new Particle({ baseUrl: `${origin}/sandbox` });
const WAIT_MS = 10000;

async function step(name, call) {
  try {
    return await call();
  } catch (error) {
    const body = error.body ? JSON.stringify(error.body) : '';
    throw new Error(`${name}: ${error.statusCode || ''} ${error.message} ${body}`);
  }
}

function check(condition, what) {
  if (!condition) {
    throw new Error(what);
  }
}

// Resolves with the first item `matches` accepts among those `source` has seen or will see.
function waitFor(source, matches, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
    const look = () => {
      const found = source.seen.find(matches);
      if (found) {
        clearTimeout(timer);
        resolve(found);
        return true;
      }
      return false;
    };
    if (!look()) {
      source.waiters.push(look);
    }
  });
}

function collector() {
  const source = { seen: [], waiters: [] };
  source.add = (item) => {
    source.seen.push(item);
    source.waiters = source.waiters.filter((look) => !look());
  };
  return source;
}

// Opens a relay session; its events (`{event, data}`) are collected as they arrive.
async function relaySession() {
  const response = await fetch(`${origin}/relay/stream`);
  check(response.ok, `relay stream answered ${response.status}`);
  const events = collector();
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  let buffer = '';
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) {
          events.add({ event, data: JSON.parse(data) });
        }
      }
    }
  })().catch(() => {});
  const start = await waitFor(events, (e) => e.event === 'start', 'the relay start event');
  return { hookUrl: start.data.hookUrl, events, close: () => reader.cancel() };
}

async function main() {
  const login = await step('login', () =>
    particle.login({ username: 'sandbox@example.com', password: 'sandbox' }));
  const auth = login.body.access_token;
  check(auth, 'login gave no access token');

  const user = await step('getUserInfo', () => particle.getUserInfo({ auth }));
  check(user.body.username === 'sandbox@example.com', `signed in as ${user.body.username}`);

  const devices = await step('listDevices', () => particle.listDevices({ auth }));
  const p2 = devices.body.find((d) => d.name === 'sandbox-p2');
  check(p2, `no sandbox-p2 among ${JSON.stringify(devices.body.map((d) => d.name))}`);
  await step('getDevice', () => particle.getDevice({ deviceId: p2.id, auth }));

  // particle-api-js cannot create products; the tutorial does it with a plain request.
  const created = await fetch(`${origin}/sandbox/v1/user/products`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${auth}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ product: { name: 'api-js', platform_id: p2.platform_id } }),
  });
  check(created.ok, `creating a product answered ${created.status}`);
  const product = (await created.json()).product.id;
  const products = await step('listProducts', () => particle.listProducts({ auth }));
  check(products.body.products.some((p) => p.id === product), 'the new product is not listed');
  await step('getProduct', () => particle.getProduct({ product, auth }));

  await step('addDeviceToProduct', () =>
    particle.addDeviceToProduct({ deviceId: p2.id, product, auth }));
  const members = await step('listDevices in the product', () =>
    particle.listDevices({ product, auth }));
  check(members.body.devices.some((d) => d.id === p2.id), 'the device is not in the product');

  const relay = await relaySession();
  const integration = await step('createIntegration', () => particle.createIntegration({
    product,
    event: 'WebhookDemo01',
    settings: {
      integration_type: 'Webhook',
      url: relay.hookUrl,
      requestType: 'POST',
      noDefaults: true,
      json: { deviceId: '{{{PARTICLE_DEVICE_ID}}}', sensor: '{{{PARTICLE_EVENT_VALUE}}}' },
      headers: { Authorization: 'Bearer api-js-secret' },
    },
    auth,
  }));
  const hookId = integration.body.id;
  check(hookId, `no integration id in ${JSON.stringify(integration.body)}`);
  const listed = await step('listIntegrations', () => particle.listIntegrations({ product, auth }));
  check(listed.body.some((i) => i.id === hookId), 'the integration is not listed');

  const stream = await step('getEventStream', () => particle.getEventStream({ product, auth }));
  const cloud = collector();
  stream.on('event', (event) => cloud.add(event));
  await step('publishEvent', () => particle.publishEvent({
    name: 'WebhookDemo01', data: '{"t":25}', isPrivate: true, product, auth,
  }));

  await waitFor(cloud, (e) => e.name === 'WebhookDemo01' && e.data === '{"t":25}',
    'the published event on the product stream');
  const hook = await waitFor(relay.events,
    (e) => e.event === 'hook' && (e.data.body || '').includes('{\\"t\\":25}'),
    'the webhook at the relay');
  const headers = Object.fromEntries(hook.data.headers);
  check(headers['Authorization'] === 'Bearer api-js-secret',
    `the webhook's headers: ${JSON.stringify(hook.data.headers)}`);
  check(JSON.parse(hook.data.body).sensor === '{"t":25}', `the webhook's body: ${hook.data.body}`);
  const answer = await waitFor(cloud, (e) => e.name.includes('hook-response/WebhookDemo01'),
    'the hook-response event');
  check(JSON.parse(answer.data).ok === true, `the hook-response data: ${answer.data}`);
  stream.abort();
  relay.close();

  await step('deleteIntegration', () =>
    particle.deleteIntegration({ integrationId: hookId, product, auth }));
  await step('removeDevice', () => particle.removeDevice({ deviceId: p2.id, product, auth }));
  await step('deleteCurrentAccessToken', () => particle.deleteCurrentAccessToken({ auth }));
  const after = await particle.getUserInfo({ auth }).then(() => 200, (error) => error.statusCode);
  check(after === 401, `a revoked token still answered ${after}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error.message);
    process.exit(1);
  },
);
