/**
 * A tiny decoder of the plan format (native/PLAN.md), for round-trip tests of the encoder. It is
 * deliberately independent of plan-encode.ts's tables so that a shared mistake does not cancel out.
 */
export interface DecodedPlan {
  config: { flags: number; supervisorPid: number; statusFd: number; llMinAbi: number; llAbiMax: number; pidMax: number; degradable: number; llScopes: number; llRestrictFlags: number };
  hostname?: string;
  mounts: Array<{ op: number; flags: number; mode: number; size: bigint; src: string; dst: string }>;
  llPaths: Array<{ access: bigint; path: string }>;
  llNet: Array<{ access: bigint; port: bigint }>;
  rlimits: Array<{ resource: number; soft: bigint; hard: bigint }>;
  env: string[];
  argv: string[];
  cwd?: string;
  seccomp?: Uint8Array;
  relay?: { tcpPort: number; dnsPort: number; flags: number; proxy: string; dns: string };
  ask: string[];
  cgroups: Array<{ parent: string; writes: Array<{ target: number; optional: number; key: string; value: string }>; reads: string[] }>;
}

export function decodePlan(bytes: Uint8Array): DecodedPlan {
  const b = Buffer.from(bytes);
  let o = 0;
  const u32 = (): number => {
    const v = b.readUInt32LE(o);
    o += 4;
    return v;
  };
  const u64 = (): bigint => {
    const v = b.readBigUInt64LE(o);
    o += 8;
    return v;
  };
  const str = (n: number): string => {
    const s = b.subarray(o, o + n).toString('utf8');
    o += n;
    return s;
  };
  if (u32() !== 0x4e4c5057) throw new Error('magic');
  if (u32() !== 1) throw new Error('version');
  if (u32() !== b.length) throw new Error('total length');
  const count = u32();
  const p: DecodedPlan = { config: undefined as never, mounts: [], llPaths: [], llNet: [], rlimits: [], env: [], argv: [], cgroups: [], ask: [] };
  for (let i = 0; i < count; i++) {
    const type = u32();
    const len = u32();
    const end = o + len;
    switch (type) {
      case 1:
        p.config = { flags: u32(), supervisorPid: u32(), statusFd: u32(), llMinAbi: u32(), llAbiMax: u32(), pidMax: u32(), degradable: u32(), llScopes: u32(), llRestrictFlags: u32() };
        u32();
        break;
      case 2: {
        const op = u32(), flags = u32(), mode = u32();
        u32();
        const size = u64();
        const src = str(u32());
        const dst = str(u32());
        p.mounts.push({ op, flags, mode, size, src, dst });
        break;
      }
      case 3: {
        const access = u64();
        p.llPaths.push({ access, path: str(u32()) });
        break;
      }
      case 4:
        p.llNet.push({ access: u64(), port: u64() });
        break;
      case 5: {
        const resource = u32();
        u32();
        p.rlimits.push({ resource, soft: u64(), hard: u64() });
        break;
      }
      case 6:
        p.env.push(str(len));
        break;
      case 7:
        p.argv.push(str(len));
        break;
      case 8:
        p.cwd = str(len);
        break;
      case 9:
        p.seccomp = new Uint8Array(b.subarray(o, o + len));
        o += len;
        break;
      case 10:
        p.cgroups.push({ parent: str(len), writes: [], reads: [] });
        break;
      case 11: {
        const target = u32(), optional = u32();
        const key = str(u32());
        p.cgroups.at(-1)!.writes.push({ target, optional, key, value: str(u32()) });
        break;
      }
      case 12:
        p.cgroups.at(-1)!.reads.push(str(len));
        break;
      case 13:
        p.hostname = str(len);
        break;
      case 14: {
        const tcpPort = u32(), dnsPort = u32(), flags = u32();
        if (u32() !== 0) throw new Error('relay reserved');
        p.relay = { tcpPort, dnsPort, flags, proxy: str(u32()), dns: str(u32()) };
        break;
      }
      case 15:
        p.ask.push(str(len));
        break;
      default:
        throw new Error(`record type ${type}`);
    }
    if (o !== end) throw new Error(`record ${i} (type ${type}) length mismatch`);
  }
  if (o !== b.length) throw new Error('trailing bytes');
  return p;
}
