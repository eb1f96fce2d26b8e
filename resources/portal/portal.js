// Qalam demo portal: signing from a web page through the NCALayer WebSocket API.
//
// What a portal needs, in four parts, each usable on its own:
//   1. LocalSigner    — the socket: greeting, one request at a time, the reply envelopes.
//   2. basicsSign     — kz.gov.pki.knca.basics "sign" (CMS attached/detached, XML).
//   3. signerOf...    — who signed: name and IIN read from the certificate in the result
//                       (a tiny DER walk; no library).
//   4. the page glue  — buttons, the status line, the result box.
//
// Honest limits: this page does NOT verify signatures. The local API has no verification
// method, so the page says "signed by …" (from the certificate inside the signature), never
// "valid". Verify on your server (openssl cms -verify, xmlsec1 --verify, or your PKI library)
// before you trust a signature.
'use strict';

// ------------------------------------------------------------------ 1. the socket

/** One WebSocket to the local signer. NCALayer answers requests strictly in order and
 * has no request ids, so this class keeps one request in flight at a time. */
class LocalSigner {
  constructor(url) {
    this.url = url;
    this.ws = null;
    this.version = null;
    this.pending = null; // {resolve, reject} of the request in flight
    this.opening = null; // the connect() promise while the socket is (being) opened
    this.queue = Promise.resolve();
  }

  /** Open the socket and wait for the greeting {"result":{"version":"…"}}. */
  connect() {
    if (!this.opening) {
      this.opening = this.open();
      this.opening.catch(() => { this.opening = null; }); // a later call tries again
    }
    return this.opening;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.onerror = () => reject(new Error(
        'Cannot reach the signer at ' + this.url + ': is NCALayer (or Qalam) running, '
        + 'and does the browser trust its certificate?'));
      ws.onclose = () => {
        this.ws = null;
        this.opening = null;
        this.version = null;
        if (this.pending) this.pending.reject(new Error('The signer closed the connection.'));
        this.pending = null;
      };
      ws.onmessage = (event) => {
        // The first frame is the greeting; every later frame answers the request in flight.
        if (this.version === null) {
          const greeting = JSON.parse(event.data);
          if (!greeting.result || !greeting.result.version) {
            reject(new Error('Unexpected greeting: ' + event.data));
            return;
          }
          this.version = greeting.result.version;
          this.ws = ws;
          resolve(this.version);
          return;
        }
        const waiting = this.pending;
        this.pending = null;
        if (waiting) waiting.resolve(JSON.parse(event.data));
      };
    });
  }

  /** Send one request object and resolve with the parsed reply (queued behind earlier ones). */
  call(request) {
    const run = async () => {
      await this.connect();
      return new Promise((resolve, reject) => {
        this.pending = { resolve, reject };
        this.ws.send(JSON.stringify(request));
      });
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }
}

/** Thrown when the person pressed Cancel: not an error to report loudly. */
class Cancelled extends Error {}

// ------------------------------------------------------------------ 2. basics.sign

/**
 * kz.gov.pki.knca.basics "sign". Returns an array of results (one per data item):
 * PEM-armoured CMS for format "cms", signed XML text for "xml".
 * Reply envelope: {"status":true,"body":{"result":[…]}} on success,
 * {"status":true,"body":{}} when the person cancelled, {"status":false,"code",…} on error.
 */
async function basicsSign(signer, format, data, signingParams) {
  const reply = await signer.call({
    module: 'kz.gov.pki.knca.basics',
    method: 'sign',
    args: {
      allowedStorages: ['PKCS12'], // key files; add token names (AKKaztokenStore, …) if you accept them
      format,
      data,
      signingParams, // NB: tsaProfile: {} asks for a TSP timestamp
      signerParams: { extKeyUsageOids: ['1.3.6.1.5.5.7.3.4'] }, // signing keys only
      locale: pageLocale(),
    },
  });
  if (!reply.status) {
    throw new Error(reply.code + ': ' + reply.message + (reply.details ? ' (' + reply.details + ')' : ''));
  }
  if (!reply.body || !('result' in reply.body)) throw new Cancelled('Cancelled by the user.');
  // NCALayer before Oct 2024 returned a plain string for a single CMS: accept both.
  return Array.isArray(reply.body.result) ? reply.body.result : [reply.body.result];
}

// ------------------------------------------------------------------ 3. who signed (DER walk)

/** Read one DER TLV at `pos`: {tag, start (of the value), end}. */
function tlv(bytes, pos) {
  const tag = bytes[pos];
  let len = bytes[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i += 1) len = len * 256 + bytes[start + i];
    start += n;
  }
  if (start + len > bytes.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

/** The child TLVs of a constructed TLV. */
function children(bytes, node) {
  const out = [];
  for (let pos = node.start; pos < node.end;) {
    const child = tlv(bytes, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

const hex = (bytes, node) => Array.from(bytes.subarray(node.start, node.end),
  (b) => b.toString(16).padStart(2, '0')).join('');

const OID = { CN: '550403', SERIALNUMBER: '550405', OU: '55040b' };

/** Subject fields of a DER certificate: {cn, iin, bin}. IIN/BIN follow NCA's profile:
 * SERIALNUMBER=IIN…, OU=BIN…. */
function subjectOf(bytes, certNode) {
  const tbs = children(bytes, certNode)[0];
  let fields = children(bytes, tbs);
  if (fields[0].tag === 0xa0) fields = fields.slice(1); // [0] version
  const subject = fields[4]; // serial, signature algorithm, issuer, validity, subject
  const out = { cn: '', iin: '', bin: '', serial: hex(bytes, fields[0]) };
  const text = new TextDecoder();
  for (const rdn of children(bytes, subject)) {
    for (const pair of children(bytes, rdn)) {
      const [oid, value] = children(bytes, pair);
      const str = text.decode(bytes.subarray(value.start, value.end));
      const key = hex(bytes, oid);
      if (key === OID.CN) out.cn = str;
      if (key === OID.SERIALNUMBER && str.startsWith('IIN')) out.iin = str.slice(3);
      if (key === OID.OU && str.startsWith('BIN')) out.bin = str.slice(3);
    }
  }
  return out;
}

/** The signer of a CMS SignedData (DER): the certificate whose serial the first SignerInfo names. */
function signerOfCms(der) {
  const contentInfo = tlv(der, 0);
  const explicit = children(der, contentInfo)[1]; // [0] EXPLICIT content
  const signedData = children(der, explicit)[0];
  const parts = children(der, signedData);
  const certSet = parts.find((p) => p.tag === 0xa0); // [0] IMPLICIT certificates
  if (!certSet) throw new Error('the CMS carries no certificate');
  const certs = children(der, certSet);
  const signerInfos = parts[parts.length - 1];
  const sid = children(der, children(der, signerInfos)[0])[1]; // issuerAndSerialNumber
  let wanted = null;
  if (sid.tag === 0x30) wanted = hex(der, children(der, sid)[1]);
  const subjects = certs.map((c) => subjectOf(der, c));
  return subjects.find((s) => s.serial === wanted) || subjects[0];
}

/** The signer of an XMLDSig document: the first ds:X509Certificate in it. */
function signerOfXml(xml) {
  const match = /<(?:\w+:)?X509Certificate>([^<]+)</.exec(xml);
  if (!match) throw new Error('the XML signature carries no certificate');
  const der = base64ToBytes(match[1]);
  return subjectOf(der, tlv(der, 0));
}

// ------------------------------------------------------------------ base64 helpers

function bytesToBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64ToBytes(b64) {
  const binary = atob(b64.replace(/\s+/g, ''));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** basics returns CMS as "-----BEGIN CMS-----\n…\n-----END CMS-----\n": the DER inside. */
function pemToBytes(pem) {
  return base64ToBytes(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, ''));
}

// ------------------------------------------------------------------ 4. the page

const params = new URLSearchParams(location.search);
const port = Number(params.get('port')) || 13579;
const signer = new LocalSigner('wss://127.0.0.1:' + port);
const $ = (id) => document.getElementById(id);

function pageLocale() {
  const lang = (navigator.language || 'kk').slice(0, 2);
  return ['kk', 'ru', 'en'].includes(lang) ? lang : 'kk';
}

/** Status line; `state` is also put on <body data-state> so tests and scripts can read it. */
function setStatus(state, text) {
  const line = $('status');
  line.textContent = text;
  line.className = { signed: 'ok', error: 'error', busy: 'busy' }[state] || '';
  document.body.dataset.state = state;
}

function describe(who) {
  let ids = who.iin ? 'IIN ' + who.iin : 'no IIN';
  if (who.bin) ids += ', BIN ' + who.bin;
  return who.cn + ' (' + ids + ')';
}

/** Run one signing action: busy → signed / cancelled / error, result into the box. */
async function run(kind, action) {
  setStatus('busy', 'Қол қойылуда… / Подписание… / Signing… (confirm in the signer window)');
  $('result').value = '';
  $('result-kind').textContent = kind;
  try {
    const { result, who } = await action();
    $('result').value = result;
    window.lastResult = { kind, result, signer: who };
    setStatus('signed', 'Қол қойылды / Подписано / Signed by ' + describe(who)
      + ' — not verified by this page: verify on your server.');
  } catch (err) {
    if (err instanceof Cancelled) setStatus('cancelled', 'Бас тартылды / Отменено / Cancelled');
    else setStatus('error', 'Қате / Ошибка / Error: ' + err.message);
  }
}

$('sign-text').addEventListener('click', () => run('CMS attached', async () => {
  const data = bytesToBase64(new TextEncoder().encode($('text').value));
  const [pem] = await basicsSign(signer, 'cms', data, { decode: true, encapsulate: true });
  return { result: pem, who: signerOfCms(pemToBytes(pem)) };
}));

$('sign-file').addEventListener('click', () => run('CMS detached', async () => {
  const file = $('file').files[0];
  if (!file) throw new Error('choose a file first');
  const data = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
  const [pem] = await basicsSign(signer, 'cms', data, { decode: true, encapsulate: false });
  return { result: pem, who: signerOfCms(pemToBytes(pem)) };
}));

$('sign-xml').addEventListener('click', () => run('XML', async () => {
  const [xml] = await basicsSign(signer, 'xml', $('xml').value, {});
  return { result: xml, who: signerOfXml(xml) };
}));

$('endpoint').textContent = signer.url;
signer.connect().then(
  (version) => setStatus('ready', 'Қосылды / Подключено / Connected: API version ' + version),
  (err) => setStatus('error', err.message),
);
