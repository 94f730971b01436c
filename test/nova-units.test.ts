import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarArchive } from '../drivers/core/tar-archive.ts';
import type { ContainerState } from '../drivers/engine/types.ts';
import { powerStateOf } from '../drivers/nova/power-state.ts';
import { SuspendMarks } from '../drivers/nova/suspend-marks.ts';
import { networkNics } from '../drivers/nova/vif-nics.ts';

const state = (overrides: Partial<ContainerState>) => {
  const engineState: ContainerState = {
    Status: 'running',
    Running: true,
    Paused: false,
    Pid: 42,
    ExitCode: 0,
    OOMKilled: false,
    Error: '',
    StartedAt: '',
    FinishedAt: '',
    ...overrides,
  };
  return { phase: engineState.Status, paused: engineState.Paused, exitCode: engineState.ExitCode };
};

test('power states: paused before running, suspended apart from paused, failures crashed, never started shut down', (t) => {
  t.is(powerStateOf(state({}), false), 'RUNNING');
  t.is(powerStateOf(state({ Status: 'paused', Paused: true }), false), 'PAUSED', 'the engine says Running for a paused container too');
  t.is(powerStateOf(state({ Status: 'paused', Paused: true }), true), 'SUSPENDED');
  t.is(powerStateOf(state({ Status: 'created', Running: false }), false), 'SHUTDOWN');
  t.is(powerStateOf(state({ Status: 'exited', Running: false, ExitCode: 137 }), false), 'SHUTDOWN', 'killed by a power off');
  t.is(powerStateOf(state({ Status: 'exited', Running: false, ExitCode: 0 }), false), 'SHUTDOWN');
  t.is(powerStateOf(state({ Status: 'exited', Running: false, ExitCode: 3 }), false), 'CRASHED');
  t.is(powerStateOf(state({ Status: 'dead', Running: false }), false), 'CRASHED');
  t.is(powerStateOf(state({ Status: 'restarting' }), false), 'RUNNING');
  t.is(powerStateOf(state({ Status: 'removing', Running: false }), false), 'NOSTATE');
});

test('the tar archive unpacks with GNU tar, long paths included', (t) => {
  const longPath = `${'deep/'.repeat(30)}file.txt`;
  const archive = tarArchive([
    { name: 'etc/motd', content: Buffer.from('hello\n'), mode: 0o644 },
    { name: longPath, content: Buffer.alloc(1000, 'x'), mode: 0o600 },
  ]);
  t.is(archive.length % 512, 0);
  const dir = mkdtempSync(join(tmpdir(), 'dvt-nova-tar-'));
  try {
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    t.is(readFileSync(join(dir, 'etc/motd'), 'utf8'), 'hello\n');
    t.is(readFileSync(join(dir, longPath), 'utf8'), 'x'.repeat(1000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a path the tar archive cannot hold is refused as bad input, in one line', (t) => {
  const error = t.throws(() => tarArchive([{ name: `${'x'.repeat(160)}/file` }]), { name: 'InvalidInputError' });
  t.is(error!.message, `path ${'x'.repeat(60)}... is too long for the archive`);
});

test('VIFs become NICs in order, named as Nova names tap devices, with every address of a port by family and its routes', (t) => {
  const [first, second] = networkNics([
    {
      id: '0123456789abcdef',
      address: '02:00:00:00:00:01',
      bridge: 'br-a',
      mtu: 1450,
      ips: [
        { address: '10.0.0.5', prefix: 24 },
        { address: 'fd00::5', prefix: 64 },
      ],
      gateway: '10.0.0.1',
      dns: ['10.0.0.53'],
    },
    { id: 'fedcba9876543210', address: '02:00:00:00:00:02', bridge: 'br-b', devname: 'custom0', ips: [], dns: [] },
  ]);
  t.like(first, {
    nicId: 0,
    hostInterface: 'tap0123456789a',
    bridge: 'br-a',
    mtu: 1450,
    ipv4: [{ address: '10.0.0.5', prefixLength: 24 }],
    gateway: '10.0.0.1',
    dns: ['10.0.0.53'],
  });
  t.deepEqual(first!.ipv6, [{ address: 'fd00::5', prefixLength: 64 }]);
  t.like(second, { nicId: 1, hostInterface: 'custom0', ipv4: [] });
  const [several] = networkNics([
    {
      id: 'p',
      address: '02:00:00:00:00:01',
      bridge: 'br-a',
      ips: [
        { address: '10.0.0.5', prefix: 24 },
        { address: 'fd00::5', prefix: 64 },
        { address: '10.1.0.6', prefix: 16 },
      ],
      routes: [{ destination: '10.2.0.0/16', gateway: '10.0.0.254' }],
      dns: [],
    },
  ]);
  t.deepEqual(several!.ipv4, [
    { address: '10.0.0.5', prefixLength: 24 },
    { address: '10.1.0.6', prefixLength: 16 },
  ]);
  t.deepEqual(several!.ipv6, [{ address: 'fd00::5', prefixLength: 64 }]);
  t.deepEqual(several!.routes, [{ destination: '10.2.0.0', prefixLength: 16, via: '10.0.0.254' }]);
});

test('a VIF address with a prefix of 0 is refused, for IPv4 and IPv6', (t) => {
  const vif = (address: string) => ({ id: 'p', address: '02:00:00:00:00:01', bridge: 'br-a', ips: [{ address, prefix: 0 }], dns: [] });
  t.throws(() => networkNics([vif('10.0.0.5')]), {
    name: 'InvalidInputError',
    message: /VIF p: prefix of 10\.0\.0\.5 is 0, not a usable prefix length \(1 to 32\)/,
  });
  t.throws(() => networkNics([vif('fd00::5')]), { name: 'InvalidInputError', message: /prefix of fd00::5 is 0, not a usable prefix length \(1 to 128\)/ });
});

test('suspend marks are per container id, and those of containers gone are forgotten', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dvt-nova-marks-'));
  try {
    const marks = new SuspendMarks({ stateDir: dir });
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    marks.mark(a);
    marks.mark(b);
    t.true(marks.has(a) && marks.has(b));
    marks.keepOnly([b]);
    t.false(marks.has(a));
    t.true(marks.has(b));
    marks.clear(b);
    t.false(marks.has(b));
    t.throws(() => marks.mark('../../etc/passwd'), { message: /is not an engine id/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
