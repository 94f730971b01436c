import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSettingsFile } from '../../core/settings-file.ts';
import { datastoreConfig } from '../../images/datastore-config.ts';
import { TM_CONFIG_FILE, type TmConfig } from '../transfer/tm-config.ts';
import { RegistryClient } from '../../images/registry/registry-client.ts';
import { SshSession } from '../../hosts/ssh-session.ts';
import { hostPool, type OneHost } from '../rpc/hosts.ts';
import { oneEndpoint } from '../rpc/one-credentials.ts';
import { OneRpc } from '../rpc/one-rpc.ts';
import { child, children, parseDocument, text } from '../xml.ts';
import type { Finding } from './findings.ts';
import { passwdEntry } from './passwd-entry.ts';
import { SYSTEM_RUNTIME_DIR } from '../../runtime/runtime.ts';
import { nodeIsRecentEnough } from './node-runtime.ts';

export interface CloudCheckOptions {
  remotes: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  minimumNode: [number, number];
  /** oneadmin's home, where its SSH key and known_hosts are (default: from /etc/passwd, else /var/lib/one). */
  oneadminHome?: string;
}

/** How the front-end logs in to a host: as the transfer actions' configuration says, else as oneadmin. */
interface HostLogin {
  user: string;
  address: string;
  port: number;
  privateKeyPath?: string;
  knownHostsFile: string;
}

const POOL_BYTES = 256 * 1024 * 1024;

/**
 * What only OpenNebula can tell: its dockvisor hosts, each reached over SSH as oneadmin (and its node checked),
 * and its dockvisor image datastores, each registry asked whether it answers. Without credentials for oned this
 * is one line saying so, which fails nothing.
 */
export async function cloudFindings(options: CloudCheckOptions): Promise<Finding[]> {
  let rpc: OneRpc;
  try {
    rpc = new OneRpc(oneEndpoint({}, options.env), options.timeoutMs);
  } catch (error) {
    return [{ state: 'skipped', subject: 'OpenNebula hosts and datastores', detail: `${(error as Error).message}; not checked` }];
  }
  try {
    const [hosts, datastores] = await Promise.all([hostPool(rpc), rpc.call<string>('one.datastorepool.info')]);
    const ours = hosts.filter((host) => host.vmMad === 'dockvisor' || host.imMad === 'dockvisor');
    const empty = /^\s*<DATASTORE_POOL\s*(\/>|>\s*<\/DATASTORE_POOL>)\s*$/.test(datastores);
    const images = empty
      ? []
      : children(parseDocument(datastores, 'DATASTORE_POOL', POOL_BYTES), 'DATASTORE').filter((ds) => text(ds, 'DS_MAD') === 'dockvisor');
    const login = loginsFrom(options);
    const findings = await Promise.all([
      ...ours.map((host) => hostFinding(host, login(host.name), options)),
      ...images.map((ds) => registryFinding(Number(text(ds, 'ID')), text(ds, 'NAME') ?? '', (name) => text(child(ds, 'TEMPLATE'), name), options.timeoutMs)),
    ]);
    if (ours.length === 0) findings.unshift({ state: 'skipped', subject: 'dockvisor hosts', detail: 'OpenNebula has none yet' });
    if (images.length === 0) findings.push({ state: 'skipped', subject: 'dockvisor image datastores', detail: 'OpenNebula has none yet' });
    return findings;
  } catch (error) {
    return [{ state: 'wrong', subject: 'OpenNebula hosts and datastores', detail: (error as Error).message }];
  } finally {
    rpc.close();
  }
}

async function hostFinding(host: OneHost, login: HostLogin, options: CloudCheckOptions): Promise<Finding> {
  const subject = `host ${host.name} (id ${host.id}): SSH as ${login.user}@${login.address}:${login.port}`;
  if (!login.privateKeyPath) return { state: 'skipped', subject, detail: `no SSH key of ${login.user} to log in with; not checked` };
  try {
    readFileSync(login.privateKeyPath);
  } catch (error) {
    return {
      state: 'skipped',
      subject,
      detail: `${login.privateKeyPath} cannot be read here (${(error as NodeJS.ErrnoException).code}); run the check as root or oneadmin`,
    };
  }
  let session: SshSession | undefined;
  let timedOut = false;
  const attempt = (async (): Promise<Finding> => {
    try {
      session = await SshSession.connect(login, {
        identityFile: login.privateKeyPath,
        knownHostsFile: login.knownHostsFile,
        connectTimeoutMs: options.timeoutMs,
      });
      if (timedOut) session.close();
      // The node the driver's launchers start there: dockvisor's runtime, else the one on PATH.
      const answer = await session.run(`if [ -x ${SYSTEM_RUNTIME_DIR}/bin/node ]; then ${SYSTEM_RUNTIME_DIR}/bin/node --version; else node --version; fi`, {
        timeoutMs: options.timeoutMs,
      });
      if (answer.code !== 0)
        return { state: 'wrong', subject, detail: `logged in, but node does not run there (${(answer.stderr.trim() || `exit ${answer.code}`).slice(0, 120)})` };
      const recent = nodeIsRecentEnough(answer.stdout, options.minimumNode);
      if (recent === false)
        return { state: 'wrong', subject, detail: `logged in, node ${answer.stdout.trim()} is older than ${options.minimumNode.join('.')}` };
      return { state: 'ok', subject, detail: `node ${answer.stdout.trim()}` };
    } catch (error) {
      return { state: 'wrong', subject, detail: (error as Error).message };
    } finally {
      session?.close();
    }
  })();
  return withDeadline(attempt, 2 * options.timeoutMs, () => {
    timedOut = true;
    session?.close();
    return { state: 'wrong', subject, detail: `no answer within ${2 * options.timeoutMs} ms` };
  });
}

async function registryFinding(id: number, name: string, attribute: (name: string) => string | undefined, timeoutMs: number): Promise<Finding> {
  let subject = `datastore ${id} (${name})`;
  let client: RegistryClient | undefined;
  try {
    const config = datastoreConfig(id, attribute);
    subject += `: registry ${config.registry.address}`;
    client = new RegistryClient(config.registry, timeoutMs);
    const ping = client.ping().then(
      (): Finding => ({ state: 'ok', subject, detail: 'answers' }),
      (error: Error): Finding => ({ state: 'wrong', subject, detail: error.message }),
    );
    return await withDeadline(ping, timeoutMs + 1000, () => ({ state: 'wrong', subject, detail: `no answer within ${timeoutMs} ms` }));
  } catch (error) {
    return { state: 'wrong', subject, detail: (error as Error).message };
  } finally {
    void client?.close().catch(() => undefined);
  }
}

/**
 * Each host's login: `defaults` and `hosts.<name>` of remotes/etc/tm/dockvisor/dockvisor.conf where they say it
 * (user, address, port, privateKeyPath, knownHostsFile), else oneadmin with its own key and known_hosts, as
 * OpenNebula's own SSH drivers log in.
 */
function loginsFrom(options: CloudCheckOptions): (host: string) => HostLogin {
  const home = options.oneadminHome ?? (passwdEntry({ name: 'oneadmin' })?.home || undefined) ?? '/var/lib/one';
  let raw: Partial<Pick<TmConfig, 'defaults' | 'hosts'>> = {};
  try {
    raw = readSettingsFile(join(options.remotes, 'etc/tm/dockvisor/dockvisor.conf'), 'transfer config', TM_CONFIG_FILE, {});
  } catch {
    // a broken transfer config is reported on its own line; the defaults still say how oned logs in
  }
  const key = ['id_rsa', 'id_ed25519', 'id_ecdsa'].map((name) => join(home, '.ssh', name)).find((path) => existsSync(path));
  return (host) => {
    const access = { ...raw.defaults, ...raw.hosts?.[host] };
    return {
      user: access.user ?? 'oneadmin',
      address: access.address ?? host,
      port: access.port ?? 22,
      privateKeyPath: access.privateKeyPath ?? key,
      knownHostsFile: access.knownHostsFile ?? join(home, '.ssh/known_hosts'),
    };
  };
}

function withDeadline<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
