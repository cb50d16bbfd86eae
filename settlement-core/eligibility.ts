/** Claim 14: an article restricted to particular customers. Checked in the settling transaction. */
import { ageBandMinYears } from '../protocol/index.ts';
import type { EligibilityRule } from '../protocol/index.ts';
import type { CustomerAttributes } from './model.ts';

export function isEligible(rule: EligibilityRule | undefined, attributes: CustomerAttributes): boolean {
  if (!rule) return true;
  if (rule.minAgeYears !== undefined) {
    if (attributes.ageBand === undefined) return false;
    if (ageBandMinYears[attributes.ageBand] < rule.minAgeYears) return false;
  }
  if (rule.membershipsAny !== undefined) {
    const held = new Set(attributes.memberships ?? []);
    if (!rule.membershipsAny.some((m) => held.has(m))) return false;
  }
  return true;
}
