// Cache rules as the tests write them: the defaults they compile against, and rules files.

import type { EffectiveRule, RuleDefaults } from '../../src/config/rules.js';

export const DEFAULTS: RuleDefaults = {
  getTtl: 86_400_000,
  headTtl: 60_000,
  staleIfError: 0,
  listTtl: 0,
  hitAuth: 'signed',
};
export const DEFAULT_RULE: EffectiveRule = {
  match: null,
  getTtl: 86_400_000,
  headTtl: 60_000,
  read: true,
  compress: true,
  ram: true,
  writeCache: true,
  staleIfError: 0,
  listTtl: 0,
  hitAuth: 'signed',
};

/** A rules file (JSON is YAML) with one rule per glob. */
export function rulesText(...rules: Record<string, unknown>[]): string {
  return JSON.stringify({ rules });
}
