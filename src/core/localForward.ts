/** -L: connections to a local port go to host:hostport as seen from the SSH server. */
import { ListeningForward, formatHostPort, type Destination } from './listeningForward';

export class LocalForward extends ListeningForward {
  protected async destinationFor(): Promise<Destination> {
    return { host: this.spec.targetHost!, port: this.spec.targetPort! };
  }

  protected describe(address: string, port: number): string {
    return `Local connections to ${formatHostPort(address, port)} forwarded to remote address ${formatHostPort(this.spec.targetHost!, this.spec.targetPort!)}`;
  }
}
