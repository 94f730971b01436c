import { InvalidInputError } from '../../core/errors.ts';
import { MAX_DOCUMENT_BYTES, child, parseDocument, text, type XmlNode } from '../xml.ts';
import * as check from '../../core/validate.ts';
import { datastoreConfig, type DatastoreConfig } from '../../images/datastore-config.ts';

/** What a datastore action receives: the image (absent for monitor) and the datastore, already checked. */
export interface DsRequest {
  /** argv's id: the image id, or the datastore id for monitor. */
  id: string;
  image: XmlNode | undefined;
  datastore: DatastoreConfig;
}

/**
 * 6.8+ passes the id and the base64 message on stdin; up to 6.6 the message is argv[1] and the id argv[2]
 * (6.6's `-i` passes "-" for the message). The message is read from argv unless it is "-" or missing.
 */
export function readDsMessage(argv: string[], stdin: string): { id: string; data: XmlNode } {
  const fromArgv = argv.length >= 2 && argv[0] !== '-';
  const message = (fromArgv ? argv[0]! : stdin).trim();
  const id = (fromArgv ? argv[1] : argv[argv.length - 1]) ?? '';
  if (!message) throw new InvalidInputError('no DS_DRIVER_ACTION_DATA on stdin or in the arguments');
  if (message.length > MAX_DOCUMENT_BYTES * 2 || !/^[A-Za-z0-9+/=\s]+$/.test(message)) throw new InvalidInputError('the action data is not base64');
  return { id, data: parseDocument(Buffer.from(message, 'base64').toString('utf8'), 'DS_DRIVER_ACTION_DATA') };
}

export function readDsRequest(argv: string[], stdin: string): DsRequest {
  const { id, data } = readDsMessage(argv, stdin);
  const datastore = child(data, 'DATASTORE', 'DS_DRIVER_ACTION_DATA/');
  if (!datastore) throw new InvalidInputError('DS_DRIVER_ACTION_DATA has no DATASTORE');
  const dsId = check.nonNegativeInteger(text(datastore, 'ID') ?? '', 'DATASTORE/ID', 2 ** 31);
  const template = child(datastore, 'TEMPLATE', 'DATASTORE/');
  return {
    id,
    image: child(data, 'IMAGE', 'DS_DRIVER_ACTION_DATA/'),
    datastore: datastoreConfig(dsId, (name) => text(template, name, 'DATASTORE/TEMPLATE/')),
  };
}
