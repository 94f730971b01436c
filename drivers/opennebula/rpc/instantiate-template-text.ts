import { InvalidInputError } from '../../core/errors.ts';
import { printable } from '../../core/validate.ts';
import type { VmRequest } from '../../machine/cloud-vms.ts';

type Attributes = Array<[string, string]>;

/**
 * The extra template of `one.template.instantiate`. A CONTEXT given there replaces the template's (oned merges
 * attribute by attribute), so the template's own CONTEXT is carried over with ours on top. Written in OpenNebula's
 * attribute syntax, as its CLI writes it; when a value holds what that syntax cannot carry (a double quote, a
 * backslash, a line break: a START_SCRIPT often does), the whole template is written as XML, which oned's
 * instantiate also parses (Template::parse_str_or_xml), with every value escaped as XML text.
 */
export function instantiateTemplateText(templateContext: Attributes, request: VmRequest): string {
  const context = new Map(templateContext);
  for (const [key, value] of hostContext(request)) context.set(key, value);
  const contextAttributes = [...context];
  for (const [key] of contextAttributes) attributeName(key);
  const top: Attributes = [];
  if (request.memoryMb !== undefined) top.push(['MEMORY', String(request.memoryMb)]);
  if (request.cpu !== undefined) top.push(['CPU', String(request.cpu)]);
  if (request.vcpu !== undefined) top.push(['VCPU', String(request.vcpu)]);
  const nic: Attributes | undefined = request.networkId === undefined ? undefined : [['NETWORK_ID', String(request.networkId)]];
  const values = [...contextAttributes, ...top, ...(nic ?? [])].map(([, value]) => value);
  for (const value of values) xmlText(value);
  return values.some((value) => /["\\\n\r]/.test(value)) ? asXml(contextAttributes, nic, top) : asAttributes(contextAttributes, nic, top);
}

function hostContext(request: VmRequest): Attributes {
  return [
    ['NETWORK', 'YES'],
    ['SET_HOSTNAME', request.hostname],
    ['SSH_PUBLIC_KEY', request.sshPublicKey],
    ...(request.username ? ([['USERNAME', request.username]] as Attributes) : []),
  ];
}

function asAttributes(context: Attributes, nic: Attributes | undefined, top: Attributes): string {
  const vector = (name: string, attributes: Attributes) => `${name}=[${attributes.map(([key, value]) => `${key}="${value}"`).join(',')}]`;
  return [vector('CONTEXT', context), ...(nic ? [vector('NIC', nic)] : []), ...top.map(([key, value]) => `${key}="${value}"`)].join('\n');
}

function asXml(context: Attributes, nic: Attributes | undefined, top: Attributes): string {
  const elements = (attributes: Attributes) => attributes.map(([key, value]) => `<${key}>${xmlText(value)}</${key}>`).join('');
  return `<TEMPLATE><CONTEXT>${elements(context)}</CONTEXT>${nic ? `<NIC>${elements(nic)}</NIC>` : ''}${elements(top)}</TEMPLATE>`;
}

function attributeName(key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(key))
    throw new InvalidInputError(`the template's CONTEXT has an attribute named "${printable(key)}", which cannot be passed on`);
  return key;
}

/** A value as XML text; control characters XML cannot hold are refused, never dropped. */
function xmlText(value: string): string {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(value))
    throw new InvalidInputError(`the value "${printable(value)}" holds a control character, which cannot be passed to OpenNebula`);
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
