/**
 * Benchmark entry: `warden mcp` with the upstream started by a plain spawn (the injected-launcher
 * path of makeMcpCommand), so the gateway's own per-call cost can be measured against a direct
 * connection to the same unsandboxed server. Not a product path: the CLI has no such flag, and the
 * audit genesis of this run lists `upstream-sandbox` as degraded.
 */
import { processIo } from '../../src/cli/io.js';
import { makeMcpCommand } from '../../src/cli/mcp.js';
import { plainSpawn } from '../../src/mcp/upstream.js';

const io = processIo();
const cmd = makeMcpCommand({ spawnUpstream: () => plainSpawn({ env: io.env, cwd: io.cwd }) });
cmd(process.argv.slice(2), io).then(
  (code) => setTimeout(() => process.exit(code), 50).unref(),
  (e: unknown) => {
    io.stderr(`${(e as Error).message}\n`);
    process.exit(1);
  },
);
