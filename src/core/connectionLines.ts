/**
 * The debug1 lines each forwarded connection logs (`Connection to port 9999 forwarding to …
 * requested.`, `channel 3: new [direct-tcpip] …`), as `ssh -v` prints them — up to a rate. A
 * burst of connections (a page loading, a load test, a client retrying in a loop) would
 * otherwise write thousands of lines a second into VS Code's output channel: measured in a real
 * VS Code (bench "vscode" section), those lines were half of what the extension host's thread
 * did during a 1000-connection burst, and took its event-loop delay p99 from ~6 to ~12 ms.
 *
 * Per forward, the first PER_WINDOW connections of each WINDOW_MS get their lines; the rest are
 * counted, and one line says how many when the window ends. At debug2 and above (VS Code's
 * "Debug" log level) every connection is logged.
 */
import type { Log } from './log';

export const WINDOW_MS = 1000;
export const PER_WINDOW = 50;

export class ConnectionLines {
  private windowStart = 0;
  private logged = 0;
  private skipped = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `where`: what the summary line names, e.g. `port 9999`. */
  constructor(
    private readonly log: Log,
    private readonly where: () => string,
    private readonly perWindow = PER_WINDOW,
    private readonly windowMs = WINDOW_MS,
  ) {}

  /** True when this connection's lines are to be logged; otherwise it is counted for the summary. */
  admit(): boolean {
    if (!this.log.enabled('debug1')) return false;
    if (this.log.enabled('debug2')) return true;
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs && !this.timer) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged < this.perWindow) {
      this.logged++;
      return true;
    }
    this.skipped++;
    if (!this.timer) {
      this.timer = setTimeout(() => this.summarize(), this.windowStart + this.windowMs - now);
      this.timer.unref();
    }
    return false;
  }

  /** `span`: how long the window being summarized lasted (shorter than a window when the forward stops). */
  private summarize(span = this.windowMs): void {
    this.timer = undefined;
    const n = this.skipped;
    this.skipped = 0;
    // The next window starts now: its first connections are logged again.
    this.windowStart = 0;
    if (n) {
      this.log.debug1(
        `${this.where()}: ${n} more connection${n === 1 ? '' : 's'} in the last ${duration(span)}, not logged one by one ` +
        `(only the first ${this.perWindow} are; the log level Debug logs every connection).`,
      );
    }
  }

  /** Says how many were not logged yet and stops the timer (the forward stops). */
  dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.summarize(Math.min(this.windowMs, Math.max(1, Date.now() - this.windowStart)));
    }
  }
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
