// The watchdog's pure parts: the SigV4 signer (checked against @smithy/signature-v4, the signer
// of the AWS SDK), the check request read back from SQS, and the verdict on a list of runs.
import { SignatureV4 } from '@smithy/signature-v4'
import { createHash, createHmac } from 'node:crypto'
import type { Hash } from 'node:crypto'
import type { WorkflowRun } from '../src/actions-runs.js'
import { amzDate, endpointOf, signRequest } from '../src/aws-request.js'
import { CLOUDWATCH, SNS, SQS } from '../src/aws-services.js'
import { ConfigError } from '../src/config.js'
import { parseCheckRequest } from '../src/schedule-check.js'
import { loadAlarmTopicArn, loadWatchdogConfig } from '../src/watchdog-config.js'
import { describeVerdict, judgeRuns } from '../src/watchdog-verdict.js'

type SourceData = string | ArrayBuffer | ArrayBufferView

const bytes = (data: SourceData): string | Buffer =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data)

/** The SDK's hash interface over node:crypto. */
class Sha256 {
  private readonly hash: Hash | ReturnType<typeof createHmac>
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret))
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data))
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()))
  }
}

describe('signRequest', () => {
  test.each([
    ['without a session token', undefined],
    ['with a session token', 'IQoJb3JpZ2luX2VjEXAMPLE//token+with/odd=chars']
  ])('matches the AWS SDK signer %s', async (_, sessionToken) => {
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      ...(sessionToken ? { sessionToken } : {})
    }
    const url = new URL('https://sqs.us-east-1.amazonaws.com/')
    const time = new Date('2026-07-25T17:20:00Z')
    const body = JSON.stringify({ QueueUrl: 'https://sqs/q', MessageBody: 'x', DelaySeconds: 900 })
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AmazonSQS.SendMessage'
    }
    const ours = signRequest(
      url,
      { headers, body, signingName: 'sqs' },
      credentials,
      'us-east-1',
      time
    )

    // applyChecksum: false, or the SDK signer adds an x-amz-content-sha256 header (S3's need).
    const sdk = new SignatureV4({
      credentials,
      region: 'us-east-1',
      service: 'sqs',
      sha256: Sha256,
      applyChecksum: false
    })
    const signed = await sdk.sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: url.hostname,
        path: '/',
        query: {},
        headers: { ...headers, host: url.host },
        body
      },
      { signingDate: time }
    )
    expect(ours.authorization).toBe(signed.headers.authorization)
    expect(ours['x-amz-date']).toBe('20260725T172000Z')
    expect(ours['x-amz-security-token']).toBe(sessionToken)
  })

  test('endpoints: the service variable, then the global one, then AWS', () => {
    expect(endpointOf(SQS, 'eu-west-1', {}).href).toBe('https://sqs.eu-west-1.amazonaws.com/')
    expect(endpointOf(CLOUDWATCH, 'us-east-1', {}).host).toBe('monitoring.us-east-1.amazonaws.com')
    expect(
      endpointOf(SNS, 'us-east-1', {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
        AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:2'
      }).port
    ).toBe('2')
    expect(amzDate(new Date('2026-01-02T03:04:05.678Z'))).toBe('20260102T030405Z')
  })
})

describe('watchdog settings', () => {
  test('off without a queue; the delay defaults to 900 and stays within SQS limits', () => {
    expect(loadWatchdogConfig({})).toBeUndefined()
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/watchdog'
    expect(loadWatchdogConfig({ WATCHDOG_QUEUE_URL: queueUrl })).toEqual({
      queueUrl,
      delaySeconds: 900
    })
    expect(
      loadWatchdogConfig({ WATCHDOG_QUEUE_URL: queueUrl, WATCHDOG_DELAY_SECONDS: '0' })
    ).toEqual({ queueUrl, delaySeconds: 0 })
    for (const bad of ['901', '-1', '15m', '1e3']) {
      expect(() =>
        loadWatchdogConfig({ WATCHDOG_QUEUE_URL: queueUrl, WATCHDOG_DELAY_SECONDS: bad })
      ).toThrow(`WATCHDOG_DELAY_SECONDS: "${bad}" is invalid (expected a whole number of seconds`)
    }
    expect(() => loadWatchdogConfig({ WATCHDOG_QUEUE_URL: 'http://example.com/q' })).toThrow(
      ConfigError
    )
    expect(() => loadAlarmTopicArn({})).toThrow('ALARM_TOPIC_ARN is not set')
  })
})

describe('parseCheckRequest', () => {
  const valid = {
    version: 1,
    repository: 'octo-org/edge',
    eventType: 'aws-ip-ranges-changed',
    synctoken: '1786615985',
    createTime: '2026-08-13T10:13:05+00:00',
    dispatchedAt: '2026-08-13T10:13:09.000Z'
  }
  test('reads back what the forwarder wrote, and refuses anything else', () => {
    expect(parseCheckRequest(JSON.stringify(valid))).toEqual(valid)
    expect(parseCheckRequest('nope')).toBe('the body is not JSON')
    expect(parseCheckRequest(JSON.stringify({ ...valid, version: 2 }))).toBe('unknown version 2')
    expect(parseCheckRequest(JSON.stringify({ ...valid, repository: '../x' }))).toBe(
      'repository is not owner/repo'
    )
    expect(parseCheckRequest(JSON.stringify({ ...valid, dispatchedAt: 'soon' }))).toBe(
      'dispatchedAt is not a date-time'
    )
  })
})

describe('judgeRuns', () => {
  const run = (over: Partial<WorkflowRun>): WorkflowRun => ({
    id: 1,
    name: 'sync',
    path: '.github/workflows/sync.yml',
    status: 'completed',
    conclusion: 'success',
    createdAt: '2026-08-13T10:13:10Z',
    updatedAt: '2026-08-13T10:14:05Z',
    htmlUrl: 'https://github.com/octo-org/edge/actions/runs/1',
    ...over
  })
  const CREATE = '2026-08-13T10:13:05+00:00'

  test('a success wins over a failure, with the lag from create-time to completion', () => {
    const verdict = judgeRuns(
      [run({ id: 2, conclusion: 'failure', createdAt: '2026-08-13T10:15:00Z' }), run({ id: 1 })],
      [],
      CREATE
    )
    expect(verdict).toMatchObject({ outcome: 'completed', run: { id: 1 }, lagSeconds: 60 })
    expect(describeVerdict(verdict, 'o/r', '1', 'now')).toBeUndefined()
  })

  test.each(['failure', 'cancelled', 'timed_out', 'startup_failure', 'skipped'])(
    'a run that ended %s is a failure',
    conclusion => {
      expect(judgeRuns([run({ conclusion })], [], CREATE).outcome).toBe('failed')
    }
  )

  test.each(['queued', 'in_progress', 'waiting', 'pending'])(
    'a run still %s at the deadline is overdue',
    status => {
      const verdict = judgeRuns([run({ status, conclusion: null })], [], CREATE)
      expect(verdict.outcome).toBe('overdue')
      expect(describeVerdict(verdict, 'o/r', '1', 'now')?.message).toContain(`still ${status}`)
    }
  )

  test('no run: names the disabled workflows when there are', () => {
    const verdict = judgeRuns(
      [],
      [
        { name: 'sync', path: '.github/workflows/sync.yml', state: 'disabled_inactivity' },
        { name: 'ci', path: '.github/workflows/ci.yml', state: 'active' }
      ],
      CREATE
    )
    expect(verdict).toEqual({
      outcome: 'no-run',
      disabled: [{ name: 'sync', path: '.github/workflows/sync.yml', state: 'disabled_inactivity' }]
    })
    expect(describeVerdict(verdict, 'o/r', '1', 'now')?.message).toContain(
      'Disabled workflow(s): .github/workflows/sync.yml (disabled_inactivity)'
    )
    expect(describeVerdict(judgeRuns([], [], CREATE), 'o/r', '1', 'now')?.message).toContain(
      'No workflow is disabled'
    )
  })
})
