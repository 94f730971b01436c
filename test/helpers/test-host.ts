import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { EngineClient } from '../../drivers/engine/engine-client.ts';
import { deleteLink, ip } from './net.ts';
import { ENGINE_SOCKET } from './paths.ts';
import { SecondEngine } from './second-engine.ts';
import { startSshd, type TestSshd } from './sshd.ts';

/**
 * A test host: a network namespace plugged into a test bridge at its own address (198.18.0.0/15), with
 * its own sshd (key auth, port 22) and its own Docker engine. Hosts share the machine's filesystem, so
 * each engine's socket path is distinct.
 */
export class TestHost {
  private readonly ownEngine: SecondEngine | undefined;
  private sshd: TestSshd | undefined;

  /** `index` picks the host's link names; `address` is its IP on `bridge` (a /24). */
  constructor(
    readonly name: string,
    readonly address: string,
    private readonly bridge: string,
    engineBridgeAddress: string | undefined,
    private readonly sshOptions: { remoteForwarding?: boolean; environment?: Record<string, string> } = {},
  ) {
    // Without an engine bridge address the host has no engine of its own: its sshd reaches the machine's.
    this.ownEngine = engineBridgeAddress ? new SecondEngine(`${name}-engine`, engineBridgeAddress, [], name) : undefined;
  }

  get engine(): SecondEngine {
    if (!this.ownEngine) throw new Error(`test host ${this.name} has no engine of its own`);
    return this.ownEngine;
  }

  /** The engine socket a client on this host talks to. */
  get engineSocket(): string {
    return this.ownEngine?.socket ?? ENGINE_SOCKET;
  }

  get ssh(): TestSshd {
    if (!this.sshd) throw new Error(`test host ${this.name} is not started`);
    return this.sshd;
  }

  /** The host's engine as a remote client sees it: through one SSH connection to the host. */
  engineOverSsh(): EngineClient {
    return new EngineClient(
      {
        kind: 'ssh',
        host: this.address,
        port: this.ssh.port,
        username: 'root',
        privateKey: this.ssh.privateKey,
        socketPath: this.engineSocket,
        hostKeySha256: this.ssh.hostKeySha256,
      },
      { timeoutMs: 10_000 },
    );
  }

  async start(): Promise<void> {
    await this.stop();
    ip('netns', 'add', this.name);
    const outside = this.outsideLink();
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.name);
    ip('link', 'set', outside, 'master', this.bridge, 'up');
    const inside = (...args: string[]) => ip('-n', this.name, ...args);
    inside('addr', 'add', `${this.address}/24`, 'dev', 'eth0');
    inside('link', 'set', 'eth0', 'up');
    inside('link', 'set', 'lo', 'up');
    await this.ownEngine?.start();
    // The host's own docker CLI (run over SSH, e.g. by `docker -H ssh://...`) talks to the host's engine.
    this.sshd = await startSshd(this.name, {
      address: this.address,
      port: 22,
      netns: this.name,
      extraConfig: [
        ['SetEnv', `DOCKER_HOST=unix://${this.engineSocket}`, ...Object.entries(this.sshOptions.environment ?? {}).map(([k, v]) => `${k}=${v}`)].join(' '),
      ],
      remoteForwarding: this.sshOptions.remoteForwarding,
    });
  }

  async stop(): Promise<void> {
    await this.sshd?.stop();
    this.sshd = undefined;
    await this.ownEngine?.stop();
    this.ownEngine?.removeData();
    if (existsSync(`/var/run/netns/${this.name}`)) execFileSync('ip', ['netns', 'del', this.name]);
    deleteLink(this.outsideLink());
  }

  private outsideLink(): string {
    return `h-${this.name}`.slice(0, 15);
  }
}
