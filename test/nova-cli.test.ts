import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './helpers/paths.ts';

/** `dockvisor compute serve` as an operator types it; it must refuse before listening. */
function serve(args: string[], env: Record<string, string | undefined>) {
  const childEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  const listen = args.includes('--listen') ? [] : ['--listen', '127.0.0.1:5314'];
  return spawnSync(process.execPath, [join(repoRoot, 'bin/dockvisor.mjs'), 'compute', 'serve', ...listen, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: childEnv,
  });
}

const refusals: [string, string[], Record<string, string | undefined>, RegExp][] = [
  ['no token at all', [], { DOCKVISOR_COMPUTE_TOKEN: undefined }, /^dockvisor: no token: set DOCKVISOR_COMPUTE_TOKEN or pass --token-file$/],
  ['a short token', [], { DOCKVISOR_COMPUTE_TOKEN: 'short' }, /^dockvisor: the token must be at least 16 characters without spaces$/],
  ['a token file that is not there', ['--token-file', '/nonexistent/dvt-token'], {}, /^dockvisor: token file \/nonexistent\/dvt-token: ENOENT/],
  [
    'a listen address with shell in it',
    ['--listen', '127.0.0.1:80;id'],
    { DOCKVISOR_COMPUTE_TOKEN: 'a-token-long-enough-1234' },
    /^dockvisor: --listen "127.0.0.1:80;id" is not host:port$/,
  ],
  [
    'an option given twice',
    ['--registry', 'a:1', '--registry', 'b:2'],
    { DOCKVISOR_COMPUTE_TOKEN: 'a-token-long-enough-1234' },
    /^dockvisor: --registry is given more than once$/,
  ],
  [
    'a registry that is not host:port',
    ['--registry', 'http://x/'],
    { DOCKVISOR_COMPUTE_TOKEN: 'a-token-long-enough-1234' },
    /^dockvisor: --registry "http:\/\/x\/" is not host\[:port\]$/,
  ],
  [
    'a host nobody recorded',
    ['--host', 'nowhere'],
    { DOCKVISOR_COMPUTE_TOKEN: 'a-token-long-enough-1234', XDG_CONFIG_HOME: '/nonexistent/dvt-config' },
    /^dockvisor: no host named nowhere in \/nonexistent\/dvt-config\/dockvisor\/hosts$/,
  ],
  ['a host named twice', ['--host', 'h1', '--host', 'h1'], { DOCKVISOR_COMPUTE_TOKEN: 'a-token-long-enough-1234' }, /^dockvisor: --host h1 is given twice$/],
  [
    'this machine as --host',
    ['--host', 'local'],
    { DOCKVISOR_COMPUTE_TOKEN: 'a-token-long-enough-1234' },
    /^dockvisor: --host local: this machine is --local$/,
  ],
  [
    'a host name with shell in it',
    ['--host', 'a;id'],
    { DOCKVISOR_COMPUTE_TOKEN: 'a-token-long-enough-1234', XDG_CONFIG_HOME: '/nonexistent/dvt-config' },
    /^dockvisor: host name "a;id" must be letters, digits, dots and dashes$/,
  ],
];

for (const [what, args, env, message] of refusals) {
  test(`compute serve with ${what}: one line on stderr, exit 1, nothing listening`, (t) => {
    const run = serve(args, env);
    t.is(run.status, 1, run.stderr);
    const lines = run.stderr.split('\n').filter(Boolean);
    t.is(lines.length, 1, run.stderr);
    t.regex(lines[0]!, message);
  });
}
