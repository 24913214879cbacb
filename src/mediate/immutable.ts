/**
 * Which paths the sandboxed tree cannot change, from the plan's own mounts: a path is immutable
 * when the innermost mount covering it is read-only (a read-only bind or tmpfs, a mask, or a mount
 * made read-only afterwards). An exec verdict may be cached only for a program whose whole
 * resolution lies in such paths — otherwise the agent could swap what a cached name resolves to.
 * Pure.
 */
import type { MountOp } from '../sandbox/plan.js';

export function immutablePaths(mounts: readonly MountOp[]): (path: string) => boolean {
  // The root itself is a tmpfs the helper makes read-only once every mount is in place.
  const ro = new Map<string, boolean>([['/', true]]);
  for (const m of mounts) {
    switch (m.op) {
      case 'bind':
      case 'tmpfs':
        ro.set(m.dst, m.readOnly === true);
        break;
      case 'mask':
        ro.set(m.dst, true);
        break;
      case 'proc':
      case 'devpts':
        ro.set(m.dst, false);
        break;
      case 'ro':
        if (ro.has(m.dst)) ro.set(m.dst, true);
        break;
      default:
        break;
    }
  }
  const points = [...ro.keys()].sort((a, b) => b.length - a.length);
  return (path: string): boolean => {
    for (const p of points) if (p === '/' || path === p || path.startsWith(`${p}/`)) return ro.get(p) === true;
    return false;
  };
}
