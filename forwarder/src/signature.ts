// Verifies the signature Amazon SNS puts on every notification, so a record is forwarded only if
// SNS itself signed it (the TopicArn alone is just a string anyone can write).
//
// AWS, "Verifying the signatures of Amazon SNS messages" (Amazon SNS Developer Guide):
// - SignatureVersion 1 signs with SHA1withRSA, SignatureVersion 2 with SHA256withRSA;
// - for a Notification the string to sign is, in this order, `Message`, `MessageId`, `Subject`
//   (only if present), `Timestamp`, `TopicArn`, `Type`, each as "name\nvalue\n";
// - the certificate comes from SigningCertURL, over HTTPS, from an Amazon SNS host only.
// In the event Lambda hands the function the field is spelled `SigningCertUrl`, and `Subject` is
// null when there is none (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html).
import { X509Certificate, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

/** SignatureVersion -> digest of the RSA PKCS#1 v1.5 signature. */
const DIGESTS: Readonly<Record<string, string>> = { '1': 'sha1', '2': 'sha256' }

// sns.<region>.amazonaws.com, and .amazonaws.com.cn for the China partition (the host pattern of
// AWS's own Node validator, aws-js-sns-message-validator). One segment of a region name, no port.
const CERT_HOST_RE = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?$/
const CERT_PATH_RE = /^\/[A-Za-z0-9._-]{1,200}\.pem$/
const BASE64_RE = /^[A-Za-z0-9+/]{1,1400}={0,2}$/
/** A PEM certificate is about 2 kB; anything much larger is not one. */
export const MAX_CERT_BYTES = 16 * 1024
const CERT_TIMEOUT_MS = 5000
/** Certificates kept per container; SNS uses one at a time, and rotates it rarely. */
const MAX_CACHED_CERTS = 8

export type Refusal = { ok: false; reason: string }
export type Verdict = { ok: true } | Refusal

/** A trusted signing-certificate URL failed to load: transient, so the invocation should fail. */
export class CertificateUnavailableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CertificateUnavailableError'
  }
}

/** The URL, if it is https://sns.<region>.amazonaws.com/<name>.pem and nothing else. */
export function checkSigningCertUrl(raw: unknown): { ok: true; url: string } | Refusal {
  if (typeof raw !== 'string' || raw === '') {
    return { ok: false, reason: 'SigningCertUrl is missing' }
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: `SigningCertUrl ${JSON.stringify(raw.slice(0, 200))} is not a URL` }
  }
  const trusted =
    url.protocol === 'https:' &&
    url.username === '' &&
    url.password === '' &&
    url.port === '' &&
    url.search === '' &&
    url.hash === '' &&
    CERT_HOST_RE.test(url.hostname) &&
    CERT_PATH_RE.test(url.pathname) &&
    // The parser normalises (case, dot segments, percent-encoding): accept only what was written.
    url.href === raw
  return trusted
    ? { ok: true, url: url.href }
    : {
        ok: false,
        reason: `SigningCertUrl ${JSON.stringify(raw.slice(0, 200))} is not https://sns.<region>.amazonaws.com/<name>.pem`
      }
}

/** The string SNS signs for a Notification, or why the record cannot have one. */
export function stringToSign(sns: Record<string, unknown>): { ok: true; text: string } | Refusal {
  const fields: string[] = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
  let text = ''
  for (const name of fields) {
    const value = sns[name]
    if (name === 'Subject' && (value === undefined || value === null)) continue
    if (typeof value !== 'string') return { ok: false, reason: `${name} is not a string` }
    text += `${name}\n${value}\n`
  }
  return { ok: true, text }
}

export type CertificateSource = (url: string) => Promise<KeyObject>

/**
 * Loads signing certificates over HTTPS and keeps each one's public key per URL for the life of
 * the container. `fetchImpl` is the network (the global fetch in production).
 */
export function createCertificateSource(fetchImpl: typeof fetch = fetch): CertificateSource {
  const cache = new Map<string, Promise<KeyObject>>()
  return url => {
    const cached = cache.get(url)
    if (cached) return cached
    const loading = loadPublicKey(fetchImpl, url)
    // A failure is not kept: the next record (or Lambda's retry) tries again.
    loading.catch(() => cache.delete(url))
    if (cache.size >= MAX_CACHED_CERTS) cache.delete(cache.keys().next().value as string)
    cache.set(url, loading)
    return loading
  }
}

async function loadPublicKey(fetchImpl: typeof fetch, url: string): Promise<KeyObject> {
  let res: Response
  try {
    // No redirect: the certificate must come from the host that was checked.
    res = await fetchImpl(url, { redirect: 'error', signal: AbortSignal.timeout(CERT_TIMEOUT_MS) })
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } }
    throw new CertificateUnavailableError(
      `signing certificate ${url} could not be fetched: ${e.cause?.code ?? e.message}`
    )
  }
  const body = await res.text()
  if (res.status !== 200) {
    throw new CertificateUnavailableError(
      `signing certificate ${url} could not be fetched: HTTP ${res.status}`
    )
  }
  if (Buffer.byteLength(body) > MAX_CERT_BYTES) {
    throw new CertificateUnavailableError(
      `signing certificate ${url} is larger than ${MAX_CERT_BYTES} bytes`
    )
  }
  try {
    return new X509Certificate(body).publicKey
  } catch {
    throw new CertificateUnavailableError(`signing certificate ${url} is not a PEM certificate`)
  }
}

/**
 * Checks one record's `Sns` object. Resolves to a verdict for anything wrong with the record;
 * rejects (CertificateUnavailableError) only when a trusted certificate could not be loaded.
 */
export async function verifySnsSignature(
  sns: Record<string, unknown>,
  certificates: CertificateSource
): Promise<Verdict> {
  const version = sns.SignatureVersion
  const absent = (v: unknown) => v === undefined || v === null || v === ''
  if (absent(version) && absent(sns.Signature) && absent(sns.SigningCertUrl)) {
    return { ok: false, reason: 'signature: the record is unsigned' }
  }
  const digest = typeof version === 'string' ? DIGESTS[version] : undefined
  if (digest === undefined) {
    return {
      ok: false,
      reason: `signature: SignatureVersion ${JSON.stringify(version)} is not 1 or 2`
    }
  }
  const signature = sns.Signature
  if (typeof signature !== 'string' || !BASE64_RE.test(signature)) {
    return { ok: false, reason: 'signature: Signature is not base64' }
  }
  const source = checkSigningCertUrl(sns.SigningCertUrl)
  if (!source.ok) return { ok: false, reason: `signature: ${source.reason}` }
  const signed = stringToSign(sns)
  if (!signed.ok) return { ok: false, reason: `signature: ${signed.reason}` }
  const key = await certificates(source.url)
  let valid: boolean
  try {
    valid = verify(digest, Buffer.from(signed.text), key, Buffer.from(signature, 'base64'))
  } catch {
    // e.g. a key type that cannot verify this digest: not a signature SNS made.
    valid = false
  }
  return valid
    ? { ok: true }
    : {
        ok: false,
        reason: `signature: does not verify with ${source.url} (SignatureVersion ${version})`
      }
}
