#!/usr/bin/env node
// Corral's command-line entry. Kept tiny: the commands load only what they need.
import { main } from '../dist/bin/main.js';

main(process.argv.slice(2)).then(
  // Commands write their output synchronously, so nothing is left to flush: exiting at once skips freeing the
  // heap piece by piece, which after checking a large template costs more than a tenth of the run.
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(70);
  },
);
