/**
 * What a UI drives: TunnelManager's surface. The extension runs it in a process of its own through
 * EngineClient (so forwarded bytes and ssh2's pure-JS crypto cost the extension host nothing);
 * tests and tools may use a TunnelManager directly.
 */
import type { TunnelManager } from './tunnelManager';

export type Engine = Pick<TunnelManager,
  | 'onDidChange' | 'configuredHosts' | 'configProblems' | 'resolveHost' | 'reloadConfig' | 'updateOptions'
  | 'addForward' | 'startForward' | 'stopForward' | 'toggleForward' | 'removeForward' | 'setLabel' | 'closeConnection'
  | 'connectHost' | 'disconnectHost' | 'stopAll' | 'retryNow' | 'snapshot' | 'forwardSnapshot' | 'dispose'> & {
  /**
   * A tunnel is about to be started (the user has picked its host and is typing the rest): an
   * engine that runs elsewhere starts now, so that its start overlaps their typing. A
   * TunnelManager is its own engine and has none.
   */
  prestart?(): void;
};
