import { compileGlob, type Glob } from '../policy/glob.js';

/**
 * Tool labels for session taint: `sensitive` tools return private data (secrets, credentials,
 * files, mail, messages); `sink` tools move data somewhere others can read it (send, post,
 * publish, upload, fetch a URL…). A session that has read from a sensitive tool and then calls a
 * sink is the "lethal trifecta" flow, across servers or within one.
 *
 * Policy labels (globs on `tool` or `server/tool`) win; heuristics on the name, description and
 * annotations fill in the rest unless disabled. Heuristics err towards labelling: a wrong
 * `sensitive` or `sink` label costs an approval prompt, a missed one costs a leak.
 */

export interface LabelConfig {
  sensitive: readonly string[];
  sink: readonly string[];
  /** Tools never labelled by heuristics (policy labels still apply). */
  exempt: readonly string[];
  heuristics: boolean;
}

export interface Labels {
  sensitive: boolean;
  sink: boolean;
  why: string[];
}

export interface CompiledLabels {
  label(tool: { name: string; description?: string | undefined; annotations?: Record<string, unknown> | undefined }, server: string): Labels;
}

const SENSITIVE_NAME = /(?:^|[_\-.]|(?<=[a-z])(?=[A-Z]))(?:secrets?|credentials?|passwords?|passwd|tokens?|api[_-]?keys?|private|keychain|vault|env|environment|ssh|cookies?)(?=$|[_\-.A-Z])|^(?:read|get|cat|open|view|download|fetch|list|search|export|dump)[_\-.]?(?:[a-z]*?[_\-.])?(?:files?|documents?|emails?|mails?|messages?|inbox|dms?|notes?|contacts?|calendar|history|env|credentials?|keys?|secrets?)(?![a-z])/i;
const SENSITIVE_DESC = /\b(?:secrets?|credentials?|passwords?|api keys?|access tokens?|private (?:data|keys?|messages?|repos(?:itor(?:y|ies))?)|personal (?:data|information)|environment variables|ssh keys?|(?:read|returns?) (?:the )?(?:complete )?contents? of (?:a |the )?files?|(?:reads?|returns?|lists?|gets?|search(?:es)?|fetch(?:es)?)\b[^.\n]{0,30}?\b(?:e-?mails?|inbox|messages|dms|direct messages))\b/i;
const SINK_NAME = /(?:^|[_\-.]|(?<=[a-z])(?=[A-Z]))(?:send|post|publish|upload|share|tweet|toot|email|mail|slack|discord|webhook|http|https|fetch|request|curl|wget|notify|comment|reply|create[_\-.]?(?:issue|pr|pull[_\-.]?request|gist|comment|post|message)|issue[_\-.]?create|push|broadcast|forward|transfer|submit)(?=$|[_\-.A-Z])/i;
const SINK_DESC = /\b(?:sends?|posts?|publish(?:es)?|uploads?|shares?|tweets?|e-?mails? (?:to|a)|webhooks?|slack|discord|http requests?|fetch(?:es)? (?:a |the )?url)\b/i;

function qualify(server: string, tool: string): string {
  return `${server}/${tool}`;
}

function matcher(globs: readonly string[]): (server: string, tool: string) => boolean {
  const compiled: Array<{ g: Glob; qualified: boolean }> = globs.map((s) => ({ g: compileGlob(s, null), qualified: s.includes('/') }));
  return (server, tool) => compiled.some(({ g, qualified }) => g.test(qualified ? qualify(server, tool) : tool));
}

export function compileLabels(cfg: LabelConfig): CompiledLabels {
  const isSensitive = matcher(cfg.sensitive);
  const isSink = matcher(cfg.sink);
  const isExempt = matcher(cfg.exempt);
  return {
    label(tool, server) {
      const why: string[] = [];
      let sensitive = isSensitive(server, tool.name);
      let sink = isSink(server, tool.name);
      if (sensitive) why.push('policy: sensitive');
      if (sink) why.push('policy: sink');
      if (cfg.heuristics && !isExempt(server, tool.name)) {
        const desc = (tool.description ?? '').slice(0, 4096);
        if (!sensitive && (SENSITIVE_NAME.test(tool.name) || SENSITIVE_DESC.test(desc))) {
          sensitive = true;
          why.push('heuristic: reads private data');
        }
        const ann = tool.annotations ?? {};
        const openWrite = ann['openWorldHint'] === true && ann['readOnlyHint'] !== true;
        if (!sink && (SINK_NAME.test(tool.name) || SINK_DESC.test(desc) || openWrite)) {
          sink = true;
          why.push(openWrite ? 'heuristic: writes to the open world' : 'heuristic: sends data out');
        }
      }
      return { sensitive, sink, why };
    },
  };
}
