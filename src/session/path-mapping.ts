/**
 * @module Path mapping (OpenJD "How Jobs Are Run", path mapping): rewriting PATH values from the submitter's
 * file system to the worker's, and the `pathmapping-1.0` document actions can read.
 */
import { CorralError } from '../model/errors.js';
import { SessionErrorCode } from './errors.js';

export type PathFormat = 'POSIX' | 'WINDOWS';

export interface PathMappingRule {
  /** How `sourcePath` is written: a POSIX path or a Windows path. */
  readonly sourcePathFormat: PathFormat;
  readonly sourcePath: string;
  /** Written in the worker's own path format. */
  readonly destinationPath: string;
}

/** The `pathmapping-1.0` document: what `Session.PathMappingRulesFile` holds. */
export function pathMappingDocument(rules: readonly PathMappingRule[]): Record<string, unknown> {
  if (rules.length === 0) return {};
  return {
    version: 'pathmapping-1.0',
    path_mapping_rules: rules.map((rule) => ({
      source_path_format: rule.sourcePathFormat,
      source_path: rule.sourcePath,
      destination_path: rule.destinationPath,
    })),
  };
}

/**
 * Reads a `pathmapping-1.0` document (as given to `corral run --path-mapping-rules` or by a farm queue).
 * @throws {CorralError} `CORRAL_E_PATH_MAPPING_INVALID` naming what is wrong.
 */
export function parsePathMappingDocument(document: unknown): PathMappingRule[] {
  const fail = (why: string): never => {
    throw new CorralError(SessionErrorCode.PathMappingInvalid, `Invalid path mapping rules: ${why}.`);
  };
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    return fail('expected an object with "version" and "path_mapping_rules"');
  }
  const doc = document as Record<string, unknown>;
  if (Object.keys(doc).length === 0) return [];
  if (doc.version !== 'pathmapping-1.0')
    fail(`"version" must be "pathmapping-1.0", got ${JSON.stringify(doc.version)}`);
  if (!Array.isArray(doc.path_mapping_rules)) fail('"path_mapping_rules" must be a list');
  return (doc.path_mapping_rules as unknown[]).map((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail(`rule ${i} is not an object`);
    const rule = raw as Record<string, unknown>;
    const keys = Object.keys(rule).sort().join(',');
    if (keys !== 'destination_path,source_path,source_path_format') {
      fail(
        `rule ${i} must have exactly source_path_format, source_path and destination_path (has ${keys || 'nothing'})`,
      );
    }
    const format = String(rule.source_path_format).toUpperCase();
    if (format !== 'POSIX' && format !== 'WINDOWS') fail(`rule ${i}: source_path_format must be POSIX or WINDOWS`);
    for (const key of ['source_path', 'destination_path']) {
      if (typeof rule[key] !== 'string' || rule[key] === '') fail(`rule ${i}: ${key} must be a non-empty string`);
    }
    return {
      sourcePathFormat: format as PathFormat,
      sourcePath: rule.source_path as string,
      destinationPath: rule.destination_path as string,
    };
  });
}

interface SplitPath {
  /** Drive or UNC share (`C:`, `\\server\share`), or '' ; for POSIX '/' when absolute. */
  readonly root: string;
  readonly parts: readonly string[];
  readonly trailingSeparator: boolean;
}

function splitPath(value: string, format: PathFormat): SplitPath {
  if (format === 'POSIX') {
    const absolute = value.startsWith('/');
    const parts = value.split('/').filter((p) => p !== '' && p !== '.');
    return { root: absolute ? '/' : '', parts, trailingSeparator: value.length > 1 && value.endsWith('/') };
  }
  const normal = value.replace(/\//g, '\\');
  let root = '';
  let rest = normal;
  const unc = /^\\\\([^\\]+)\\([^\\]+)/.exec(normal);
  const drive = /^([A-Za-z]:)/.exec(normal);
  if (unc) {
    root = `\\\\${unc[1]}\\${unc[2]}`;
    rest = normal.slice(unc[0].length);
  } else if (drive) {
    root = drive[1]!;
    rest = normal.slice(2);
  }
  if (rest.startsWith('\\')) root += '\\';
  const parts = rest.split('\\').filter((p) => p !== '' && p !== '.');
  return { root, parts, trailingSeparator: normal.length > root.length && normal.endsWith('\\') };
}

/** Compiled rules: sorted so the most specific source wins, parsed once. */
export class PathMapper {
  readonly #rules: { source: SplitPath; rule: PathMappingRule }[];
  readonly #hostFormat: PathFormat;

  constructor(
    rules: readonly PathMappingRule[],
    hostFormat: PathFormat = process.platform === 'win32' ? 'WINDOWS' : 'POSIX',
  ) {
    this.#hostFormat = hostFormat;
    // Longest source first: a rule for /mnt/projects/a must win over one for /mnt/projects.
    this.#rules = rules
      .map((rule) => ({ source: splitPath(rule.sourcePath, rule.sourcePathFormat), rule }))
      .sort(
        (a, b) => b.source.parts.length - a.source.parts.length || b.rule.sourcePath.length - a.rule.sourcePath.length,
      );
  }

  get hasRules(): boolean {
    return this.#rules.length > 0;
  }

  /** Maps a path with the first matching rule; unmatched paths come back unchanged. */
  map(value: string): string {
    for (const { source, rule } of this.#rules) {
      const path = splitPath(value, rule.sourcePathFormat);
      const windows = rule.sourcePathFormat === 'WINDOWS';
      const same = (a: string, b: string) => (windows ? a.toLowerCase() === b.toLowerCase() : a === b);
      if (!same(path.root, source.root) || path.parts.length < source.parts.length) continue;
      if (!source.parts.every((part, i) => same(part, path.parts[i]!))) continue;
      const separator = this.#hostFormat === 'WINDOWS' ? '\\' : '/';
      const destination = rule.destinationPath.replace(/[\\/]+$/, '');
      const rest = path.parts.slice(source.parts.length);
      let mapped = rest.length === 0 ? destination || separator : `${destination}${separator}${rest.join(separator)}`;
      if (path.trailingSeparator && !mapped.endsWith(separator)) mapped += separator;
      return mapped;
    }
    return value;
  }
}
