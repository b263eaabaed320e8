/**
 * One spooled record = one line: `<crc32 as 8 lowercase hex digits> <json>\n`, where the CRC covers the UTF-8
 * bytes of `<json>` and `<json>` is `{"c":clientId,"i"?:clientIp,"u"?:clientUa,"e":eventJson}` with the event
 * JSON kept as a string, so the original text (and its `time`) comes back byte for byte.
 */
import { crc32 } from 'node:zlib';
import type { SpooledRecord } from './types.js';

const NEWLINE = 0x0a;
const SPACE = 0x20;
const CRC_HEX_DIGITS = 8;
/** Bytes before the JSON: 8 hex digits and a space. */
const PREFIX_BYTES = CRC_HEX_DIGITS + 1;

interface LineJson {
  c: string;
  i?: string;
  u?: string;
  e: string;
}

/** Encodes one record as a complete line (with its trailing newline). */
export function encodeLine(record: SpooledRecord): Buffer {
  const json: LineJson = { c: record.clientId, e: record.eventJson };
  if (record.clientIp !== undefined) json.i = record.clientIp;
  if (record.clientUa !== undefined) json.u = record.clientUa;
  const text = JSON.stringify(json);
  const line = Buffer.allocUnsafe(PREFIX_BYTES + Buffer.byteLength(text) + 1);
  const jsonEnd = PREFIX_BYTES + line.write(text, PREFIX_BYTES, 'utf8');
  line.write(crc32(line.subarray(PREFIX_BYTES, jsonEnd)).toString(16).padStart(CRC_HEX_DIGITS, '0'), 0, 'latin1');
  line[CRC_HEX_DIGITS] = SPACE;
  line[jsonEnd] = NEWLINE;
  return line;
}

/**
 * Decodes one line (`bytes[start, end)`, without its newline). Returns `undefined` for a line that is torn,
 * corrupt or not in this format; never throws.
 */
export function decodeLine(bytes: Buffer, start: number, end: number): SpooledRecord | undefined {
  if (end - start < PREFIX_BYTES + 2 || bytes[start + CRC_HEX_DIGITS] !== SPACE) return undefined;
  const expected = bytes.toString('latin1', start, start + CRC_HEX_DIGITS);
  if (!/^[0-9a-f]{8}$/.test(expected)) return undefined;
  if (crc32(bytes.subarray(start + PREFIX_BYTES, end)) !== Number.parseInt(expected, 16)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8', start + PREFIX_BYTES, end));
  } catch {
    return undefined;
  }
  return toRecord(json);
}

function toRecord(json: unknown): SpooledRecord | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { c, i, u, e } = json as Record<string, unknown>;
  if (typeof c !== 'string' || typeof e !== 'string') return undefined;
  if ((i !== undefined && typeof i !== 'string') || (u !== undefined && typeof u !== 'string')) return undefined;
  const record: SpooledRecord = { clientId: c, eventJson: e };
  if (i !== undefined) record.clientIp = i;
  if (u !== undefined) record.clientUa = u;
  return record;
}

/** The result of {@link parseLines}. */
export interface ParsedLines {
  readonly records: SpooledRecord[];
  /** Complete lines that failed their checksum or shape. */
  readonly corruptLines: number;
  /** Complete lines consumed (`records.length + corruptLines`). */
  readonly lines: number;
  /** Bytes consumed from the start of the buffer: always the end of a complete line. */
  readonly consumedBytes: number;
}

/** Parses complete lines from the start of `bytes`, at most `maxRecords` good ones; a trailing partial line is left. */
export function parseLines(bytes: Buffer, maxRecords: number): ParsedLines {
  const records: SpooledRecord[] = [];
  let corruptLines = 0;
  let position = 0;
  while (records.length < maxRecords) {
    const newline = bytes.indexOf(NEWLINE, position);
    if (newline < 0) break;
    const record = decodeLine(bytes, position, newline);
    if (record === undefined) corruptLines++;
    else records.push(record);
    position = newline + 1;
  }
  return { records, corruptLines, lines: records.length + corruptLines, consumedBytes: position };
}

/** Counts complete lines in `bytes` and where the last one ends. */
export function countLines(bytes: Buffer): { lines: number; endOfLastLine: number } {
  let lines = 0;
  let endOfLastLine = 0;
  for (let newline = bytes.indexOf(NEWLINE); newline >= 0; newline = bytes.indexOf(NEWLINE, endOfLastLine)) {
    lines++;
    endOfLastLine = newline + 1;
  }
  return { lines, endOfLastLine };
}
