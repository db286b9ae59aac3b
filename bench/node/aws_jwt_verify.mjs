// The Node contenders of the warm-latency benchmark (bench/node_contender.py drives this process).
//
// - aws_jwt_verify: awslabs/aws-jwt-verify, the verifier AWS publishes for Lambda authorizers, as its README shows
//   it in one: JwtVerifier.create({issuer, audience, jwksUri}) once, the JWKS cached in advance (cacheJwks), then
//   verifySync(token) per request: signature, alg/kid/kty checks, iss, aud, exp, nbf.
// - node_floor: what no Node verifier can skip, as the Python floor does it: split, base64url-decode and JSON.parse
//   header and payload, one node:crypto verify with a key built once per kid; no claim checks.
//
// One JSON request per line on stdin, one JSON answer per line on stdout, so the Python driver can interleave
// blocks of these with blocks of its own contenders on the same tokens:
//   {"cmd": "setup", "issuer", "audience", "jwksUri", "jwks"}      -> {"node", "aws_jwt_verify"} (versions)
//   {"cmd": "load", "set", "tokens": [...]}                         -> {"count"}
//   {"cmd": "check", "contender", "set", "index"}                   -> {"sub"} or {"error"}
//   {"cmd": "run", "contender", "set", "start", "stop", "timed"}    -> {"ns": [per-call nanoseconds]} ([] untimed)
//   {"cmd": "uses", "contender", "set"}                             -> {"uses": [how often each token was run]}
// Each call is timed alone with process.hrtime.bigint(). V8's collector cannot be switched off, and no full
// collection is forced between blocks (global.gc() after each block, tried here, left p50 unchanged and the p99
// no better, often worse: the next block then paid more scavenges). The scavenges a verifier's garbage causes are
// part of its cost, as in a warm Lambda.
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { JwtVerifier } from "aws-jwt-verify";

const HASHES = { RS256: "sha256", ES256: "sha256" };
const contenders = {};
const sets = new Map();
const uses = new Map(); // `${contender} ${set}` -> Uint32Array of per-token runs

function awsJwtVerify({ issuer, audience, jwksUri, jwks }) {
  const verifier = JwtVerifier.create({ issuer, audience, jwksUri });
  verifier.cacheJwks(jwks); // no fetch at request time: the keys are held, as after a warm Lambda's first call
  return (token) => verifier.verifySync(token);
}

function nodeFloor({ jwks }) {
  const keys = new Map();
  for (const jwk of jwks.keys) {
    if (jwk.kty === "RSA" || jwk.kty === "EC") keys.set(jwk.kid, createPublicKey({ key: jwk, format: "jwk" }));
  }
  return (token) => {
    const [headerB64, payloadB64, signatureB64] = token.split(".");
    const header = JSON.parse(Buffer.from(headerB64, "base64url").toString("utf8"));
    const payload = JSON.parse(Buffer.from(payloadB64, "base64url").toString("utf8"));
    const signature = Buffer.from(signatureB64, "base64url");
    const key = keys.get(header.kid);
    const input = Buffer.from(`${headerB64}.${payloadB64}`);
    // JWS ES256 signatures are r || s (IEEE P1363), not DER; dsaEncoding is ignored for RSA.
    if (!verify(HASHES[header.alg], input, { key, dsaEncoding: "ieee-p1363" }, signature)) {
      throw new Error("invalid signature");
    }
    return payload;
  };
}

function version() {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve("aws-jwt-verify").replace(/dist[\\/]cjs[\\/]index\.js$/, "package.json");
  return JSON.parse(readFileSync(manifest, "utf8")).version;
}

function counts(contender, set) {
  const key = `${contender} ${set}`;
  if (!uses.has(key)) uses.set(key, new Uint32Array(sets.get(set).length));
  return uses.get(key);
}

function run({ contender, set, start, stop, timed }) {
  const call = contenders[contender];
  const tokens = sets.get(set);
  const used = counts(contender, set);
  const ns = [];
  for (let index = start; index < stop; index++) {
    const token = tokens[index];
    const began = process.hrtime.bigint();
    call(token);
    const took = process.hrtime.bigint() - began;
    if (timed) ns.push(Number(took));
    used[index] += 1;
  }
  return { ns };
}

const commands = {
  setup(request) {
    contenders.aws_jwt_verify = awsJwtVerify(request);
    contenders.node_floor = nodeFloor(request);
    return { node: process.version, aws_jwt_verify: version() };
  },
  load({ set, tokens }) {
    sets.set(set, tokens);
    for (const key of [...uses.keys()]) if (key.endsWith(` ${set}`)) uses.delete(key);
    return { count: tokens.length };
  },
  check({ contender, set, index }) {
    const payload = contenders[contender](sets.get(set)[index]);
    return { sub: payload.sub };
  },
  run,
  uses({ contender, set }) {
    return { uses: Array.from(counts(contender, set)) };
  },
};

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let answer;
  try {
    const request = JSON.parse(line);
    const command = commands[request.cmd];
    if (!command) throw new Error(`unknown command ${request.cmd}`);
    if (request.contender !== undefined && !(request.contender in contenders)) {
      throw new Error(`unknown contender ${request.contender} (setup first)`);
    }
    answer = command(request);
  } catch (problem) {
    answer = { error: `${problem?.name ?? "Error"}: ${problem?.message ?? problem}` };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
