/**
 * Inspection rules as data. Each rule names one technique by which a tool definition or a tool
 * result tries to steer the model against the user (tool poisoning, indirect prompt injection,
 * exfiltration). Rules are deterministic regular expressions run locally — nothing is sent to a
 * remote scanner. Every pattern is linear-time in practice: alternations of literals and bounded
 * gaps (`[^.\n]{0,N}`), no nested unbounded quantifiers, so hostile text cannot stall the gateway.
 *
 * Severity: `high` — the text is an attack by construction; `medium` — an attack in most contexts,
 * occasionally legitimate; `low` — worth an audit record only. Policy chooses the threshold at which
 * a finding withholds a tool or asks for approval (`inspect.minSeverity`, default medium).
 */

export type Severity = 'low' | 'medium' | 'high';
export const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3 };

export type Target = 'definition' | 'result';

export interface TextRule {
  id: string;
  title: string;
  severity: Severity;
  /** Severity when the text appears in a tool result rather than a definition (default: same). */
  resultSeverity?: Severity;
  targets: readonly Target[];
  re: RegExp;
  /** When redacting results, extend the redaction from the match to this closing pattern. */
  redactUntil?: RegExp;
}

const G = (s: string): RegExp => new RegExp(s, 'gimu');

export const TEXT_RULES: readonly TextRule[] = [
  {
    id: 'hidden-instruction-block',
    title: 'instruction block addressed to the model (<IMPORTANT>, <SYSTEM>, [INST], …)',
    severity: 'high',
    targets: ['definition', 'result'],
    re: G(String.raw`<\s*(?:important|system|instructions?|secret|hidden|admin|override|critical|assistant)(?:\s[^<>]{0,100})?>|\[\s*(?:INST|SYSTEM)\s*\]|<\|im_start\|>|<<\s*SYS\s*>>`),
    redactUntil: /<\s*\/\s*(?:important|system|instructions?|secret|hidden|admin|override|critical|assistant)\s*>|\[\s*\/\s*INST\s*\]|<\|im_end\|>|<<\s*\/SYS\s*>>/iu,
  },
  {
    id: 'ignore-previous',
    title: 'asks the model to ignore or override its instructions',
    severity: 'high',
    targets: ['definition', 'result'],
    re: G(String.raw`\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|all|any|other|system|safety|original|your)\b[^.\n]{0,40}?\b(?:instructions?|prompts?|rules|directions|guidelines|messages|context|constraints)\b`),
  },
  {
    id: 'role-override',
    title: 'tries to re-role the model ("you are now", "new instructions:")',
    severity: 'high',
    resultSeverity: 'high',
    targets: ['definition', 'result'],
    re: G(String.raw`\byou are now\b|\bfrom now on,? you\b|\bnew (?:system )?instructions?\s*:|\b(?:developer|god|jailbreak|DAN) mode\b|^\s*(?:system|assistant)\s*:`),
  },
  {
    id: 'conceal-from-user',
    title: 'asks the model to hide something from the user',
    severity: 'high',
    targets: ['definition', 'result'],
    re: G(
      String.raw`\b(?:do not|don't|never|without)\b[^.\n]{0,30}?\b(?:tell|telling|inform|informing|mention|mentioning|notify|notifying|alert|alerting|reveal|revealing|show|showing|let)\b[^.\n]{0,30}?\b(?:the )?(?:user|human|operator)s?\b` +
        String.raw`|\b(?:the )?user (?:must|should|need) (?:not|never) (?:know|see|be told)\b` +
        String.raw`|\b(?:silently|secretly|covertly|quietly)\b[^.\n]{0,40}?\b(?:send|read|upload|call|run|execute|include|forward|copy|pass)\b`,
    ),
  },
  {
    id: 'secret-path',
    title: 'references secret files (SSH keys, .env, cloud credentials, MCP configs)',
    severity: 'high',
    resultSeverity: 'low',
    targets: ['definition', 'result'],
    re: G(
      String.raw`(?:~|\$HOME|\$\{HOME\}|/home/[^/\s]{1,64}|/root)/\.(?:ssh|aws|gnupg|kube|docker|azure|netrc|npmrc|pypirc|git-credentials|bash_history|zsh_history|config/gcloud|cursor|claude)\b` +
        String.raw`|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|(?:^|[\s'"\x60(/])\.env(?:\.[a-z]{1,12})?\b|\bmcp\.json\b|\bclaude_desktop_config\.json\b|/etc/(?:shadow|sudoers)\b|\.aws/credentials\b`,
    ),
  },
  {
    id: 'secret-request',
    title: 'asks the model to read or pass on secrets',
    severity: 'medium',
    resultSeverity: 'medium',
    targets: ['definition', 'result'],
    re: G(
      String.raw`\b(?:read|cat|include|send|pass|provide|upload|attach|extract|leak|exfiltrate|copy|forward|append|paste)\b[^.\n]{0,60}?\b(?:ssh keys?|private keys?|api keys?|secret keys?|secrets|credentials|passwords?|access tokens?|auth tokens?|session (?:ids?|cookies?)|cookies|environment variables|env vars)\b`,
    ),
  },
  {
    id: 'extra-argument',
    title: 'asks the model to smuggle data through a tool argument',
    severity: 'high',
    resultSeverity: 'medium',
    targets: ['definition', 'result'],
    re: G(
      String.raw`\b(?:pass|put|include|add|insert|append|send|provide|place|embed|fill|store)\b[^.\n]{0,80}?\b(?:contents?|data|text|output|conversation|history|messages?|keys?|tokens?|secrets?|files?|results?)\b[^.\n]{0,60}?\b(?:in|into|as|via|within|inside|through|to)\b[^.\n]{0,20}?\b(?:the\s+)?['"\x60]?[\w-]{0,40}['"\x60]?\s*(?:parameter|argument|param|field|arg)\b` +
        String.raw`|\bside[\s_-]?note\b`,
    ),
  },
  {
    id: 'html-comment',
    title: 'HTML comment (not rendered to the user, read by the model)',
    severity: 'medium',
    targets: ['definition'],
    re: G(String.raw`<!--[\s\S]{0,4000}?-->`),
  },
  {
    id: 'encoded-payload',
    title: 'long base64-like payload',
    severity: 'medium',
    targets: ['definition'],
    re: G(String.raw`[A-Za-z0-9+/]{160,}={0,2}`),
  },
];

/** Phrases that point the model at a *named* tool ("instead of the send_email tool"). */
export const TOOL_REFERENCE_RE = G(
  String.raw`\b(?:instead of|rather than|before (?:using|calling|invoking)|after (?:using|calling|invoking)|whenever (?:you )?(?:use|call|invoke)|when (?:using|calling|invoking)|always (?:use|call)|never (?:use|call))\b[^.\n]{0,30}?\b(?:the\s+)?['"\x60]?([A-Za-z][\w.-]{2,64})['"\x60]?\s+tool\b`,
);

/**
 * Names of tools built into common agent hosts. An MCP tool taking one of these names is shadowing
 * the host's own tool (the model may call it believing it is the trusted built-in). Case-sensitive:
 * `Read` is Claude Code's, `read_file` is an ordinary MCP filesystem tool.
 */
export const WELL_KNOWN_TOOL_NAMES: readonly string[] = [
  'Bash', 'Read', 'Write', 'Edit', 'MultiEdit', 'Glob', 'Grep', 'LS', 'WebFetch', 'WebSearch', 'Task', 'TodoWrite', 'NotebookEdit', 'NotebookRead',
  'run_terminal_cmd', 'codebase_search', 'grep_search', 'file_search', 'delete_file', 'reapply', 'web_search',
  'shell', 'exec_command', 'apply_patch', 'str_replace_based_edit_tool', 'computer', 'bash', 'text_editor',
];

/** Property names in an inputSchema that invite the model to volunteer context it should keep. */
export const SUSPICIOUS_PARAM_RE = /^(?:side[_-]?note|notes?_for_(?:the_)?(?:assistant|model)|conversation(?:_history)?|chat_?history|previous_?messages|system_?prompt|full_?context|context_?dump|memory_?dump|hidden|secret_?data|exfil\w*)$/i;

/** Result-side URL thresholds for exfiltration. */
export const EXFIL = {
  /** A query value (or path segment) at least this long, of encoded-looking characters. */
  minEncodedRun: 48,
  encodedRunRe: /[A-Za-z0-9+/=_%-]{48,}/u,
} as const;

export const MARKDOWN_IMAGE_RE = /!\[[^\]\n]{0,300}\]\(\s*<?([a-z][a-z0-9+.-]{0,15}:\/\/[^)\s>]{1,4096})>?(?:\s+"[^"\n]{0,200}")?\s*\)|<img\b[^>]{0,400}?\bsrc\s*=\s*["']?([a-z][a-z0-9+.-]{0,15}:\/\/[^"'\s>]{1,4096})[^>]{0,400}>/giu;
export const MARKDOWN_LINK_RE = /(?<!!)\[[^\]\n]{0,300}\]\(\s*<?([a-z][a-z0-9+.-]{0,15}:\/\/[^)\s>]{1,4096})>?(?:\s+"[^"\n]{0,200}")?\s*\)/giu;
export const BARE_URL_RE = /\bhttps?:\/\/[^\s<>"'`)\]]{1,4096}/giu;
