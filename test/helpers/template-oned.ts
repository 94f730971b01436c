import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { callOf, recordedRequest, recordedResponse } from './oned-mock.ts';

const KEY = /ssh-ed25519 [A-Za-z0-9+/=]+ dockvisor-host-[A-Za-z0-9.-]+/;

/**
 * oned for hosts made from template `docker-host`, answering with the recordings of OpenNebula 7.4: each call is
 * checked against its recorded request (the instantiate's key, made per run, aside) and answered with the
 * recorded response. It keeps what a real oned keeps between calls: whether VM 518 exists, how often its info
 * was asked for (PENDING, then PROLOG, then RUNNING), whether host 2 is allocated. `onInstantiate` gets the
 * public key of the VM's context: the guest's contextualisation authorises it.
 */
export class TemplateOned {
  readonly calls = new Map<string, number>();
  readonly unexpected: string[] = [];
  vmExists = false;
  vmTerminated = false;
  hostAllocated = false;
  infoPolls = 0;
  /** The public key the instantiate put in the VM's context: the VM's documents show it, as oned's would. */
  instantiatedKey: string | undefined;
  /** When set, VM 518's context holds this key instead: a VM of the host's name that is not the host's. */
  foreignKey: string | undefined;
  /** Holds the instantiate's answer back this long on the loopback port (a create killed while oned works). */
  instantiateDelayMs = 0;
  /** Replaces the answer to a `one.vm.info` once the VM runs. */
  runningAnswer: () => string = () => recordedResponse('vm-info-running-at-test-host');
  /** Replaces the answer to the instantiate. */
  instantiateAnswer: (() => string) | undefined;
  private server: http.Server | undefined;

  constructor(private readonly onInstantiate: (publicKey: string) => void) {}

  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  reset(): void {
    this.calls.clear();
    this.unexpected.length = 0;
    this.vmExists = this.vmTerminated = this.hostAllocated = false;
    this.infoPolls = 0;
    this.instantiatedKey = this.foreignKey = undefined;
    this.instantiateDelayMs = 0;
    this.runningAnswer = () => recordedResponse('vm-info-running-at-test-host');
    this.instantiateAnswer = undefined;
  }

  /** The answer to one call: a recorded response, or HTTP 500 for a call that was never recorded. */
  answer(body: string): { status: number; body: string; delayMs?: number } {
    const method = /<methodName>([^<]+)<\/methodName>/.exec(body)?.[1] ?? '?';
    this.calls.set(method, this.count(method) + 1);
    const call = callOf(body);
    const is = (name: string) => call === callOf(recordedRequest(name));
    const ok = (name: string) => ({ status: 200, body: recordedResponse(name) });
    switch (method) {
      case 'one.templatepool.info':
        if (is('templatepool-info-docker-host')) return ok('templatepool-info-docker-host');
        break;
      case 'one.template.info':
        if (is('template-info')) return ok('template-info');
        break;
      case 'one.vnpool.info':
        if (is('vnpool-info-accnet')) return ok('vnpool-info-accnet');
        break;
      case 'one.template.instantiate': {
        const key = KEY.exec(body)?.[0];
        if (!key || call.replace(key, 'KEY') !== callOf(recordedRequest('template-instantiate')).replace(KEY, 'KEY')) break;
        if (this.instantiateAnswer) return { status: 200, body: this.instantiateAnswer() };
        this.vmExists = true;
        this.instantiatedKey = key;
        this.onInstantiate(key);
        return { ...ok('template-instantiate'), delayMs: this.instantiateDelayMs };
      }
      case 'one.vmpool.info':
        if (!is('vmpool-info-own')) break;
        if (!this.vmExists || this.vmTerminated) return ok('vmpool-info-own');
        return { status: 200, body: this.poolWithVm() };
      case 'one.vm.info':
        if (!is('vm-info-running')) break;
        if (!this.vmExists) return ok('vm-info-missing');
        if (this.vmTerminated) return ok('vm-info-done');
        this.infoPolls += 1;
        if (this.infoPolls === 1) return this.withKey(recordedResponse('vm-info-pending'));
        if (this.infoPolls === 2) return this.withKey(recordedResponse('vm-info-prolog-boot'));
        return this.withKey(this.runningAnswer());
      case 'one.vm.action':
        if (!is('vm-action-terminate-hard')) break;
        this.vmTerminated = true;
        return ok('vm-action-terminate-hard');
      case 'one.host.allocate':
        if (!is('host-allocate')) break;
        if (this.hostAllocated) return ok('host-allocate-duplicate');
        this.hostAllocated = true;
        return ok('host-allocate');
      case 'one.host.info':
        if (is('host-info')) return ok(this.hostAllocated ? 'host-info' : 'host-info-missing');
        break;
      case 'one.host.delete':
        if (!is('host-delete')) break;
        this.hostAllocated = false;
        return ok('host-delete');
      case 'one.hostpool.info':
        if (is('hostpool-info')) return ok('hostpool-info');
        break;
    }
    this.unexpected.push(call.slice(0, 400));
    return { status: 500, body: '' };
  }

  private withKey(body: string): { status: number; body: string } {
    const key = this.foreignKey ?? this.instantiatedKey;
    return { status: 200, body: key ? body.replace(KEY, key) : body };
  }

  /**
   * The pool as oned lists it while VM 518 lives: the VM as `vm-info-pending` shows it, without its CONTEXT (as a
   * plain pool listing often leaves it out), so that only `one.vm.info` tells whose key the VM holds.
   */
  private poolWithVm(): string {
    const vm = /&lt;VM&gt;[\s\S]*&lt;\/VM&gt;/.exec(recordedResponse('vm-info-pending'))![0].replace(/&lt;CONTEXT&gt;[\s\S]*?&lt;\/CONTEXT&gt;/, '');
    return recordedResponse('vmpool-info-own').replace('&lt;VM_POOL&gt;&lt;/VM_POOL&gt;', `&lt;VM_POOL&gt;${vm}&lt;/VM_POOL&gt;`);
  }

  /** The same oned on a loopback port, for the CLI in its own process (out of nock's reach). */
  async listen(): Promise<string> {
    this.server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const { status, body: answer, delayMs } = this.answer(body);
        setTimeout(() => response.writeHead(status, { 'Content-Type': 'text/xml' }).end(answer), delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/RPC2`;
  }

  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
  }
}
