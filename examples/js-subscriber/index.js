#!/usr/bin/env node
// Prints tickd's signals and bars (and, with --bbo, best bid and offer
// updates) from NATS, one readable line per message.
//
//   npm ci
//   node index.js [--server nats://127.0.0.1:4222] [--prefix tickd] [--bbo] [--count N]
//
// The payloads are tickd's JSON records, described field by field in
// schema/tickd-messages.schema.json. When it has subscribed, it says so on
// stderr, as it does of a payload that is not JSON; with --count it exits
// after N messages.
'use strict';

const { connect } = require('nats');

function usage() {
  return 'usage: node index.js [--server URL] [--prefix tickd] [--bbo] [--count N]';
}

function parseArgs(argv) {
  const opts = { server: 'nats://127.0.0.1:4222', prefix: 'tickd', bbo: false, count: 0 };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value; ${usage()}`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--server': opts.server = value(); break;
      case '--prefix': opts.prefix = value(); break;
      case '--bbo': opts.bbo = true; break;
      case '--count': {
        const v = value();
        if (!/^[0-9]+$/.test(v)) throw new Error(`--count ${v}: not a whole number`);
        opts.count = Number(v);
        break;
      }
      case '-h': case '--help': console.log(usage()); process.exit(0); break;
      default: throw new Error(`unknown argument ${argv[i]}; ${usage()}`);
    }
  }
  return opts;
}

// Fields holding int64 nanoseconds since the Unix epoch. They are ~1.8e18,
// past Number.MAX_SAFE_INTEGER (2^53 - 1), so JSON.parse would round them
// (by up to 256 ns) without a word. decodeTickd turns them into BigInt.
const NANOS = ['ts_event', 'ts_recv', 'ts_pub', 'start', 'interval_ns'];
const NANOS_RE = new RegExp(`"(${NANOS.join('|')})":(-?[0-9]+)`, 'g');
// NANOS_TAG marks the numbers decodeTickd quoted, so that a string field
// of the same name (a rule parameter called "start") stays a string.
const NANOS_TAG = '\u0000';

// decodeTickd parses one tickd payload. Before JSON.parse it quotes each
// NANOS key's bare number with a NUL tag in front; the reviver turns tagged
// strings into BigInt. The regular expression cannot match inside a JSON
// string, where every '"' is escaped.
//
// Prices ("price", "open", "bid", a bar's "vwap", ...) stay the strings
// tickd sent. They are exact decimals with up to 9 fractional digits and
// up to 19 significant digits; a JavaScript number (a binary double) holds
// 15 to 17, so parseFloat would quietly change "12345678.123456789" and
// turn sums like 0.1 + 0.2 into 0.30000000000000004. Keep them as text, or
// do arithmetic on priceNanos below.
function decodeTickd(text) {
  return JSON.parse(text.replace(NANOS_RE, '"$1":"\\u0000$2"'), (key, value) =>
    (typeof value === 'string' && value.startsWith(NANOS_TAG) && NANOS.includes(key)
      ? BigInt(value.slice(1)) : value));
}

// priceNanos turns a decimal price string into an exact BigInt count of
// 1e-9 units, tickd's own fixed point, for exact arithmetic.
function priceNanos(s) {
  const m = /^(-?)([0-9]+)(?:\.([0-9]{1,9}))?$/.exec(s);
  if (!m) throw new Error(`price ${JSON.stringify(s)} is not a decimal with at most 9 fractional digits`);
  const n = BigInt(m[2]) * 1000000000n + BigInt((m[3] || '').padEnd(9, '0'));
  return m[1] === '-' ? -n : n;
}

// formatNanos renders 1e-9 units back as the shortest exact decimal.
function formatNanos(n) {
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  const frac = (abs % 1000000000n).toString().padStart(9, '0').replace(/0+$/, '');
  return sign + (abs / 1000000000n).toString() + (frac ? '.' + frac : '');
}

// clock renders ns since the epoch as UTC time of day with microseconds.
function clock(ns) {
  const ms = ns / 1000000n;
  const micros = (ns / 1000n) % 1000n;
  return new Date(Number(ms)).toISOString().slice(11, 23) + micros.toString().padStart(3, '0');
}

function formatValues(values) {
  return Object.keys(values).sort()
    .map((k) => `${k}=${values[k] === null ? 'null' : values[k]}`).join(' ');
}

function formatMessage(m) {
  switch (m.kind) {
    case 'signal':
      return `SIGNAL ${clock(m.ts_event)} ${m.symbol} ${m.rule} ${m.dir} price=${m.price} ${formatValues(m.values)}`.trimEnd();
    case 'bar':
      return `BAR    ${clock(m.start)} ${m.symbol} ${m.interval} O=${m.open} H=${m.high} L=${m.low} C=${m.close} ` +
        `V=${m.volume} VWAP=${m.vwap} n=${m.count}`;
    case 'bbo': {
      const side = (p, size, orders) => `${p === null ? '-' : p} x ${size} (${orders})`;
      const spread = m.bid !== null && m.ask !== null
        ? ` spread=${formatNanos(priceNanos(m.ask) - priceNanos(m.bid))}` : '';
      return `BBO    ${clock(m.ts_event)} ${m.symbol} bid=${side(m.bid, m.bid_size, m.bid_orders)} ` +
        `ask=${side(m.ask, m.ask_size, m.ask_orders)}${spread}`;
    }
    default:
      return `${String(m.kind).toUpperCase()} ${JSON.stringify(m, (k, v) => (typeof v === 'bigint' ? v.toString() : v))}`;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let nc;
  try {
    nc = await connect({ servers: opts.server, name: 'tickd js-subscriber' });
  } catch (err) { // nats.js says only CONNECTION_REFUSED, not to what
    throw new Error(`connect ${opts.server}: ${err.message}`);
  }
  const subjects = [`${opts.prefix}.signal.>`, `${opts.prefix}.bar.>`];
  if (opts.bbo) subjects.push(`${opts.prefix}.bbo.>`);

  let seen = 0;
  const handle = (err, msg) => {
    if (err) {
      console.error(`js-subscriber: ${err.message}`);
      return;
    }
    if (opts.count > 0 && seen >= opts.count) return;
    let line;
    try {
      line = formatMessage(decodeTickd(msg.string()));
    } catch (e) { // not a tickd record: reported, not counted
      console.error(`js-subscriber: invalid message on ${msg.subject}: ${e.message}`);
      return;
    }
    console.log(line);
    seen++;
    if (opts.count > 0 && seen === opts.count) nc.close();
  };
  for (const subject of subjects) nc.subscribe(subject, { callback: handle });
  await nc.flush(); // the server has the subscriptions: nothing published from now on is missed
  console.error(`js-subscriber: subscribed to ${subjects.join(' ')} on ${opts.server}`);

  const stop = () => nc.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const err = await nc.closed();
  if (err) throw err;
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`js-subscriber: ${err.message}`);
    process.exitCode = 1;
  });
}

module.exports = { decodeTickd, priceNanos, formatNanos, formatMessage };
