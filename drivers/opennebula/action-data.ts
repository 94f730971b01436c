import { InvalidInputError } from '../core/errors.ts';
import { readVm, type OneVm } from './vm-document.ts';
import { child, parseDocument, text } from './xml.ts';

/** What oned sends on stdin to every VMM action but deploy: the VM plus a few action fields. */
export interface ActionData {
  deployId?: string;
  vm: OneVm;
}

export function parseActionData(xml: string): ActionData {
  const data = parseDocument(xml, 'VMM_DRIVER_ACTION_DATA');
  const vm = child(data, 'VM', 'VMM_DRIVER_ACTION_DATA/');
  if (!vm) throw new InvalidInputError('VMM_DRIVER_ACTION_DATA has no VM');
  return { deployId: text(data, 'DEPLOY_ID'), vm: readVm(vm) };
}
