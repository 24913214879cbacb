/**
 * Decoders for literal payloads the shell would decode before running: ANSI-C quoting, `echo -e` and
 * `printf` escapes, base64, hex. Decoded text goes back through the classifier; binary results are
 * reported as opaque.
 */

function cp(n: number): string {
  try {
    return String.fromCodePoint(n);
  } catch {
    return '\uFFFD';
  }
}

/** Bash `$'...'` escapes. */
export function decodeAnsiC(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[++i]!;
    switch (n) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'e': case 'E': out += '\x1b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case "'": out += "'"; break;
      case '"': out += '"'; break;
      case '?': out += '?'; break;
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1));
        if (m) {
          out += cp(parseInt(m[0], 16));
          i += m[0].length;
        } else out += '\\x';
        break;
      }
      case 'u':
      case 'U': {
        const m = (n === 'u' ? /^[0-9a-fA-F]{1,4}/ : /^[0-9a-fA-F]{1,8}/).exec(s.slice(i + 1));
        if (m) {
          out += cp(parseInt(m[0], 16));
          i += m[0].length;
        } else out += '\\' + n;
        break;
      }
      case 'c': {
        const ch = s[i + 1];
        if (ch !== undefined) {
          out += String.fromCharCode(ch.charCodeAt(0) & 0x1f);
          i++;
        }
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          const m = /^[0-7]{1,3}/.exec(s.slice(i))!;
          out += cp(parseInt(m[0], 8) & 0xff);
          i += m[0].length - 1;
        } else out += '\\' + n;
    }
  }
  return out;
}

/** `echo -e` / `printf %b` escapes: like ANSI-C but octal is `\0nnn`, and `\c` stops output. */
export function decodeEchoEscapes(s: string): { text: string; stop: boolean } {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[i + 1]!;
    if (n === 'c') return { text: out, stop: true };
    if (n === '0') {
      const m = /^[0-7]{0,3}/.exec(s.slice(i + 2))!;
      out += cp(parseInt(m[0] || '0', 8) & 0xff);
      i += 1 + m[0].length;
      continue;
    }
    if (n >= '1' && n <= '7') {
      const m = /^[0-7]{1,3}/.exec(s.slice(i + 1))!;
      out += cp(parseInt(m[0], 8) & 0xff);
      i += m[0].length;
      continue;
    }
    const one = decodeAnsiC(s.slice(i, i + 2 + (n === 'x' ? 2 : n === 'u' ? 4 : n === 'U' ? 8 : 0)));
    if (n === 'x' || n === 'u' || n === 'U') {
      const m = (n === 'x' ? /^[0-9a-fA-F]{1,2}/ : n === 'u' ? /^[0-9a-fA-F]{1,4}/ : /^[0-9a-fA-F]{1,8}/).exec(s.slice(i + 2));
      if (m) {
        out += cp(parseInt(m[0], 16));
        i += 1 + m[0].length;
        continue;
      }
    }
    out += one.length === 1 ? one : '\\' + n;
    i++;
  }
  return { text: out, stop: false };
}

/** `printf FORMAT ARGS...`, enough of it to recover commands built with it. */
export function printfFormat(fmt: string, args: string[]): string {
  let out = '';
  let ai = 0;
  let guard = 0;
  do {
    for (let i = 0; i < fmt.length; i++) {
      const c = fmt[i]!;
      if (c === '\\' && i + 1 < fmt.length) {
        const n = fmt[i + 1]!;
        let len = 2;
        if (n === 'x') len = 2 + (/^[0-9a-fA-F]{1,2}/.exec(fmt.slice(i + 2))?.[0].length ?? 0);
        else if (n === 'u') len = 2 + (/^[0-9a-fA-F]{1,4}/.exec(fmt.slice(i + 2))?.[0].length ?? 0);
        else if (n === 'U') len = 2 + (/^[0-9a-fA-F]{1,8}/.exec(fmt.slice(i + 2))?.[0].length ?? 0);
        else if (n >= '0' && n <= '7') len = 1 + (/^[0-7]{1,3}/.exec(fmt.slice(i + 1))?.[0].length ?? 1);
        out += decodeAnsiC(fmt.slice(i, i + len));
        i += len - 1;
      } else if (c === '%') {
        const m = /^%([-+ #0]*\d*(?:\.\d+)?)([sbdiouxXcqfeEgG%])/.exec(fmt.slice(i));
        if (!m) {
          out += c;
          continue;
        }
        i += m[0].length - 1;
        const conv = m[2]!;
        if (conv === '%') {
          out += '%';
          continue;
        }
        const a = args[ai++] ?? '';
        if (conv === 's' || conv === 'q') out += a;
        else if (conv === 'b') out += decodeEchoEscapes(a).text;
        else if (conv === 'c') out += a.slice(0, 1);
        else if ('diouxX'.includes(conv)) {
          const v = a.startsWith("'") || a.startsWith('"') ? a.charCodeAt(1) : Number.parseInt(a, a.startsWith('0x') ? 16 : 10) || 0;
          out += conv === 'x' ? v.toString(16) : conv === 'X' ? v.toString(16).toUpperCase() : conv === 'o' ? v.toString(8) : String(v);
        } else out += a;
      } else out += c;
    }
  } while (ai > 0 && ai < args.length && ++guard < 64);
  return out;
}

const B64_RE = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;
const B64URL_RE = /^[A-Za-z0-9_\-\s]+={0,2}\s*$/;

/** Decodes base64 if the input is plausibly base64. Returns null otherwise. */
export function decodeBase64(s: string): Buffer | null {
  const t = s.trim();
  if (t.length < 4) return null;
  if (!B64_RE.test(t) && !B64URL_RE.test(t)) return null;
  const norm = t.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  const buf = Buffer.from(norm, 'base64');
  if (buf.length === 0) return null;
  return buf;
}

export function decodeHex(s: string): Buffer | null {
  const t = s.replace(/\s+/g, '').replace(/^0x/i, '').replace(/\\x/g, '');
  if (t.length < 2 || t.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(t)) return null;
  return Buffer.from(t, 'hex');
}

/** Text if the bytes are mostly printable UTF-8; null for binary. */
export function asText(buf: Buffer): string | null {
  const s = buf.toString('utf8');
  if (s.length === 0) return '';
  let printable = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || (c >= 160 && c !== 0xfffd)) printable++;
  }
  return printable / s.length >= 0.9 ? s : null;
}

export function rot13(s: string): string {
  return s.replace(/[a-zA-Z]/g, (c) => {
    const b = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - b + 13) % 26) + b);
  });
}

/** `tr SET1 SET2` on literal text, for the common translation cases (ranges, -d). */
export function trTranslate(text: string, set1: string, set2: string | null, del: boolean): string | null {
  const expand = (set: string): string | null => {
    let out = '';
    const s = set.replace(/\[:lower:\]/g, 'a-z').replace(/\[:upper:\]/g, 'A-Z').replace(/\[:digit:\]/g, '0-9');
    for (let i = 0; i < s.length; i++) {
      if (s[i + 1] === '-' && i + 2 < s.length) {
        const a = s.charCodeAt(i);
        const b = s.charCodeAt(i + 2);
        if (b < a || b - a > 512) return null;
        for (let c = a; c <= b; c++) out += String.fromCharCode(c);
        i += 2;
      } else if (s[i] === '\\' && i + 1 < s.length) {
        out += decodeAnsiC(s.slice(i, i + 2));
        i++;
      } else out += s[i];
    }
    return out;
  };
  const a = expand(set1);
  if (a === null) return null;
  if (del) return [...text].filter((c) => !a.includes(c)).join('');
  if (set2 === null) return null;
  const b = expand(set2);
  if (b === null || b.length === 0) return null;
  let out = '';
  for (const c of text) {
    const i = a.indexOf(c);
    out += i < 0 ? c : b[Math.min(i, b.length - 1)];
  }
  return out;
}
