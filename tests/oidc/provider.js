// A real OpenID provider for tests: panva's oidc-provider (OpenID Certified), run with
// the configuration a test asks for through the environment. It is test infrastructure
// only, never part of a deployment. Nothing here edits the provider's answers: each
// variant is a configuration the library itself offers.
//
//   OIDC_BIND            address to listen on (default 127.0.0.1); port chosen free
//   OIDC_ISSUER          issuer; "{port}" is replaced by the port (default
//                        http://127.0.0.1:{port})
//   OIDC_RESPONSE_TYPES  comma-separated response types the provider allows
//                        (default: code,id_token,code id_token)
//   OIDC_PROVIDER        "9" (current, PKCE with S256 only) or "7" (7.x, whose PKCE
//                        methods are configurable)
//   OIDC_PKCE_METHODS    for OIDC_PROVIDER=7: comma-separated PKCE methods (e.g. plain)
//
// Prints one JSON line {"port": N, "issuer": "..."} once it listens.
import http from 'node:http';

const bind = process.env.OIDC_BIND || '127.0.0.1';
const variant = process.env.OIDC_PROVIDER || '9';
const responseTypes = (process.env.OIDC_RESPONSE_TYPES || 'code,id_token,code id_token')
  .split(',').map((t) => t.trim()).filter(Boolean);

const { default: Provider } = await import(variant === '7' ? 'oidc-provider-7' : 'oidc-provider');

const server = http.createServer();
server.listen(0, bind, () => {
  const { port } = server.address();
  const issuer = (process.env.OIDC_ISSUER || 'http://127.0.0.1:{port}').replace('{port}', String(port));
  const configuration = {
    responseTypes,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
    clients: [{
      client_id: 'wandb',
      client_secret: 'test-only-secret',
      redirect_uris: [`${issuer.replace(/\/$/, '')}/oidc/callback`],
      response_types: responseTypes,
      grant_types: ['authorization_code', 'implicit'],
    }],
  };
  if (variant === '7' && process.env.OIDC_PKCE_METHODS) {
    configuration.pkce = { methods: process.env.OIDC_PKCE_METHODS.split(','), required: () => false };
  }
  const provider = new Provider(issuer, configuration);
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ port, issuer })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
