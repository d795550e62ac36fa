// One signed AWS API request, for the watchdog's three calls (SQS SendMessage, SNS Publish,
// CloudWatch PutMetricData). The forwarder reaches Secrets Manager through its SDK client; the
// SQS, SNS and CloudWatch clients are not dependencies of this project, so these calls are signed
// here with Signature Version 4 over node:crypto and sent with fetch (no dependency, a few kB).
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
//
// Credentials come from the environment, where Lambda puts the execution role's
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN:
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
// Endpoints honour the SDK's settings, AWS_ENDPOINT_URL_<SERVICE> then AWS_ENDPOINT_URL
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
import { createHash, createHmac } from 'node:crypto'

type Env = Record<string, string | undefined>

export interface AwsService {
  /** The SigV4 signing name: `sqs`, `sns`, `monitoring`. */
  signingName: string
  /** The endpoint host prefix: `sqs`, `sns`, `monitoring`. */
  hostPrefix: string
  /** The suffix of AWS_ENDPOINT_URL_<...>: `SQS`, `SNS`, `CLOUDWATCH`. */
  endpointEnv: string
}

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface AwsRequest {
  service: AwsService
  headers: Record<string, string>
  body: string
}

export interface AwsResponse {
  status: number
  text: string
  headers: Headers
}

export class AwsCallError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | undefined
  ) {
    super(message)
    this.name = 'AwsCallError'
  }
}

export function credentialsFrom(env: Env): Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim() ?? ''
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim() ?? ''
  if (accessKeyId === '' || secretAccessKey === '') {
    throw new AwsCallError(
      'no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): Lambda ' +
        "sets them from the function's execution role",
      'MissingCredentials',
      undefined
    )
  }
  const sessionToken = env.AWS_SESSION_TOKEN?.trim()
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
}

export function regionFrom(env: Env): string {
  return env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || 'us-east-1'
}

export function endpointOf(service: AwsService, region: string, env: Env): URL {
  const configured =
    env[`AWS_ENDPOINT_URL_${service.endpointEnv}`]?.trim() || env.AWS_ENDPOINT_URL?.trim()
  return new URL(configured || `https://${service.hostPrefix}.${region}.amazonaws.com/`)
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex')
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data, 'utf8').digest()

/** `20260725T172000Z`. */
export function amzDate(time: Date): string {
  return time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')
}

/**
 * The headers to send: the given ones plus host, x-amz-date, x-amz-security-token and the
 * Authorization header signing all of them. POST to the endpoint's path with no query string.
 */
export function signRequest(
  url: URL,
  request: { headers: Record<string, string>; body: string; signingName: string },
  credentials: Credentials,
  region: string,
  time: Date
): Record<string, string> {
  const stamp = amzDate(time)
  const day = stamp.slice(0, 8)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value
  headers.host = url.host
  headers['x-amz-date'] = stamp
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken
  const names = Object.keys(headers).sort()
  const canonicalHeaders = names
    .map(name => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('')
  const signedHeaders = names.join(';')
  const canonicalRequest = [
    'POST',
    url.pathname || '/',
    '',
    canonicalHeaders,
    signedHeaders,
    sha256(request.body)
  ].join('\n')
  const scope = `${day}/${region}/${request.signingName}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, sha256(canonicalRequest)].join('\n')
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), request.signingName),
    'aws4_request'
  )
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex')
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`
  return headers
}

const MAX_ATTEMPTS = 3
const TIMEOUT_MS = 5000

/**
 * Sends the request, retrying network errors, 5xx and throttling (HTTP 400/429 whose body names a
 * throttling code) up to three times; returns the final answer, whatever its status.
 */
export async function sendAwsRequest(
  request: AwsRequest,
  env: Env = process.env,
  options: { fetchImpl?: typeof fetch; sleep?: (ms: number) => Promise<void> } = {}
): Promise<AwsResponse> {
  const region = regionFrom(env)
  const url = endpointOf(request.service, region, env)
  const credentials = credentialsFrom(env)
  const doFetch = options.fetchImpl ?? fetch
  const sleep = options.sleep ?? (ms => new Promise<void>(resolve => setTimeout(resolve, ms)))
  let last: unknown
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const headers = signRequest(
      url,
      { ...request, signingName: request.service.signingName },
      credentials,
      region,
      new Date()
    )
    delete headers.host // fetch sets it, from the URL it signed
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers,
        body: request.body,
        signal: AbortSignal.timeout(TIMEOUT_MS)
      })
      const text = await res.text()
      const retryable = res.status >= 500 || (res.status >= 400 && /Throttl/i.test(text))
      if (!retryable || attempt === MAX_ATTEMPTS) {
        return { status: res.status, text, headers: res.headers }
      }
      last = new AwsCallError(text.slice(0, 300), 'Retryable', res.status)
    } catch (err) {
      last = err
      if (attempt === MAX_ATTEMPTS) break
    }
    await sleep(100 * 2 ** attempt)
  }
  const e = last as Error & { cause?: { code?: string } }
  throw new AwsCallError(
    `${request.service.hostPrefix} at ${url.host} did not answer: ${e.cause?.code ?? e.message}`,
    'NetworkError',
    undefined
  )
}
