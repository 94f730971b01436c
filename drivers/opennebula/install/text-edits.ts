/** A change to a text: the bytes from `start` to `end` give way to `text` (an insertion when they are equal). */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** The text with the edits made; what no edit covers stays byte for byte. Edits given at one offset keep their order. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  const ordered = edits.map((edit, order) => ({ ...edit, order })).sort((a, b) => a.start - b.start || a.order - b.order);
  let result = '';
  let at = 0;
  for (const edit of ordered) {
    if (edit.start < at) throw new Error(`edits overlap at offset ${edit.start}`);
    result += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return result + text.slice(at);
}
