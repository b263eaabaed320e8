/**
 * Reads the fenced code blocks of a Markdown file and the `readme-test` marker before each JavaScript or
 * TypeScript one (see test/integration/readme.test.ts for what the clauses mean).
 */

/** Fence languages that are programs: each such block must carry a marker and is run by the doc-test. */
export const PROGRAM_LANGUAGES: ReadonlyMap<string, 'ts' | 'mjs' | 'cjs'> = new Map([
  ['ts', 'ts'],
  ['typescript', 'ts'],
  ['js', 'mjs'],
  ['javascript', 'mjs'],
  ['mjs', 'mjs'],
  ['cjs', 'cjs'],
]);

export interface FencedBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's language tag, lower-cased ('' when it has none). */
  language: string;
  /** The nearest heading above the block, without its '#'s. */
  section: string;
  code: string;
  /** The text of the `<!-- readme-test: … -->` comment on the nearest non-blank line above, if any. */
  marker: string | undefined;
}

export interface BlockSpec {
  /** Gravity event names the block delivers to GE_SERVER_URL (empty for self-checking or not-run blocks). */
  expect: string[];
  /** The OpenTelemetry JS major line the block is written for, when it is written for one. */
  otel: number | undefined;
  /** An exported function to call after importing the block, with its arguments. */
  call: { name: string; args: unknown[] } | undefined;
  selfChecking: boolean;
  /** Why the block is not run, when it is not. */
  notRun: string | undefined;
  /** Text every line the block writes to stderr must contain; stderr must then not be empty (else it must be). */
  stderrMentions: string | undefined;
}

const FENCE = /^(\s*)```\s*([\w+-]*)\s*$/;
const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->$/;

/** Splits Markdown into its fenced blocks, in order. Unclosed fences throw. */
export function readFencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: FencedBlock[] = [];
  let section = '';
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index]!;
    const heading = /^#{1,6}\s+(.*)$/.exec(text);
    if (heading) {
      section = heading[1]!.trim();
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) continue;
    const indent = fence[1]!.length;
    const body: string[] = [];
    let close = index + 1;
    while (close < lines.length && !/^\s*```\s*$/.test(lines[close]!)) body.push(lines[close++]!.slice(indent));
    if (close >= lines.length) throw new Error(`the code fence at line ${index + 1} is never closed`);
    let previous = index - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous--;
    const marker = previous >= 0 ? MARKER.exec(lines[previous]!.trim())?.[1] : undefined;
    blocks.push({ line: index + 1, language: fence[2]!.toLowerCase(), section, code: body.join('\n') + '\n', marker });
    index = close;
  }
  return blocks;
}

/** Parses a marker's clauses (separated by `;`); throws on anything it does not know, naming it. */
export function parseMarker(marker: string): BlockSpec {
  const spec: BlockSpec = { expect: [], otel: undefined, call: undefined, selfChecking: false, notRun: undefined, stderrMentions: undefined };
  for (const clause of marker.split(';').map((c) => c.trim()).filter((c) => c !== '')) {
    let match: RegExpExecArray | null;
    if ((match = /^expect\s+(.+)$/.exec(clause))) {
      spec.expect = match[1]!.split(',').map((name) => name.trim());
      if (spec.expect.some((name) => !/^[A-Za-z$][A-Za-z0-9_]*$/.test(name))) throw new Error(`bad event name in "${clause}"`);
    } else if ((match = /^otel\s+(\d+)$/.exec(clause))) {
      spec.otel = Number(match[1]);
    } else if ((match = /^call\s+([A-Za-z_$][\w$]*)\((.*)\)$/.exec(clause))) {
      spec.call = { name: match[1]!, args: JSON.parse(`[${match[2]!}]`) as unknown[] };
    } else if (clause === 'self-checking') {
      spec.selfChecking = true;
    } else if ((match = /^stderr mentions\s+(.+)$/.exec(clause))) {
      spec.stderrMentions = match[1]!;
    } else if ((match = /^not run:\s*(.+)$/.exec(clause))) {
      spec.notRun = match[1]!;
    } else {
      throw new Error(`unknown clause "${clause}"`);
    }
  }
  const kinds = [spec.expect.length > 0, spec.selfChecking, spec.notRun !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw new Error('needs exactly one of "expect <events>", "self-checking" or "not run: <reason>"');
  return spec;
}
