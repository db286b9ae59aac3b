// The official TypeScript MCP SDK clients, pinned in package-lock.json, headless: "1.x" is @modelcontextprotocol/sdk
// (protocol 2025-11-25: no Mcp-Method/Mcp-Name headers), "2.x" is @modelcontextprotocol/client with version
// negotiation on (2026-07-28: it sends them). Their OAuth client provider is this file's, whose "browser" follows
// the authorization URL with a GET and keeps the code from the redirect, as the SDKs' OAuth examples do once their
// callback server receives it.
//
// Reads one JSON object on stdin, writes one on stdout (local/mcp_clients/typescript_sdk.py drives it):
//   {"flows": [{"name": "...", "sdk": "1.x", "url": "<MCP endpoint>", "issuer": "<dev issuer root>",
//               "mint": {<DevIssuer.mint options naming this authorization server>},
//               "steps": [{"do": "connect"}, {"do": "list_tools"}, {"do": "call", "tool": "list_orders"},
//                         {"do": "swap_token", "expires_in": -600, "audience": "...", "keep_refresh": true}]}]}
// Each flow is one client application (its own registration, tokens and discovery), its steps run in order; a step
// that fails is recorded and the next one runs. swap_token replaces the access token the client holds with one the
// dev issuer mints (POST /_dev/mint) for the same user, client and scope, expired or for another audience.
// Out: {"flows": {"<name>": {"steps": [{"do", "ok", "result"|"error", "exchanges"}], "tokens": [claims...],
//                            "authorizations": n}}}. Tokens are never written: only their decoded claims.
import { randomUUID } from 'node:crypto';

const SDKS = {
  '1.x': async () => {
    const [{ Client }, { StreamableHTTPClientTransport }, { UnauthorizedError }] = await Promise.all([
      import('@modelcontextprotocol/sdk/client/index.js'), import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
      import('@modelcontextprotocol/sdk/client/auth.js')]);
    return { Client, StreamableHTTPClientTransport, UnauthorizedError, options: {} };
  },
  '2.x': async () => {
    const { Client, StreamableHTTPClientTransport, UnauthorizedError } = await import('@modelcontextprotocol/client');
    return { Client, StreamableHTTPClientTransport, UnauthorizedError, options: { versionNegotiation: { mode: 'auto' } } };
  },
};

const CALLBACK = 'http://127.0.0.1:47615/callback'; // never listened on: the browser reads the Location

function claimsOf(token) {
  const payload = token.split('.')[1];
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

// What went over HTTP in one step: never a token, only whether one was sent.
class Wire {
  constructor() { this.exchanges = []; }

  fetch = async (input, init = {}) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    // Token requests carry a form; authorization requests their query.
    const form = init.body instanceof URLSearchParams ? init.body : url.searchParams;
    const exchange = {
      method: request.method, url: url.origin + url.pathname, status: null, challenge: null, failure: null,
      authorization: request.headers.has('authorization'),
      grant_type: form.get('grant_type'), resource: form.get('resource'), scope: form.get('scope'),
      code_challenge_method: form.get('code_challenge_method'), code_verifier: form.has('code_verifier'),
      mcp_method: request.headers.get('mcp-method'), mcp_name: request.headers.get('mcp-name'),
      protocol_version: request.headers.get('mcp-protocol-version'),
    };
    this.exchanges.push(exchange);
    try {
      const response = await fetch(input, init);
      exchange.status = response.status;
      exchange.challenge = response.headers.get('www-authenticate');
      return response;
    } catch (error) {
      exchange.failure = String(error.cause?.code ?? error.message);
      throw error;
    }
  };

  take() { const taken = this.exchanges; this.exchanges = []; return taken; }
}

// The SDK's OAuthClientProvider, in memory, with a headless browser.
class HeadlessProvider {
  constructor(wire) {
    this.wire = wire;
    this.client = undefined;
    this.stored = undefined;
    this.verifier = undefined;
    this.expectedState = undefined;
    this.pendingCallback = undefined;
    this.discovery = undefined;
    this.authorizations = 0;
    this.claims = [];
  }

  get redirectUrl() { return CALLBACK; }
  get clientMetadata() {
    return { client_name: 'mcp-ts-sdk-test', redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'],
             response_types: ['code'] };
  }
  state() { this.expectedState = randomUUID(); return this.expectedState; }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.stored; }
  saveTokens(tokens) {
    this.stored = tokens;
    this.claims.push({ ...claimsOf(tokens.access_token), expires_in: tokens.expires_in, granted: tokens.scope ?? null });
  }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  saveDiscoveryState(state) { this.discovery = state; }
  discoveryState() { return this.discovery; }

  async redirectToAuthorization(url) {
    this.authorizations += 1;
    const response = await this.wire.fetch(url, { redirect: 'manual' });
    const answer = new URL(response.headers.get('location')).searchParams;
    if (answer.get('error') || answer.get('state') !== this.expectedState) {
      throw new Error(`authorization refused: ${answer.get('error') ?? 'state mismatch'}`);
    }
    this.pendingCallback = { code: answer.get('code'), iss: answer.get('iss') ?? undefined };
  }

  takeCallback() { const callback = this.pendingCallback; this.pendingCallback = undefined; return callback; }
}

class Application {
  constructor(flow, sdk) {
    this.flow = flow;
    this.sdk = sdk;
    this.wire = new Wire();
    this.provider = new HeadlessProvider(this.wire);
    this.client = undefined;
    this.transport = undefined;
  }

  async connect() {
    this.transport = new this.sdk.StreamableHTTPClientTransport(new URL(this.flow.url),
      { authProvider: this.provider, fetch: this.wire.fetch });
    this.client = new this.sdk.Client({ name: 'mcp-ts-sdk-test', version: this.flow.sdk }, this.sdk.options);
    await this.client.connect(this.transport);
    return { protocol_version: this.transport.protocolVersion ?? null };
  }

  // As the SDK's OAuth example does: a call that ends in UnauthorizedError after the browser brought a code back
  // is finished with transport.finishAuth(code) and tried again (connect: on a new transport).
  async authorized(operation) {
    try {
      return await operation();
    } catch (error) {
      const callback = this.provider.takeCallback();
      if (!(error instanceof this.sdk.UnauthorizedError) || callback === undefined) throw error;
      await this.transport.finishAuth(callback.code, callback.iss);  // 1.x reads the code only; 2.x checks iss
      return await operation();
    }
  }

  async swapToken({ expires_in: expiresIn = 300, audience, keep_refresh: keepRefresh = true }) {
    const claims = this.provider.claims.at(-1);
    const options = { ...this.flow.mint, client_id: claims.azp, scopes: claims.scope, expires_in: expiresIn,
                      audience: audience ?? claims.aud, claims: { sub: claims.sub, azp: claims.azp } };
    const response = await fetch(`${this.flow.issuer}/_dev/mint`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(options) });
    if (!response.ok) throw new Error(`mint failed: ${response.status}`);
    const { access_token: accessToken } = await response.json();
    const { refresh_token: refreshToken, ...rest } = this.provider.stored;
    this.provider.stored = { ...rest, access_token: accessToken, ...(keepRefresh ? { refresh_token: refreshToken } : {}) };
    const swapped = claimsOf(accessToken);
    return { aud: swapped.aud, exp_in: swapped.exp - Math.floor(Date.now() / 1000), refresh_token_kept: keepRefresh };
  }

  async step(step) {
    switch (step.do) {
      case 'connect': return this.authorized(() => this.connect());
      case 'list_tools': {
        const listed = await this.authorized(() => this.client.listTools());
        return { tools: listed.tools.map(tool => tool.name) };
      }
      case 'call': {
        const called = await this.authorized(() => this.client.callTool({ name: step.tool, arguments: step.arguments ?? {} }));
        return { is_error: called.isError ?? false, structured: called.structuredContent ?? null };
      }
      case 'swap_token': return this.swapToken(step);
      default: throw new Error(`unknown step ${step.do}`);
    }
  }

  async run() {
    const steps = [];
    for (const step of this.flow.steps) {
      const done = { do: step.do, ...(step.tool ? { tool: step.tool } : {}) };
      try {
        done.result = await this.step(step);
        done.ok = true;
      } catch (error) {
        done.ok = false;
        done.error = { name: error.constructor.name, code: error.code ?? null, message: String(error.message) };
      }
      done.exchanges = this.wire.take();
      steps.push(done);
    }
    await this.transport?.close();
    return { steps, tokens: this.provider.claims, authorizations: this.provider.authorizations,
             registrations: this.provider.client ? 1 : 0 };
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const { flows } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = {};
  for (const flow of flows) {
    results[flow.name] = await new Application(flow, await SDKS[flow.sdk]()).run();
  }
  process.stdout.write(JSON.stringify({ flows: results }));
}

main().catch(error => { process.stderr.write(`${error.stack ?? error}\n`); process.exit(1); });
