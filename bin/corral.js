#!/usr/bin/env node
// Corral's command-line entry. Kept tiny: the commands load only what they need.
import { main } from '../dist/bin/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 70;
  },
);
