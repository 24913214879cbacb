/**
 * Which paths the sandboxed tree cannot change, from the plan's own mounts: a path is immutable
 * when the innermost mount covering it is read-only (a read-only bind or tmpfs, a mask, or a mount
 * made read-only afterwards). An exec verdict may be cached only for a program whose whole
 * resolution lies in such paths — otherwise the agent could swap what a cached name resolves to.
 * Pure.
 */
import type { MountOp } from '../sandbox/plan.js';

export function immutablePaths(mounts: readonly MountOp[]): (path: string) => boolean {
  // In mount order: a later mount covering a path hides whatever was mounted beneath it, so the
  // topmost mount is the last one covering the path. The root itself is a tmpfs the helper makes
  // read-only once every mount is in place.
  const stack: Array<{ dst: string; ro: boolean }> = [{ dst: '/', ro: true }];
  for (const m of mounts) {
    switch (m.op) {
      case 'bind':
      case 'tmpfs':
        stack.push({ dst: m.dst, ro: m.readOnly === true });
        break;
      case 'mask':
        stack.push({ dst: m.dst, ro: true });
        break;
      case 'proc':
      case 'devpts':
      case 'cow':
        stack.push({ dst: m.dst, ro: false });
        break;
      case 'ro': {
        const top = [...stack].reverse().find((e) => e.dst === m.dst);
        if (top) top.ro = true;
        break;
      }
      case 'symlink':
      case 'dir':
        break; // an entry in the mount beneath, not a mount
      default: {
        // A mount kind this function does not know must not be taken for read-only.
        const unknown: never = m;
        stack.push({ dst: (unknown as { dst: string }).dst, ro: false });
      }
    }
  }
  return (path: string): boolean => {
    for (let i = stack.length - 1; i >= 0; i--) {
      const e = stack[i]!;
      if (e.dst === '/' || path === e.dst || path.startsWith(`${e.dst}/`)) return e.ro;
    }
    return false;
  };
}
