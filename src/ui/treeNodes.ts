/**
 * The elements of the SSH Tunnels tree. They are what a command receives when it runs from the
 * tree (inline action or context menu), so they are plain data that name what they show. The tree
 * keeps one host and one tunnel node per host / tunnel and updates `entry`, `host` and `forward` in
 * place (VS Code knows tree elements by identity).
 */
import type { ConnectionSnapshot, ForwardSnapshot, HostSnapshot } from '../core/model';
import type { Engine } from '../core/engine';

/** A host from the ssh config, as the manager lists it. */
export type HostEntry = ReturnType<Engine['configuredHosts']>[number];
type ConfigProblem = ReturnType<Engine['configProblems']>[number];

export interface HostNode {
  readonly type: 'host';
  readonly alias: string;
  /** From the ssh config, when the host is configured there. */
  entry?: HostEntry;
  /** From the manager, when it has a session (connected or not) for the host. */
  host?: HostSnapshot;
}

export interface TunnelNode {
  readonly type: 'tunnel';
  forward: ForwardSnapshot;
}

export interface ConnectionNode {
  readonly type: 'connection';
  readonly forwardId: string;
  readonly connection: ConnectionSnapshot;
}

export interface ProblemsNode {
  readonly type: 'problems';
  readonly problems: readonly ConfigProblem[];
}

export type TreeNode = HostNode | TunnelNode | ConnectionNode | ProblemsNode;

export function isNode<T extends TreeNode['type']>(value: unknown, type: T): value is Extract<TreeNode, { type: T }> {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}
