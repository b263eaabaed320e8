/** Builders and helpers for the spool tests: temp directories, numbered records, draining. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppendResult, Spool, SpooledRecord } from '../../src/spool/index.js';

/** A fresh empty directory under the OS temp dir; `remove()` deletes it. */
export function createTempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ge-spool-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The event JSON of record number `seq` (its `time` derives from `seq`, so the tests can check it survived). */
export function eventJsonFor(seq: number): string {
  return `{"type":"track","event":"purchase","time":${1_700_000_000_000 + seq},"properties":{"seq":${seq},"item":"sword"}}`;
}

/** Records number `from` .. `from + count - 1`, spread over a few clients. */
export function createRecords(count: number, from = 0): SpooledRecord[] {
  return Array.from({ length: count }, (_, index) => ({ clientId: `user-${(from + index) % 7}`, eventJson: eventJsonFor(from + index) }));
}

/** The `seq` property of a spooled record's event. */
export function seqOf(record: SpooledRecord): number {
  return (JSON.parse(record.eventJson) as { properties: { seq: number } }).properties.seq;
}

/** Reads and acks everything the spool hands out; returns the seqs in the order read. */
export async function drainAll(spool: Spool, maxRecords = 100): Promise<number[]> {
  const seqs: number[] = [];
  for (let batch = await spool.readBatch(maxRecords); batch !== undefined; batch = await spool.readBatch(maxRecords)) {
    for (const record of batch.records) seqs.push(seqOf(record));
    await batch.ack();
  }
  return seqs;
}

/** Reads everything without acking; returns the seqs in the order read. */
export async function readAllWithoutAck(spool: Spool, maxRecords = 100): Promise<number[]> {
  const seqs: number[] = [];
  for (let batch = await spool.readBatch(maxRecords); batch !== undefined; batch = await spool.readBatch(maxRecords)) {
    for (const record of batch.records) seqs.push(seqOf(record));
  }
  return seqs;
}

/** `[from, from + count)` */
export function range(count: number, from = 0): number[] {
  return Array.from({ length: count }, (_, index) => from + index);
}

/** Segment files in `dir` (`.open` and `.seg`), sorted. */
export function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('seg-')).sort();
}

/** The counts of an append's result (without where its last record ended). */
export function counts(result: AppendResult): { written: number; dropped: number } {
  return { written: result.written, dropped: result.dropped };
}
