import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { encodeBody, toPayloadJson } from '../../src/batching/encode.js';

const event = { type: 'track', event: 'e', time: 1, time_free: false, properties: { a: '🙂' } };

describe('toPayloadJson', () => {
  test('builds {client_id, event_list} from the items JSON', () => {
    const json = toPayloadJson({ clientId: 'c"1', clientIp: undefined, clientUa: undefined, eventJson: [JSON.stringify(event), '{"x":1}'], bytes: 0 });
    assert.deepEqual(JSON.parse(json), { client_id: 'c"1', event_list: [event, { x: 1 }] });
    assert.deepEqual(Object.keys(JSON.parse(json) as object), ['client_id', 'event_list']);
  });

  test('adds client_ip and client_ua at the top level when present, in that order', () => {
    const json = toPayloadJson({ clientId: 'c', clientIp: '10.0.0.1', clientUa: 'UA "1"', eventJson: [JSON.stringify(event)], bytes: 0 });
    const parsed = JSON.parse(json) as object;
    assert.deepEqual(parsed, { client_id: 'c', client_ip: '10.0.0.1', client_ua: 'UA "1"', event_list: [event] });
    assert.deepEqual(Object.keys(parsed), ['client_id', 'client_ip', 'client_ua', 'event_list']);
  });
});

describe('encodeBody', () => {
  test('gzip gives gzip bytes (magic 1f 8b) that decode to the JSON', async () => {
    const json = JSON.stringify({ client_id: 'c', event_list: [event] });
    const { body, compressed } = await encodeBody(json, 'gzip');
    assert.equal(compressed, true);
    assert.deepEqual([...body.subarray(0, 2)], [0x1f, 0x8b]);
    assert.equal(gunzipSync(body).toString('utf8'), json);
  });

  test('none gives the UTF-8 JSON as is', async () => {
    const json = JSON.stringify({ client_id: 'c', event_list: [event] });
    const { body, compressed } = await encodeBody(json, 'none');
    assert.equal(compressed, false);
    assert.equal(body.toString('utf8'), json);
  });
});
