/** @module Where the native launcher binary lives, from the source tree (tsx) and from dist/ alike. */

import { accessSync, constants, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Path of `corral-launcher`, built by scripts/build.mjs into dist/native/. This module runs from
 * src/session/launcher/ (tsx), dist/session/launcher/ (the library) or dist/bin/ (the bundled CLI); the first
 * candidate that exists wins.
 */
const CANDIDATES = ['../../../dist/native/corral-launcher', '../native/corral-launcher'].map((relative) =>
  fileURLToPath(new URL(relative, import.meta.url)),
);
export const NATIVE_LAUNCHER_PATH = CANDIDATES.find((path) => existsSync(path)) ?? CANDIDATES[0]!;

/** Whether the native launcher binary exists and is executable. */
export function nativeLauncherAvailable(path: string = NATIVE_LAUNCHER_PATH): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
