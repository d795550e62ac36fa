// The watchdog end to end over real protocols: the forwarder's handler dispatches to the GitHub
// emulator and schedules a check on the SQS emulator (AWS JSON); the check, handed over as Lambda's
// SQS event source would, reads the runs GitHub lists, publishes alarms to the SNS (Query)
// emulator, all through the SDK's clients, and writes its metrics as EMF log lines, read back
// here as CloudWatch would extract them. Time is the one thing stood in for: the queue is drained
// at once.
import { jest } from '@jest/globals'
import { GitHubEmulator } from '../../dev/emulators/github.js'
import { SecretsManagerEmulator } from '../../dev/emulators/secrets-manager.js'
import { WatchdogAwsEmulator } from '../../dev/emulators/watchdog-aws.js'
import { createHandler, watchdogHandler } from '../src/handler.js'
import { extractAll } from './emf.js'
import { CertificateServer, lambdaContext, snsEvent } from './sns-events.js'

const TOKEN = 'github_pat_11WATCHDOGTEST000000000_abcdefghijklmnopqrstuvwxyz'
const NO_ACTIONS_TOKEN = 'github_pat_11NOACTIONS00000000000_zyxwvutsrqponmlkjihgfedcba'
const REPO = 'octo-org/edge'

let github: GitHubEmulator
let secrets: SecretsManagerEmulator
let aws: WatchdogAwsEmulator
const certificates = new CertificateServer()
/** The production handler, its SNS signing certificates served from loopback. */
const handler = createHandler({ certificateFetch: certificates.fetch })
const savedEnv = { ...process.env }
let output: string[] = []
let secretCounter = 0

function useSecret(value: string): void {
  const name = `forwarder/watchdog-token-${++secretCounter}`
  secrets.putSecret(name, value)
  process.env.GITHUB_TOKEN_SECRET_ID = name
}

const rawLines = () =>
  output
    .join('')
    .split('\n')
    .filter(l => l.startsWith('{'))
const logLines = () => rawLines().map(l => JSON.parse(l) as Record<string, unknown>)
/** The metrics CloudWatch extracts from the EMF lines written so far. */
const metrics = () => extractAll(rawLines())

/** A notification AWS published a minute ago. */
function recentNotification() {
  return {
    'create-time': new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    synctoken: String(Math.floor(Date.now() / 1000) - 60),
    md5: '0f8e1a2b3c4d5e6f708192a3b4c5d6e7',
    url: 'https://ip-ranges.amazonaws.com/ip-ranges.json'
  }
}

/** Dispatch one notification, then run the check it scheduled. */
async function dispatchThenCheck() {
  const forwarded = await handler(snsEvent(recentNotification()), lambdaContext())
  expect(forwarded.dispatched).toBe(1)
  expect(aws.sent).toHaveLength(1)
  expect(aws.sent[0]?.delaySeconds).toBe(900)
  return watchdogHandler(aws.drainAsLambdaEvent(), lambdaContext())
}

const overdueMetrics = (value: number) => [
  {
    namespace: 'CloudFrontSgSync',
    name: 'SyncOverdue',
    value,
    unit: 'Count',
    dimensions: { Repository: REPO }
  },
  { namespace: 'CloudFrontSgSync', name: 'SyncOverdue', value, unit: 'Count', dimensions: {} }
]

beforeAll(async () => {
  github = await GitHubEmulator.start({
    repos: [REPO],
    tokens: { [TOKEN]: {}, [NO_ACTIONS_TOKEN]: { actions: 'none' } }
  })
  secrets = await SecretsManagerEmulator.start()
  aws = await WatchdogAwsEmulator.start({ queues: ['watchdog'], topics: ['sync-alarms'] })
  await certificates.start()
})
afterAll(async () => {
  await Promise.all([github.close(), secrets.close(), aws.close(), certificates.close()])
  process.env = { ...savedEnv }
})
beforeEach(() => {
  const unset = new Set(['AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_SESSION_TOKEN', 'TOPIC_ARN'])
  process.env = Object.fromEntries(Object.entries(savedEnv).filter(([k]) => !unset.has(k)))
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAWATCHDOGTEST0000',
    AWS_SECRET_ACCESS_KEY: 'watchdog-test-secret-key',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    ...aws.env,
    GITHUB_API_URL: github.url,
    TARGET_REPOSITORIES: REPO,
    WATCHDOG_QUEUE_URL: aws.queueUrl('watchdog'),
    ALARM_TOPIC_ARN: aws.topicArn('sync-alarms')
  })
  useSecret(TOKEN)
  github.reset()
  aws.reset()
  output = []
  jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
    output.push(String(chunk))
    return true
  }) as typeof process.stdout.write)
})
afterEach(() => jest.restoreAllMocks())

describe('the watchdog after a dispatch', () => {
  test('a successful run: SyncCompleted with the lag from create-time, no alarm', async () => {
    github.actions.onDispatch(REPO, 'success')
    const result = await dispatchThenCheck()
    expect(result).toEqual({ batchItemFailures: [] })
    expect(aws.published).toEqual([])
    const completed = metrics().find(m => m.name === 'SyncCompleted')
    expect(completed).toMatchObject({
      namespace: 'CloudFrontSgSync',
      unit: 'Seconds',
      dimensions: { Repository: REPO }
    })
    // Published a minute before the dispatch; the emulated run ends 42 s after it starts.
    expect(completed?.value).toBeGreaterThanOrEqual(100)
    expect(completed?.value).toBeLessThanOrEqual(106)
    expect(metrics().filter(m => m.name === 'SyncOverdue')).toEqual(overdueMetrics(0))
    // Each datum is one line of its own, beside the logger's usual fields.
    expect(logLines().filter(l => l.msg === 'metric')).toHaveLength(2)
    expect(logLines().find(l => l.SyncCompleted !== undefined)).toMatchObject({
      level: 'info',
      handler: 'watchdog',
      Repository: REPO
    })
    expect(logLines().find(l => l.msg === 'watchdog')).toMatchObject({
      level: 'info',
      outcome: 'completed',
      repository: REPO
    })
    // The runs were asked for with the documented filters.
    const runsQuery = github.requests.find(r => r.path.endsWith('/actions/runs'))?.query ?? ''
    const params = new URLSearchParams(runsQuery)
    expect(params.get('event')).toBe('repository_dispatch')
    expect(params.get('created')).toMatch(/^>=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
  })

  test('no run at all: an alarm and SyncOverdue 1', async () => {
    const result = await dispatchThenCheck()
    expect(result).toEqual({ batchItemFailures: [] })
    expect(aws.published).toHaveLength(1)
    expect(aws.published[0]).toMatchObject({
      topicArn: aws.topicArn('sync-alarms'),
      subject: `cloudfront-sg-sync: no sync run in ${REPO}`
    })
    expect(aws.published[0]?.message).toContain('started no workflow run. No workflow is disabled')
    expect(metrics()).toEqual(overdueMetrics(1))
  })

  test('a failed run: an alarm naming the run', async () => {
    github.actions.onDispatch(REPO, 'failure')
    await dispatchThenCheck()
    const run = github.actions.runs[0]
    expect(aws.published[0]?.subject).toBe(`cloudfront-sg-sync: sync run failed in ${REPO}`)
    expect(aws.published[0]?.message).toContain(
      `started run ${run?.id} (CloudFront security group sync), which ended failure: ` +
        `https://github.com/${REPO}/actions/runs/${run?.id}`
    )
    expect(metrics()).toEqual(overdueMetrics(1))
  })

  test('a run still queued at the deadline: an overdue alarm', async () => {
    github.actions.onDispatch(REPO, 'queued')
    await dispatchThenCheck()
    expect(aws.published[0]?.subject).toBe(`cloudfront-sg-sync: sync run overdue in ${REPO}`)
    expect(aws.published[0]?.message).toContain('still queued')
  })

  test('a workflow GitHub disabled for inactivity: the dispatch is accepted, the alarm says why no run', async () => {
    github.actions.onDispatch(REPO, 'success').setWorkflowState(REPO, 'disabled_inactivity')
    await dispatchThenCheck()
    // GitHub accepted the dispatch (204) and started nothing.
    expect(github.dispatches).toHaveLength(1)
    expect(github.actions.runs).toEqual([])
    expect(aws.published[0]?.subject).toBe(`cloudfront-sg-sync: no sync run in ${REPO}`)
    expect(aws.published[0]?.message).toContain(
      'Disabled workflow(s): .github/workflows/cloudfront-sg-sync.yml (disabled_inactivity)'
    )
    expect(metrics()).toEqual(overdueMetrics(1))
  })

  test('a token without Actions read: the alarm says which permission to add', async () => {
    github.addToken(NO_ACTIONS_TOKEN, { actions: 'none' })
    useSecret(NO_ACTIONS_TOKEN)
    github.actions.onDispatch(REPO, 'success')
    await dispatchThenCheck()
    expect(aws.published[0]?.subject).toBe(`cloudfront-sg-sync: watchdog could not check ${REPO}`)
    expect(aws.published[0]?.message).toContain('GitHub answered 403')
    expect(aws.published[0]?.message).toContain('"Actions: Read-only"')
  })

  test('an alarm that cannot be published is handed back to SQS for another try', async () => {
    await handler(snsEvent(recentNotification()), lambdaContext())
    const event = aws.drainAsLambdaEvent()
    aws.failNext.set('sns', { status: 403, code: 'AuthorizationError' })
    const result = await watchdogHandler(event, lambdaContext())
    expect(result).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }]
    })
    expect(logLines().find(l => l.msg === 'watchdog report failed')?.error).toContain(
      'sns:Publish failed: AuthorizationError'
    )
    // The metric went out first: SyncOverdueAlarm fires even though the publish was refused.
    expect(metrics()).toEqual(overdueMetrics(1))
  })

  test('a message for a repository the forwarder does not serve is dropped unjudged', async () => {
    const forged = {
      Records: [
        {
          messageId: 'm-1',
          body: JSON.stringify({
            version: 1,
            repository: 'evil/elsewhere',
            eventType: 'x',
            synctoken: '1',
            createTime: '2026-08-13T10:13:05+00:00',
            dispatchedAt: '2026-08-13T10:13:09Z'
          })
        }
      ]
    }
    expect(await watchdogHandler(forged, lambdaContext())).toEqual({ batchItemFailures: [] })
    expect(github.requests).toEqual([])
    expect(aws.calls).toEqual([])
  })
})

describe('scheduling', () => {
  test('without WATCHDOG_QUEUE_URL the forwarder only dispatches', async () => {
    delete process.env.WATCHDOG_QUEUE_URL
    await handler(snsEvent(recentNotification()), lambdaContext())
    expect(github.dispatches).toHaveLength(1)
    expect(aws.calls).toEqual([])
  })

  test('a bad delay stops the forwarder before any dispatch', async () => {
    process.env.WATCHDOG_DELAY_SECONDS = '1800'
    await expect(handler(snsEvent(recentNotification()), lambdaContext())).rejects.toThrow(
      'WATCHDOG_DELAY_SECONDS: "1800" is invalid'
    )
    expect(github.dispatches).toEqual([])
  })

  test('a check that cannot be scheduled is logged; the dispatch still counts', async () => {
    aws.failNext.set('sqs', { status: 400, code: 'AccessDenied' })
    const result = await handler(snsEvent(recentNotification()), lambdaContext())
    expect(result.dispatched).toBe(1)
    expect(logLines().find(l => l.msg === 'watchdog not scheduled')).toMatchObject({
      level: 'error',
      repository: REPO,
      error: 'sqs:SendMessage failed: AccessDenied: AccessDenied'
    })
  })

  test('a queue that never answers gives up after 3 attempts of 5 s; the dispatch still counts', async () => {
    aws.hang.add('sqs')
    const started = Date.now()
    const result = await handler(snsEvent(recentNotification()), lambdaContext())
    const elapsed = Date.now() - started
    expect(result.dispatched).toBe(1)
    expect(aws.unanswered).toBe(3)
    // Well within the forwarder's 60 s timeout, so Lambda does not send the event again.
    expect(elapsed).toBeGreaterThanOrEqual(15_000)
    expect(elapsed).toBeLessThan(25_000)
    expect(logLines().find(l => l.msg === 'watchdog not scheduled')?.error).toMatch(
      /^sqs:SendMessage failed: TimeoutError: .*5000 ms requestTimeout/
    )
  }, 40_000)

  test('the scheduled message carries what the check needs', async () => {
    process.env.WATCHDOG_DELAY_SECONDS = '600'
    const notification = recentNotification()
    await handler(snsEvent(notification), lambdaContext())
    expect(aws.sent[0]?.delaySeconds).toBe(600)
    // One SendMessage, in AWS JSON 1.0 as the SDK's client sends it, answered at once.
    expect(aws.calls).toEqual([{ service: 'sqs', operation: 'SendMessage', status: 200 }])
    expect(JSON.parse(aws.sent[0]?.body ?? '{}')).toMatchObject({
      version: 1,
      repository: REPO,
      eventType: 'aws-ip-ranges-changed',
      synctoken: notification.synctoken,
      createTime: notification['create-time']
    })
  })
})
