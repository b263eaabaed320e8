import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { decodeLine, encodeLine, parseLines } from '../../src/spool/line-format.js';
import { eventJsonFor } from '../helpers/spool-fixtures.js';

function decodeWhole(line: Buffer) {
  return decodeLine(line, 0, line.length - 1);
}

describe('spool line format', () => {
    it('writes one line: the CRC-32 of the JSON as 8 hex digits, a space, the JSON, a newline', () => {
    const line = encodeLine({ clientId: 'u1', eventJson: eventJsonFor(1) });
    const text = line.toString('utf8');
    const json = text.slice(9, -1);
    assert.match(text, /^[0-9a-f]{8} \{.*\}\n$/);
    assert.equal(text.slice(0, 8), crc32(Buffer.from(json)).toString(16).padStart(8, '0'));
    assert.deepEqual(JSON.parse(json), { c: 'u1', e: eventJsonFor(1) });
  });

  it('round-trips client ip, user agent and the event JSON byte for byte, newlines and non-ASCII included', () => {
    const record = { clientId: '用户-1', clientIp: '10.0.0.1', clientUa: 'curl/8', eventJson: '{"time": 1700000000000,\n "properties": {"名字":"剑 ⚔"}}' };
    const line = encodeLine(record);
    assert.equal(line.indexOf(0x0a), line.length - 1);
    assert.deepEqual(decodeWhole(line), record);
  });

  it('rejects a line whose bytes changed after it was written', () => {
    const line = encodeLine({ clientId: 'u1', eventJson: eventJsonFor(1) });
    line[line.indexOf('purchase')] = 'P'.charCodeAt(0);
    assert.equal(decodeWhole(line), undefined);
  });

  it('rejects a torn line and text that is not in the format', () => {
    const line = encodeLine({ clientId: 'u1', eventJson: eventJsonFor(1) });
    assert.equal(decodeLine(line, 0, line.length - 10), undefined);
    const garbage = Buffer.from('hello world, this is not a spool line\n');
    assert.equal(decodeWhole(garbage), undefined);
  });

  it('parses complete lines, skips and counts corrupt ones, and leaves a partial last line unconsumed', () => {
    const good1 = encodeLine({ clientId: 'u1', eventJson: eventJsonFor(1) });
    const bad = encodeLine({ clientId: 'u2', eventJson: eventJsonFor(2) });
    bad[20] ^= 0xff;
    const good3 = encodeLine({ clientId: 'u3', eventJson: eventJsonFor(3) });
    const partial = encodeLine({ clientId: 'u4', eventJson: eventJsonFor(4) }).subarray(0, 30);
    const parsed = parseLines(Buffer.concat([good1, bad, good3, partial]), 100);
    assert.deepEqual(parsed, {
      records: [{ clientId: 'u1', eventJson: eventJsonFor(1) }, { clientId: 'u3', eventJson: eventJsonFor(3) }],
      corruptLines: 1,
      lines: 3,
      consumedBytes: good1.length + bad.length + good3.length,
    });
  });

  it('stops after the requested number of good records', () => {
    const lines = [1, 2, 3].map((seq) => encodeLine({ clientId: 'u', eventJson: eventJsonFor(seq) }));
    const parsed = parseLines(Buffer.concat(lines), 2);
    assert.equal(parsed.records.length, 2);
    assert.equal(parsed.consumedBytes, lines[0]!.length + lines[1]!.length);
  });
});
