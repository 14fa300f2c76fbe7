#!/usr/bin/env node
// Checks tickd messages against the JSON Schema (draft 2020-12) in
// schema/tickd-messages.schema.json.
//
//   node validate.js [--schema PATH] < messages.jsonl
//
// Reads one JSON message per line from stdin (blank lines are skipped) and
// prints "ok <kind>" or "invalid <line>: <reasons>" for each. Exits 1 if any
// line is invalid, 2 on a usage or schema error. tickd's Go tests use it to
// check live messages of every kind, so a field whose type drifts from the
// schema fails the build.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
// The draft 2020-12 build of Ajv; the default export speaks draft-07.
const Ajv2020 = require('ajv/dist/2020');

function parseArgs(argv) {
  const opts = { schema: path.join(__dirname, '..', '..', 'schema', 'tickd-messages.schema.json') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--schema' && i + 1 < argv.length) {
      opts.schema = argv[++i];
    } else {
      throw new Error(`unknown argument ${argv[i]} (usage: node validate.js [--schema PATH] < messages.jsonl)`);
    }
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // strict: a typo in the schema (an unknown keyword) is an error, not
  // a rule silently ignored.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const validate = ajv.compile(JSON.parse(fs.readFileSync(opts.schema, 'utf8')));

  let line = 0;
  let bad = 0;
  for await (const text of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      bad++;
      console.log(`invalid ${line}: not JSON: ${err.message}`);
      continue;
    }
    if (validate(msg)) {
      console.log(`ok ${msg.kind}`);
      continue;
    }
    bad++;
    const reasons = validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`);
    console.log(`invalid ${line}: ${[...new Set(reasons)].join('; ')}`);
  }
  return bad === 0 ? 0 : 1;
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`validate: ${err.message}`); process.exitCode = 2; },
);
