/**
 * Containers, clusters and clouds: containers that mount or share the host (root-equivalent),
 * cluster/cloud deletions, reading secrets and tokens through the CLI, weakening logging or access
 * controls, granting permissions, uploads to object storage, infrastructure destroy/apply.
 */
import { resolveField } from '../files.js';
import { display, type Invocation, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { readFiles } from './common.js';
import { uploadEffects } from './egress.js';

/** docker / podman / nerdctl. */
export function docker(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s);
  let k = 0;
  while (k < w.length && w[k]!.startsWith('-')) k += /^(?:-H|--host|--context|-c|--config|-l|--log-level)$/.test(w[k]!) ? 2 : 1;
  const sub = w[k] ?? '';
  const sub2 = w[k + 1] ?? '';
  const rest = w.slice(k + 1);
  const all = rest.join(' ');
  if (sub === 'run' || sub === 'create' || (sub === 'container' && (sub2 === 'run' || sub2 === 'create'))) {
    const hostMount = /(?:^|\s)(?:-v|--volume|--mount)[= ]\s*(?:type=bind,\s*)?(?:source=|src=)?(\/|\/etc|\/root|\/home|\/var\/run\/docker\.sock|\/run|\/var|\/usr|\/proc|\/sys|\/dev)(?::|,|\s|$)/.exec(all);
    const privileged = /(?:^|\s)--privileged\b|--pid[= ]host|--cap-add[= ](?:ALL|SYS_ADMIN|SYS_PTRACE|SYS_MODULE|DAC_READ_SEARCH)|--security-opt[= ](?:apparmor|seccomp)[=:]unconfined|--userns[= ]host|--device[= ]\/dev\/(?:sd|nvme|mem|kmsg)/.exec(all);
    if (hostMount) a.add('privilege-escalation', 'high', `${name} ${sub} mounts the host's ${hostMount[1]} into a container (root access to the host)`, undefined, ctx);
    if (privileged) a.add('privilege-escalation', 'high', `${name} ${sub} with ${privileged[0].trim()} (container can take over the host)`, undefined, ctx);
    if (/(?:^|\s)--net(?:work)?[= ]host\b/.test(all)) a.add('system-modify', 'low', 'container shares the host network', undefined, ctx);
    return UNKNOWN_STREAM;
  }
  if (sub === 'exec' || sub === 'attach' || sub === 'cp' || sub === 'logs' || sub === 'inspect' || sub === 'ps' || sub === 'images' || sub === 'build' || sub === 'pull' || sub === 'compose' || sub === 'start' || sub === 'stop' || sub === 'restart' || sub === 'tag' || sub === 'version' || sub === 'info') {
    if (sub === 'compose' && /\bdown\b.*(?:-v|--volumes)/.test(all)) a.add('destroy', 'medium', `${name} compose down -v deletes the project's volumes (data)`, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  if (sub === 'push') {
    a.add('network-upload', 'low', `${name} push publishes an image`, undefined, ctx);
    return NO_STREAM;
  }
  if (sub === 'login') {
    a.add('read-secret', 'low', `${name} login stores registry credentials`, undefined, ctx);
    return NO_STREAM;
  }
  if (sub === 'system' && sub2 === 'prune' || sub === 'volume' && /^(?:rm|prune)$/.test(sub2) || sub === 'rm' && /(?:^|\s)-[a-z]*f/.test(all) && /-v\b|--volumes/.test(all)) {
    a.add('destroy', /-a|--all|--volumes/.test(all) || sub === 'volume' ? 'medium' : 'low', `${name} ${sub} ${sub2}: deletes containers, images or volumes`, undefined, ctx);
    return NO_STREAM;
  }
  if ((sub === 'rm' || sub === 'rmi' || sub === 'kill') && inv.args.some((f) => !f.exact)) {
    a.add('destroy', 'medium', `${name} ${sub} on a computed list of containers/images (likely all of them)`, undefined, ctx);
    return NO_STREAM;
  }
  if (sub === 'rm' || sub === 'rmi' || sub === 'kill' || (sub === 'container' || sub === 'image' || sub === 'network') && /^(?:rm|prune|kill)$/.test(sub2)) {
    a.add('destroy', 'low', `${name} ${sub} ${sub2}`.trim(), undefined, ctx);
    return NO_STREAM;
  }
  return UNKNOWN_STREAM;
}

/** kubectl / oc: deletions, secret reads, exec into pods, privileged workloads. */
export function kubectl(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s);
  const verbs = w.filter((x) => !x.startsWith('-'));
  const sub = verbs[0] ?? '';
  const all = w.join(' ');
  if (sub === 'delete') {
    const wide = /(?:^|\s)(?:--all\b|-A\b|--all-namespaces)|\b(?:ns|namespaces?|nodes?|pv|persistentvolumes?|crd|customresourcedefinitions?|clusterroles?)\b/.test(all);
    a.add('destroy', wide ? 'high' : 'medium', `${name} delete ${verbs.slice(1).join(' ')}: deletes cluster resources`, undefined, ctx);
  } else if ((sub === 'get' || sub === 'describe') && /\bsecrets?\b/.test(all)) {
    a.facts.secretReads.push(a.link(ctx, 'secret read'));
    a.add('read-secret', /-o\s*(?:yaml|json|jsonpath|go-template)|--output/.test(all) || sub === 'describe' ? 'high' : 'medium', `${name} ${sub} secrets: reads cluster secrets`, undefined, ctx);
    return { text: null, taint: { secret: 'Kubernetes secrets', links: [a.link(ctx, 'secret read')] }, src: 'unknown' };
  } else if (sub === 'config' && /\bview\b/.test(all) && /--raw|--flatten/.test(all)) {
    a.add('read-secret', 'high', `${name} config view --raw prints cluster credentials`, undefined, ctx);
    return { text: null, taint: { secret: 'kubeconfig credentials', links: [a.link(ctx, 'secret read')] }, src: 'unknown' };
  } else if (sub === 'create' && verbs[1] === 'token') {
    a.add('read-secret', 'high', `${name} create token mints a service-account token`, undefined, ctx);
  } else if ((sub === 'run' || sub === 'debug') && /--privileged|hostPID|hostNetwork|--profile[= ]sysadmin|node\//.test(all)) {
    a.add('privilege-escalation', 'high', `${name} ${sub} starts a privileged workload / node debug pod`, undefined, ctx);
  } else if (sub === 'apply' || sub === 'create' || sub === 'patch' || sub === 'replace' || sub === 'scale' || sub === 'set' || sub === 'edit' || sub === 'rollout' && verbs[1] === 'undo') {
    a.add('system-modify', 'low', `${name} ${sub} changes cluster resources`, undefined, ctx);
  } else if (sub === 'drain' || sub === 'cordon' || sub === 'taint') {
    a.add('system-modify', 'medium', `${name} ${sub} changes node scheduling`, undefined, ctx);
  } else if ((sub === 'proxy' || sub === 'port-forward') && /--address[= ](?:0\.0\.0\.0|::|\*)/.test(all)) {
    a.add('listener', 'high', `${name} ${sub} exposes the cluster API on every network interface`, undefined, ctx);
  } else if (sub === 'proxy' && /--www[= ]/.test(all)) {
    a.add('listener', 'medium', `${name} proxy serves a local directory over HTTP`, undefined, ctx);
  } else if (sub === 'auth' && /can-i/.test(all)) {
    a.facts.recon.push(a.link(ctx, 'permission enumeration'));
  }
  return UNKNOWN_STREAM;
}

export function helm(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const w = inv.args.map((f) => f.s).filter((x) => !x.startsWith('-'));
  if (/^(?:uninstall|delete|del|un)$/.test(w[0] ?? '')) a.add('destroy', 'medium', `helm ${w[0]} removes a release from the cluster`, undefined, ctx);
  else if (w[0] === 'plugin' && w[1] === 'install') a.add('download-exec', 'medium', 'helm plugin install runs third-party code', undefined, ctx);
  else if (w[0] === 'install' || w[0] === 'upgrade' || w[0] === 'rollback') a.add('system-modify', 'low', `helm ${w[0]} changes cluster workloads`, undefined, ctx);
  return UNKNOWN_STREAM;
}

const CLOUD_SECRET = /\b(?:get-secret-value|batch-get-secret-value|get-parameters?(?:-by-path)?\b.*--with-decryption|get-session-token|get-federation-token|assume-role\b|create-access-key|export-credentials|get-login-password|print-access-token|print-identity-token|get-access-token|keyvault\s+secret\s+(?:show|download)|secrets\s+versions\s+access|application-default\s+print-access-token|configure\s+(?:get|export-credentials)|auth\s+token|iam\s+service-accounts\s+keys\s+create|storage\s+account\s+keys\s+list|decrypt\b)/;
const CLOUD_TAMPER = /\b(?:stop-logging|delete-trail|update-trail|put-event-selectors|delete-flow-logs|delete-detector|disassociate-members|delete-log-group|delete-log-stream|put-retention-policy|disable-(?:key|security-hub|organization-admin-account)|delete-config-rule|stop-configuration-recorder|delete-configuration-recorder|put-bucket-lifecycle|put-bucket-policy|put-bucket-acl|put-public-access-block|delete-public-access-block|authorize-security-group-ingress|modify-instance-attribute|logging\s+sinks\s+delete|audit-config|set-iam-policy|add-iam-policy-binding|diagnostic-settings\s+delete)\b/;
const CLOUD_PRIV = /\b(?:attach-(?:user|role|group)-policy|put-(?:user|role|group)-policy|create-login-profile|update-login-profile|create-user|add-user-to-group|update-assume-role-policy|role\s+assignment\s+create|create-policy-version|set-default-policy-version)\b/;
const CLOUD_DESTROY = /\b(?:delete|remove|destroy|terminate|purge|deregister|rb|rm|wipe|erase|drop)[\w-]*\b/;

export function cloud(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s);
  const all = w.join(' ');
  const verbs = w.filter((x) => !x.startsWith('-')).join(' ');
  if (CLOUD_SECRET.test(all)) {
    a.facts.secretReads.push(a.link(ctx, 'secret read'));
    a.add('read-secret', 'high', `${name} ${display(verbs)}: retrieves credentials or secrets`, undefined, ctx);
    return { text: null, taint: { secret: `${name} credentials`, links: [a.link(ctx, 'secret read')] }, src: 'unknown' };
  }
  if (CLOUD_TAMPER.test(all)) {
    a.add('security-tampering', 'high', `${name} ${display(verbs)}: weakens logging, detection or access controls`, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  if (CLOUD_PRIV.test(all)) {
    a.add('privilege-escalation', 'high', `${name} ${display(verbs)}: grants cloud permissions or creates credentials`, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  const verbWords = w.filter((x) => !x.startsWith('-'));
  if (verbWords.slice(0, 4).some((x) => CLOUD_DESTROY.test(x)) && !/\b(?:describe|list|get|show)\b/.test(verbWords.slice(0, 3).join(' '))) {
    const wide = /--recursive|--force|--all|\brb\b|projects\s+delete|group\s+delete|delete-stack|terminate-instances|delete-db|delete-cluster|delete-bucket/.test(all);
    a.add('destroy', wide ? 'high' : 'medium', `${name} ${display(verbs)}: deletes cloud resources`, undefined, ctx);
    return UNKNOWN_STREAM;
  }
  // Uploads to object storage: `aws s3 cp LOCAL s3://`.
  if (/\b(?:cp|sync|mv|upload|put)\b/.test(verbs)) {
    const pos = inv.args.filter((f) => !f.s.startsWith('-'));
    const remote = pos.find((f) => /^(?:s3|gs|az|https?):\/\//.test(f.s));
    const idx = remote ? pos.indexOf(remote) : -1;
    const local = pos.slice(0, idx).reverse().find((f) => /^(?:\/|\.|~)/.test(f.s) || f.s.includes('/') && !f.s.includes('://'));
    if (remote && local) {
      const r = resolveField(a, local, ctx);
      const st = readFiles(inv, [local], `${name} upload`);
      uploadEffects(inv, st, { host: remote.s.replace(/^\w+:\/\//, '').split('/')[0]!, port: null, scheme: 's3', cls: 'name', raw: remote.s }, `${name} uploads`, r?.abs);
    }
  }
  return UNKNOWN_STREAM;
}

export function iac(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const w = inv.args.map((f) => f.s).filter((x) => !x.startsWith('-'));
  const all = inv.args.map((f) => f.s).join(' ');
  const sub = w[0] ?? '';
  if (sub === 'destroy' || sub === 'apply' && /-destroy\b/.test(all) || sub === 'state' && /^(?:rm|push)$/.test(w[1] ?? '')) {
    a.add('destroy', 'high', `${name} ${w.slice(0, 2).join(' ')}: destroys managed infrastructure`, undefined, ctx);
  } else if (sub === 'apply' || sub === 'up' || sub === 'deploy' || sub === 'import' || sub === 'taint') {
    a.add('system-modify', /-auto-approve|--yes|-y\b/.test(all) ? 'medium' : 'low', `${name} ${sub} changes real infrastructure`, undefined, ctx);
  } else if (sub === 'output' && /-json|-raw/.test(all)) {
    a.add('read-secret', 'low', `${name} output may print secret values`, undefined, ctx);
  }
  return UNKNOWN_STREAM;
}
