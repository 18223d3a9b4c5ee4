/**
 * The TCP connection to an SSH server: writes coalesced (coalesceWrites), and reads acknowledged
 * promptly. sshd writes with Nagle's algorithm on (it sets TCP_NODELAY only for sessions with a
 * pty), so a small packet it sends while an earlier one is unacknowledged waits for our ACK, which
 * Linux delays up to 40 ms when we have nothing to send back. That happens on every forwarded -R
 * connection: the server's CHANNEL_CLOSE answers ours and needs no reply, so the CHANNEL_OPEN of
 * the next connection waited ~45 ms (OpenSSH's `ssh -N -R` has the same stall), and on -L to a
 * server that speaks first (its greeting waits behind the unacknowledged CHANNEL_OPEN_CONFIRMATION).
 *
 * A short read that nothing we wrote has answered by the end of the *next* turn of the event loop
 * gets an SSH_MSG_IGNORE (a no-op every SSH implementation must accept): its segment carries the
 * ACK at once. Waiting one more turn lets the usual answers go first — the forwarded client's
 * bytes after CHANNEL_OPEN_CONFIRMATION arrive in the next poll — so a nudge is only sent when it
 * is the only thing that would ACK. Writes made while ssh2 handles the read count as answers (the
 * mark is taken before ssh2 sees the data). Bulk reads (≥ 32 KiB) are ACKed by the kernel anyway
 * and never trigger it; nothing is sent during a key exchange.
 */
import type * as net from 'node:net';
import type { Client } from 'ssh2';
import { ssh2Internals, type Ssh2Internals } from './lazySsh2';
import { coalesceWrites } from './writeCoalescing';

/** Reads shorter than one channel packet are not bulk transfer: the kernel will not ACK them at once. */
const SHORT_READ = 32 * 1024;
const SSH_MSG_IGNORE = 2;

interface PacketWriter { allocStart: number; alloc(n: number): Buffer; finalize(packet: Buffer): Buffer }
/** The parts of ssh2's Protocol object this uses. Its packet writer is replaced at every key exchange. */
interface ProtocolLike { _packetRW?: { write?: PacketWriter }; _kexinit?: unknown }

export class PromptAcks {
  readonly socket: net.Socket;
  /** Nudges sent (for tests and the log). */
  nudges = 0;
  private writes = 0;
  private pending = false;
  private mark = 0;
  private proto: ProtocolLike | undefined;
  private sendPacket: Ssh2Internals['sendPacket'] | undefined;

  constructor(socket: net.Socket) {
    this.socket = coalesceWrites(socket, () => { this.writes++; });
  }

  /** Called once authenticated: from now on short unanswered reads get an IGNORE. */
  start(client: Client): void {
    const proto = (client as unknown as { _protocol?: ProtocolLike })._protocol;
    const { sendPacket } = ssh2Internals();
    if (!proto || typeof proto._packetRW?.write?.alloc !== 'function' || typeof sendPacket !== 'function') return;
    this.proto = proto;
    this.sendPacket = sendPacket;
    // Before ssh2's own listener, so that what ssh2 writes in answer to this read counts.
    this.socket.prependListener('data', (d: Buffer) => {
      if (d.length >= SHORT_READ) return;
      this.mark = this.writes;
      if (this.pending) return;
      this.pending = true;
      setImmediate(this.nextTurn);
    });
  }

  private readonly nextTurn = (): void => {
    setImmediate(this.check);
  };

  private readonly check = (): void => {
    this.pending = false;
    const proto = this.proto;
    if (!proto || this.writes !== this.mark || this.socket.destroyed || !this.socket.writable) return;
    // During a key exchange ssh2 queues packets (and re-frames them after NEWKEYS): skip.
    if (proto._kexinit !== undefined) return;
    try {
      // Fetched each time: ssh2 installs a new writer with every key exchange.
      const w = proto._packetRW!.write!;
      const p = w.allocStart;
      const packet = w.alloc(1 + 4);
      packet[p] = SSH_MSG_IGNORE;
      packet.writeUInt32BE(0, p + 1);
      this.sendPacket!(proto, w.finalize(packet));
      this.nudges++;
    } catch {
      this.proto = undefined; // ssh2 changed under us: stop nudging rather than break the connection
    }
  };
}
