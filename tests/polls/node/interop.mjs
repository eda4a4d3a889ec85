// Interop peer for tests/polls/test_node_interop.py: one JSON request on stdin, one
// JSON answer on stdout, every value hex. Uses @cloudflare/blindrsa-ts as published.
import { RSABSSA } from '@cloudflare/blindrsa-ts';

const hex = (u8) => Buffer.from(u8).toString('hex');
const bytes = (h) => new Uint8Array(Buffer.from(h, 'hex'));
const ALG = { name: 'RSA-PSS', hash: 'SHA-384' };

async function publicKey(spkiHex) {
  return crypto.subtle.importKey('spki', bytes(spkiHex), ALG, true, ['verify']);
}
async function privateKey(pkcs8Hex) {
  return crypto.subtle.importKey('pkcs8', bytes(pkcs8Hex), ALG, true, ['sign']);
}

const suite = RSABSSA.SHA384.PSS.Randomized();
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
let out;
switch (req.op) {
  case 'blind': {
    const prepared = suite.prepare(bytes(req.msg));
    const { blindedMsg, inv } = await suite.blind(await publicKey(req.spki), prepared);
    out = { prepared: hex(prepared), blinded: hex(blindedMsg), inv: hex(inv) };
    break;
  }
  case 'sign':
    out = { blind_sig: hex(await suite.blindSign(await privateKey(req.pkcs8), bytes(req.blinded))) };
    break;
  case 'finalize': {
    const sig = await suite.finalize(
      await publicKey(req.spki), bytes(req.prepared), bytes(req.blind_sig), bytes(req.inv));
    out = { sig: hex(sig) };
    break;
  }
  case 'verify':
    out = { ok: await suite.verify(await publicKey(req.spki), bytes(req.sig), bytes(req.prepared)) };
    break;
  default:
    throw new Error(`unknown op ${req.op}`);
}
process.stdout.write(JSON.stringify(out));
