/** One ExecStart word: systemd's quoting, with `%` (its specifiers) doubled. */
export function systemdWord(word: string): string {
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
}
