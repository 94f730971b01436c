import test from 'ava';
import { parseVmDocument } from '../drivers/opennebula/vm-document.ts';
import { vmXml, type VmDraft } from './helpers/vm-xml.ts';

// What a VM document may not say, read without an engine: every refusal is one InvalidInputError line.
const ID = 8270;
const SOURCE = `docker://127.0.0.1:5400/dockvisor/image-3@sha256:${'a'.repeat(64)}`;
const nic = { nicId: 0, bridge: 'dvt-wb0', ip: '198.18.155.20' };
const draft = (extra: Partial<VmDraft> = {}): VmDraft => ({ id: ID, nics: [nic], ...extra });
const twice = (xml: string, element: string, value: string) => xml.replace(`<${element}>`, `<${element}><![CDATA[${value}]]></${element}><${element}>`);

const withDisks = (...disks: VmDraft['disks'] & object) => vmXml(draft({ disks }));
const duplicated: [string, string, RegExp][] = [
  ['a CONTEXT variable', twice(vmXml(draft({ context: { FOO: 'a' } })), 'FOO', 'b'), /VM 8270: CONTEXT\/FOO must be a single value/],
  ['the root disk TM_MAD of an image from elsewhere', twice(withDisks({ diskId: 0, source: 'alpine', tmMad: 'ssh' }), 'TM_MAD', 'dockvisor'), /VM 8270: DISK 0\/TM_MAD must be a single value/],
  ['the root disk TM_MAD of a datastore image', twice(withDisks({ diskId: 0, source: SOURCE, tmMad: 'dockvisor' }), 'TM_MAD', 'ssh'), /DISK 0\/TM_MAD must be a single value/],
  [
    'the TARGET of a disk dockvisor does not mount',
    withDisks({ diskId: 0, source: SOURCE, tmMad: 'dockvisor' }, { diskId: 1, source: 'x', tmMad: 'ssh' }).replace('<TARGET><![CDATA[sdb]]></TARGET>', '<TARGET><![CDATA[sdb]]></TARGET><TARGET><![CDATA[sdz]]></TARGET>'),
    /DISK 1\/TARGET must be a single value/,
  ],
  ['a disk DISK_ID', twice(withDisks({ diskId: 0, source: 'alpine' }), 'DISK_ID', '1'), /DISK\/DISK_ID must be a single value/],
  [
    'a NIC NETWORK_MASK under a context mask',
    vmXml(draft({ nics: [{ ...nic, mask: '24' }] })).replace('<VN_MAD>', '<NETWORK_MASK>255.0.0.0</NETWORK_MASK><NETWORK_MASK>255.255.0.0</NETWORK_MASK><VN_MAD>'),
    /NIC 0: NETWORK_MASK must be a single value/,
  ],
  ['DOCKVISOR/IMAGE, even under a datastore root disk', twice(withDisks({ diskId: 0, source: SOURCE, tmMad: 'dockvisor' }), 'IMAGE', 'busybox'), /IMAGE must be a single value/],
];

for (const [what, document, message] of duplicated) {
  test(`${what} given twice is refused like any other field given twice`, (t) => {
    t.throws(() => parseVmDocument(document), { name: 'InvalidInputError', message });
  });
}

test('a CONTEXT variable that is a section rather than a value is refused', (t) => {
  const document = vmXml(draft()).replace('<CONTEXT>', '<CONTEXT><FOO><BAR>x</BAR></FOO>');
  t.throws(() => parseVmDocument(document), { name: 'InvalidInputError', message: /CONTEXT\/FOO must be a single value/ });
});

test('a NIC address with a prefix of 0, or one that is no prefix, is refused for IPv4 and IPv6', (t) => {
  const withNic = (extra: Record<string, string>) => vmXml(draft({ nics: [{ ...nic, ...extra }] }));
  const refused: [string, string, RegExp][] = [
    ['context mask 0', withNic({ mask: '0' }), /VM 8270 NIC 0: MASK is 0, not a usable prefix length \(1 to 32\)/],
    ['context mask 0.0.0.0', withNic({ mask: '0.0.0.0' }), /MASK is 0, not a usable prefix length/],
    ['NETWORK_MASK 0.0.0.0', vmXml(draft()).replace('<VN_MAD>', '<NETWORK_MASK>0.0.0.0</NETWORK_MASK><VN_MAD>'), /MASK is 0, not a usable prefix length/],
    ['context mask 33', withNic({ mask: '33' }), /MASK is 33, not a usable prefix length/],
    ['IP6_PREFIX_LENGTH 0', withNic({ ip6: 'fd00::20' }).replace('<VN_MAD>', '<IP6_PREFIX_LENGTH>0</IP6_PREFIX_LENGTH><VN_MAD>'), /NIC 0: IP6_PREFIX_LENGTH is 0, not a usable prefix length \(1 to 128\)/],
  ];
  for (const [what, document, message] of refused) t.throws(() => parseVmDocument(document), { name: 'InvalidInputError', message }, what);
  const accepted = parseVmDocument(withNic({ mask: '255.255.255.255', ip6: 'fd00::20' }).replace('<VN_MAD>', '<IP6_PREFIX_LENGTH>128</IP6_PREFIX_LENGTH><VN_MAD>'));
  t.like(accepted.spec.nics[0], { ipv4: { prefixLength: 32 }, ipv6: [{ address: 'fd00::20', prefixLength: 128 }] });
});
