// Drives a running `qalam serve` with the real ncalayer-js-client (the npm package, pinned in
// package.json) and prints what each call returned, as JSON on stdout.
//
// Input (stdin, or a file named by argv[2]):
//   {"url": "wss://127.0.0.1:13579",
//    "steps": [{"name": "tokens", "call": "getActiveTokens", "params": []}, ...]}
// A string parameter "!!name" stands for the client's static constant NCALayerClient.name
// (e.g. "!!basicsSignerAny"), so the test can use the package's own parameter sets.
//
// Output: {"version": "<greeting version>", "steps": [{"name", "ok", "result" | "error",
//          "canceledByUser", "request", "response"}, ...]}
// "request"/"response" are the raw frames the client sent and received (cut to 400 chars).
//
// TLS: run with NODE_EXTRA_CA_CERTS=<data-dir>/tls/root.pem so node trusts the server's root.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The client picks its WebSocket when its file is loaded: the global one if it exists (browsers,
// node >= 22), else the `ws` package. Set the global to `ws` first so every node version runs
// the same implementation (and node's TLS, which honours NODE_EXTRA_CA_CERTS).
globalThis.WebSocket = require('ws');
const { NCALayerClient } = require('ncalayer-js-client');

const CUT = 400;
const cut = (text) => (typeof text === 'string' && text.length > CUT ? `${text.slice(0, CUT)}…` : text);

function resolveParam(param) {
  if (typeof param === 'string' && param.startsWith('!!')) {
    return NCALayerClient[param.slice(2)];
  }
  return param;
}

async function main() {
  const source = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : readFileSync(0, 'utf8');
  const plan = JSON.parse(source);
  // allowKmdHttpApi=false: never send documents to KAZTOKEN's HTTP API even if something
  // answers on 24680 (connect() still probes it, as it does in every browser).
  const client = new NCALayerClient(plan.url, false);
  let request = null;
  let response = null;
  client.onRequestReady = (text) => { request = text; };
  client.onResponseReady = (text) => { response = text; };

  const out = { version: null, steps: [] };
  out.version = await client.connect();

  for (const step of plan.steps) {
    request = null;
    response = null;
    const record = { name: step.name, call: step.call };
    try {
      // eslint-disable-next-line no-await-in-loop
      record.result = await client[step.call](...(step.params || []).map(resolveParam));
      record.ok = true;
    } catch (error) {
      record.ok = false;
      record.error = String(error && error.message);
      record.errorName = error && error.name;
      record.canceledByUser = Boolean(error && error.canceledByUser);
    }
    record.request = cut(request);
    record.response = cut(response);
    out.steps.push(record);
  }

  client.wsConnection.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`drive.mjs: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
