/**
 * Reads the user's OpenSSH client configuration (~/.ssh/config) and resolves a destination the way
 * `ssh -G` does, without ever running anything.
 *
 * What `ssh-config` (npm) does for us: it splits a line into keyword, separator and value, strips
 * double quotes, tokenises multi-value keywords (Host, Match, UserKnownHostsFile, Include, ...) and
 * recognises comments. We feed it ONE LINE AT A TIME, because on a whole file it throws at the first
 * unterminated quote (losing every host) and it keeps no line numbers. Match lines are split by our
 * own argv_split-like splitter, because ssh-config throws on criteria that don't come in pairs.
 *
 * What we add by hand, and why:
 * - `Include` (ssh-config leaves it as a plain directive): `~`, `${ENV}`, paths relative to ~/.ssh,
 *   `*`/`?` globs (sorted like glob(3), hidden files only when the pattern starts with `.`),
 *   includes inside Host/Match blocks (conditional, as in OpenSSH), loop detection and a depth limit
 *   of 16 like OpenSSH's READCONF_MAX_DEPTH. Only regular files are read (never a FIFO or device),
 *   at most 1 MiB each and 512 in all, so a mistaken `Include` cannot hang or exhaust memory.
 * - `ssh -G` semantics (ssh-config's `compute()` is not used: it runs `Match exec` through a shell and
 *   calls nslookup, and its matching differs from OpenSSH): first value wins; `Host` patterns are
 *   space-separated and matched case-sensitively against the name as typed, a matching `!pattern`
 *   disables the block; `Match` supports `all`, `canonical`, `final` (with OpenSSH's second pass, in
 *   which `Host` matches the resolved HostName), `host`, `originalhost`, `user` and `localuser`, each
 *   with comma-separated pattern lists and `!` negation. Other criteria (`exec`, `localnetwork`,
 *   `tagged`, `version`, ...) are never evaluated: the block is treated as not matching and a problem
 *   "Match exec is not evaluated" is recorded. Command-line user/port (from the destination or
 *   overrides) beat the config, like `ssh -l`/`-p`.
 * - Value checking with OpenSSH's wording where it has one (Bad port 'abc', unsupported option,
 *   invalid time value, ...). Unknown keywords are accepted silently (OpenSSH has many we don't use).
 * - Defaults, `~` and `${ENV}` expansion and %-tokens in IdentityFile, UserKnownHostsFile,
 *   GlobalKnownHostsFile and IdentityAgent. Tokens: `%%` `%C` (SHA-1 of %l%h%p%r%j) `%d` (local home)
 *   `%h` (remote host name) `%i` (local uid) `%j` (ProxyJump) `%k` (HostKeyAlias or original host)
 *   `%L` (short local host name) `%l` (local host name) `%n` (host as typed) `%p` (port) `%r` (remote
 *   user) `%u` (local user). HostName takes `%h` and `%%` only. A value with an unknown token is
 *   reported and ignored (ssh refuses to connect with it).
 *
 * Nothing here throws on a malformed file: every line it can read counts, every line it can't is a
 * `ConfigProblem` with file and line.
 */
import crypto = require('node:crypto');
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { LineType, parse as parseSshConfigText } from 'ssh-config';
import type { ForwardKind, ForwardSpec } from './model';
import { parseForwardSpec, ForwardSpecError } from './forwardSpec';

// ---------------------------------------------------------------------------------------------
// Public types

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem is about the whole file (e.g. unreadable). */
  line: number;
  message: string;
}

/** A concrete Host alias from the config, for a host list. */
export interface ConfiguredHost {
  alias: string;
  file: string;
  line: number;
  hostName: string;
  user: string;
  port: number;
}

export type StrictHostKeyChecking = 'yes' | 'no' | 'ask' | 'accept-new' | 'off';

/** What `ssh -G destination` would print, for the options this extension uses. */
export interface ResolvedHost {
  /** The host part of the destination as given (the alias). */
  alias: string;
  /** HostName with %h expanded, lower-cased like ssh does (IPv6 literals left alone). */
  hostName: string;
  user: string;
  port: number;
  /** Expanded paths, in order; ssh's defaults (id_rsa, id_ecdsa, id_ed25519) only if none configured. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** Agent socket: IdentityAgent (expanded), else SSH_AUTH_SOCK; undefined when `none` or unset. */
  identityAgent?: string;
  /** ProxyJump hops in order (each `[user@]host[:port]` or `ssh://` URI); empty for none. */
  proxyJump: string[];
  /** A ProxyCommand that won over ProxyJump. It is NOT run (nothing goes through a shell). */
  proxyCommand?: string;
  /** Seconds; 15 when the config doesn't say (ssh's own default, 0, never notices a dead link). */
  serverAliveInterval: number;
  serverAliveIntervalFromConfig: boolean;
  serverAliveCountMax: number;
  /** Seconds; undefined when unset or `none`. */
  connectTimeout?: number;
  exitOnForwardFailure: boolean;
  gatewayPorts: boolean;
  strictHostKeyChecking: StrictHostKeyChecking;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  /** HostKeyAlias: the name to look up in known_hosts instead of hostName. */
  hostKeyAlias?: string;
  hashKnownHosts: boolean;
  /** LocalForward, RemoteForward and DynamicForward, in config order (none with ClearAllForwardings yes). */
  forwards: ForwardSpec[];
  /** First value of every keyword that applied (lower-cased keyword, value as written). */
  options: Record<string, string>;
  /** Problems met while resolving: bad values in blocks that applied, Match criteria not evaluated, ... */
  problems: ConfigProblem[];
  /**
   * Options of blocks that applied whose value is malformed (ignored above). ssh refuses to run with
   * any; connecting without them would go elsewhere (e.g. direct instead of through a ProxyJump, or
   * to port 22 instead of a bad Port). Absent when there are none.
   */
  badOptions?: ConfigProblem[];
}

export interface LoadSshConfigOptions {
  /** Default `~/.ssh/config`. */
  path?: string;
  /** Default os.homedir(). `~` and relative Include paths (against `<home>/.ssh`) use it. */
  homeDir?: string;
  /** Environment for `${VAR}`, `IdentityAgent $VAR` and SSH_AUTH_SOCK; default process.env. */
  env?: Record<string, string | undefined>;
  /** Local user name (default os.userInfo().username). */
  localUser?: string;
  /** Local host name for %l/%L (default os.hostname()). */
  localHostName?: string;
}

export interface Destination {
  user?: string;
  host: string;
  port?: number;
}

export class DestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationError';
  }
}

// ---------------------------------------------------------------------------------------------
// OpenSSH pattern matching (match.c)

/**
 * OpenSSH's match_pattern: `*` matches any run of characters, `?` exactly one; everything else
 * literally (case-sensitive). Iterative, so hostile patterns cannot blow up.
 */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * OpenSSH's match_pattern_list: comma-separated patterns, `!` negates. Returns -1 when a negated
 * pattern matches, 1 when a positive one matches (and no negated one does), 0 otherwise.
 */
export function matchPatternList(text: string, list: string, lowerCase = false): -1 | 0 | 1 {
  const s = lowerCase ? text.toLowerCase() : text;
  let positive = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    let pat = negated ? raw.slice(1) : raw;
    if (lowerCase) pat = pat.toLowerCase();
    if (matchPattern(s, pat)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** OpenSSH's match_hostname: a case-insensitive pattern list. */
export function matchHostname(host: string, list: string): -1 | 0 | 1 {
  return matchPatternList(host, list, true);
}

// ---------------------------------------------------------------------------------------------
// Destinations

/** Characters OpenSSH (valid_hostname) refuses in a host name; it also refuses a leading `-`. */
const INVALID_HOST_CHARS = /['`"$\\;&<>|(){},\s\p{Cc}]/u;

function checkHost(host: string, text: string): void {
  if (host === '') throw new DestinationError(`Invalid destination "${text}": missing host name.`);
  if (host.startsWith('-')) throw new DestinationError(`Invalid destination "${text}": a host name may not start with "-".`);
  if (INVALID_HOST_CHARS.test(host)) throw new DestinationError(`Invalid destination "${text}": host name "${host}" contains invalid characters.`);
}

function checkPort(port: string, text: string): number {
  if (port === '') throw new DestinationError(`Invalid destination "${text}": missing port number after ":".`);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new DestinationError(`Invalid destination "${text}": bad port '${port}' (expected 1-65535).`);
  }
  return Number(port);
}

function checkUser(user: string, text: string): void {
  if (user === '') throw new DestinationError(`Invalid destination "${text}": empty user name before "@".`);
  if (/[\s\p{Cc}]/u.test(user)) throw new DestinationError(`Invalid destination "${text}": user name contains spaces or control characters.`);
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`, bare IPv6 (two or more colons). */
function parseHostPort(hp: string, text: string): { host: string; port?: number } {
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close < 0) throw new DestinationError(`Invalid destination "${text}": missing "]" after an IPv6 address.`);
    const host = hp.slice(1, close);
    const rest = hp.slice(close + 1);
    checkHost(host, text);
    if (rest === '') return { host };
    if (!rest.startsWith(':')) throw new DestinationError(`Invalid destination "${text}": unexpected "${rest}" after "]".`);
    return { host, port: checkPort(rest.slice(1), text) };
  }
  const colons = hp.split(':').length - 1;
  if (colons === 1) {
    const i = hp.indexOf(':');
    const host = hp.slice(0, i);
    checkHost(host, text);
    return { host, port: checkPort(hp.slice(i + 1), text) };
  }
  // No colon, or an unbracketed IPv6 address (no port possible then).
  checkHost(hp, text);
  return { host: hp };
}

/**
 * Parses a destination: `host`, `user@host`, `host:port`, `user@host:port`, `[::1]:2222`,
 * `user@[::1]`, `ssh://user@host:port` (user %-decoded; `;params` after the user ignored).
 * The user is everything before the last `@`, like ssh. Throws DestinationError with the reason.
 */
export function parseDestination(text: string): Destination {
  const s = text.trim();
  if (s === '') throw new DestinationError('Invalid destination "": it is empty.');
  if (/^ssh:\/\//i.test(s)) {
    let rest = s.slice(6);
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
    if (rest.includes('/')) throw new DestinationError(`Invalid destination "${text}": an ssh:// URI may not have a path.`);
    if (rest.includes('?') || rest.includes('#')) throw new DestinationError(`Invalid destination "${text}": an ssh:// URI may not have a query or fragment.`);
    let user: string | undefined;
    const at = rest.lastIndexOf('@');
    if (at >= 0) {
      let u = rest.slice(0, at);
      const semi = u.indexOf(';');
      if (semi >= 0) u = u.slice(0, semi);
      try {
        user = decodeURIComponent(u);
      } catch {
        throw new DestinationError(`Invalid destination "${text}": bad %-escape in the user name.`);
      }
      checkUser(user, text);
      rest = rest.slice(at + 1);
    }
    const hp = parseHostPort(rest, text);
    return { ...(user !== undefined ? { user } : {}), ...hp };
  }
  let user: string | undefined;
  let rest = s;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    checkUser(user, text);
    rest = s.slice(at + 1);
  }
  const hp = parseHostPort(rest, text);
  return { ...(user !== undefined ? { user } : {}), ...hp };
}

// ---------------------------------------------------------------------------------------------
// Parsed representation

interface Criterion {
  name: string; // lower-case, without "!"
  negated: boolean;
  arg?: string;
}

type Item =
  | { kind: 'host'; file: string; line: number; patterns: string[] }
  | { kind: 'match'; file: string; line: number; criteria: Criterion[] | undefined; unsupported: string[] }
  | { kind: 'option'; file: string; line: number; keyword: string; written: string; args: string[]; raw: string; error?: string; forward?: ForwardSpec }
  | { kind: 'include'; file: string; line: number; children: ParsedFile[] };

interface ParsedFile {
  path: string;
  items: Item[];
}

type RawItem =
  | Exclude<Item, { kind: 'include' }>
  | { kind: 'include'; file: string; line: number; patterns: string[] };

/** Keywords whose value ssh-config tokenises itself (it returns a list for them). */
const MULTI_VALUE = new Set(['globalknownhostsfile', 'host', 'ipqos', 'sendenv', 'userknownhostsfile', 'proxycommand', 'knownhostscommand', 'match', 'canonicaldomains', 'include']);

const FLAG_KEYWORDS = new Set(['identitiesonly', 'exitonforwardfailure', 'gatewayports', 'hashknownhosts', 'clearallforwardings']);
const SINGLE_ARG = new Set(['hostname', 'user', 'port', 'identityfile', 'identityagent', 'proxyjump', 'hostkeyalias', 'serveraliveinterval', 'serveralivecountmax', 'connecttimeout', 'stricthostkeychecking', 'canonicalizehostname', 'dynamicforward', ...FLAG_KEYWORDS]);
const PATH_KEYWORDS = new Set(['identityfile', 'userknownhostsfile', 'globalknownhostsfile', 'identityagent', 'certificatefile']);
const FORWARD_KIND: Record<string, ForwardKind> = { localforward: 'local', remoteforward: 'remote', dynamicforward: 'dynamic' };
const STRICT_VALUES: Record<string, StrictHostKeyChecking> = { yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'off', ask: 'ask', 'accept-new': 'accept-new' };
const MATCH_NO_ARG = new Set(['all', 'canonical', 'final']);
const MATCH_SUPPORTED = new Set(['all', 'canonical', 'final', 'host', 'originalhost', 'user', 'localuser']);
const MATCH_KNOWN = new Set([...MATCH_SUPPORTED, 'exec', 'localnetwork', 'tagged', 'version', 'sessiontype', 'command']);
const PATH_TOKENS = new Set(['%', 'C', 'd', 'h', 'i', 'j', 'k', 'L', 'l', 'n', 'p', 'r', 'u']);
const MAX_INCLUDE_DEPTH = 16;
/** Limits that keep a hostile or mistaken Include (an Include glob over /) from reading the whole disk. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_PROBLEMS_PER_FILE = 50;
const MAX_CONFIG_FILES = 512;
const MAX_GLOB_ENTRIES = 4096;

/** OpenSSH's convtime: `90`, `1m30s`, `2h`, `1w` ... in seconds; undefined when invalid. */
export function parseTimeSpec(text: string): number | undefined {
  if (!/^(\d+[sSmMhHdDwW]?)+$/.test(text)) return undefined;
  const mult: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const m of text.matchAll(/(\d+)([sSmMhHdDwW]?)/g)) {
    total += Number(m[1]) * (m[2] ? mult[m[2].toLowerCase()] : 1);
  }
  return Number.isSafeInteger(total) && total <= 0x7fffffff ? total : undefined;
}

function parseFlag(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (l === 'yes' || l === 'true') return true;
  if (l === 'no' || l === 'false') return false;
  return undefined;
}

/** Keeps messages readable when a line is huge (a binary or minified file included by mistake). */
function clip(message: string, max = 400): string {
  return message.length > max ? `${message.slice(0, max)}...` : message;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Finds %-tokens not in `allowed`; returns a problem message or undefined. */
function checkTokens(value: string, allowed: Set<string>, written: string): string | undefined {
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '%') continue;
    const t = value[i + 1];
    if (t === undefined) return `${written}: "%" at the end of "${value}" (write %% for a percent sign).`;
    if (!allowed.has(t)) return `${written}: unknown token %${t} in "${value}" (supported: ${[...allowed].map((x) => '%' + x).join(' ')}).`;
    i++;
  }
  return undefined;
}

/** Validates a ProxyJump value; returns a problem message or undefined. */
function checkProxyJump(value: string, written: string): string | undefined {
  if (value.toLowerCase() === 'none') return undefined;
  for (const hop of value.split(',')) {
    if (hop === '') return `Invalid ${written} "${value}": empty hop.`;
    try {
      parseDestination(hop);
    } catch (err) {
      return `Invalid ${written} "${value}": ${describeError(err).replace(/^Invalid destination /, 'hop ')}`;
    }
  }
  return undefined;
}

/** Parses one config line with ssh-config; never throws. */
function parseLine(text: string, file: string, lineNo: number, problems: ConfigProblem[]): RawItem | undefined {
  const trimmed = text.replace(/^[\s\uFEFF]+/, '').replace(/\s+$/, '');
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const problem = (message: string): undefined => {
    problems.push({ file, line: lineNo, message });
    return undefined;
  };
  const kwMatch = /^[^\s=]+/.exec(trimmed);
  if (!kwMatch) return problem(`Malformed line: expected "Keyword value", got "${trimmed}".`);
  const written = kwMatch[0];
  const keyword = written.toLowerCase();
  const afterKw = trimmed.slice(written.length).replace(/^\s*=?\s*/, '');
  if (afterKw === '' || afterKw.startsWith('#')) return problem(`no argument after keyword "${written}".`);

  let directive;
  try {
    const parsed = parseSshConfigText(trimmed);
    directive = parsed.find((l) => l.type === LineType.DIRECTIVE);
  } catch (err) {
    const msg = describeError(err);
    if (/Unexpected line break/.test(msg)) return problem(`${written}: unterminated quote in "${afterKw}".`);
    if (keyword !== 'match') return problem(`${written}: cannot parse "${afterKw}": ${msg}.`);
  }
  let args: string[];
  if (keyword === 'match' || afterKw.includes("'") || directive === undefined || directive.type !== LineType.DIRECTIVE) {
    // ssh-config insists on criterion/value pairs and throws otherwise; we want our own messages, so
    // for Match we split ourselves (quotes allowed). ssh-config knows only "double" quotes, while
    // ssh (argv_split) takes 'single' ones too: `User 'bob'` is bob, not 'bob'.
    const split = splitArgs(afterKw);
    if (split === undefined) return problem(`${written}: unterminated quote in "${afterKw}".`);
    args = split;
  } else {
    const v = directive.value;
    if (Array.isArray(v)) args = v.map((x) => x.val);
    else if (MULTI_VALUE.has(keyword) || directive.quoted) args = [v];
    else args = v.split(/\s+/).filter((x) => x !== '');
  }
  if (args.length === 0 || (args.length === 1 && args[0] === '')) return problem(`no argument after keyword "${written}".`);
  const raw = args.join(' ');

  if (keyword === 'host') {
    for (const pat of args) {
      if (pat.includes(',')) {
        problems.push({
          file,
          line: lineNo,
          message: `Host pattern "${pat}" contains a comma: ssh separates Host patterns with spaces (Host ${pat.split(',').join(' ')}), so this one never matches.`,
        });
      }
    }
    return { kind: 'host', file, line: lineNo, patterns: args };
  }
  if (keyword === 'match') {
    const criteria: Criterion[] = [];
    const unsupported: string[] = [];
    let error: string | undefined;
    for (let i = 0; i < args.length && !error; i++) {
      const negated = args[i].startsWith('!');
      const name = (negated ? args[i].slice(1) : args[i]).toLowerCase();
      if (!MATCH_KNOWN.has(name)) {
        error = `Unsupported Match attribute "${args[i]}" (Bad Match condition).`;
        break;
      }
      if (MATCH_NO_ARG.has(name)) {
        criteria.push({ name, negated });
        continue;
      }
      const arg = args[i + 1];
      if (arg === undefined) {
        error = `Match ${args[i]}: missing argument (Bad Match condition).`;
        break;
      }
      i++;
      criteria.push({ name, negated, arg });
      if (!MATCH_SUPPORTED.has(name) && !unsupported.includes(name)) unsupported.push(name);
    }
    if (!error && criteria.some((c) => c.name === 'all') && criteria.some((c) => c.name !== 'all' && c.name !== 'canonical' && c.name !== 'final')) {
      error = `'all' cannot be combined with other Match attributes.`;
    }
    if (error) {
      problems.push({ file, line: lineNo, message: error });
      return { kind: 'match', file, line: lineNo, criteria: undefined, unsupported: [] };
    }
    for (const u of unsupported) {
      problems.push({ file, line: lineNo, message: `Match ${u} is not evaluated (nothing is ever run); this Match block is treated as not matching.` });
    }
    return { kind: 'match', file, line: lineNo, criteria, unsupported };
  }
  if (keyword === 'include') {
    return { kind: 'include', file, line: lineNo, patterns: args };
  }

  const item: Extract<Item, { kind: 'option' }> = { kind: 'option', file, line: lineNo, keyword, written, args, raw };
  const error = validateOption(item);
  if (error) item.error = clip(error);
  if (item.error) problems.push({ file, line: lineNo, message: item.error });
  return item;
}

/** Checks an option's value; returns OpenSSH-like wording for what is wrong, or undefined. */
function validateOption(item: Extract<Item, { kind: 'option' }>): string | undefined {
  const { keyword, written, args, raw } = item;
  if (SINGLE_ARG.has(keyword) && args.length > 1) return `keyword ${written} extra arguments at end of line: "${raw}".`;
  const v = args[0];
  if (keyword === 'port') {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) return `Bad port '${v}' (expected a number from 1 to 65535).`;
  } else if (FLAG_KEYWORDS.has(keyword)) {
    if (parseFlag(v) === undefined) return `${written}: unsupported option "${v}" (expected yes or no).`;
  } else if (keyword === 'stricthostkeychecking') {
    if (!(v.toLowerCase() in STRICT_VALUES)) return `${written}: unsupported option "${v}" (expected yes, no, ask, accept-new or off).`;
  } else if (keyword === 'canonicalizehostname') {
    if (!['yes', 'no', 'true', 'false', 'always', 'none'].includes(v.toLowerCase())) return `${written}: unsupported option "${v}".`;
  } else if (keyword === 'serveraliveinterval') {
    if (parseTimeSpec(v) === undefined) return `${written}: invalid time value "${v}" (e.g. 30, 1m30s).`;
  } else if (keyword === 'connecttimeout') {
    if (v.toLowerCase() !== 'none' && parseTimeSpec(v) === undefined) return `${written}: invalid time value "${v}" (e.g. 10, 1m).`;
  } else if (keyword === 'serveralivecountmax') {
    if (!/^\d+$/.test(v) || Number(v) > 0x7fffffff) return `${written}: bad integer "${v}" (expected 0 or more).`;
  } else if (keyword === 'proxyjump') {
    return checkProxyJump(v, written);
  } else if (keyword === 'hostname') {
    return checkTokens(v, new Set(['%', 'h']), written);
  } else if (keyword in FORWARD_KIND) {
    try {
      item.forward = parseForwardSpec(FORWARD_KIND[keyword], raw);
    } catch (err) {
      const why = err instanceof ForwardSpecError ? err.message : describeError(err);
      return `Bad forwarding specification in ${written} "${raw}": ${why}`;
    }
  } else if (PATH_KEYWORDS.has(keyword)) {
    for (const a of args) {
      const bad = checkTokens(a, PATH_TOKENS, written);
      if (bad) return bad;
    }
  }
  return undefined;
}

/** Splits arguments like OpenSSH's argv_split: whitespace separated, "double" and 'single' quotes. */
function splitArgs(text: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let inArg = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && (text[i + 1] === quote || text[i + 1] === '\\')) cur += text[++i];
      else cur += c;
    } else if (/\s/.test(c)) {
      if (inArg) out.push(cur);
      cur = '';
      inArg = false;
    } else if (c === '#' && !inArg) {
      break;
    } else if (c === '"' || c === "'") {
      quote = c;
      inArg = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inArg = true;
    } else {
      cur += c;
      inArg = true;
    }
  }
  if (quote) return undefined;
  if (inArg) out.push(cur);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Loading files, Include

function expandTilde(p: string, home: string, localUser: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || (path.sep === '\\' && p.startsWith('~\\'))) return path.join(home, p.slice(2));
  const m = /^~([^/\\]+)(?:[/\\](.*))?$/.exec(p);
  if (m && m[1] === localUser) return m[2] ? path.join(home, m[2]) : home;
  return p;
}

function expandEnv(p: string, env: Record<string, string | undefined>, onMissing: (name: string) => void): string {
  return p.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const v = env[name];
    if (v === undefined) {
      onMissing(name);
      return whole;
    }
    return v;
  });
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/** glob(3) for `*` and `?` in any path segment; sorted; hidden entries only for a `.` pattern. */
function globPaths(pattern: string): string[] {
  const parsed = path.parse(pattern);
  const segments = pattern.slice(parsed.root.length).split(/[/\\]+/).filter((s) => s !== '');
  let current = [parsed.root || '.'];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const next: string[] = [];
    for (const dir of current) {
      if (!hasWildcard(seg)) {
        next.push(path.join(dir, seg));
        continue;
      }
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      names.sort();
      for (const name of names) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue;
        if (matchPattern(name, seg)) next.push(path.join(dir, name));
      }
      if (next.length > MAX_GLOB_ENTRIES) break;
    }
    current = next.slice(0, MAX_GLOB_ENTRIES);
  }
  return current;
}

interface LoadContext {
  home: string;
  sshDir: string;
  env: Record<string, string | undefined>;
  localUser: string;
  problems: ConfigProblem[];
  problemKeys: Set<string>;
  files: string[];
  parsedCache: Map<string, RawItem[] | { error: string }>;
}

function addProblem(ctx: LoadContext, p: ConfigProblem): void {
  const key = `${p.file}\0${p.line}\0${p.message}`;
  if (ctx.problemKeys.has(key)) return;
  ctx.problemKeys.add(key);
  ctx.problems.push(p);
}

/**
 * Reads a regular file as UTF-8, refusing FIFOs and devices (which could block forever) and files
 * larger than `maxBytes` (a glob over / must not read /proc/kcore). Reads in chunks, so /proc
 * files that report size 0 work too. Throws an errno-style error.
 */
export function readTextFileBounded(file: string, maxBytes: number): string {
  const st = fs.statSync(file);
  if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
  if (st.size > maxBytes) throw Object.assign(new Error(`larger than ${maxBytes} bytes`), { code: 'EFBIG' });
  const fd = fs.openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw Object.assign(new Error(`larger than ${maxBytes} bytes`), { code: 'EFBIG' });
      chunks.push(buf.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function readRawItems(ctx: LoadContext, file: string): RawItem[] | { error: string } {
  const cached = ctx.parsedCache.get(file);
  if (cached) return cached;
  let result: RawItem[] | { error: string };
  try {
    if (ctx.parsedCache.size >= MAX_CONFIG_FILES) throw Object.assign(new Error(`more than ${MAX_CONFIG_FILES} files included`), { code: 'EMFILE' });
    const text = readTextFileBounded(file, MAX_CONFIG_BYTES);
    const problems: ConfigProblem[] = [];
    const items: RawItem[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      // ssh reads lines as C strings: a NUL byte ends the line.
      const nul = lines[i].indexOf('\0');
      const text = nul >= 0 ? lines[i].slice(0, nul) : lines[i];
      const item = parseLine(text, file, i + 1, problems);
      if (item) items.push(item);
      else if (/^[\s\uFEFF]*(host|match)([\s=]|$)/i.test(text)) {
        // A Host or Match line we could not read (e.g. an unterminated quote): its options must not
        // fall into the block above (or apply to every host). ssh refuses the whole file; we keep the
        // rest and let this block match nothing.
        items.push({ kind: 'match', file, line: i + 1, criteria: undefined, unsupported: [] });
      }
    }
    for (const p of problems.slice(0, MAX_PROBLEMS_PER_FILE)) addProblem(ctx, { ...p, message: clip(p.message) });
    if (problems.length > MAX_PROBLEMS_PER_FILE) {
      addProblem(ctx, { file, line: problems[MAX_PROBLEMS_PER_FILE].line, message: `${problems.length - MAX_PROBLEMS_PER_FILE} more problems in this file not listed.` });
    }
    if (!ctx.files.includes(file)) ctx.files.push(file);
    result = items;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    result = { error: code === 'ENOENT' ? 'ENOENT' : `${code ?? ''} ${describeError(err)}`.trim() };
  }
  ctx.parsedCache.set(file, result);
  return result;
}

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function buildFile(ctx: LoadContext, file: string, items: RawItem[], stack: string[]): ParsedFile {
  const out: Item[] = [];
  for (const item of items) {
    if (item.kind !== 'include') {
      out.push(item);
      continue;
    }
    const children: ParsedFile[] = [];
    for (const pat of item.patterns) {
      let p = expandEnv(expandTilde(pat, ctx.home, ctx.localUser), ctx.env, (name) =>
        addProblem(ctx, { file: item.file, line: item.line, message: `Include "${pat}": environment variable \${${name}} is not set.` }),
      );
      if (!path.isAbsolute(p)) p = path.join(ctx.sshDir, p);
      const glob = hasWildcard(p);
      const matches = glob ? globPaths(p) : [p];
      for (const target of matches) {
        if (glob) {
          try {
            if (!fs.statSync(target).isFile()) continue;
          } catch {
            continue;
          }
        }
        const real = realpathOr(target);
        if (stack.includes(real)) {
          const chain = [...stack.slice(stack.indexOf(real)), real].join(' -> ');
          addProblem(ctx, { file: item.file, line: item.line, message: `Include loop: ${target} is already being read (${chain}); not included again.` });
          continue;
        }
        if (stack.length > MAX_INCLUDE_DEPTH) {
          addProblem(ctx, { file: item.file, line: item.line, message: `Too many recursive configuration includes (more than ${MAX_INCLUDE_DEPTH}); ${target} not read.` });
          continue;
        }
        const raw = readRawItems(ctx, target);
        if ('error' in raw) {
          const why = raw.error === 'ENOENT' ? 'no such file (ssh ignores it, but check the path)' : `cannot read it: ${raw.error}`;
          addProblem(ctx, { file: item.file, line: item.line, message: `Include ${target}: ${why}.` });
          continue;
        }
        children.push(buildFile(ctx, target, raw, [...stack, real]));
      }
    }
    out.push({ kind: 'include', file: item.file, line: item.line, children });
  }
  return { path: file, items: out };
}

// ---------------------------------------------------------------------------------------------
// Resolution

interface PassState {
  host: string; // matched by Host lines: the name as typed, then (final pass) the HostName
  originalHost: string;
  final: boolean;
  wantFinal: boolean;
  cliUser?: string;
  values: Map<string, Extract<Item, { kind: 'option' }>>;
  hostNameExpanded?: string;
  proxy?: Extract<Item, { kind: 'option' }>;
  identityFiles: Extract<Item, { kind: 'option' }>[];
  forwards: ForwardSpec[];
  problems: ConfigProblem[];
  problemKeys: Set<string>;
  badOptions: ConfigProblem[];
}

function passProblem(st: PassState, p: ConfigProblem): void {
  const key = `${p.file}\0${p.line}\0${p.message}`;
  if (st.problemKeys.has(key)) return;
  st.problemKeys.add(key);
  st.problems.push(p);
}

function sameForward(a: ForwardSpec, b: ForwardSpec): boolean {
  return a.kind === b.kind && a.bindAddress === b.bindAddress && a.bindPort === b.bindPort && a.targetHost === b.targetHost && a.targetPort === b.targetPort;
}

export class SshConfig {
  /** Everything wrong with the files, with file and line. */
  readonly problems: ConfigProblem[];
  /** Files actually read (the main file and the included ones), in order. */
  readonly files: string[];
  /** The main config file path. */
  readonly path: string;

  private readonly root: ParsedFile;
  private readonly home: string;
  private readonly env: Record<string, string | undefined>;
  private readonly localUser: string;
  private readonly localHostName: string;
  private readonly uid: number;
  private readonly aliases: Set<string>;
  private readonly found: { alias: string; file: string; line: number }[] = [];
  private hostList?: ConfiguredHost[];

  /** @internal use loadSshConfig */
  constructor(root: ParsedFile, problems: ConfigProblem[], files: string[], opts: { path: string; home: string; env: Record<string, string | undefined>; localUser: string; localHostName: string; uid: number }) {
    this.root = root;
    this.problems = problems;
    this.files = files;
    this.path = opts.path;
    this.home = opts.home;
    this.env = opts.env;
    this.localUser = opts.localUser;
    this.localHostName = opts.localHostName;
    this.uid = opts.uid;
    const found = this.found;
    this.aliases = new Set();
    const walk = (f: ParsedFile): void => {
      for (const item of f.items) {
        if (item.kind === 'include') item.children.forEach(walk);
        if (item.kind !== 'host') continue;
        for (const pat of item.patterns) {
          if (hasWildcard(pat) || pat.startsWith('!') || pat.startsWith('-') || INVALID_HOST_CHARS.test(pat) || pat.includes('@')) continue;
          if (this.aliases.has(pat)) continue;
          this.aliases.add(pat);
          found.push({ alias: pat, file: item.file, line: item.line });
        }
      }
    };
    walk(root);
  }

  /**
   * Concrete Host aliases (no wildcards, no `!`), first occurrence, in file order, each resolved.
   * Resolved when first asked for (every alias is a pass over the whole file): a window that only
   * resolves the hosts of its saved tunnels never pays for the list.
   */
  get hosts(): ConfiguredHost[] {
    return (this.hostList ??= this.found.map((h) => {
      const r = this.resolveParsed({ host: h.alias }, {});
      return { ...h, hostName: r.hostName, user: r.user, port: r.port };
    }));
  }

  /**
   * Resolves a destination like `ssh -G`: an alias, `host`, `user@host`, `user@host:port`,
   * `[v6]:port` or `ssh://user@host:port`. A user or port in the destination or in `overrides` wins
   * over the config (overrides first), like `ssh -l`/`-p`. Throws DestinationError for a malformed
   * destination; config problems never throw (see `problems` in the result).
   */
  resolve(destination: string, overrides: { user?: string; port?: number } = {}): ResolvedHost {
    const trimmed = destination.trim();
    const d: Destination = this.aliases.has(trimmed) ? { host: trimmed } : parseDestination(trimmed);
    return this.resolveParsed(d, overrides);
  }

  private resolveParsed(d: Destination, overrides: { user?: string; port?: number }): ResolvedHost {
    const st: PassState = {
      host: d.host,
      originalHost: d.host,
      final: false,
      wantFinal: false,
      cliUser: overrides.user ?? d.user,
      values: new Map(),
      identityFiles: [],
      forwards: [],
      problems: [],
      problemKeys: new Set(),
      badOptions: [],
    };
    this.walk(this.root, st, false);
    const canon = st.values.get('canonicalizehostname');
    if (st.wantFinal || (canon && ['yes', 'true', 'always'].includes(canon.args[0].toLowerCase()))) {
      st.final = true;
      st.host = lowerHost(st.hostNameExpanded ?? st.originalHost);
      this.walk(this.root, st, false);
    }
    return this.finish(d, overrides, st);
  }

  private walk(file: ParsedFile, st: PassState, neverMatch: boolean): void {
    let active = !neverMatch;
    for (const item of file.items) {
      switch (item.kind) {
        case 'host': {
          if (neverMatch) {
            active = false;
            break;
          }
          active = false;
          for (const pat of item.patterns) {
            const negated = pat.startsWith('!');
            if (matchPattern(st.host, negated ? pat.slice(1) : pat)) {
              if (negated) {
                active = false;
                break;
              }
              active = true;
            }
          }
          break;
        }
        case 'match': {
          const result = this.evalMatch(item, st);
          active = !neverMatch && result;
          break;
        }
        case 'include': {
          for (const child of item.children) this.walk(child, st, !active);
          break;
        }
        case 'option':
          if (active) this.apply(item, st);
          break;
      }
    }
  }

  private evalMatch(item: Extract<Item, { kind: 'match' }>, st: PassState): boolean {
    if (!item.criteria) return false;
    let result = true;
    for (const c of item.criteria) {
      let r: boolean;
      switch (c.name) {
        case 'all':
          r = true;
          break;
        case 'canonical':
          r = st.final;
          break;
        case 'final':
          st.wantFinal = true;
          r = st.final;
          break;
        case 'host':
          r = matchHostname(st.hostNameExpanded ?? st.host, c.arg ?? '') === 1;
          break;
        case 'originalhost':
          r = matchHostname(st.originalHost, c.arg ?? '') === 1;
          break;
        case 'user': {
          const user = st.cliUser ?? st.values.get('user')?.args[0] ?? this.localUser;
          r = matchPatternList(user, c.arg ?? '') === 1;
          break;
        }
        case 'localuser':
          r = matchPatternList(this.localUser, c.arg ?? '') === 1;
          break;
        default:
          passProblem(st, { file: item.file, line: item.line, message: `Match ${c.name} is not evaluated (nothing is ever run); this Match block is treated as not matching.` });
          r = false;
          result = false;
          continue;
      }
      if (c.negated) r = !r;
      if (!r) result = false;
    }
    return result;
  }

  private apply(item: Extract<Item, { kind: 'option' }>, st: PassState): void {
    if (item.error) {
      passProblem(st, { file: item.file, line: item.line, message: item.error });
      if (!st.badOptions.some((b) => b.file === item.file && b.line === item.line)) st.badOptions.push({ file: item.file, line: item.line, message: item.error });
      return;
    }
    const kw = item.keyword;
    if (kw === 'identityfile') {
      st.identityFiles.push(item);
      return;
    }
    if (kw in FORWARD_KIND) {
      if (item.forward && !st.forwards.some((f) => sameForward(f, item.forward as ForwardSpec))) st.forwards.push(item.forward);
      return;
    }
    if (kw === 'proxyjump' || kw === 'proxycommand') {
      if (!st.proxy) st.proxy = item;
    }
    if (st.values.has(kw)) return;
    st.values.set(kw, item);
    if (kw === 'hostname') st.hostNameExpanded = expandHostNameTokens(item.args[0], st.host);
  }

  private finish(d: Destination, overrides: { user?: string; port?: number }, st: PassState): ResolvedHost {
    const v = (kw: string): string | undefined => st.values.get(kw)?.args[0];
    const problems = st.problems;
    const hostName = lowerHost(st.hostNameExpanded ?? d.host);
    const user = st.cliUser ?? v('user') ?? this.localUser;
    const portText = v('port');
    const port = overrides.port ?? d.port ?? (portText ? Number(portText) : 22);
    const flag = (kw: string): boolean => {
      const x = v(kw);
      return x !== undefined && parseFlag(x) === true;
    };

    let proxyJump: string[] = [];
    let proxyCommand: string | undefined;
    if (st.proxy?.keyword === 'proxyjump') {
      const pj = st.proxy.args[0];
      proxyJump = pj.toLowerCase() === 'none' ? [] : pj.split(',');
    } else if (st.proxy?.keyword === 'proxycommand' && st.proxy.raw.toLowerCase() !== 'none') {
      proxyCommand = st.proxy.raw;
      passProblem(st, {
        file: st.proxy.file,
        line: st.proxy.line,
        message: `ProxyCommand is not supported (commands are never run): "${proxyCommand}". Use ProxyJump instead.`,
      });
    }
    // ssh lower-cases HostKeyAlias before using it (for %k and known_hosts lookups).
    const hostKeyAlias = v('hostkeyalias')?.toLowerCase();
    const tokens: Record<string, string> = {
      '%': '%',
      d: this.home,
      h: hostName,
      i: String(this.uid),
      j: proxyJump.join(','),
      k: hostKeyAlias ?? st.originalHost,
      L: this.localHostName.split('.')[0],
      l: this.localHostName,
      n: st.originalHost,
      p: String(port),
      r: user,
      u: this.localUser,
    };
    tokens.C = crypto.createHash('sha1').update(`${tokens.l}${tokens.h}${tokens.p}${tokens.r}${tokens.j}`).digest('hex');
    const expandPath = (p: string, item: { file: string; line: number; written: string }): string => {
      let out = expandTilde(p, this.home, this.localUser);
      out = expandEnv(out, this.env, (name) =>
        passProblem(st, { file: item.file, line: item.line, message: `${item.written}: environment variable \${${name}} is not set.` }),
      );
      return expandPercent(out, tokens);
    };

    let identityFiles: string[];
    if (st.identityFiles.length === 0) {
      identityFiles = ['id_rsa', 'id_ecdsa', 'id_ed25519'].map((f) => path.join(this.home, '.ssh', f));
    } else {
      identityFiles = [];
      for (const item of st.identityFiles) {
        if (item.args[0].toLowerCase() === 'none') continue;
        const p = expandPath(item.args[0], item);
        if (!identityFiles.includes(p)) identityFiles.push(p);
      }
    }

    let identityAgent: string | undefined;
    const agentItem = st.values.get('identityagent');
    if (!agentItem) identityAgent = this.env.SSH_AUTH_SOCK || undefined;
    else {
      const a = agentItem.args[0];
      if (a.toLowerCase() === 'none') identityAgent = undefined;
      else if (a === 'SSH_AUTH_SOCK') identityAgent = this.env.SSH_AUTH_SOCK || undefined;
      else if (a.startsWith('$') && !a.startsWith('${')) {
        identityAgent = this.env[a.slice(1)] || undefined;
        if (identityAgent === undefined) passProblem(st, { file: agentItem.file, line: agentItem.line, message: `${agentItem.written}: environment variable ${a.slice(1)} is not set.` });
      } else identityAgent = expandPath(a, agentItem);
    }

    const fileList = (kw: string, defaults: string[]): string[] => {
      const item = st.values.get(kw);
      if (!item) return defaults.map((f) => expandTilde(f, this.home, this.localUser));
      if (item.args.length === 1 && item.args[0].toLowerCase() === 'none') return [];
      return item.args.map((f) => expandPath(f, item));
    };

    const sai = v('serveraliveinterval');
    const ct = v('connecttimeout');
    const strict = v('stricthostkeychecking');
    const options: Record<string, string> = {};
    for (const [k, item] of st.values) options[k] = item.raw;
    if (st.identityFiles.length) options.identityfile = st.identityFiles[0].raw;

    return {
      alias: d.host,
      hostName,
      user,
      port,
      identityFiles,
      identitiesOnly: flag('identitiesonly'),
      ...(identityAgent !== undefined ? { identityAgent } : {}),
      proxyJump,
      ...(proxyCommand !== undefined ? { proxyCommand } : {}),
      serverAliveInterval: sai !== undefined ? (parseTimeSpec(sai) ?? 15) : 15,
      serverAliveIntervalFromConfig: sai !== undefined,
      serverAliveCountMax: v('serveralivecountmax') !== undefined ? Number(v('serveralivecountmax')) : 3,
      ...(ct !== undefined && ct.toLowerCase() !== 'none' ? { connectTimeout: parseTimeSpec(ct) } : {}),
      exitOnForwardFailure: flag('exitonforwardfailure'),
      gatewayPorts: flag('gatewayports'),
      strictHostKeyChecking: strict !== undefined ? STRICT_VALUES[strict.toLowerCase()] : 'ask',
      userKnownHostsFiles: fileList('userknownhostsfile', ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']),
      globalKnownHostsFiles: fileList('globalknownhostsfile', ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']),
      ...(hostKeyAlias !== undefined ? { hostKeyAlias } : {}),
      hashKnownHosts: flag('hashknownhosts'),
      forwards: flag('clearallforwardings') ? [] : st.forwards,
      options,
      problems,
      ...(st.badOptions.length ? { badOptions: st.badOptions } : {}),
    };
  }
}

/** ssh lower-cases the host name (but not IPv6 literals, which it canonicalises instead). */
function lowerHost(h: string): string {
  return h.includes(':') ? h : h.toLowerCase();
}

function expandHostNameTokens(value: string, host: string): string {
  return expandPercent(value, { '%': '%', h: host });
}

/** Replaces %x tokens; unknown ones are left as written (values with them were refused when read). */
function expandPercent(value: string, tokens: Record<string, string>): string {
  return value.replace(/%(.?)/gs, (whole, t: string) => (t !== '' && Object.prototype.hasOwnProperty.call(tokens, t) ? tokens[t] : whole));
}

function safeUserInfo(): { username: string; uid: number } {
  try {
    const u = os.userInfo();
    return { username: u.username, uid: u.uid };
  } catch {
    return { username: process.env.USER ?? process.env.USERNAME ?? '', uid: -1 };
  }
}

/**
 * Loads ~/.ssh/config (or `opts.path`) with its Includes. A missing file is an empty config; a
 * malformed one keeps every host it could read and lists the rest in `problems`. Never throws.
 */
export function loadSshConfig(opts: LoadSshConfigOptions = {}): SshConfig {
  const home = opts.homeDir ?? os.homedir();
  const info = safeUserInfo();
  const localUser = opts.localUser ?? info.username;
  const env = opts.env ?? process.env;
  const sshDir = path.join(home, '.ssh');
  const file = opts.path !== undefined ? path.resolve(expandTilde(opts.path, home, localUser)) : path.join(sshDir, 'config');
  const ctx: LoadContext = { home, sshDir, env, localUser, problems: [], problemKeys: new Set(), files: [], parsedCache: new Map() };
  let root: ParsedFile = { path: file, items: [] };
  const raw = readRawItems(ctx, file);
  if ('error' in raw) {
    if (raw.error !== 'ENOENT') addProblem(ctx, { file, line: 0, message: `Cannot read ${file}: ${raw.error}.` });
  } else {
    root = buildFile(ctx, file, raw, [realpathOr(file)]);
  }
  let localHostName = opts.localHostName;
  if (localHostName === undefined) {
    try {
      localHostName = os.hostname();
    } catch {
      localHostName = 'localhost';
    }
  }
  return new SshConfig(root, ctx.problems, ctx.files, { path: file, home, env, localUser, localHostName, uid: info.uid });
}

/** `file:line: message`, the way ssh reports config errors. */
export function formatConfigProblem(p: ConfigProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}: ${p.message}` : `${p.file}: ${p.message}`;
}
