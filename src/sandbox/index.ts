/** The kernel sandbox's public API. */
export type { SandboxSpec, SandboxLimits, LayerName, DegradableLayer } from './spec.js';
export { DEGRADABLE_LAYERS } from './spec.js';
export { buildPlan, describePlan, checkPath, type Plan, type MountOp, type Rlimit, type CgroupDir } from './plan.js';
export { encodePlan } from './plan-encode.js';
export { probeSandbox, type ProbeReport, type HelperProbe } from './probe.js';
export { launchSandbox, parseStatusLine, type SandboxHandle, type SandboxResult, type LaunchOptions, type StatusEvent } from './launch.js';
export { helperPath, packageRoot } from './helper-path.js';
export { resolveHostPaths, assertWorkspace, SYSTEM_READ_PATHS } from './host-paths.js';
