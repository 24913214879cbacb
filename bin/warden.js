#!/usr/bin/env node
// The CLI runs from the bundle (dist/bundle, built by `npm run build`): start-up time is a budget.
import { main } from '../dist/bundle/main.js';
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
