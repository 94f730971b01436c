import test from 'ava';
import { readDsMessage } from '../drivers/opennebula/datastore/ds-action-data.ts';
import { parseActionData } from '../drivers/opennebula/action-data.ts';
import { parseMonitorConfig } from '../drivers/opennebula/monitor/monitor-config.ts';
import { parseVmDocument } from '../drivers/opennebula/vm-document.ts';
import { actionXml, vmXml, type VmDraft } from './helpers/vm-xml.ts';

// What a VM document may not say, read without an engine: every refusal is one InvalidInputError line.
const ID = 8270;
const SOURCE = `docker://127.0.0.1:5400/dockvisor/image-3@sha256:${'a'.repeat(64)}`;
const nic = { nicId: 0, bridge: 'dvt-wb0', ip: '198.18.155.20' };
const draft = (extra: Partial<VmDraft> = {}): VmDraft => ({ id: ID, nics: [nic], ...extra });
const twice = (xml: string, element: string, value: string) => xml.replace(`<${element}>`, `<${element}><![CDATA[${value}]]></${element}><${element}>`);

const withDisks = (...disks: VmDraft['disks'] & object) => vmXml(draft({ disks }));
const duplicated: [string, string, RegExp][] = [
  ['a CONTEXT variable', twice(vmXml(draft({ context: { FOO: 'a' } })), 'FOO', 'b'), /VM 8270: CONTEXT\/FOO must be a single value/],
  [
    'the root disk TM_MAD of an image from elsewhere',
    twice(withDisks({ diskId: 0, source: 'alpine', tmMad: 'ssh' }), 'TM_MAD', 'dockvisor'),
    /VM 8270: DISK 0\/TM_MAD must be a single value/,
  ],
  [
    'the root disk TM_MAD of a datastore image',
    twice(withDisks({ diskId: 0, source: SOURCE, tmMad: 'dockvisor' }), 'TM_MAD', 'ssh'),
    /DISK 0\/TM_MAD must be a single value/,
  ],
  [
    'the TARGET of a disk dockvisor does not mount',
    withDisks({ diskId: 0, source: SOURCE, tmMad: 'dockvisor' }, { diskId: 1, source: 'x', tmMad: 'ssh' }).replace(
      '<TARGET><![CDATA[sdb]]></TARGET>',
      '<TARGET><![CDATA[sdb]]></TARGET><TARGET><![CDATA[sdz]]></TARGET>',
    ),
    /DISK 1\/TARGET must be a single value/,
  ],
  ['a disk DISK_ID', twice(withDisks({ diskId: 0, source: 'alpine' }), 'DISK_ID', '1'), /DISK\/DISK_ID must be a single value/],
  [
    'a NIC NETWORK_MASK under a context mask',
    vmXml(draft({ nics: [{ ...nic, mask: '24' }] })).replace(
      '<VN_MAD>',
      '<NETWORK_MASK>255.0.0.0</NETWORK_MASK><NETWORK_MASK>255.255.0.0</NETWORK_MASK><VN_MAD>',
    ),
    /NIC 0: NETWORK_MASK must be a single value/,
  ],
  [
    'DOCKVISOR/IMAGE, even under a datastore root disk',
    twice(withDisks({ diskId: 0, source: SOURCE, tmMad: 'dockvisor' }), 'IMAGE', 'busybox'),
    /IMAGE must be a single value/,
  ],
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
    [
      'IP6_PREFIX_LENGTH 0',
      withNic({ ip6: 'fd00::20' }).replace('<VN_MAD>', '<IP6_PREFIX_LENGTH>0</IP6_PREFIX_LENGTH><VN_MAD>'),
      /NIC 0: IP6_PREFIX_LENGTH is 0, not a usable prefix length \(1 to 128\)/,
    ],
  ];
  for (const [what, document, message] of refused) t.throws(() => parseVmDocument(document), { name: 'InvalidInputError', message }, what);
  const accepted = parseVmDocument(
    withNic({ mask: '255.255.255.255', ip6: 'fd00::20' }).replace('<VN_MAD>', '<IP6_PREFIX_LENGTH>128</IP6_PREFIX_LENGTH><VN_MAD>'),
  );
  t.deepEqual(accepted.spec.nics[0]!.ipv4, [{ address: '198.18.155.20', prefixLength: 32 }]);
  t.deepEqual(accepted.spec.nics[0]!.ipv6, [{ address: 'fd00::20', prefixLength: 128 }]);
});

const named = (name: string) => vmXml(draft()).replace(`<NAME>vm-${ID}</NAME>`, `<NAME>${name}</NAME>`);

test('a character reference to a character XML 1.0 forbids is refused, not read as nothing', (t) => {
  for (const reference of ['&#0;', '&#x0;', '&#1;', '&#x1F;', '&#xD800;', '&#xFFFE;', '&#65535;', '&#x110000;', '&#99999999999;']) {
    t.throws(
      () => parseVmDocument(named(`web${reference}1`)),
      { name: 'InvalidInputError', message: /the VM document refers to a character XML 1\.0 forbids \(&#/ },
      reference,
    );
  }
  t.throws(() => parseVmDocument(named('web\u00011')), { name: 'InvalidInputError', message: /the VM document has a character XML 1\.0 forbids \(U\+0001\)/ });
  t.notThrows(() => parseVmDocument(vmXml(draft()).replace('<CONTEXT>', '<CONTEXT><FOO>a&#x9;b&#65;&#x1F600;</FOO>')), 'characters XML allows');
  t.deepEqual(parseVmDocument(vmXml(draft({ dockvisor: { CMD: 'echo &#0;' } }))).spec.command, ['echo', '&#0;'], 'in CDATA it is text, not a reference');
});

test('a document declaring an encoding other than UTF-8 or US-ASCII is refused rather than read as UTF-8', (t) => {
  for (const encoding of ['UTF-16', 'utf-16le', 'ISO-8859-1', 'EBCDIC-US']) {
    const document = `<?xml version="1.0" encoding="${encoding}"?>${vmXml(draft())}`;
    t.throws(
      () => parseVmDocument(document),
      { name: 'InvalidInputError', message: new RegExp(`the VM document declares the encoding ${encoding}; only UTF-8 is read`) },
      encoding,
    );
  }
  for (const encoding of ['UTF-8', 'utf-8', 'US-ASCII'])
    t.is(parseVmDocument(`<?xml version="1.0" encoding='${encoding}'?>\n${vmXml(draft())}`).id, ID, encoding);
  t.is(parseVmDocument(`<?xml version="1.0"?>${vmXml(draft())}`).id, ID);
});

test('every reader of oned documents refuses them alike: action data, monitor configuration, datastore messages', (t) => {
  const utf16 = '<?xml version="1.0" encoding="UTF-16"?>';
  t.throws(() => parseActionData(actionXml(draft()).replace(`<NAME>vm-${ID}</NAME>`, '<NAME>a&#0;</NAME>')), {
    message: /VMM_DRIVER_ACTION_DATA document refers to a character XML 1\.0 forbids/,
  });
  t.throws(() => parseMonitorConfig(`${utf16}<MONITOR_CONFIGURATION><HOST_ID>1</HOST_ID></MONITOR_CONFIGURATION>`), {
    message: /MONITOR_CONFIGURATION document declares the encoding UTF-16/,
  });
  const dsMessage = (xml: string) => Buffer.from(xml).toString('base64');
  const ds = '<DS_DRIVER_ACTION_DATA><IMAGE><ID>1</ID><PATH>/x&#0;</PATH></IMAGE><DATASTORE><ID>101</ID></DATASTORE></DS_DRIVER_ACTION_DATA>';
  t.throws(() => readDsMessage(['1'], dsMessage(ds)), { message: /DS_DRIVER_ACTION_DATA document refers to a character XML 1\.0 forbids/ });
  t.throws(() => readDsMessage(['1'], dsMessage(`${utf16}${ds.replace('&#0;', '')}`)), { message: /declares the encoding UTF-16/ });
});
