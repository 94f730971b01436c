/** One line of `dockvisor opennebula check`: what was looked at and how it stands. */
export interface Finding {
  /** `skipped`: the check could not be made here (no credentials, nothing to check); it fails nothing. */
  state: 'ok' | 'missing' | 'wrong' | 'skipped';
  subject: string;
  detail?: string;
}

export function isProblem(finding: Finding): boolean {
  return finding.state === 'missing' || finding.state === 'wrong';
}

export function formatFinding(finding: Finding): string {
  return `${finding.state.padEnd(7)}  ${finding.subject}${finding.detail ? `: ${finding.detail}` : ''}`;
}
