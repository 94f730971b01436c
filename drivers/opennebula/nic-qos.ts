import { InvalidInputError } from '../core/errors.ts';
import * as check from '../core/validate.ts';
import type { NicBandwidth, NicRate } from '../core/vm-spec.ts';
import { text, type XmlNode } from './xml.ts';

/** tc keeps rates and bursts in 32-bit byte counts: the largest rate (KB/s) and burst (KB) it can hold. */
const MAX_RATE_KBPS = 4_294_967;
const MAX_BURST_KB = 4_194_303;

/**
 * A NIC's INBOUND_* and OUTBOUND_* attributes (from its virtual network): AVG_BW and PEAK_BW in KB/s, PEAK_KB in
 * KB, as OpenNebula hands them to libvirt's <bandwidth>. 0 is no limit; a peak or burst without an average, or a
 * peak below the average, is refused, as libvirt refuses it.
 */
export function readBandwidth(nic: XmlNode, where: string): NicBandwidth | undefined {
  const inbound = readRate(nic, 'INBOUND', where);
  const outbound = readRate(nic, 'OUTBOUND', where);
  return inbound || outbound ? { inbound, outbound } : undefined;
}

function readRate(nic: XmlNode, direction: 'INBOUND' | 'OUTBOUND', where: string): NicRate | undefined {
  const value = (key: string, max: number) => {
    const given = text(nic, `${direction}_${key}`, where);
    return given === undefined ? 0 : check.wholeNumber(given, `${where}${direction}_${key}`, 0, max);
  };
  const average = value('AVG_BW', MAX_RATE_KBPS);
  const peak = value('PEAK_BW', MAX_RATE_KBPS);
  const burst = value('PEAK_KB', MAX_BURST_KB);
  if (!average) {
    if (peak || burst) throw new InvalidInputError(`${where}${direction}_PEAK_BW and ${direction}_PEAK_KB need ${direction}_AVG_BW`);
    return undefined;
  }
  if (peak && peak < average) throw new InvalidInputError(`${where}${direction}_PEAK_BW ${peak} is below ${direction}_AVG_BW ${average}`);
  return { averageKBps: average, ...(peak ? { peakKBps: peak } : {}), ...(burst ? { burstKB: burst } : {}) };
}
