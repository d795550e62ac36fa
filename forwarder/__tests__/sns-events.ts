// SNS -> Lambda events in the shape AWS documents for the SNS trigger
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html, "Example SNS message event"),
// signed as SNS signs them, with a throwaway RSA key and self-signed certificate that the openssl
// CLI makes for each test process (nothing secret is committed). A loopback server plays the
// certificate host; `certificates.fetch` sends the forwarder's request for
// https://sns.<region>.amazonaws.com/<name>.pem there instead.
import { execFileSync } from 'node:child_process'
import { X509Certificate, randomUUID, sign } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SnsEvent, SnsMessage } from '../src/types.js'

export const AWS_TOPIC = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged'

/** A message as AWS publishes it to AmazonIpSpaceChanged. */
export const VALID_MESSAGE = {
  'create-time': '2026-08-13T10:13:05+00:00',
  synctoken: '1786615985',
  md5: '0f8e1a2b3c4d5e6f708192a3b4c5d6e7',
  url: 'https://ip-ranges.amazonaws.com/ip-ranges.json'
}

interface SigningIdentity {
  privateKeyPem: string
  certificatePem: string
}

function makeSigningIdentity(): SigningIdentity {
  const dir = mkdtempSync(join(tmpdir(), 'sns-signer-'))
  try {
    const key = join(dir, 'key.pem')
    const cert = join(dir, 'cert.pem')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        '/CN=sns.amazonaws.com'
      ],
      { stdio: 'pipe' }
    )
    return { privateKeyPem: readFileSync(key, 'utf8'), certificatePem: readFileSync(cert, 'utf8') }
  } catch (err) {
    throw new Error(`the SNS test signer needs the openssl CLI on PATH: ${String(err)}`, {
      cause: err
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const SIGNER = makeSigningIdentity()
/** A second identity: its certificate is the one served when a test wants a key mismatch. */
let otherSigner: SigningIdentity | undefined
export const otherIdentity = () => (otherSigner ??= makeSigningIdentity())

const fingerprint = new X509Certificate(SIGNER.certificatePem).fingerprint256
  .replace(/:/g, '')
  .slice(0, 32)
  .toLowerCase()
export const CERT_URL = `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${fingerprint}.pem`

/**
 * The string SNS signs for a Notification, written out here from AWS's documentation rather than
 * taken from src/, so a mistake there cannot hide in the tests: Message, MessageId, Subject (if
 * present), Timestamp, TopicArn, Type, each "name\nvalue\n".
 */
function notificationStringToSign(sns: SnsMessage): string {
  const parts: [string, string | null | undefined][] = [
    ['Message', sns.Message],
    ['MessageId', sns.MessageId],
    ['Subject', sns.Subject],
    ['Timestamp', sns.Timestamp],
    ['TopicArn', sns.TopicArn],
    ['Type', sns.Type]
  ]
  return parts
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([name, value]) => `${name}\n${String(value)}\n`)
    .join('')
}

/** Base64 signature of the record: SignatureVersion 2 is SHA256withRSA, anything else SHA1withRSA. */
export function signSns(sns: SnsMessage, identity: SigningIdentity = SIGNER): string {
  const digest = sns.SignatureVersion === '2' ? 'sha256' : 'sha1'
  return sign(digest, Buffer.from(notificationStringToSign(sns)), identity.privateKeyPem).toString(
    'base64'
  )
}

/**
 * One record, signed after `sns` overrides are applied (so a changed TopicArn is signed too),
 * unless `sns` sets `Signature` itself.
 */
export function snsEvent(
  message: unknown = VALID_MESSAGE,
  sns: Partial<SnsMessage> = {}
): SnsEvent {
  const topicArn = sns.TopicArn ?? AWS_TOPIC
  const record: SnsMessage = {
    SignatureVersion: '1',
    Timestamp: '2026-08-13T10:13:06.123Z',
    SigningCertUrl: CERT_URL,
    MessageId: randomUUID(),
    Message: typeof message === 'string' ? message : JSON.stringify(message),
    MessageAttributes: {},
    Type: 'Notification',
    UnsubscribeUrl: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:x`,
    TopicArn: topicArn,
    Subject: null,
    ...sns
  }
  if (!('Signature' in sns)) record.Signature = signSns(record)
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
        EventSource: 'aws:sns',
        Sns: record
      }
    ]
  }
}

/** The signing-certificate host on loopback, counting the certificate requests it answers. */
export class CertificateServer {
  requests: string[] = []
  certificatePem = SIGNER.certificatePem
  private server: Server | undefined
  private base = ''

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '')
      if (req.method === 'GET' && req.url?.endsWith('.pem')) {
        res.writeHead(200, { 'content-type': 'application/x-x509-ca-cert' })
        res.end(this.certificatePem)
      } else {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>(resolve => this.server?.listen(0, '127.0.0.1', resolve))
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  reset(): void {
    this.requests = []
    this.certificatePem = SIGNER.certificatePem
  }

  /** fetch that answers https://sns.<region>.amazonaws.com/<path> from this server. */
  readonly fetch: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    return fetch(`${this.base}${url.pathname}`, init)
  }

  async close(): Promise<void> {
    await new Promise<void>(resolve => this.server?.close(() => resolve()))
  }
}

export function lambdaContext(remainingMs = 60_000) {
  const deadline = Date.now() + remainingMs
  return {
    awsRequestId: randomUUID(),
    functionName: 'sns-forwarder-test',
    getRemainingTimeInMillis: () => deadline - Date.now()
  }
}
