/**
 * @module What this host offers jobs: the standard capabilities detected (`amount.worker.vcpu`,
 * `amount.worker.memory` in MiB, `attr.worker.os.family`, `attr.worker.cpu.arch`) and custom ones from the
 * configuration, written `amount.name=NUMBER` and `attr.name=VALUE` (a repeated attribute adds values; a standard
 * one given in the configuration replaces the detected value, e.g. to offer fewer CPUs).
 */
import { availableParallelism, totalmem } from 'node:os';
import { CorralError } from '../../model/errors.js';
import { attributeValueProblem, capabilityNameProblem } from '../../model/schema/leaves.js';
import type { Capabilities } from '../api/types.js';
import { WorkerErrorCode } from './errors.js';

const MIB = 1024 * 1024;

export interface HostFacts {
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly platform: NodeJS.Platform;
  readonly arch: string;
}

/** The facts of this host. */
export function hostFacts(): HostFacts {
  return { cpus: availableParallelism(), memoryBytes: totalmem(), platform: process.platform, arch: process.arch };
}

/** OpenJD's `attr.worker.os.family` for a Node platform. */
export function osFamily(platform: NodeJS.Platform): string {
  return platform === 'darwin' ? 'macos' : platform === 'win32' ? 'windows' : platform === 'linux' ? 'linux' : platform;
}

/** OpenJD's `attr.worker.cpu.arch` for a Node architecture. */
export function cpuArch(arch: string): string {
  return arch === 'x64' ? 'x86_64' : arch === 'arm64' ? 'arm64' : arch;
}

export interface DetectCapabilitiesOptions {
  /** Custom or overriding amounts, `amount.name=NUMBER`. */
  readonly amounts?: readonly string[];
  /** Custom or overriding attributes, `attr.name=VALUE` (repeat for more values). */
  readonly attributes?: readonly string[];
  /** The host (tests). Default: this one. */
  readonly host?: HostFacts;
}

/**
 * The capabilities to report: detected standard ones, then the configured ones over them.
 * @throws {CorralError} `CORRAL_E_CAPABILITY_INVALID` listing every malformed configured capability.
 */
export function detectCapabilities(options: DetectCapabilitiesOptions = {}): Capabilities {
  const host = options.host ?? hostFacts();
  const amounts: Record<string, number> = {
    'amount.worker.vcpu': host.cpus,
    'amount.worker.memory': Math.floor(host.memoryBytes / MIB),
  };
  const attributes: Record<string, string[]> = {
    'attr.worker.os.family': [osFamily(host.platform)],
    'attr.worker.cpu.arch': [cpuArch(host.arch)],
  };
  const problems: string[] = [];
  for (const text of options.amounts ?? []) {
    const parsed = split(text);
    if (!parsed) {
      problems.push(`'${text}' is not amount.name=NUMBER`);
      continue;
    }
    const [name, value] = parsed;
    const nameProblem = capabilityNameProblem('amount', name);
    const number = Number(value);
    if (nameProblem) problems.push(`'${text}': the name ${nameProblem}`);
    else if (value.trim() === '' || !Number.isFinite(number) || number < 0)
      problems.push(`'${text}': the amount must be a number ≥ 0`);
    else amounts[name.toLowerCase()] = number;
  }
  const configured = new Set<string>();
  for (const text of options.attributes ?? []) {
    const parsed = split(text);
    if (!parsed) {
      problems.push(`'${text}' is not attr.name=VALUE`);
      continue;
    }
    const [name, value] = parsed;
    const problem = capabilityNameProblem('attr', name) ?? attributeValueProblem(name, value);
    if (problem) {
      problems.push(`'${text}': ${problem}`);
      continue;
    }
    const key = name.toLowerCase();
    // The first configured value of an attribute replaces the detected ones; later ones add to it.
    if (!configured.has(key)) attributes[key] = [];
    configured.add(key);
    if (!attributes[key]!.includes(value)) attributes[key]!.push(value);
  }
  if (problems.length > 0) {
    throw new CorralError(
      WorkerErrorCode.CapabilityInvalid,
      `The configured capabilities have ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return { amounts, attributes };
}

function split(text: string): [string, string] | undefined {
  const at = text.indexOf('=');
  if (at <= 0) return undefined;
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

/** Whether two capability sets are the same (to send them again only when they change). */
export function sameCapabilities(a: Capabilities, b: Capabilities): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(c: Capabilities) {
  return {
    amounts: Object.entries(c.amounts).sort(([x], [y]) => x.localeCompare(y)),
    attributes: Object.entries(c.attributes)
      .map(([k, v]) => [k, [...v].sort()] as const)
      .sort(([x], [y]) => x.localeCompare(y)),
  };
}
