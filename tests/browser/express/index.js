// The part of Express the Express starter server uses, on Node's own `http`, so the browser check
// can run the starter exactly as the page generates it without fetching Express from npm:
// `app.use`, `app.get`, `app.post`, `app.listen`, `express.json()` (a body that is not JSON is
// answered 400, as Express's body-parser answers it), `req.get`, `req.body`, `req.method`,
// `res.set`, `res.status`, `res.type`, `res.send`, `res.json` and `res.sendStatus`.
'use strict';
const http = require('http');

function express() {
  const stack = [];
  const app = {
    use: (fn) => stack.push((req, res, next) => fn(req, res, next)),
    get: (path, fn) => stack.push((req, res, next) => (req.method === 'GET' && req.path === path ? fn(req, res) : next())),
    post: (path, fn) => stack.push((req, res, next) => (req.method === 'POST' && req.path === path ? fn(req, res) : next())),
    listen: (port, done) => http.createServer((req, res) => handle(stack, req, res)).listen(port, '127.0.0.1', done),
  };
  return app;
}

function handle(stack, req, res) {
  req.path = req.url.split('?')[0];
  req.get = (name) => req.headers[name.toLowerCase()];
  res.statusCode = 200;
  res.set = (fields) => { for (const [k, v] of Object.entries(fields)) res.setHeader(k, v); return res; };
  res.status = (code) => { res.statusCode = code; return res; };
  res.type = (type) => { res.setHeader('Content-Type', type); return res; };
  res.send = (body) => { res.end(body); return res; };
  res.json = (value) => res.type('application/json').send(JSON.stringify(value));
  res.sendStatus = (code) => res.status(code).send('');
  let i = 0;
  const next = (error) => {
    if (error) return res.status(error.status || 500).send('');
    const layer = stack[i++];
    if (!layer) return res.status(404).send('');
    try { layer(req, res, next); } catch (e) { res.status(500).send(''); }
  };
  next();
}

express.json = () => (req, res, next) => {
  if (!(req.headers['content-type'] || '').startsWith('application/json')) return next();
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { text += chunk; });
  req.on('end', () => {
    try { req.body = text ? JSON.parse(text) : {}; } catch (e) { return next({status: 400}); }
    next();
  });
};

module.exports = express;
