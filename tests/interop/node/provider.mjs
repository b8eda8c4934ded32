// node's oidc-provider as an independent OpenID provider on loopback, for oauthtrace's no-false-alarm tests.
//
// Usage: node provider.mjs  (environment: CLIENT_ID, REDIRECT_URI, CLIENT_SECRET; no secret = a public client)
// Prints one JSON line {"issuer": "http://127.0.0.1:PORT"} once it listens; stops on SIGTERM or when stdin closes.
// Everything but the client and the in-memory account is oidc-provider's default configuration, so what the
// recorder sees is what this implementation does out of the box (devInteractions login and consent pages included).
import http from 'node:http';
import Provider from 'oidc-provider';

const { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      ...(CLIENT_SECRET ? { client_secret: CLIENT_SECRET } : {}),
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: CLIENT_SECRET ? 'client_secret_basic' : 'none',
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
    }],
    // PKCE for this confidential client too (by default it is only required for public ones).
    pkce: { required: () => true },
    async findAccount(ctx, sub) {
      return { accountId: sub, async claims() { return { sub, name: 'Interop User' }; } };
    },
  });
  // The dev login page warns on stderr that it is for development only; the test reads stdout only.
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

const stop = () => process.exit(0); // in-memory state only: nothing to flush
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
