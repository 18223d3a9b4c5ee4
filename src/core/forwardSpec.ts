/**
 * OpenSSH's forward syntax: the values of -L, -R and -D, the LocalForward / RemoteForward /
 * DynamicForward lines of ssh_config, and whole pasted `ssh ...` commands, parsed into
 * `ForwardSpec`s and formatted back.
 *
 * Hand-written because no well-kept npm library parses OpenSSH's forward grammar (ssh-config only
 * splits config lines into keyword and value). It follows OpenSSH's readconf.c `parse_forward()`
 * and ssh.c's option handling, but refuses what it cannot honour (Unix-domain sockets, service
 * names) with a message that names the cause and shows a valid example. Plain Node: never import
 * `vscode` here.
 */
import { BlockList, isIP } from 'node:net';
import type { ForwardKind, ForwardSpec } from './model';

/** A forward or ssh command that cannot be used; `example` is a valid spelling of what was meant. */
export class ForwardSpecError extends Error {
  override readonly name = 'ForwardSpecError';

  constructor(problem: string, readonly example: string) {
    // Problems quote the input; a pasted megabyte must not become a megabyte-long message.
    super(`${problem.length > 500 ? `${problem.slice(0, 240)} … ${problem.slice(-240)}` : problem}. Example: ${example}`);
  }
}

/** A pasted `ssh ...` command, reduced to what matters for forwarding. */
export interface SshCommand {
  /** The host (or ssh config alias) to connect to, without user or port. */
  destination: string;
  user?: string;
  port?: number;
  forwards: ForwardSpec[];
  /** -g (or -o GatewayPorts=yes): local forwards without a bind address listen on every interface. */
  gatewayPorts: boolean;
  identityFiles: string[];
  jumpHosts: string[];
  /** Other -o options, keyed by the lower-cased keyword (as `ssh -G` prints them); first one wins. */
  options: Record<string, string>;
}

const EXAMPLE: Record<ForwardKind, string> = {
  local: '-L 9999:mailserver:110',
  remote: '-R 8080:localhost:80',
  dynamic: '-D 1080',
};
const IPV6_EXAMPLE = '-L [::1]:9999:[fe80::1]:80';
const SSH_EXAMPLE = 'ssh -L 9999:mailserver:110 shellserver';

const FLAG: Record<ForwardKind, string> = { local: '-L', remote: '-R', dynamic: '-D' };
const KEYWORD: Record<ForwardKind, string> = { local: 'LocalForward', remote: 'RemoteForward', dynamic: 'DynamicForward' };
const KIND_OF_LETTER: Record<string, ForwardKind> = { L: 'local', R: 'remote', D: 'dynamic' };

/** Well-known services, only to suggest the number when someone writes a name. */
const SERVICE_PORTS: Record<string, number> = {
  ssh: 22, smtp: 25, http: 80, pop3: 110, imap: 143, https: 443, mysql: 3306, rdp: 3389, postgresql: 5432, vnc: 5900,
};

// ---------------------------------------------------------------------------------------------
// One forward value: -L/-R/-D arguments and ssh_config forward lines.

/**
 * Parses the value of `-L`, `-R` or `-D` (`[bind_address:]port:host:hostport`, `[bind_address:]port`
 * for -D and remote SOCKS -R), or the ssh_config form with a space between listen part and target
 * (`[bind_address:]port host:hostport`). IPv6 addresses go in brackets; OpenSSH's older `/`
 * separator (`::1/9999/fe80::1/80`) is accepted too.
 */
export function parseForwardSpec(kind: ForwardKind, text: string): ForwardSpec {
  const example = EXAMPLE[kind];
  const trimmed = text.trim();
  if (trimmed === '') throw new ForwardSpecError(`The ${FLAG[kind]} forward is empty`, example);
  const words = trimmed.split(/\s+/);
  if (words.length > 2) {
    throw new ForwardSpecError(`"${trimmed}" has too many space-separated parts: write [bind_address:]port host:hostport`, example);
  }

  let listen: string[];
  let target: string[];
  if (words.length === 2) {
    listen = splitFields(words[0], example);
    target = splitFields(words[1], example);
    if (listen.length > 2) throw new ForwardSpecError(`"${words[0]}" before the space must be [bind_address:]port`, example);
    if (target.length !== 2) throw new ForwardSpecError(`"${words[1]}" after the space must be host:hostport`, example);
  } else {
    const fields = splitFields(trimmed, example);
    if (fields.length > 4) {
      throw new ForwardSpecError(
        `"${trimmed}" has too many ":"-separated parts (${fields.length}): write [bind_address:]port:host:hostport ` +
          'and put IPv6 addresses in brackets',
        IPV6_EXAMPLE,
      );
    }
    // port | bind:port | port:host:hostport | bind:port:host:hostport
    listen = fields.slice(0, fields.length % 2 === 0 ? 2 : 1);
    target = fields.length >= 3 ? fields.slice(-2) : [];
  }

  if (kind === 'dynamic' && target.length > 0) {
    throw new ForwardSpecError(
      `-D takes only [bind_address:]port, not a target: the SOCKS client says where to connect ` +
        `(IPv6 bind addresses go in brackets, e.g. [::1]:1080)`,
      example,
    );
  }
  if (kind === 'local' && target.length === 0) {
    throw new ForwardSpecError(`"${trimmed}" has no target: -L needs [bind_address:]port:host:hostport`, example);
  }

  const spec: ForwardSpec = { kind, bindPort: parsePort(listen[listen.length - 1], 'Listen', kind, example) };
  if (listen.length === 2) spec.bindAddress = checkBindAddress(listen[0], example);
  if (target.length === 2) {
    spec.targetHost = checkHost('Target host', target[0], example);
    spec.targetPort = parsePort(target[1], 'Target', kind, example);
  }
  return spec;
}

/** Splits on `:` outside brackets (OpenSSH's parse_fwd_field), or on `/` for the old slash form. */
function splitFields(text: string, example: string): string[] {
  if (isSlashForm(text)) return text.split('/');
  const fields: string[] = [];
  let rest = text;
  for (;;) {
    let field: string;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) throw new ForwardSpecError(`Unbalanced "[" in "${text}": close the IPv6 address with "]"`, IPV6_EXAMPLE);
      field = rest.slice(1, close);
      rest = rest.slice(close + 1);
      if (rest !== '' && !rest.startsWith(':')) {
        throw new ForwardSpecError(`Unexpected "${rest}" after "]" in "${text}": a bracketed address must be followed by ":"`, IPV6_EXAMPLE);
      }
    } else {
      const colon = rest.indexOf(':');
      field = colon < 0 ? rest : rest.slice(0, colon);
      rest = colon < 0 ? '' : rest.slice(colon);
      if (/[[\]]/.test(field)) {
        throw new ForwardSpecError(`Unbalanced brackets in "${text}": a bracketed address must be a whole part`, IPV6_EXAMPLE);
      }
    }
    if (field.includes('/')) {
      throw new ForwardSpecError(
        `"${field}" looks like a path: Unix-domain socket forwards are not supported yet; forward a TCP port instead`,
        example,
      );
    }
    fields.push(field);
    if (rest === '') return fields;
    rest = rest.slice(1);
  }
}

/** Where the ports are among 2, 3 or 4 slash-separated parts. */
const SLASH_PORT_INDEXES: Record<number, number[] | undefined> = { 2: [1], 3: [0, 2], 4: [1, 3] };

/** `port/host/hostport` style: no brackets, not a path, and decimal numbers where ports belong. */
function isSlashForm(text: string): boolean {
  if (!text.includes('/') || text.includes('[') || /^[/.~]/.test(text)) return false;
  const parts = text.split('/');
  const portIndexes = SLASH_PORT_INDEXES[parts.length];
  return portIndexes !== undefined && portIndexes.every((i) => /^\d+$/.test(parts[i]));
}

function parsePort(text: string, role: 'Listen' | 'Target', kind: ForwardKind, example: string): number {
  const range =
    role === 'Target' ? '1-65535' : `0-65535 (0 lets the ${kind === 'remote' ? 'server' : 'OS'} pick)`;
  if (text === '') throw new ForwardSpecError(`${role} port is missing: use ${range}`, example);
  if (!/^\d+$/.test(text)) {
    const service = SERVICE_PORTS[text.toLowerCase()];
    const why = /^-\d+$/.test(text)
      ? `is negative: use ${range}`
      : /^\d*\.\d*$/.test(text)
        ? `is not a whole number: use ${range}`
        : service !== undefined
          ? `is a service name, which is not looked up: write its number (${text} is ${service})`
          : `is not a number: write a decimal port number, ${range}`;
    throw new ForwardSpecError(`${role} port "${text}" ${why}`, example);
  }
  const port = Number(text);
  if (port > 65535 || (role === 'Target' && port === 0)) {
    throw new ForwardSpecError(`${role} port "${text}" is out of range: use ${range}`, example);
  }
  return port;
}

function checkBindAddress(address: string, example: string): string {
  return address === '' || address === '*' ? address : checkHost('Bind address', address, example);
}

/** Loose host check: what cannot be a host name, or could be misread (as an option, say). */
const HOST_PROBLEMS: [RegExp, string][] = [
  [/^$/, 'is empty'],
  [/^.{256}/s, 'is longer than 255 characters'],
  [/^-/, 'starts with "-", so it could be taken for an option'],
  [/[\x00-\x20\x7f]/, 'contains a space or control character'],
  [/[[\]\\'"]/, 'contains a bracket, quote or backslash'],
];

function checkHost(role: string, host: string, example: string): string {
  const problem = HOST_PROBLEMS.find(([pattern]) => pattern.test(host))?.[1];
  if (problem !== undefined) throw new ForwardSpecError(`${role} ${JSON.stringify(host)} ${problem}`, example);
  return host;
}

// ---------------------------------------------------------------------------------------------
// One forward as a user might paste it: -L 9999:host:80, -L9999:..., L ..., LocalForward ...

/**
 * Parses one forward with its kind: `-L 9999:mailserver:110`, `-L9999:mailserver:110`,
 * `L 9999:mailserver:110`, `LocalForward 9999 mailserver:110`, `localforward=9999 mailserver:110`,
 * `RemoteForward ...`, `DynamicForward 1080`, `-D 1080`. Quotes work as in a shell.
 */
export function parseForwardArgument(text: string): ForwardSpec {
  const [first, ...rest] = tokenize(text, EXAMPLE.local);
  if (first === undefined) throw new ForwardSpecError('The forward is empty', EXAMPLE.local);
  const flag = /^-([LRD])(.*)$/s.exec(first) ?? /^([LRD])()$/.exec(first);
  const keyword = /^(local|remote|dynamic)forward(?:=(.*))?$/is.exec(first);
  let kind: ForwardKind;
  let value: string;
  if (flag) {
    kind = KIND_OF_LETTER[flag[1]];
    value = [flag[2], ...rest].join(' ').trim();
  } else if (keyword) {
    kind = keyword[1].toLowerCase() as ForwardKind;
    value = [keyword[2] ?? '', ...rest].join(' ').trim().replace(/^=\s*/, '');
  } else {
    throw new ForwardSpecError(
      `Say which kind of forward "${text.trim()}" is: prefix -L (local), -R (remote) or -D (dynamic SOCKS)`,
      EXAMPLE.local,
    );
  }
  if (value === '') throw new ForwardSpecError(`${first} needs a value`, EXAMPLE[kind]);
  return parseForwardSpec(kind, value);
}

// ---------------------------------------------------------------------------------------------
// A whole pasted ssh command.

type Options = Omit<SshCommand, 'destination'>;

/** ssh's option letters (ssh.c's getopt string), without and with an argument. */
const SSH_FLAGS = '46AaCfGgKkMNnqsTtVvXxYy';
const SSH_OPTIONS_WITH_ARGUMENT = 'BbcDEeFIiJLlmOoPpQRSWw';

/**
 * Parses a pasted command such as `ssh -fN -L 8080:localhost:80 -p 2222 user@host` or
 * `ssh ssh://user@host:2222`. Options may follow the destination; a remote command after it is
 * ignored. When an option is given twice, the first wins, as in OpenSSH.
 */
export function parseSshCommand(text: string): SshCommand {
  const tokens = tokenize(text, SSH_EXAMPLE);
  if (tokens.length === 0 || !/(^|\/)ssh(\.exe)?$/i.test(tokens[0])) {
    throw new ForwardSpecError(
      `Not an ssh command: it must start with "ssh" (for a single forward, write e.g. -L 9999:mailserver:110)`,
      SSH_EXAMPLE,
    );
  }
  const parsed: Options = { forwards: [], gatewayPorts: false, identityFiles: [], jumpHosts: [], options: {} };
  let destination: string | undefined;
  let optionsEnded = false;
  for (let i = 1; i < tokens.length; i++) {
    const token = tokens[i];
    if (!optionsEnded && token === '--') {
      optionsEnded = true;
    } else if (!optionsEnded && token.length > 1 && token.startsWith('-')) {
      for (let j = 1; j < token.length; j++) {
        const letter = token[j];
        if (SSH_FLAGS.includes(letter)) {
          if (letter === 'g') parsed.gatewayPorts = true;
          continue;
        }
        if (!SSH_OPTIONS_WITH_ARGUMENT.includes(letter)) {
          throw new ForwardSpecError(`Unknown ssh option "-${letter}"`, SSH_EXAMPLE);
        }
        const argument = j + 1 < token.length ? token.slice(j + 1) : tokens[++i];
        if (argument === undefined) throw new ForwardSpecError(`ssh option -${letter} needs an argument`, SSH_EXAMPLE);
        applyOption(parsed, letter, argument);
        break;
      }
    } else if (destination === undefined) {
      destination = applyDestination(parsed, token);
    } else {
      break; // the remote command: ssh reads no options after it
    }
  }
  if (destination === undefined) {
    throw new ForwardSpecError('The ssh command has no destination: add the host to connect to', SSH_EXAMPLE);
  }
  return { destination, ...parsed };
}

function applyOption(parsed: Options, letter: string, argument: string): void {
  switch (letter) {
    case 'L':
    case 'R':
    case 'D':
      parsed.forwards.push(parseForwardSpec(KIND_OF_LETTER[letter], argument));
      break;
    case 'l':
      parsed.user ??= argument;
      break;
    case 'p':
      parsed.port ??= parseSshPort(argument, '-p');
      break;
    case 'i':
      parsed.identityFiles.push(argument);
      break;
    case 'J':
      parsed.jumpHosts.push(...argument.split(','));
      break;
    case 'o':
      applyConfigOption(parsed, argument);
      break;
  }
}

/** `-o Keyword=value` or `-o "Keyword value"`; the ones with a field of their own go there. */
function applyConfigOption(parsed: Options, argument: string): void {
  const match = /^\s*([A-Za-z]+)\s*(?:=|\s)\s*(.*?)\s*$/s.exec(argument);
  if (!match || match[2] === '') {
    throw new ForwardSpecError(`ssh option -o "${argument}" needs a keyword and a value`, 'ssh -o ExitOnForwardFailure=yes shellserver');
  }
  const key = match[1].toLowerCase();
  const value = match[2];
  const forwardKind = /^(local|remote|dynamic)forward$/.exec(key)?.[1] as ForwardKind | undefined;
  if (forwardKind) parsed.forwards.push(parseForwardSpec(forwardKind, value));
  else if (key === 'user') parsed.user ??= value;
  else if (key === 'port') parsed.port ??= parseSshPort(value, '-o Port');
  else if (key === 'identityfile') parsed.identityFiles.push(value);
  else if (key === 'proxyjump') parsed.jumpHosts.push(...value.split(','));
  else if (key === 'gatewayports') parsed.gatewayPorts ||= /^(yes|true)$/i.test(value);
  else parsed.options[key] ??= value;
}

/** `host`, `user@host` or `ssh://[user@]host[:port]`; returns the host. */
function applyDestination(parsed: Options, text: string): string {
  let user: string | undefined;
  let host: string;
  if (/^ssh:\/\//i.test(text)) {
    const uri = /^ssh:\/\/(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/[\]]*)(?::(\d+))?\/?$/i.exec(text);
    if (!uri) throw new ForwardSpecError(`"${text}" is not a valid ssh:// URI: use ssh://[user@]host[:port]`, 'ssh://user@host:2222');
    user = uri[1] === undefined ? undefined : decodeUriPart(uri[1].split(';')[0]);
    host = uri[2].replace(/^\[(.*)\]$/, '$1');
    if (uri[3] !== undefined) parsed.port ??= parseSshPort(uri[3], 'the ssh:// URI');
  } else {
    const at = text.lastIndexOf('@');
    if (at === 0) throw new ForwardSpecError(`The user name before "@" in "${text}" is empty`, 'ssh user@shellserver');
    user = at > 0 ? text.slice(0, at) : undefined;
    host = text.slice(at + 1);
  }
  if (user !== undefined) parsed.user ??= user;
  return checkHost('Destination host', host, SSH_EXAMPLE);
}

function decodeUriPart(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ForwardSpecError(`"${text}" has a bad %-escape`, 'ssh://user@host:2222');
  }
}

function parseSshPort(text: string, where: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ForwardSpecError(`Bad ssh port "${text}" in ${where}: use a number 1-65535`, 'ssh -p 2222 shellserver');
  }
  return port;
}

/** Splits like a POSIX shell (quotes, backslashes, line continuations) without running one. */
function tokenize(text: string, example: string): string[] {
  const tokens: string[] = [];
  let token: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else token += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) token += text[++i];
      else token += c;
    } else if (c === '\\' && /^\r?\n/.test(text.slice(i + 1))) {
      i += text[i + 1] === '\r' ? 2 : 1;
    } else if (/\s/.test(c)) {
      if (token !== undefined) tokens.push(token);
      token = undefined;
    } else {
      token ??= '';
      if (c === "'" || c === '"') quote = c;
      else if (c !== '\\') token += c;
      else if (i + 1 < text.length) token += text[++i];
      else throw new ForwardSpecError('The text ends with a lone backslash', example);
    }
  }
  if (quote !== undefined) throw new ForwardSpecError(`Unclosed ${quote} quote`, example);
  if (token !== undefined) tokens.push(token);
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Formatting (parse(format(spec)) deep-equals spec) and bind addresses.

/** The value of -L/-R/-D: `[bind:]port:host:hostport`, or `[bind:]port` without a target. */
export function formatForwardSpec(spec: ForwardSpec): string {
  return [formatListen(spec), formatTarget(spec)].filter((part) => part !== undefined).join(':');
}

/** `-L 127.0.0.1:9999:mailserver:110`, `-R ...`, `-D ...`. */
export function formatForwardFlag(spec: ForwardSpec): string {
  return `${FLAG[spec.kind]} ${formatForwardSpec(spec)}`;
}

/** `LocalForward 127.0.0.1:9999 mailserver:110`, `RemoteForward ...`, `DynamicForward 1080`. */
export function formatForwardConfig(spec: ForwardSpec): string {
  return [KEYWORD[spec.kind], formatListen(spec), formatTarget(spec)].filter((part) => part !== undefined).join(' ');
}

function formatListen(spec: ForwardSpec): string {
  return spec.bindAddress === undefined ? `${spec.bindPort}` : `${formatHost(spec.bindAddress)}:${spec.bindPort}`;
}

function formatTarget(spec: ForwardSpec): string | undefined {
  return spec.targetHost === undefined ? undefined : `${formatHost(spec.targetHost)}:${spec.targetPort}`;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4'); // also matches ::ffff:127.x.x.x
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1, ::ffff:127.x.x.x (any spelling, with or without a zone) and `localhost`. */
export function isLoopbackAddress(address: string): boolean {
  if (/^localhost\.?$/i.test(address)) return true;
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether the forward asks to listen beyond loopback (`*`, empty, 0.0.0.0, ::, a LAN address, a host name). */
export function bindsNonLoopback(spec: ForwardSpec): boolean {
  return spec.bindAddress !== undefined && !isLoopbackAddress(spec.bindAddress);
}

/**
 * The address a local (-L) or dynamic (-D) listener binds, as OpenSSH's client chooses it: no
 * address means loopback (or every interface with -g / GatewayPorts), `localhost` means loopback,
 * `*` or empty means every interface; anything else is used as written. We pick IPv4 (`127.0.0.1`,
 * `0.0.0.0`) where OpenSSH binds both families. Not for -R: there sshd decides.
 */
export function effectiveBindAddress(spec: ForwardSpec, gatewayPorts = false): string {
  const address = spec.bindAddress;
  if (address === '' || address === '*' || (address === undefined && gatewayPorts)) return '0.0.0.0';
  if (address === undefined || /^localhost\.?$/i.test(address)) return '127.0.0.1';
  return address;
}
