#!/usr/bin/env node
// `node bin/warden.js ...` (how the tests, benches and the MCP gateway's sandboxed upstream start
// Warden) runs the CommonJS entry, bin/warden.cjs, which is the package's bin.
import './warden.cjs';
