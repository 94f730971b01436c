import { InvalidInputError } from '../../core/errors.ts';
import * as check from '../../core/validate.ts';
import { text, type XmlNode } from '../xml.ts';
import { FORMAT, parseSource } from '../../images/datastore-images.ts';
import { ImageStore } from '../../images/image-store.ts';
import { registryCapacity } from '../../images/registry-capacity.ts';
import type { DsRequest } from './ds-action-data.ts';

/** One datastore action: the request in, the documented stdout out. */
export type DsAction = (request: DsRequest, store: ImageStore) => Promise<string>;

/** The actions of remotes/datastore/dockvisor; the ones missing here answer "not supported". */
export const dsActions: Record<string, DsAction> = {
  async cp(request, store) {
    const source = await store.register(imagePath(request), imageId(request));
    return `${source} ${FORMAT}`;
  },

  async stat(request, store) {
    return String(await store.sizeMb(imagePath(request)));
  },

  async clone(request, store) {
    const source = await store.clone(imagePath(request), imageId(request));
    return `${source} ${FORMAT}`;
  },

  async mkfs(request, store) {
    const image = requireImage(request);
    const sizeMb = check.nonNegativeInteger(text(image, 'SIZE', 'IMAGE/') ?? '0', 'IMAGE/SIZE', 16 * 1024 * 1024);
    const filesystem = text(image, 'FS', 'IMAGE/') ?? text(image, 'FSTYPE', 'IMAGE/');
    if (filesystem && !/^[a-z0-9_]{1,16}$/.test(filesystem)) throw new InvalidInputError(`IMAGE/FS "${check.printable(filesystem)}" is not a filesystem name`);
    return store.createDatablock(imageId(request), sizeMb, filesystem);
  },

  async rm(request, store) {
    const source = text(requireImage(request), 'SOURCE', 'IMAGE/');
    if (source) await store.remove(source);
    return '';
  },

  async monitor(_request, store) {
    const warn = (line: string) => process.stderr.write(`dockvisor datastore monitor: ${line}\n`);
    const capacity = await registryCapacity(store.config, () => store.imagesMb(), warn);
    return [`USED_MB=${capacity.usedMb}`, `TOTAL_MB=${capacity.totalMb}`, `FREE_MB=${capacity.freeMb}`].join('\n');
  },

  async export(request, store) {
    const image = requireImage(request);
    const source = text(image, 'SOURCE', 'IMAGE/') ?? '';
    const parsed = parseSource(source, store.config.registry.address, 'IMAGE/SOURCE');
    const digest = await store.currentDigest(source);
    const current = store.source(parsed.repository, digest);
    const size = text(image, 'SIZE', 'IMAGE/') ?? '0';
    return [
      '<IMPORT_INFO>',
      `<IMPORT_SOURCE><![CDATA[${current}]]></IMPORT_SOURCE>`,
      `<MD5><![CDATA[${digest.slice('sha256:'.length, 'sha256:'.length + 32)}]]></MD5>`,
      `<SIZE><![CDATA[${check.nonNegativeInteger(size, 'IMAGE/SIZE')}]]></SIZE>`,
      `<FORMAT><![CDATA[${FORMAT}]]></FORMAT>`,
      '<DISPOSE>NO</DISPOSE>',
      '</IMPORT_INFO>',
    ].join('');
  },
};

function requireImage(request: DsRequest): XmlNode {
  if (!request.image) throw new InvalidInputError('DS_DRIVER_ACTION_DATA has no IMAGE');
  return request.image;
}

function imagePath(request: DsRequest): string {
  const path = text(requireImage(request), 'PATH', 'IMAGE/');
  if (!path) throw new InvalidInputError('IMAGE/PATH is empty');
  return check.plainText(path, 'IMAGE/PATH', 4096);
}

/** The image id: IMAGE/ID when the document has it (cp, clone, mkfs), else argv's. */
function imageId(request: DsRequest): number {
  return check.nonNegativeInteger(text(requireImage(request), 'ID', 'IMAGE/') ?? request.id, 'image id', 2 ** 31);
}
