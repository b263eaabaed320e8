/**
 * The import's bookkeeping: which lines each request's outcome covers (413 splits, partial spooling), line
 * numbers as ranges, the distinct causes, and the progress line's share, rate and ETA.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GravityExportError, GravityNetworkError, GravityShutdownError } from '../../src/common/errors.js';
import { formatLineRanges, LineLedger } from '../../src/cli/import/line-ledger.js';
import { formatProgress } from '../../src/cli/import/progress.js';
import type { ProgressSnapshot } from '../../src/cli/import/progress.js';

describe('import line ledger', () => {
  it('gives each part of a split request the next of its lines, in order', () => {
    const ledger = new LineLedger();
    const tooLarge = new GravityExportError('a single record is too large for the service (HTTP 413)', 'GRAVITY_RECORD_TOO_LARGE');

    ledger.settle(
      [
        [3, 5, 8, 9],
        [4, 6],
      ],
      [
        [
          { outcome: 'sent', clientId: 'a', records: 2 },
          { outcome: 'failed', clientId: 'a', records: 1, error: tooLarge },
          { outcome: 'sent', clientId: 'a', records: 1 },
        ],
        [{ outcome: 'failed', clientId: 'b', records: 2, error: new GravityNetworkError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED') }],
      ],
    );

    assert.equal(ledger.sent, 3);
    assert.equal(ledger.failed, 3);
    assert.deepEqual(ledger.unsentLines(), [4, 6, 8]);
    assert.deepEqual(ledger.causes(), [
      { cause: 'network error ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', records: 2 },
      { cause: 'a single record is too large for the service (HTTP 413)', records: 1 },
    ]);
  });

  it('counts the rest of a batch the spool took in part as spooled, and abandoned records under one cause', () => {
    const ledger = new LineLedger();

    ledger.settle([[1, 2, 3, 4, 5]], [[{ outcome: 'dropped', clientId: 'a', records: 2, error: new GravityExportError('the spool is full: 2 records dropped', 'GRAVITY_SPOOL_FULL') }]]);
    ledger.settle([[6], [7]], [[{ outcome: 'dropped', clientId: 'a', records: 1, error: new GravityShutdownError() }], [{ outcome: 'failed', clientId: 'b', records: 1, error: new GravityNetworkError('request aborted: x', 'ABORTED') }]]);

    assert.equal(ledger.spooled, 3);
    assert.deepEqual(ledger.unsentLines(), [1, 2, 6, 7]);
    assert.deepEqual(
      ledger.causes().map((c) => [c.records, c.cause]),
      [
        [2, 'the spool is full: 2 records dropped'],
        [2, 'not sent: the import stopped before Gravity confirmed them'],
      ],
    );
  });

  it('keeps the first rejections with their messages and counts every one per reason', () => {
    const ledger = new LineLedger();
    for (let line = 1; line <= 60; line++) ledger.reject(line, line % 2 === 0 ? 'invalid_json' : 'invalid_key', `problem ${line}`);

    assert.equal(ledger.rejected, 60);
    assert.equal(ledger.rejections.length, 50);
    assert.deepEqual(ledger.rejections[49], { line: 50, reason: 'invalid_json', message: 'problem 50' });
    assert.deepEqual(ledger.rejectedByReason, { invalid_key: 30, invalid_json: 30 });
  });

  it('writes line numbers as ranges, and says how many more past the ranges it lists', () => {
    assert.equal(formatLineRanges([3, 4, 5, 17, 40, 41]), '3-5, 17, 40-41');
    assert.equal(formatLineRanges([1]), '1');
    assert.equal(formatLineRanges([1, 3, 5, 7, 9, 10], 3), '1, 3, 5 ... and 3 more lines');
  });
});

describe('import progress line', () => {
  const base: ProgressSnapshot = {
    delivered: 0,
    done: 0,
    rejected: 0,
    failed: 0,
    records: 0,
    bytesRead: 0,
    totalBytes: 1_000,
    inputEnded: false,
    elapsedMillis: 2_000,
    dryRun: false,
  };

  it('gives the rate of delivered records and an ETA from what is done against what the input holds', () => {
    // Half the file read (500 records so far, so ~1,000 in all), 250 delivered in 2 s.
    const line = formatProgress({ ...base, delivered: 250, done: 250, records: 500, bytesRead: 500 });

    assert.equal(line, '250 records delivered (25%), 125 records/s, ETA 6s');
  });

  it('shows an unknown ETA, not 0s, while nothing is delivered, and counts what was not', () => {
    assert.equal(formatProgress({ ...base, records: 1_000, bytesRead: 1_000, inputEnded: true }), '0 records delivered (0%), 0 records/s, ETA ?');
    assert.equal(
      formatProgress({ ...base, delivered: 90, done: 100, rejected: 4, failed: 6, records: 100, bytesRead: 1_000, inputEnded: true }),
      '90 records delivered (100%), 45 records/s, ETA 0s, 4 rejected, 6 not delivered',
    );
  });

  it('has no share or ETA for standard input until it ends', () => {
    assert.equal(formatProgress({ ...base, delivered: 10, done: 10, records: 20, bytesRead: 999, totalBytes: undefined }), '10 records delivered, 5 records/s');
    assert.equal(
      formatProgress({ ...base, delivered: 10, done: 10, records: 20, bytesRead: 999, totalBytes: undefined, inputEnded: true }),
      '10 records delivered (50%), 5 records/s, ETA 2s',
    );
  });
});
