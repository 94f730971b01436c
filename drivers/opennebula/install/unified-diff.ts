/**
 * A unified diff of two texts, line by line, as `diff -u` prints it: `--- before`, `+++ after`, hunks with three
 * lines of context. The edit script is Myers' shortest one (E. Myers, "An O(ND) Difference Algorithm", 1986),
 * after the common head and tail are set aside, so a few changes in a long file cost little.
 */
export function unifiedDiff(before: string, after: string, labels: { before: string; after: string }, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = lineOps(a, b);
  const hunks = groupHunks(ops, context);
  let out = `--- ${labels.before}\n+++ ${labels.after}\n`;
  for (const hunk of hunks) {
    const first = hunk[0]!;
    const oldCount = hunk.filter((op) => op.kind !== '+').length;
    const newCount = hunk.filter((op) => op.kind !== '-').length;
    out += `@@ -${range(first.oldLine, oldCount)} +${range(first.newLine, newCount)} @@\n`;
    for (const op of hunk) {
      const line = op.line.endsWith('\n') ? op.line : `${op.line}\n\\ No newline at end of file\n`;
      out += `${op.kind}${line}`;
    }
  }
  return out;
}

interface LineOp {
  kind: ' ' | '-' | '+';
  line: string;
  /** 0-based numbers of the line before this op in each text (what a hunk header starts from). */
  oldLine: number;
  newLine: number;
}

function splitLines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

/** `start,count` of a hunk header: a hunk that holds no line of a side names the line before it. */
function range(zeroBasedStart: number, count: number): string {
  return `${count === 0 ? zeroBasedStart : zeroBasedStart + 1},${count}`;
}

function lineOps(a: string[], b: string[]): LineOp[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const middle = myers(a.slice(head, a.length - tail), b.slice(head, b.length - tail));
  const kinds: LineOp['kind'][] = [...Array<' '>(head).fill(' '), ...middle, ...Array<' '>(tail).fill(' ')];
  const ops: LineOp[] = [];
  let x = 0;
  let y = 0;
  for (const kind of kinds) {
    ops.push({ kind, line: kind === '+' ? b[y]! : a[x]!, oldLine: x, newLine: y });
    if (kind !== '+') x += 1;
    if (kind !== '-') y += 1;
  }
  return ops;
}

/** The shortest edit script from `a` to `b`: one kind per step, in order. */
function myers(a: string[], b: string[]): LineOp['kind'][] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  const steps: LineOp['kind'][] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const before = trace[d]!;
    const k = x - y;
    const previousK = k === -d || (k !== d && before[offset + k - 1]! < before[offset + k + 1]!) ? k + 1 : k - 1;
    const previousX = before[offset + previousK]!;
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) {
      steps.push(' ');
      x -= 1;
      y -= 1;
    }
    if (d > 0) steps.push(x === previousX ? '+' : '-');
    x = previousX;
    y = previousY;
  }
  return steps.reverse();
}

/** Changes with `context` unchanged lines around them; changes closer than twice that share a hunk. */
function groupHunks(ops: LineOp[], context: number): LineOp[][] {
  const changed = ops.flatMap((op, index) => (op.kind === ' ' ? [] : [index]));
  const hunks: LineOp[][] = [];
  let from = -1;
  let to = -1;
  for (const index of changed) {
    if (from >= 0 && index - to <= 2 * context) {
      to = index;
      continue;
    }
    if (from >= 0) hunks.push(ops.slice(Math.max(0, from - context), Math.min(ops.length, to + context + 1)));
    from = index;
    to = index;
  }
  if (from >= 0) hunks.push(ops.slice(Math.max(0, from - context), Math.min(ops.length, to + context + 1)));
  return hunks;
}
