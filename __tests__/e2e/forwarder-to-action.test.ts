// Both halves wired together: an SNS-signed AmazonIpSpaceChanged notification goes through the
// forwarder (real handler, its signing certificate served on loopback, GitHub and Secrets Manager
// emulators over HTTP); the repository_dispatch it sends becomes the event file of a run of the
// bundled action, which syncs the emulated groups; the watchdog check the forwarder scheduled (SQS
// emulator, through the SDK's client) then finds that run and records it, its metrics as EMF
// log lines.
import { jest } from '@jest/globals'
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Emulator, GroupSnapshot } from '../../dev/emulators/ec2.js'
import { GitHubEmulator } from '../../dev/emulators/github.js'
import { SecretsManagerEmulator } from '../../dev/emulators/secrets-manager.js'
import { WatchdogAwsEmulator } from '../../dev/emulators/watchdog-aws.js'
import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { runAction } from '../../dev/run-action.js'
import { createHandler, watchdogHandler } from '../../forwarder/src/handler.js'
import { extractAll } from '../../forwarder/__tests__/emf.js'
import { CertificateServer, lambdaContext, snsEvent } from '../../forwarder/__tests__/sns-events.js'
import { md5Hex } from '../../src/ranges/verify.js'

const TOKEN = 'ghp_forwarderE2Etoken0000000000000000000'
let aws: AwsEmulators
let ec2: Ec2Emulator
const ranges = new RangesServer()
let github: GitHubEmulator
let secrets: SecretsManagerEmulator
let watchdogAws: WatchdogAwsEmulator
let rangesUrl: string
const certificates = new CertificateServer()
const handler = createHandler({ certificateFetch: certificates.fetch })
const savedEnv = { ...process.env }

const doc = generateIpRanges({ seed: 21, syncToken: '1786607225', otherServicesScale: 0.05 })
const body = serializeIpRanges(doc)

beforeAll(async () => {
  aws = await startAwsEmulators()
  ec2 = aws.ec2
  rangesUrl = await ranges.start()
  github = await GitHubEmulator.start({ repos: ['octo-org/edge'], tokens: { [TOKEN]: {} } })
  secrets = await SecretsManagerEmulator.start({ secrets: { 'forwarder/github-token': TOKEN } })
  await certificates.start()
  watchdogAws = await WatchdogAwsEmulator.start({ queues: ['watchdog'], topics: ['alarms'] })
})
afterAll(async () => {
  await Promise.all([
    aws.stop(),
    ranges.stop(),
    github.close(),
    secrets.close(),
    certificates.close(),
    watchdogAws.close()
  ])
  process.env = { ...savedEnv }
})
beforeEach(() => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAFORWARDERE2E0000',
    AWS_SECRET_ACCESS_KEY: 'forwarder-e2e-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN_SECRET_ID: 'forwarder/github-token',
    TARGET_REPOSITORIES: 'octo-org/edge',
    ...watchdogAws.env,
    WATCHDOG_QUEUE_URL: watchdogAws.queueUrl('watchdog'),
    ALARM_TOPIC_ARN: watchdogAws.topicArn('alarms')
  })
  github.reset()
  watchdogAws.reset()
  ec2.reset()
  // The forwarder logs JSON lines; keep the test output readable.
  jest.spyOn(console, 'log').mockImplementation(() => undefined)
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
})
afterEach(() => jest.restoreAllMocks())

/** What AWS publishes on AmazonIpSpaceChanged for the file being served. */
const notification = (md5: string) => ({
  'create-time': '2026-08-13T07:47:05+00:00',
  synctoken: doc.syncToken,
  md5,
  url: 'https://ip-ranges.amazonaws.com/ip-ranges.json'
})

/** Forwards a notification and returns the repository_dispatch event as the runner would see it. */
async function forward(message: object) {
  await handler(snsEvent(message), lambdaContext())
  // The record was signed and its certificate fetched from the (loopback) SNS host.
  expect(certificates.requests).toHaveLength(1)
  const dispatch = github.dispatches.at(-1)
  if (!dispatch) throw new Error('the forwarder sent no dispatch')
  return {
    name: 'repository_dispatch',
    payload: {
      action: dispatch.eventType,
      branch: 'main',
      client_payload: dispatch.clientPayload,
      repository: { full_name: 'octo-org/edge' }
    }
  }
}

function seed() {
  return ec2.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'edge',
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  })
}

const runWith = (event: { name: string; payload: unknown }) =>
  runAction({
    inputs: { 'ip-ranges-url': rangesUrl, regions: 'us-east-1' },
    env: aws.env,
    event
  })

test('a notification travels SNS -> forwarder -> repository_dispatch -> action -> security group', async () => {
  ranges.serve(body)
  const groupId = seed()
  const event = await forward(notification(md5Hex(body)))
  expect(event.payload).toMatchObject({
    action: 'aws-ip-ranges-changed',
    client_payload: { synctoken: doc.syncToken, md5: md5Hex(body) }
  })

  const result = await runWith(event)
  expect(result.exitCode).toBe(0)
  const expected = doc.prefixes
    .filter(p => p.service === 'CLOUDFRONT_ORIGIN_FACING' && p.region === 'GLOBAL')
    .map(p => p.ip_prefix)
  const rules = (ec2.getGroup(groupId) as GroupSnapshot).ingress
  expect(rules.length).toBeGreaterThan(0)
  expect(rules.length).toBeLessThanOrEqual(expected.length)
  expect(result.summary).toContain(md5Hex(body))
  expect(result.outputs['sync-token']).toBe(doc.syncToken)

  // The runner reports the run to GitHub; 15 minutes later the watchdog's check finds it.
  const run = github.actions.addRun('octo-org/edge', {
    status: 'completed',
    conclusion: 'success',
    createdAt: github.dispatches.at(-1)?.receivedAt as Date,
    // Whole seconds, as GitHub's timestamps are: the lag is then exact, not off by one.
    updatedAt: new Date(Math.floor(Date.now() / 1000) * 1000)
  })
  const lines: string[] = []
  jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    lines.push(String(chunk))
    return true
  }) as typeof process.stdout.write)
  expect(await watchdogHandler(watchdogAws.drainAsLambdaEvent(), lambdaContext())).toEqual({
    batchItemFailures: []
  })
  const lag = Math.round(
    (run.updatedAt.getTime() - Date.parse(notification('')['create-time'])) / 1000
  )
  const record = lines
    .filter(line => line.startsWith('{'))
    .map(line => JSON.parse(line) as Record<string, unknown>)
    .find(line => line.msg === 'watchdog')
  expect(record).toMatchObject({
    outcome: 'completed',
    repository: 'octo-org/edge',
    synctoken: doc.syncToken,
    runId: run.id,
    lagSeconds: lag
  })
  expect(extractAll(lines.join('').split('\n')).find(m => m.name === 'SyncCompleted')).toEqual({
    namespace: 'CloudFrontSgSync',
    name: 'SyncCompleted',
    value: lag,
    unit: 'Seconds',
    dimensions: { Repository: 'octo-org/edge' }
  })
  expect(watchdogAws.published).toEqual([])
})

test('a file that does not match the notified MD5 is refused: nothing changes', async () => {
  const tampered = body.replace(doc.prefixes[0]?.ip_prefix ?? '', '240.0.0.0/24')
  ranges.serve(tampered)
  seed()
  const event = await forward(notification(md5Hex(body)))

  const result = await runWith(event)
  expect(result.exitCode).toBe(1)
  expect(result.stdout).toMatch(/::error::.*MD5/)
  expect(ec2.calls).toEqual([])

  // The failed run does not go unnoticed: the watchdog alarms.
  github.actions.addRun('octo-org/edge', { status: 'completed', conclusion: 'failure' })
  await watchdogHandler(watchdogAws.drainAsLambdaEvent(), lambdaContext())
  expect(watchdogAws.published.map(p => p.subject)).toEqual([
    'cloudfront-sg-sync: sync run failed in octo-org/edge'
  ])
})
