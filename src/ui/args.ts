/**
 * What a command's argument refers to. Commands run from the tree get a tree node; scripts, tasks
 * and tests pass plain data (`{ id }`, `{ host }` or a string). Anything else means "ask".
 */
import { isNode } from './treeNodes';

function field(arg: unknown, name: string): unknown {
  return typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>)[name] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A tunnel id from a tunnel or connection node, `{ id }`, `{ forwardId }` or a string. */
export function tunnelIdOf(arg: unknown): string | undefined {
  if (isNode(arg, 'tunnel')) return arg.forward.id;
  if (isNode(arg, 'connection')) return arg.forwardId;
  return text(arg) ?? text(field(arg, 'id')) ?? text(field(arg, 'forwardId'));
}

/** A host alias or destination from a host or tunnel node, `{ host }` or a string. */
export function hostOf(arg: unknown): string | undefined {
  if (isNode(arg, 'host')) return arg.alias;
  if (isNode(arg, 'tunnel')) return arg.forward.host;
  return text(arg) ?? text(field(arg, 'host'));
}

/** Called by a script, test or task with plain data (so: no questions it did not ask for). */
export function isScripted(arg: unknown): boolean {
  return typeof arg === 'string' || (typeof arg === 'object' && arg !== null && !('type' in arg));
}

/** An optional field of a plain-data argument. */
export function option<T extends string | boolean | number>(arg: unknown, name: string, type: 'string' | 'boolean' | 'number'): T | undefined {
  const value = field(arg, name);
  return typeof value === type ? (value as T) : undefined;
}
