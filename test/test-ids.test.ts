import test from 'ava';
import { readdirSync } from 'node:fs';
import { DEMO, MAX_LINK_NAME, TEST_IDS, testIds, type TestAllocation } from './helpers/test-ids.ts';

const entries = Object.entries(TEST_IDS);
const pairs = <T>(items: T[]): [T, T][] => items.flatMap((a, i) => items.slice(i + 1).map((b): [T, T] => [a, b]));
const withDemo: [string, TestAllocation][] = [...entries, ['the demo', DEMO]];

test('every entry names a test file that exists', (t) => {
  const files = new Set(readdirSync(import.meta.dirname).filter((name) => name.endsWith('.test.ts')));
  for (const [file] of entries) t.true(files.has(file), `${file} is not in test/`);
});

test('VM id ranges are whole numbers, first to last, and no two files share an id', (t) => {
  for (const [file, { vmIds }] of entries) {
    if (!vmIds) continue;
    const [first, last] = vmIds;
    t.true(Number.isSafeInteger(first) && Number.isSafeInteger(last) && first >= 1 && first <= last, `${file}: ${first}..${last}`);
  }
  const ranged = entries.filter(([, entry]) => entry.vmIds);
  for (const [[a, { vmIds: x }], [b, { vmIds: y }]] of pairs(ranged)) {
    t.true(x![1] < y![0] || y![1] < x![0], `${a} (${x!.join('..')}) and ${b} (${y!.join('..')}) overlap`);
  }
});

test('uuid prefixes are 8 hex digits and no two files share one', (t) => {
  const prefixes = entries.flatMap(([file, { uuidPrefix }]) => (uuidPrefix ? [[file, uuidPrefix] as const] : []));
  for (const [file, prefix] of prefixes) t.regex(prefix, /^[0-9a-f]{8}$/, file);
  for (const [[a, x], [b, y]] of pairs(prefixes)) t.not(x, y, `${a} and ${b}`);
});

test("bridge prefixes are interface names of at most 15 characters and none starts another, the demo's included", (t) => {
  const prefixes = withDemo.flatMap(([file, { bridgePrefix }]) => (bridgePrefix ? [[file, bridgePrefix] as const] : []));
  for (const [file, prefix] of prefixes) {
    t.regex(prefix, /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, file);
    t.true(prefix.length <= MAX_LINK_NAME, `${file}: ${prefix} is longer than ${MAX_LINK_NAME} characters`);
  }
  for (const [[a, x], [b, y]] of pairs(prefixes)) t.false(x.startsWith(y) || y.startsWith(x), `${a} (${x}) and ${b} (${y}) may name the same bridge`);
});

test("subnets are /24s inside 198.18.0.0/15 and no two files share one, the demo's included", (t) => {
  const subnets = withDemo.flatMap(([file, { subnets }]) => (subnets ?? []).map((subnet) => [file, subnet] as const));
  for (const [file, subnet] of subnets) {
    const match = /^198\.(18|19)\.(\d{1,3})\.0\/24$/.exec(subnet);
    t.true(match !== null && Number(match[2]) <= 255, `${file}: ${subnet} is not a 198.18.x.0/24 or 198.19.x.0/24`);
  }
  const owners = new Map<string, string>();
  for (const [file, subnet] of subnets) {
    t.is(owners.get(subnet) ?? file, file, `${subnet} is given to two files`);
    owners.set(subnet, file);
  }
});

test('a file gets its own values, and one past its range or the name limit is refused', (t) => {
  const network = testIds('/anywhere/test/opennebula-network.test.ts');
  t.deepEqual(
    [network.vm(0), network.vm(1), network.bridge('0'), network.network(1), network.address(1, 11), network.cidr(0, 1)],
    [9101, 9102, 'dvt-lan0', '198.18.11', '198.18.11.11', '198.18.10.1/24'],
  );
  t.throws(() => network.vm(99), { message: /opennebula-network\.test\.ts: VM id number 99 is outside 9101\.\.9199/ });
  t.throws(() => network.uuidPrefix, { message: /has no uuid prefix/ });
  t.throws(() => network.address(2, 1), { message: /has no subnet number 2/ });
  t.throws(() => network.address(0, 255), { message: /255 is not a host of 198\.18\.10\.0\/24/ });
  t.throws(() => testIds('nova-shim.test.ts').bridge('-extra'), { message: /bridge dvt-nova-shim-extra is longer than 15 characters/ });
  t.throws(() => testIds('no-such.test.ts'), { message: /no-such\.test\.ts has no entry/ });
});
