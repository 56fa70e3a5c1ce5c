// Loopback helpers shared by the Node.js tests. Not a test file.

import net from 'node:net';

/** A loopback port that was free a moment ago (bound to port 0, then closed): for a server to bind, or to
 * stand for an address nothing listens on. */
export async function freePort() {
  const s = net.createServer();
  await new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}
