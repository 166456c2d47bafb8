/**
 * @module Connection tracking for a graceful close. Node's `server.close()` closes only connections idle at that
 * moment: a keep-alive connection whose answer was still being written, or one a client opened without sending a
 * request yet, would hold the close up until its keep-alive timeout (72 s). Once closing, every connection is ended
 * as soon as it has no request in flight.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionTracker {
  /** Ends idle connections now and the others as their last request finishes. */
  closeWhenIdle(): void;
}

export function trackConnections(server: Server): ConnectionTracker {
  const inFlight = new Map<Socket, number>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (request, response) => {
    const socket: Socket = request.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      // end(), not destroy(): the answer may still be in the socket's buffer.
      if (closing && left === 0) socket.end();
    });
  });
  return {
    closeWhenIdle() {
      closing = true;
      for (const [socket, count] of inFlight) if (count === 0) socket.end();
    },
  };
}
