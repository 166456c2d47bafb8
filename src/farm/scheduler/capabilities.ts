/**
 * @module Matching a step's host requirements against a worker's capabilities (OpenJD §3.3). Names compare
 * case-insensitively, attribute values too. An amount the worker does not report counts as 0 (standard minimums
 * apply: a worker always has at least 1 vCPU); an attribute it does not report has no values.
 */
import type { Capabilities, HostRequirements } from '../api/types.js';

/** Capabilities with lower-cased names and attribute values, for matching. */
export function normaliseCapabilities(capabilities: Capabilities): Capabilities {
  const amounts: Record<string, number> = {};
  for (const [name, value] of Object.entries(capabilities.amounts ?? {})) {
    if (typeof value === 'number' && Number.isFinite(value)) amounts[name.toLowerCase()] = value;
  }
  const attributes: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(capabilities.attributes ?? {})) {
    if (Array.isArray(values))
      attributes[name.toLowerCase()] = values.filter((v) => typeof v === 'string').map((v) => v.toLowerCase());
  }
  return { amounts, attributes };
}

/** Why a worker cannot run a step, or undefined when it can. */
export function unmetRequirement(
  requirements: HostRequirements | null | undefined,
  capabilities: Capabilities,
): string | undefined {
  if (!requirements) return undefined;
  for (const amount of requirements.amounts) {
    const name = amount.name.toLowerCase();
    const have = capabilities.amounts[name] ?? (name === 'amount.worker.vcpu' ? 1 : 0);
    if (amount.min !== undefined && have < amount.min)
      return `${amount.name} is ${have}, at least ${amount.min} is needed`;
    if (amount.max !== undefined && have > amount.max)
      return `${amount.name} is ${have}, at most ${amount.max} is allowed`;
  }
  for (const attribute of requirements.attributes) {
    const have = capabilities.attributes[attribute.name.toLowerCase()] ?? [];
    if (attribute.anyOf && !attribute.anyOf.some((v) => have.includes(v.toLowerCase()))) {
      return `${attribute.name} is ${have.join(', ') || 'not reported'}, one of ${attribute.anyOf.join(', ')} is needed`;
    }
    if (attribute.allOf && !attribute.allOf.every((v) => have.includes(v.toLowerCase()))) {
      return `${attribute.name} is ${have.join(', ') || 'not reported'}, all of ${attribute.allOf.join(', ')} are needed`;
    }
  }
  return undefined;
}
