/**
 * A request to add a forward, checked against the forwards there are: the spec it names (a parsed
 * spec, a flag or config line, or a bare value with its kind), its host, and no duplicate — by id
 * or by the same forward on the same host. TunnelManager checks every request here, and so does
 * EngineClient for a stopped tunnel it keeps until an engine runs: the two must agree.
 */
import { TunnelError } from './errors';
import { ForwardSpecError, formatForwardSpec, parseForwardArgument, parseForwardSpec } from './forwardSpec';
import type { ForwardSpec } from './model';
import type { AddForwardRequest } from './tunnelManager';

/** What a request is checked against: a Forward or a ForwardSnapshot. */
export interface ExistingForward {
  readonly id: string;
  readonly host: string;
  readonly spec: ForwardSpec;
  readonly sshFlag: string;
  readonly label?: string;
}

/** The request's host and spec; throws a TunnelError (BAD_SPEC, DUPLICATE) naming the cause. */
export function admitForward(req: AddForwardRequest, existing: Iterable<ExistingForward>): { host: string; spec: ForwardSpec } {
  let spec: ForwardSpec;
  try {
    spec = specOf(req);
  } catch (err) {
    if (err instanceof ForwardSpecError) throw new TunnelError(err.message, true, 'BAD_SPEC');
    throw err;
  }
  const host = req.host.trim();
  const all = [...existing];
  if (req.id && all.some((f) => f.id === req.id)) throw new TunnelError(`A tunnel with id ${req.id} already exists.`, true, 'DUPLICATE');
  const text = formatForwardSpec(spec);
  const same = all.find((f) => f.host === host && f.spec.kind === spec.kind && formatForwardSpec(f.spec) === text);
  if (same) throw new TunnelError(`${same.sshFlag} on ${host} already exists${same.label ? ` ("${same.label}")` : ''}.`, true, 'DUPLICATE');
  return { host, spec };
}

function specOf(req: AddForwardRequest): ForwardSpec {
  if (typeof req.spec !== 'string') return parseForwardSpec(req.spec.kind, formatForwardSpec(req.spec));
  const text = req.spec.trim();
  return req.kind ? parseForwardSpec(req.kind, text.replace(/^-[LRD]\s*/, '')) : parseForwardArgument(text);
}
