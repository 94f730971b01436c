import type { EngineClient } from '../engine/engine-client.ts';
import { tarArchive } from './tar-archive.ts';
import type { VmSpec } from './vm-spec.ts';

export interface GuestFile {
  /** Absolute, normalised path inside the VM (checked by the front-end's adapter). */
  path: string;
  contents: Buffer;
}

/** Writes files into the VM's filesystem before it first starts (files injected at boot); parents are created. */
export async function writeGuestFiles(engine: EngineClient, spec: VmSpec, files: GuestFile[]): Promise<void> {
  if (files.length === 0) return;
  const archive = tarArchive(files.map((file) => ({ path: file.path.replace(/^\/+/, ''), contents: file.contents, mode: 0o644 })));
  await engine.putArchive(spec.containerName, '/', archive);
}
