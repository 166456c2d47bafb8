#!/usr/bin/env node
// Corral's command-line entry. It loads the bundled CLI (dist/bin/corral.cjs) with V8's code cache, so that a start
// neither re-parses Corral's code nor re-compiles the functions a command uses; the cache is rewritten whenever it
// is missing or no longer fits (another Node version). Commands write their output synchronously, so the process
// exits as soon as the command is done, without freeing a large heap piece by piece.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

const bundle = new URL('../dist/bin/corral.cjs', import.meta.url).pathname;
const cacheFile = `${bundle}.cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {}
const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`;
const script = new Script(source, { filename: bundle, cachedData });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));

function saveCache() {
  if (cachedData !== undefined && !script.cachedDataRejected) return;
  try {
    // Written aside and renamed, so a reader never sees half a cache.
    const temporary = `${cacheFile}.${process.pid}`;
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cacheFile);
  } catch {
    // A read-only installation runs without a cache.
  }
}

module.exports.main(process.argv.slice(2)).then(
  (code) => {
    saveCache();
    process.exit(code);
  },
  (error) => {
    console.error(error);
    process.exit(70);
  },
);
