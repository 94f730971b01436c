#!/usr/bin/env node
// Gives an OpenNebula front-end its identity in the host config of its remotes, once: `frontEndId`, which
// deploy records on the containers it makes and by which the probes on a shared host keep to this
// front-end's VMs. A config that has one keeps it; nothing else in the file changes.
//   packaging/front-end-id.mjs <remotes>/etc/vmm/dockvisor/dockvisor.conf
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

const [path] = process.argv.slice(2);
const config = JSON.parse(readFileSync(path, 'utf8'));
if (!config.frontEndId) {
  const name = hostname().split('.')[0].replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40) || 'front-end';
  config.frontEndId = `${name}-${randomBytes(4).toString('hex')}`;
  const staging = `${path}.${process.pid}.tmp`;
  writeFileSync(staging, `${JSON.stringify(config, null, 2)}\n`, { mode: statSync(path).mode & 0o777 });
  renameSync(staging, path);
}
process.stdout.write(`${config.frontEndId}\n`);
