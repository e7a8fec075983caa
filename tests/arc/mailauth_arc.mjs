// ARC with mailauth, for tests/e2e/test_arc_interop.py.  Keys come from a
// DNS server given as ADDR@PORT (the test's Knot).
//
//   node mailauth_arc.mjs verify ADDR@PORT < msg
//       prints {"result": "pass|fail|none", "i": N, "comment": ...} as JSON
//   node mailauth_arc.mjs seal ADDR@PORT KEYFILE DOMAIN SELECTOR < msg
//       authenticates the message (as mx.DOMAIN), seals it, and writes
//       the sealed message (the ARC set, its Authentication-Results, the
//       message)
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { promises as dnsp } from 'node:dns';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { authenticate } = require('mailauth');

const [mode, server, keyFile, domain, selector] = process.argv.slice(2);
const [addr, port] = server.split('@');
const r = new dnsp.Resolver({ timeout: 2000, tries: 1 });
r.setServers([`${addr}:${port}`]);
const resolver = (name, rr) => r.resolve(name, rr);

const message = readFileSync(0);
const common = { resolver, ip: '192.0.2.99', helo: 'relay.example.org', sender: 'alice@origin.example.org',
    disableBimi: true };

if (mode === 'verify') {
    const { arc } = await authenticate(message, { ...common, mta: 'mailauth.example' });
    process.stdout.write(JSON.stringify({ result: arc.status.result, i: arc.i || 0,
        comment: arc.status.comment || '' }) + '\n');
} else if (mode === 'seal') {
    const privateKey = readFileSync(keyFile);
    // mailauth 4 takes rsa-sha256 unless told otherwise
    const algorithm = createPrivateKey(privateKey).asymmetricKeyType === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256';
    const { headers, arc } = await authenticate(message, {
        ...common,
        mta: `mx.${domain}`,
        seal: { signingDomain: domain, selector, privateKey, algorithm }
    });
    if (arc.sealErrors && arc.sealErrors.length) {
        process.stderr.write(JSON.stringify(arc.sealErrors) + '\n');
        process.exit(3);
    }
    process.stdout.write(headers);
    process.stdout.write(message);
} else {
    process.stderr.write('usage: mailauth_arc.mjs verify|seal ADDR@PORT [KEYFILE DOMAIN SELECTOR] < msg\n');
    process.exit(2);
}
