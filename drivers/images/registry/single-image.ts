import { sha256 } from './registry-client.ts';
import type { ImageUpload } from './image-upload.ts';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, type Descriptor } from './media-types.ts';

export interface PushedLayer {
  /** Compressed blob as stored. */
  digest: string;
  size: number;
}

/** Stores the config blob and a Docker v2 manifest over already uploaded gzip layers; returns the manifest digest. */
export async function finishImage(upload: ImageUpload, tag: string, config: Buffer, layers: PushedLayer[]): Promise<{ digest: string; sizeBytes: number }> {
  const configDigest = sha256(config);
  await upload.ensureBlob(configDigest, async () => config);
  const manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: config.length, digest: configDigest } satisfies Descriptor,
    layers: layers.map((layer): Descriptor => ({ mediaType: DOCKER_LAYER_GZIP, size: layer.size, digest: layer.digest })),
  };
  const digest = await upload.finish(tag, DOCKER_MANIFEST, Buffer.from(JSON.stringify(manifest)));
  return { digest, sizeBytes: config.length + layers.reduce((sum, layer) => sum + layer.size, 0) };
}

/** A minimal image configuration for layers made by dockvisor rather than by a build. */
export function newImageConfig(diffIds: string[], options: { cmd?: string[]; labels?: Record<string, string>; comment: string }): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: engineArchitecture(),
      os: 'linux',
      created: new Date().toISOString(),
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: options.cmd,
        Labels: options.labels,
      },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: [{ created: new Date().toISOString(), created_by: options.comment }],
    }),
  );
}

export function engineArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}
