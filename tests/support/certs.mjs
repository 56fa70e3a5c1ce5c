// Test certificates made with the openssl CLI (Debian 12's OpenSSL 3.0), for the HTTPS tests
// (tests/tls, tests/browser/https.test.mjs). Not a test file: `node --test` only runs *.test.mjs.
//
// Everything is written in the directory the caller gives (its own mkdtempSync directory), with a
// config file of its own (never the system's openssl.cnf), and openssl runs asynchronously
// (execFile): the test process may be serving while a certificate is made.
//
//   makeCa(dir, { name, days })            a test CA: EC P-256, CA:TRUE, keyCertSign, a day or two
//   makeLeaf(dir, ca, { name, days, chain }) a server certificate the CA signs, SAN DNS:localhost,
//                                          IP:127.0.0.1, serverAuth; a fresh key and a random serial
//   makeExpiredLeaf(dir, ca, { name })     the same, valid from 2020-01-01 to 2020-01-02 (openssl ca
//                                          -startdate/-enddate: OpenSSL 3.0's x509 has no -not_after)
//   makeKey(dir, name)                     a fresh EC P-256 key (one that matches no certificate)
//   makeEncryptedKey(dir, name, pass)      a fresh EC P-256 key, PKCS#8 encrypted with AES-256
//   spkiSha256(certPem)                    base64 SHA-256 of the certificate's SubjectPublicKeyInfo (DER),
//                                          as Chromium's --ignore-certificate-errors-spki-list takes it
//   certInfo(certPem)                      { serial, fingerprint256, validTo } (node:crypto X509Certificate)
//
// A CA or leaf is { name, key, cert, pem, serial, fingerprint256 }: key and cert are file paths, pem the
// certificate's text, serial upper-case hex as node:tls getPeerCertificate() reports it.

import { execFile } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Runs openssl with args in cwd; rejects with its stderr in the message. */
async function openssl(args, cwd) {
  try {
    return await execFileP('openssl', args, { cwd, timeout: 30_000, encoding: 'utf8' });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${err.message}\n${err.stderr ?? ''}`);
  }
}

// The only config openssl reads: extensions for the CA and for server certificates, and the minimal
// `openssl ca` set-up that makeExpiredLeaf needs (its database and serial files are per call).
const CONFIG = `\
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
`;

/** DIR/openssl-test.cnf, written whole by a rename: calls made in parallel never see it half written. */
function configFile(dir) {
  const file = join(dir, 'openssl-test.cnf');
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(partial, CONFIG);
  renameSync(partial, file);
  return file;
}

/** A random positive 64-bit serial, hex (the first bit clear, no leading zero byte). */
const randomSerial = () => {
  const b = randomBytes(8);
  b[0] = (b[0] & 0x7f) | 0x10;
  return b.toString('hex').toUpperCase();
};

/** { serial, fingerprint256, validTo } of a PEM certificate (the first one in the text). */
export function certInfo(pem) {
  const x = new X509Certificate(pem);
  return { serial: x.serialNumber.toUpperCase(), fingerprint256: x.fingerprint256, validTo: x.validTo };
}

/** Base64 SHA-256 of the DER SubjectPublicKeyInfo of a PEM certificate (Chromium's SPKI hash). */
export function spkiSha256(pem) {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

const describe = (name, key, cert) => {
  const pem = readFileSync(cert, 'utf8');
  return { name, key, cert, pem, ...certInfo(pem) };
};

/** A fresh EC P-256 private key (unencrypted PKCS#8 PEM) at DIR/NAME.key: a key no certificate has. */
export async function makeKey(dir, name = 'other') {
  const key = join(dir, `${name}.key`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  return key;
}

/** A fresh EC P-256 key at DIR/NAME.key, encrypted with passphrase pass (PKCS#8, AES-256-CBC). */
export async function makeEncryptedKey(dir, name = 'encrypted', pass = 'test-passphrase') {
  const key = join(dir, `${name}.key`);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes-256-cbc',
    '-pass', `pass:${pass}`, '-out', key], dir);
  return key;
}

/** A self-signed test CA, EC P-256, valid `days` days, at DIR/NAME.key and DIR/NAME.pem. */
export async function makeCa(dir, { name = 'ca', days = 2 } = {}) {
  const cnf = configFile(dir);
  const key = await makeKey(dir, name);
  const cert = join(dir, `${name}.pem`);
  await openssl(['req', '-config', cnf, '-x509', '-new', '-key', key, '-sha256', '-days', String(days),
    '-subj', `/CN=corsd test CA ${name} ${randomSerial()}`, '-extensions', 'v3_ca',
    '-set_serial', `0x${randomSerial()}`, '-out', cert], dir);
  return describe(name, key, cert);
}

async function makeCsr(dir, name) {
  const cnf = configFile(dir);
  const key = await makeKey(dir, name);
  const csr = join(dir, `${name}.csr`);
  await openssl(['req', '-config', cnf, '-new', '-key', key, '-subj', '/CN=localhost', '-out', csr], dir);
  return { cnf, key, csr };
}

/**
 * A server certificate for localhost and 127.0.0.1 signed by ca, valid `days` days, with a fresh key:
 * DIR/NAME.key and DIR/NAME.pem. With chain: true, NAME.pem holds the CA's certificate after the leaf.
 */
export async function makeLeaf(dir, ca, { name = 'server', days = 1, chain = false } = {}) {
  const { cnf, key, csr } = await makeCsr(dir, name);
  const cert = join(dir, `${name}.pem`);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-sha256', '-days', String(days),
    '-set_serial', `0x${randomSerial()}`, '-extfile', cnf, '-extensions', 'v3_leaf', '-out', cert], dir);
  if (chain) writeFileSync(cert, readFileSync(cert, 'utf8') + ca.pem);
  return describe(name, key, cert);
}

/**
 * A DER OCSP response from `ca` about `leaf` (status "good", or "revoked" with revoked: true), valid
 * for a day, at DIR/NAME.der: what an OCSP responder would say, made offline with `openssl ocsp`.
 */
export async function makeOcspResponse(dir, ca, leaf, { name = 'ocsp', revoked = false } = {}) {
  const work = join(dir, `${name}.ocsp`);
  mkdirSync(work, { recursive: true });
  // The responder's database: one line for the certificate, as `openssl ca` writes it.
  const expiry = '301231235959Z';
  const line = revoked ? `R\t${expiry}\t200101000000Z\t${leaf.serial}\tunknown\t/CN=localhost\n`
    : `V\t${expiry}\t\t${leaf.serial}\tunknown\t/CN=localhost\n`;
  writeFileSync(join(work, 'index.txt'), line);
  await openssl(['ocsp', '-issuer', ca.cert, '-cert', leaf.cert, '-no_nonce', '-reqout', 'req.der'], work);
  const der = join(dir, `${name}.der`);
  await openssl(['ocsp', '-index', 'index.txt', '-rsigner', ca.cert, '-rkey', ca.key, '-CA', ca.cert,
    '-reqin', 'req.der', '-respout', der, '-ndays', '1'], work);
  return der;
}

/**
 * A server certificate like makeLeaf's that expired long ago: valid from 2020-01-01 to 2020-01-02.
 * OpenSSL 3.0's `x509` only has -days (a negative one gives notAfter before notBefore), so this signs
 * with `openssl ca -startdate -enddate`, in a folder of its own (its database and serial files).
 */
export async function makeExpiredLeaf(dir, ca, { name = 'expired' } = {}) {
  const work = join(dir, `${name}.ca`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'index.txt'), '');
  writeFileSync(join(work, 'serial'), `${randomSerial()}\n`);
  const { cnf, key, csr } = await makeCsr(dir, name);
  const cert = join(dir, `${name}.pem`);
  await openssl(['ca', '-batch', '-config', cnf, '-cert', ca.cert, '-keyfile', ca.key, '-in', csr, '-out', cert,
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', cnf, '-extensions', 'v3_leaf',
    '-notext'], work);
  return describe(name, key, cert);
}
