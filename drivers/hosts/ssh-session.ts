import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import ssh2, { type ConnectConfig } from 'ssh2';
import { checkHostKey, fingerprint, presentedHostKey, recordHostKey, type PresentedHostKey } from '../ssh/known-hosts.ts';
import { shellQuote } from './shell-quote.ts';
import type { SshTarget } from './ssh-target.ts';

export interface SshOptions {
  /** Private key file; without it the SSH agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  identityFile?: string;
  /** known_hosts to check the host key against (default ~/.ssh/known_hosts). */
  knownHostsFile?: string;
  /** Accept and record a key that known_hosts does not list yet. */
  acceptNewHostKey?: boolean;
  /** The key recorded for this host when it was provisioned (`type base64`): it alone is accepted. */
  pinnedHostKey?: string;
  connectTimeoutMs?: number;
}

export interface CommandOptions {
  /** Written to the command's stdin: text, or a stream piped whole (a file, a tar being made). */
  stdin?: string | Readable;
  timeoutMs?: number;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class SshError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshError';
  }
}

export function defaultKnownHostsFile(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

/** One SSH connection to a host: commands run over it, the host key is checked before anything else. */
export class SshSession {
  private constructor(
    private readonly client: ssh2.Client,
    readonly target: SshTarget,
    readonly hostKey: PresentedHostKey,
    readonly privateKey: Buffer | undefined,
  ) {}

  static async connect(target: SshTarget, options: SshOptions = {}): Promise<SshSession> {
    const privateKey = loadIdentity(options.identityFile);
    const agent = privateKey ? undefined : process.env.SSH_AUTH_SOCK;
    if (!privateKey && !agent) {
      throw new SshError('no SSH key: pass --identity <file>, start an ssh-agent, or create ~/.ssh/id_ed25519');
    }
    const timeoutMs = options.connectTimeoutMs ?? 15_000;
    const client = new ssh2.Client();
    let presented: PresentedHostKey | undefined;
    let refusal: string | undefined;
    const verify = (blob: Buffer): boolean => {
      try {
        presented = presentedHostKey(blob);
      } catch (error) {
        refusal = (error as Error).message;
        return false;
      }
      refusal = hostKeyRefusal(target, presented, options);
      return refusal === undefined;
    };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.destroy();
        reject(new SshError(`SSH to ${target.address}:${target.port} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      client.once('ready', () => {
        clearTimeout(timer);
        // Commands and forwarded engine calls are small exchanges: no 40 ms wait for a delayed acknowledgement (Nagle).
        client.setNoDelay(true);
        resolve();
      });
      client.on('error', (error: Error & { level?: string }) => {
        clearTimeout(timer);
        client.destroy();
        if (refusal) return reject(new SshError(refusal));
        if (error.level === 'client-authentication') {
          return reject(
            new SshError(`SSH to ${target.user}@${target.address}:${target.port}: the key was refused (${options.identityFile ?? 'agent or default keys'})`),
          );
        }
        reject(new SshError(`SSH to ${target.address}:${target.port} failed: ${error.message}`));
      });
      const config: ConnectConfig = {
        host: target.address,
        port: target.port,
        username: target.user,
        readyTimeout: timeoutMs,
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
        hostVerifier: verify,
        ...(privateKey ? { privateKey } : { agent }),
      };
      try {
        client.connect(config);
      } catch (error) {
        clearTimeout(timer);
        reject(new SshError(`SSH to ${target.address}:${target.port}: ${(error as Error).message}`));
      }
    });
    if (!presented) throw new SshError('the server presented no host key');
    if (options.acceptNewHostKey && !options.pinnedHostKey) {
      const file = options.knownHostsFile ?? defaultKnownHostsFile();
      if (checkHostKey(file, target.address, target.port, presented).kind === 'unknown') recordHostKey(file, target.address, target.port, presented);
    }
    return new SshSession(client, target, presented, privateKey);
  }

  /** The host key as stored in a host record: `type base64`. */
  get hostKeyLine(): string {
    return `${this.hostKey.type} ${this.hostKey.blob.toString('base64')}`;
  }

  get hostKeySha256(): string {
    return fingerprint(this.hostKey.blob).slice('SHA256:'.length);
  }

  /** Runs a command (a shell string the remote login shell reads) and collects its output. */
  run(command: string, options: CommandOptions = {}): Promise<CommandResult> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    return new Promise((resolve, reject) => {
      this.client.exec(command, (error, channel) => {
        if (error) return reject(new SshError(`cannot run a command on ${this.target.address}: ${error.message}`));
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => {
          channel.close();
          reject(new SshError(`\`${command.slice(0, 60)}\` did not finish within ${timeoutMs} ms on ${this.target.address}`));
        }, timeoutMs);
        channel.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        channel.on('close', (code: number | null, signal?: string) => {
          clearTimeout(timer);
          if (code === null || code === undefined) {
            return reject(new SshError(`the connection to ${this.target.address} ended during \`${command.slice(0, 60)}\`${signal ? ` (${signal})` : ''}`));
          }
          resolve({ code, stdout, stderr });
        });
        if (options.stdin instanceof Readable) options.stdin.pipe(channel);
        else channel.end(options.stdin ?? '');
      });
    });
  }

  /** Like `run`, but a non-zero exit is an error carrying the command's last words. */
  async must(command: string, options: CommandOptions = {}): Promise<string> {
    const result = await this.run(command, options);
    if (result.code !== 0) {
      const why = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' / ');
      throw new SshError(`\`${command.slice(0, 80)}\` exited ${result.code} on ${this.target.address}${why ? `: ${why}` : ''}`);
    }
    return result.stdout;
  }

  /** A command run as root: directly for root, through `sudo -n` (no password prompt, no TTY) otherwise. */
  asRoot(command: string): string {
    return this.target.user === 'root' ? command : `sudo -n sh -c ${shellQuote(command)}`;
  }

  /** The underlying connection, for interactive sessions. */
  get connection(): ssh2.Client {
    return this.client;
  }

  close(): void {
    this.client.end();
  }
}

function hostKeyRefusal(target: SshTarget, key: PresentedHostKey, options: SshOptions): string | undefined {
  const where = `${target.address}:${target.port}`;
  if (options.pinnedHostKey) {
    const [type, blob] = options.pinnedHostKey.split(' ');
    if (type === key.type && blob === key.blob.toString('base64')) return undefined;
    return `the host key of ${where} changed (now ${fingerprint(key.blob)}); refused: if the host was really reinstalled, remove it and create it again`;
  }
  const file = options.knownHostsFile ?? defaultKnownHostsFile();
  const verdict = checkHostKey(file, target.address, target.port, key);
  switch (verdict.kind) {
    case 'known':
      return undefined;
    case 'revoked':
      return `the host key of ${where} (${fingerprint(key.blob)}) is revoked in ${file}:${verdict.line}; refused`;
    case 'changed':
      return `the host key of ${where} changed: ${file}:${verdict.line} holds another key, the host presents ${fingerprint(key.blob)}; refused (if the change is expected, remove that line)`;
    case 'unknown':
      return options.acceptNewHostKey
        ? undefined
        : `the host key of ${where} (${key.type} ${fingerprint(key.blob)}) is not in ${file}; check it and pass --accept-new-host-key to record it`;
  }
}

function loadIdentity(file: string | undefined): Buffer | undefined {
  const candidates = file ? [file] : process.env.SSH_AUTH_SOCK ? [] : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(homedir(), '.ssh', name));
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const key = readFileSync(candidate);
    const parsed = ssh2.utils.parseKey(key);
    if (parsed instanceof Error) {
      const why = /passphrase/i.test(parsed.message)
        ? 'is protected by a passphrase: load it into ssh-agent instead'
        : `is not a usable private key (${parsed.message})`;
      throw new SshError(`${candidate} ${why}`);
    }
    return key;
  }
  if (file) throw new SshError(`identity file ${file} does not exist`);
  return undefined;
}
