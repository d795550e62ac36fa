// The handler end to end over real protocols: SNS-shaped events in, the real Secrets Manager SDK
// against the loopback Secrets Manager emulator (AWS_ENDPOINT_URL_SECRETS_MANAGER), and HTTP
// dispatches against the loopback GitHub emulator (GITHUB_API_URL).
import { jest } from '@jest/globals'
import { GitHubEmulator, faults } from '../../dev/emulators/github.js'
import { SecretsManagerEmulator } from '../../dev/emulators/secrets-manager.js'
import { DispatchFailedError, createHandler } from '../src/handler.js'
import type { SnsMessage } from '../src/types.js'
import {
  CERT_URL,
  CertificateServer,
  VALID_MESSAGE,
  lambdaContext,
  otherIdentity,
  signSns,
  snsEvent
} from './sns-events.js'

const TOKEN = 'github_pat_11FORWARDERTEST0123456789_abcdefghijklmnopqrstuvwxyz'
const READ_ONLY_TOKEN = 'github_pat_11READONLY000000000000_zyxwvutsrqponmlkjihgfedcba'
const UNKNOWN_TOKEN = 'ghp_unknownTokenThatGitHubRejects0000000000'
const ALL_TOKENS = [TOKEN, READ_ONLY_TOKEN, UNKNOWN_TOKEN]

let github: GitHubEmulator
let secrets: SecretsManagerEmulator
const certificates = new CertificateServer()
/** The production handler, its signing certificates served from loopback. */
const handler = createHandler({ certificateFetch: certificates.fetch })
const savedEnv = { ...process.env }
let output: string[] = []
let secretCounter = 0

/** A fresh secret per test, so the per-container token cache never leaks between tests. */
function useSecret(value: string | null = TOKEN): string {
  const name = `forwarder/github-token-${++secretCounter}`
  // null: the secret exists but has no value yet (as the stack creates it)
  secrets.putSecret(name, value ?? undefined)
  process.env.GITHUB_TOKEN_SECRET_ID = name
  return name
}

function logLines(): Record<string, unknown>[] {
  return output
    .join('')
    .split('\n')
    .filter(l => l.startsWith('{'))
    .map(l => JSON.parse(l) as Record<string, unknown>)
}

const dispatchLines = () => logLines().filter(l => l.msg === 'dispatch')

beforeAll(async () => {
  github = await GitHubEmulator.start({
    repos: ['octo-org/infra', 'octo-org/edge'],
    tokens: { [TOKEN]: {}, [READ_ONLY_TOKEN]: { access: 'read' } }
  })
  secrets = await SecretsManagerEmulator.start()
  await certificates.start()
})

afterAll(async () => {
  await github.close()
  await secrets.close()
  await certificates.close()
})

beforeEach(() => {
  const unset = new Set([
    'AWS_PROFILE',
    'AWS_ENDPOINT_URL',
    'AWS_SESSION_TOKEN',
    'TOPIC_ARN',
    'EVENT_TYPE'
  ])
  process.env = Object.fromEntries(Object.entries(savedEnv).filter(([k]) => !unset.has(k)))
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFORWARDERTEST000',
    AWS_SECRET_ACCESS_KEY: 'forwarder-test-secret-key',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    GITHUB_API_URL: github.url,
    TARGET_REPOSITORIES: 'octo-org/infra'
  })
  github.reset()
  secrets.reset()
  output = []
  const capture = ((chunk: unknown) => {
    output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString())
    return true
  }) as typeof process.stdout.write
  jest.spyOn(process.stdout, 'write').mockImplementation(capture)
  jest.spyOn(process.stderr, 'write').mockImplementation(capture)
  for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      output.push(`${args.map(String).join(' ')}\n`)
    })
  }
})

afterEach(() => {
  jest.restoreAllMocks()
  // Whatever happened in the test, no token may appear in anything it printed.
  const all = output.join('')
  for (const t of ALL_TOKENS) expect(all).not.toContain(t)
  process.env = { ...savedEnv }
})

test('a valid notification becomes one repository_dispatch with the documented payload', async () => {
  useSecret()
  const result = await handler(snsEvent(), lambdaContext())

  expect(result).toEqual({ received: 1, accepted: 1, dropped: 0, dispatched: 1 })
  expect(github.dispatches).toHaveLength(1)
  expect(github.dispatches[0]).toMatchObject({
    owner: 'octo-org',
    repo: 'infra',
    eventType: 'aws-ip-ranges-changed',
    clientPayload: {
      synctoken: VALID_MESSAGE.synctoken,
      md5: VALID_MESSAGE.md5,
      url: VALID_MESSAGE.url,
      create_time: VALID_MESSAGE['create-time']
    }
  })
  const req = github.requests[0]
  expect(req).toMatchObject({ status: 204, auth: 'bearer', apiVersion: '2022-11-28' })
  const lines = dispatchLines()
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatchObject({
    level: 'info',
    repository: 'octo-org/infra',
    outcome: 'delivered',
    status: 204,
    attempts: 1,
    synctoken: VALID_MESSAGE.synctoken
  })
})

test('EVENT_TYPE overrides the event type', async () => {
  useSecret()
  process.env.EVENT_TYPE = 'ip-ranges'
  await handler(snsEvent(), lambdaContext())
  expect(github.dispatches[0]?.eventType).toBe('ip-ranges')
})

test('a notification from another topic is logged and dropped, without reading the secret', async () => {
  const secretId = useSecret()
  const result = await handler(
    snsEvent(VALID_MESSAGE, { TopicArn: 'arn:aws:sns:us-east-1:111122223333:SomethingElse' }),
    lambdaContext()
  )
  expect(result).toEqual({ received: 1, accepted: 0, dropped: 1, dispatched: 0 })
  expect(github.requests).toHaveLength(0)
  expect(secrets.calls.filter(c => c.secretId === secretId)).toHaveLength(0)
  const drop = logLines().find(l => l.msg === 'dropped')
  expect(drop).toMatchObject({
    level: 'warn',
    topicArn: 'arn:aws:sns:us-east-1:111122223333:SomethingElse'
  })
  expect(String(drop?.reason)).toContain('not the configured topic')
})

test('TOPIC_ARN makes another topic acceptable (for tests and staging)', async () => {
  useSecret()
  process.env.TOPIC_ARN = 'arn:aws:sns:us-east-1:111122223333:Staging'
  await handler(
    snsEvent(VALID_MESSAGE, { TopicArn: 'arn:aws:sns:us-east-1:111122223333:Staging' }),
    lambdaContext()
  )
  expect(github.dispatches).toHaveLength(1)
  await handler(snsEvent(), lambdaContext())
  expect(github.dispatches).toHaveLength(1)
})

test('a record that is not a Notification is dropped', async () => {
  useSecret()
  const result = await handler(
    snsEvent(VALID_MESSAGE, { Type: 'SubscriptionConfirmation' }),
    lambdaContext()
  )
  expect(result.dropped).toBe(1)
  expect(github.requests).toHaveLength(0)
})

test.each([
  ['not JSON', 'ip ranges changed!'],
  ['a JSON array', '[1,2,3]'],
  ['missing md5', { ...VALID_MESSAGE, md5: undefined }],
  ['md5 not hex', { ...VALID_MESSAGE, md5: 'z'.repeat(32) }],
  ['md5 too short', { ...VALID_MESSAGE, md5: 'abc123' }],
  ['synctoken with letters', { ...VALID_MESSAGE, synctoken: '17866x5985' }],
  ['synctoken as a number', { ...VALID_MESSAGE, synctoken: 1786615985 }],
  ['create-time not a date', { ...VALID_MESSAGE, 'create-time': 'yesterday' }],
  ['url missing', { ...VALID_MESSAGE, url: undefined }],
  ['an oversized message', { ...VALID_MESSAGE, padding: 'x'.repeat(5000) }]
])('a malformed message (%s) is logged and dropped', async (_name, message) => {
  useSecret()
  const result = await handler(snsEvent(message), lambdaContext())
  expect(result).toMatchObject({ accepted: 0, dropped: 1 })
  expect(github.requests).toHaveLength(0)
  expect(logLines().filter(l => l.msg === 'dropped')).toHaveLength(1)
})

test.each([
  'https://ip-ranges.amazonaws.com.evil.example/ip-ranges.json',
  'https://evil.example/ip-ranges.json',
  'http://ip-ranges.amazonaws.com/ip-ranges.json',
  'https://ip-ranges.amazonaws.com:8443/ip-ranges.json',
  'https://user:pw@ip-ranges.amazonaws.com/ip-ranges.json',
  'file:///etc/passwd'
])('a message pointing at %s is dropped', async url => {
  useSecret()
  const result = await handler(snsEvent({ ...VALID_MESSAGE, url }), lambdaContext())
  expect(result).toMatchObject({ accepted: 0, dropped: 1 })
  expect(github.requests).toHaveLength(0)
  expect(String(logLines().find(l => l.msg === 'dropped')?.reason)).toContain(
    'ip-ranges.amazonaws.com'
  )
})

test('an event without Records is dropped without failing', async () => {
  useSecret()
  await expect(handler({ hello: 'world' }, lambdaContext())).resolves.toMatchObject({ received: 0 })
  expect(github.requests).toHaveLength(0)
})

test('GitHub 500 then success: retried, delivered once', async () => {
  useSecret()
  github.enqueue(faults.serverError(500))
  const result = await handler(snsEvent(), lambdaContext())
  expect(result.dispatched).toBe(1)
  expect(github.requests.map(r => r.status)).toEqual([500, 204])
  expect(github.dispatches).toHaveLength(1)
  expect(dispatchLines()[0]).toMatchObject({
    outcome: 'delivered',
    attempts: 2,
    history: [500, 204]
  })
})

test('a dropped connection is retried like a 5xx', async () => {
  useSecret()
  github.enqueue(faults.dropConnection())
  await handler(snsEvent(), lambdaContext())
  expect(dispatchLines()[0]).toMatchObject({ outcome: 'delivered', history: ['network', 204] })
})

test('429 with Retry-After: waits as asked, then delivers', async () => {
  useSecret()
  github.enqueue(faults.rateLimited(1))
  const t0 = Date.now()
  await handler(snsEvent(), lambdaContext())
  expect(Date.now() - t0).toBeGreaterThanOrEqual(950)
  expect(github.requests.map(r => r.status)).toEqual([429, 204])
  expect(github.dispatches).toHaveLength(1)
})

test('a Retry-After beyond the bound fails now instead of sleeping through the invocation', async () => {
  useSecret()
  github.enqueue(faults.rateLimited(3600))
  const t0 = Date.now()
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(/wait 3600 s/)
  expect(Date.now() - t0).toBeLessThan(2000)
  expect(github.requests).toHaveLength(1)
})

test('persistent 5xx: bounded attempts, then the invocation fails', async () => {
  useSecret()
  github.enqueue(
    faults.serverError(502),
    faults.serverError(503),
    faults.serverError(500),
    faults.serverError(500)
  )
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(DispatchFailedError)
  expect(github.requests).toHaveLength(4)
  expect(dispatchLines()[0]).toMatchObject({ outcome: 'failed', attempts: 4, kind: 'server_error' })
})

test('401: one attempt, a clear error naming the permission, and the invocation fails', async () => {
  useSecret(UNKNOWN_TOKEN)
  const run = handler(snsEvent(), lambdaContext())
  await expect(run).rejects.toThrow(DispatchFailedError)
  await expect(run).rejects.toThrow(/401 "Bad credentials"/)
  await expect(run).rejects.toThrow(/Contents: Read and write/)
  expect(github.requests).toHaveLength(1)
  const line = dispatchLines()[0]
  expect(line).toMatchObject({
    level: 'error',
    outcome: 'failed',
    status: 401,
    kind: 'unauthorized',
    attempts: 1
  })
  expect(String(line?.hint)).toMatch(/invalid, expired or revoked/)
  expect(String(line?.hint)).toMatch(/"repo" scope/)
})

test('403 from a read-only token says the token lacks Contents: write', async () => {
  useSecret(READ_ONLY_TOKEN)
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(/lacks permission/)
  expect(dispatchLines()[0]).toMatchObject({ status: 403, kind: 'forbidden', attempts: 1 })
  expect(String(dispatchLines()[0]?.hint)).toContain('"Contents: Read and write" on octo-org/infra')
})

test('404 for a repository the token cannot see names the repository and its access', async () => {
  useSecret()
  process.env.TARGET_REPOSITORIES = 'octo-org/missing'
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(
    /octo-org\/missing does not exist or the token cannot see it/
  )
  expect(dispatchLines()[0]).toMatchObject({ status: 404, kind: 'not_found' })
})

test('two target repositories: one dispatch and one log line each', async () => {
  useSecret()
  process.env.TARGET_REPOSITORIES = 'octo-org/infra, octo-org/edge'
  const result = await handler(snsEvent(), lambdaContext())
  expect(result.dispatched).toBe(2)
  expect(github.dispatches.map(d => `${d.owner}/${d.repo}`).sort()).toEqual([
    'octo-org/edge',
    'octo-org/infra'
  ])
  expect(
    dispatchLines()
      .map(l => l.repository)
      .sort()
  ).toEqual(['octo-org/edge', 'octo-org/infra'])
})

test('one failing repository fails the invocation, the other is still delivered', async () => {
  useSecret()
  process.env.TARGET_REPOSITORIES = 'octo-org/infra,octo-org/missing'
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(/1 of 2 dispatches failed/)
  expect(github.dispatches.map(d => d.repo)).toEqual(['infra'])
})

test('the token is fetched once per container and reused across invocations', async () => {
  const secretId = useSecret()
  await handler(snsEvent(), lambdaContext())
  await handler(snsEvent(), lambdaContext())
  await handler(snsEvent(), lambdaContext())
  expect(github.dispatches).toHaveLength(3)
  expect(secrets.calls.filter(c => c.secretId === secretId && c.status === 200)).toHaveLength(1)
})

test('a token GitHub refuses (401) is read again: rotation needs no new container', async () => {
  const secretId = useSecret(UNKNOWN_TOKEN)
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(/401 "Bad credentials"/)
  // The operator rotates the token in the secret; Lambda retries the event in the same container.
  secrets.putSecret(secretId, TOKEN)
  await expect(handler(snsEvent(), lambdaContext())).resolves.toMatchObject({ dispatched: 1 })
  expect(secrets.calls.filter(c => c.secretId === secretId && c.status === 200)).toHaveLength(2)
})

test('a missing secret fails with a put-secret-value hint, and is not cached', async () => {
  const secretId = useSecret(null)
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(/put-secret-value/)
  expect(logLines().find(l => l.msg === 'token unavailable')).toMatchObject({
    level: 'error',
    secretId
  })
  secrets.putSecret(secretId, TOKEN)
  await expect(handler(snsEvent(), lambdaContext())).resolves.toMatchObject({ dispatched: 1 })
  expect(secrets.calls.filter(c => c.secretId === secretId)).toHaveLength(2)
})

test('a secret ARN works too, and a {"token": ...} secret string is accepted', async () => {
  const name = useSecret(JSON.stringify({ token: TOKEN }))
  process.env.GITHUB_TOKEN_SECRET_ID = secrets.arnOf(name)
  await expect(handler(snsEvent(), lambdaContext())).resolves.toMatchObject({ dispatched: 1 })
})

test('an invalid configuration fails the invocation with the variable named', async () => {
  useSecret()
  process.env.TARGET_REPOSITORIES = 'not a repo'
  await expect(handler(snsEvent(), lambdaContext())).rejects.toThrow(/TARGET_REPOSITORIES/)
  expect(logLines().find(l => l.msg === 'configuration invalid')).toBeDefined()
})

test('every line printed is one JSON object with time, level and the request id', async () => {
  useSecret()
  const ctx = lambdaContext()
  await handler(snsEvent(), ctx)
  const printed = output.join('').split('\n').filter(Boolean)
  expect(printed.length).toBeGreaterThan(0)
  for (const line of printed) {
    const entry = JSON.parse(line) as Record<string, unknown>
    expect(entry).toMatchObject({ level: expect.any(String), requestId: ctx.awsRequestId })
    expect(typeof entry.time).toBe('string')
  }
})

describe('SNS signature (issue 15): only what SNS signed is forwarded', () => {
  const NOT_SENT = { received: 1, accepted: 0, dropped: 1, dispatched: 0 }

  /** Runs one event through a handler with an empty certificate cache. */
  async function run(event: unknown) {
    certificates.reset()
    const fresh = createHandler({ certificateFetch: certificates.fetch })
    return fresh(event, lambdaContext())
  }

  function dropReason(): string {
    const drop = logLines().find(l => l.msg === 'dropped')
    expect(drop).toMatchObject({ level: 'warn' })
    return String(drop?.reason)
  }

  test('SignatureVersion 1 (SHA1withRSA), signed by the certificate at SigningCertUrl: forwarded', async () => {
    useSecret()
    await expect(run(snsEvent())).resolves.toEqual({
      received: 1,
      accepted: 1,
      dropped: 0,
      dispatched: 1
    })
    expect(certificates.requests).toEqual([new URL(CERT_URL).pathname])
  })

  test('SignatureVersion 2 (SHA256withRSA): forwarded', async () => {
    useSecret()
    const event = snsEvent(VALID_MESSAGE, { SignatureVersion: '2' })
    await expect(run(event)).resolves.toMatchObject({ accepted: 1, dispatched: 1 })
    expect(certificates.requests).toEqual([new URL(CERT_URL).pathname])
  })

  test('a signature by another key is dropped with a clear reason, the secret never read', async () => {
    const secretId = useSecret()
    const event = snsEvent()
    const sns = event.Records[0]?.Sns as SnsMessage
    sns.Signature = signSns(sns, otherIdentity())
    await expect(run(event)).resolves.toEqual(NOT_SENT)
    expect(dropReason()).toMatch(/^signature: does not verify with https:\/\/sns\.us-east-1/)
    expect(github.requests).toHaveLength(0)
    expect(secrets.calls.filter(c => c.secretId === secretId)).toHaveLength(0)
  })

  test('a tampered message (synctoken changed after signing) is dropped', async () => {
    useSecret()
    const event = snsEvent()
    const sns = event.Records[0]?.Sns as SnsMessage
    sns.Message = JSON.stringify({ ...VALID_MESSAGE, synctoken: '2000000000' })
    await expect(run(event)).resolves.toEqual(NOT_SENT)
    expect(dropReason()).toMatch(/does not verify/)
  })

  test('a SignatureVersion 2 signature labelled version 1 is dropped', async () => {
    useSecret()
    const event = snsEvent(VALID_MESSAGE, { SignatureVersion: '2' })
    const sns = event.Records[0]?.Sns as SnsMessage
    sns.SignatureVersion = '1'
    await expect(run(event)).resolves.toEqual(NOT_SENT)
    expect(dropReason()).toMatch(/does not verify .*SignatureVersion 1/)
  })

  test.each([['3'], ['0'], ['']])('an unknown SignatureVersion %j is dropped', async version => {
    useSecret()
    await expect(run(snsEvent(VALID_MESSAGE, { SignatureVersion: version }))).resolves.toEqual(
      NOT_SENT
    )
    expect(dropReason()).toMatch(/SignatureVersion .* is not 1 or 2/)
    expect(certificates.requests).toHaveLength(0)
  })

  test('an unsigned record is dropped', async () => {
    useSecret()
    const event = snsEvent()
    const sns = event.Records[0]?.Sns as Partial<SnsMessage>
    delete sns.Signature
    delete sns.SignatureVersion
    delete sns.SigningCertUrl
    await expect(run(event)).resolves.toEqual(NOT_SENT)
    expect(dropReason()).toBe('signature: the record is unsigned')
  })

  test.each([
    ['another host', 'https://sns.example.com/SimpleNotificationService-1.pem'],
    ['a suffix after the AWS host', 'https://sns.us-east-1.amazonaws.com.evil.example/c.pem'],
    ['http', CERT_URL.replace('https:', 'http:')],
    ['userinfo', CERT_URL.replace('https://', 'https://aws@')],
    ['a port', CERT_URL.replace('.com/', '.com:8443/')],
    ['a query', `${CERT_URL}?x=1`],
    ['not a .pem', CERT_URL.replace('.pem', '.txt')],
    ['a nested path', CERT_URL.replace('.com/', '.com/evil/')],
    ['a non-SNS AWS host', 'https://s3.us-east-1.amazonaws.com/SimpleNotificationService-1.pem'],
    ['a lookalike region label', 'https://sns.evil.amazonaws.com/SimpleNotificationService-1.pem'],
    ['percent-encoding', CERT_URL.replace('Service-', 'Service%2D')]
  ])('a signing certificate URL with %s is refused, never fetched', async (_, url) => {
    useSecret()
    // Signed with the genuine test key: only the URL is wrong.
    await expect(run(snsEvent(VALID_MESSAGE, { SigningCertUrl: url }))).resolves.toEqual(NOT_SENT)
    expect(dropReason()).toMatch(/SigningCertUrl .* is not https:\/\/sns\.<region>\.amazonaws\.com/)
    expect(certificates.requests).toHaveLength(0)
    expect(github.requests).toHaveLength(0)
  })

  test('the certificate is fetched once per URL and kept: two records, then a second invocation', async () => {
    useSecret()
    certificates.reset()
    const fresh = createHandler({ certificateFetch: certificates.fetch })
    const first = snsEvent()
    const second = snsEvent({ ...VALID_MESSAGE, synctoken: '1786616000' })
    const event = { Records: [...first.Records, ...second.Records] }
    await expect(fresh(event, lambdaContext())).resolves.toMatchObject({
      accepted: 2,
      dispatched: 2
    })
    await expect(fresh(snsEvent(), lambdaContext())).resolves.toMatchObject({ dispatched: 1 })
    expect(certificates.requests).toHaveLength(1)
  })

  test('an unreachable certificate host fails the invocation (Lambda retries) and is not cached', async () => {
    useSecret()
    certificates.reset()
    let down = true
    const flaky: typeof fetch = (input, init) =>
      down ? Promise.reject(new TypeError('fetch failed')) : certificates.fetch(input, init)
    const fresh = createHandler({ certificateFetch: flaky })
    await expect(fresh(snsEvent(), lambdaContext())).rejects.toThrow(
      /signing certificate https:\/\/sns\.us-east-1\.amazonaws\.com\/.* could not be fetched/
    )
    expect(logLines().find(l => l.msg === 'signing certificate unavailable')).toMatchObject({
      level: 'error'
    })
    expect(github.requests).toHaveLength(0)
    down = false
    await expect(fresh(snsEvent(), lambdaContext())).resolves.toMatchObject({ dispatched: 1 })
  })

  test('a certificate that does not parse is refused, not trusted', async () => {
    useSecret()
    certificates.reset()
    certificates.certificatePem = 'not a certificate'
    const fresh = createHandler({ certificateFetch: certificates.fetch })
    await expect(fresh(snsEvent(), lambdaContext())).rejects.toThrow(/is not a PEM certificate/)
    expect(github.requests).toHaveLength(0)
  })
})
