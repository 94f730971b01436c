import { InvalidInputError } from '../../core/errors.ts';
import { printable } from '../../core/validate.ts';
import type { VmRequest } from '../../machine/cloud-vms.ts';

/**
 * The extra template of `one.template.instantiate`, in OpenNebula's template syntax. A CONTEXT given there
 * replaces the template's (oned merges attribute by attribute), so the template's own CONTEXT is carried over
 * with ours on top. Values are written in double quotes, which OpenNebula's template lexer ends at the first
 * unescaped quote: a value holding a quote, a backslash or a line break is refused, never written.
 */
export function instantiateTemplateText(templateContext: Array<[string, string]>, request: VmRequest): string {
  const ours: Array<[string, string]> = [
    ['NETWORK', 'YES'],
    ['SET_HOSTNAME', request.hostname],
    ['SSH_PUBLIC_KEY', request.sshPublicKey],
    ...(request.username ? ([['USERNAME', request.username]] as Array<[string, string]>) : []),
  ];
  const context = new Map(templateContext);
  for (const [key, value] of ours) context.set(key, value);
  const lines = [`CONTEXT=[${[...context].map(([key, value]) => `${attributeName(key)}=${quoted(value, `CONTEXT/${key}`)}`).join(',')}]`];
  if (request.networkId !== undefined) lines.push(`NIC=[NETWORK_ID=${quoted(String(request.networkId), 'NIC/NETWORK_ID')}]`);
  if (request.memoryMb !== undefined) lines.push(`MEMORY=${quoted(String(request.memoryMb), 'MEMORY')}`);
  if (request.cpu !== undefined) lines.push(`CPU=${quoted(String(request.cpu), 'CPU')}`);
  if (request.vcpu !== undefined) lines.push(`VCPU=${quoted(String(request.vcpu), 'VCPU')}`);
  return lines.join('\n');
}

function attributeName(key: string): string {
  if (!/^[A-Za-z0-9_]{1,128}$/.test(key))
    throw new InvalidInputError(`the template's CONTEXT has an attribute named "${printable(key)}", which cannot be passed on`);
  return key;
}

function quoted(value: string, where: string): string {
  if (/["\\\n\r]/.test(value)) {
    throw new InvalidInputError(`${where} "${printable(value)}" holds a quote, backslash or line break, which cannot be passed to OpenNebula safely`);
  }
  return `"${value}"`;
}
