import { probeSandbox, type ProbeReport } from '../sandbox/probe.js';
import { DEGRADABLE_LAYERS } from '../sandbox/spec.js';
import { parseCli } from './args.js';
import type { Command } from './io.js';

/**
 * `warden doctor [--json]`: which layers this kernel and this user support, and why not. Required
 * layers that are missing make `warden run` refuse (exit 126); degradable ones can be waived
 * with `--allow-degraded`, which the audit genesis then records.
 */

const ORDER = ['userns', 'mountns', 'pidns', 'netns', 'landlock', 'seccomp', 'seccomp-notify', 'pidmax', 'cgroup', 'private-cow'];
const OPTIONAL = new Set(['cgroup', 'private-cow']);

export interface DoctorLayer {
  layer: string;
  supported: boolean;
  required: 'required' | 'degradable' | 'optional';
  detail: string;
}

export function doctorLayers(p: ProbeReport): DoctorLayer[] {
  const names = [...ORDER, ...Object.keys(p.layers).filter((l) => !ORDER.includes(l))];
  return names
    .filter((l) => p.layers[l])
    .map((l) => ({
      layer: l,
      supported: p.layers[l]!.supported,
      required: OPTIONAL.has(l) ? 'optional' : (DEGRADABLE_LAYERS as readonly string[]).includes(l) ? 'degradable' : 'required',
      detail: p.layers[l]!.detail,
    }));
}

export const doctorCommand: Command = async (args, io) => {
  const { values } = parseCli(args, { json: { type: 'boolean' } }, { usage: 'warden doctor [--json]' });
  const p = await probeSandbox(io.env);
  const layers = doctorLayers(p);
  const runnable = layers.every((l) => l.supported || l.required !== 'required');
  if (values.json) {
    io.stdout(JSON.stringify({ kernel: p.kernel, machine: p.machine, uid: p.uid, landlockAbi: p.landlock.abi, runnable, layers, wardenDirs: p.wardenDirs }) + '\n');
    return 0;
  }
  io.stdout(`kernel ${p.kernel} (${p.machine}), uid ${p.uid}, Landlock ABI ${p.landlock.abi}\n`);
  for (const l of layers) io.stdout(`  ${l.supported ? 'ok' : 'no'} ${l.layer.padEnd(15)} ${l.required.padEnd(10)} ${l.detail}\n`);
  io.stdout(runnable ? 'warden run: all required layers are available\n' : 'warden run: will refuse to start (a required layer is missing)\n');
  return 0;
};
