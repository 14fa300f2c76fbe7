// Unit tests of the subscriber's decoding helpers (node --test); the live
// run against tickd is in the Go tests of package examples.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { decodeTickd, priceNanos, formatNanos, formatMessage } = require('./index.js');

test('nanosecond times survive exactly as BigInt; prices stay strings', () => {
  const m = decodeTickd('{"kind":"signal","symbol":"A\\"ts_event\\":1","ts_event":1700000000100000001,' +
    '"ts_recv":-5,"price":"412.123456789","params":{"start":"9"},"values":{"price":412.123456789}}');
  assert.equal(m.ts_event, 1700000000100000001n); // JSON.parse alone gives 1700000000100000000
  assert.equal(m.ts_recv, -5n);
  assert.equal(m.symbol, 'A"ts_event":1'); // an escaped lookalike inside a string is left alone
  assert.equal(m.price, '412.123456789');
  assert.deepEqual(m.params, { start: '9' });
  assert.equal(m.values.price, 412.123456789);
});

test('priceNanos and formatNanos are exact and inverse', () => {
  for (const s of ['0', '412.5', '-0.000000001', '12345678.123456789', '9223372036.854775807']) {
    assert.equal(formatNanos(priceNanos(s)), s);
  }
  assert.equal(priceNanos('0.1') + priceNanos('0.2'), priceNanos('0.3')); // unlike 0.1 + 0.2 in floats
  assert.equal(formatNanos(priceNanos('412.75') - priceNanos('412.25')), '0.5');
  for (const bad of ['1e5', '.5', '1.0000000001', '', '12a']) {
    assert.throws(() => priceNanos(bad), /not a decimal/);
  }
});

test('a BBO with an empty side prints "-" and no spread', () => {
  const line = formatMessage(decodeTickd('{"kind":"bbo","symbol":"X","ts_event":1700000000001000000,' +
    '"bid":null,"ask":"1.5","bid_size":0,"ask_size":7,"bid_orders":0,"ask_orders":2}'));
  assert.equal(line, 'BBO    22:13:20.001000 X bid=- x 0 (0) ask=1.5 x 7 (2)');
});
