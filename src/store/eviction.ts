// Which objects go when the volume is too full: a frequency-aware choice, so that a one-time scan of
// cold data cannot flush the hot set. Each object's reads decay with a half-life (accounting.ts); the
// least valuable go first. Objects younger than the admission window are spared until the volume is
// critically full, and while any young object is spared, no older object worth more than it is evicted:
// the young one may prove itself (be read again) or age out and go first, the way TinyLFU admits a
// newcomer only when it beats its victim.

import { type Accounting, bytesOf, decayed, type ObjectState } from './accounting.js';

export interface CapacityLimits {
  maxBytes: number;
  /** Eviction starts when the total passes this... */
  triggerBytes: number;
  /** ...and stops once it is below this. */
  targetBytes: number;
  /** Past this the admission window no longer protects anything. */
  criticalBytes: number;
  admissionMs: number;
  /** Objects made by writes through Kura may hold this much; more is evicted from them first. */
  writeShareBytes: number;
}

export interface Victim {
  object: string;
  bytes: number;
  files: number;
  reason: 'capacity' | 'write-share';
}

export function capacityLimits(opts: {
  maxBytes: number;
  triggerPercent: number;
  targetPercent: number;
  admissionMs: number;
  writeSharePercent: number;
}): CapacityLimits {
  const trigger = Math.floor((opts.maxBytes * opts.triggerPercent) / 100);
  return {
    maxBytes: opts.maxBytes,
    triggerBytes: trigger,
    targetBytes: Math.floor((opts.maxBytes * opts.targetPercent) / 100),
    criticalBytes: Math.floor(trigger + (opts.maxBytes - trigger) / 2),
    admissionMs: opts.admissionMs,
    writeShareBytes: Math.floor((opts.maxBytes * opts.writeSharePercent) / 100),
  };
}

/**
 * The same limits for a smaller capacity (the file system holds less than `max_size`): every threshold
 * keeps its share.
 */
export function limitsFor(limits: CapacityLimits, capacityBytes: number): CapacityLimits {
  if (capacityBytes >= limits.maxBytes) return limits;
  const scale = (n: number) => Math.floor((n * capacityBytes) / limits.maxBytes);
  return {
    maxBytes: capacityBytes,
    triggerBytes: scale(limits.triggerBytes),
    targetBytes: scale(limits.targetBytes),
    criticalBytes: scale(limits.criticalBytes),
    admissionMs: limits.admissionMs,
    writeShareBytes: scale(limits.writeShareBytes),
  };
}

/** The objects to evict now, in order; empty when the volume is within its limits. */
export function chooseVictims(acc: Accounting, limits: CapacityLimits, now: number): Victim[] {
  const victims: Victim[] = [];
  const taken = new Set<string>();
  const ranked = rank(acc, now);

  let written = acc.writtenBytes();
  if (written > limits.writeShareBytes) {
    const goal = Math.floor(limits.writeShareBytes * (limits.targetBytes / Math.max(1, limits.triggerBytes)));
    for (const r of ranked) {
      if (written <= goal) break;
      if (r.state.source !== 'put') continue;
      victims.push(victimOf(r, 'write-share'));
      taken.add(r.id);
      written -= r.bytes;
    }
  }

  let total = acc.totalBytes - victims.reduce((n, v) => n + v.bytes, 0);
  if (total <= limits.triggerBytes) return victims;
  const critical = total >= limits.criticalBytes;
  let sparedScore = Number.POSITIVE_INFINITY;
  for (const r of ranked) {
    if (total <= limits.targetBytes) break;
    if (taken.has(r.id)) continue;
    const young = now - r.state.firstSeen < limits.admissionMs;
    if (!critical) {
      if (young) {
        sparedScore = Math.min(sparedScore, r.score);
        continue;
      }
      if (r.score > sparedScore) break;
    }
    victims.push(victimOf(r, 'capacity'));
    total -= r.bytes;
  }
  return victims;
}

interface Ranked {
  id: string;
  state: ObjectState;
  score: number;
  bytes: number;
}

function rank(acc: Accounting, now: number): Ranked[] {
  const out: Ranked[] = [];
  for (const [id, state] of acc.objects) {
    out.push({ id, state, score: decayed(state, now), bytes: bytesOf(state) });
  }
  // Least read first; among equals, the one untouched longest.
  return out.sort((a, b) => a.score - b.score || a.state.lastAccess - b.state.lastAccess);
}

function victimOf(r: Ranked, reason: Victim['reason']): Victim {
  let files = r.state.record > 0 ? 1 : 0;
  for (const chunks of r.state.versions.values()) files += chunks.size;
  return { object: r.id, bytes: r.bytes, files, reason };
}
