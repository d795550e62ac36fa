// The watchdog's pure parts: the EMF metric lines, the regions of queue URLs and topic ARNs, the
// check request read back from SQS, and the verdict on a list of runs.
import type { WorkflowRun } from '../src/actions-runs.js'
import { regionOfQueueUrl, regionOfTopicArn } from '../src/aws-services.js'
import { ConfigError } from '../src/config.js'
import { createLogger } from '../src/log.js'
import type { MetricDatum } from '../src/metrics.js'
import { emfFields, putMetric } from '../src/metrics.js'
import { parseCheckRequest } from '../src/schedule-check.js'
import { loadAlarmTopicArn, loadWatchdogConfig } from '../src/watchdog-config.js'
import { describeVerdict, judgeRuns } from '../src/watchdog-verdict.js'
import { extractEmf } from './emf.js'

describe('EMF metric lines', () => {
  const overdue: MetricDatum = {
    name: 'SyncOverdue',
    value: 1,
    unit: 'Count',
    dimensions: { Repository: 'octo-org/edge' },
    dimensionSets: [['Repository'], []]
  }
  const time = new Date('2026-07-25T17:20:00.123Z')

  test('one JSON object per line, the _aws envelope and its targets at the root', () => {
    const lines: string[] = []
    putMetric(
      createLogger({ handler: 'watchdog' }, l => lines.push(l)),
      'CloudFrontSgSync',
      overdue,
      time
    )
    expect(lines).toHaveLength(1)
    expect(lines[0]).not.toContain('\n')
    const doc = JSON.parse(lines[0] ?? '') as Record<string, unknown>
    expect(doc).toMatchObject({
      level: 'info',
      msg: 'metric',
      handler: 'watchdog',
      _aws: {
        Timestamp: 1785000000123,
        CloudWatchMetrics: [
          {
            Namespace: 'CloudFrontSgSync',
            Dimensions: [['Repository'], []],
            Metrics: [{ Name: 'SyncOverdue', Unit: 'Count' }]
          }
        ]
      },
      SyncOverdue: 1,
      Repository: 'octo-org/edge'
    })
    // What CloudWatch extracts: one series per dimension set, the empty one included.
    expect(extractEmf(lines[0] ?? '')).toEqual([
      {
        namespace: 'CloudFrontSgSync',
        name: 'SyncOverdue',
        value: 1,
        unit: 'Count',
        dimensions: { Repository: 'octo-org/edge' }
      },
      {
        namespace: 'CloudFrontSgSync',
        name: 'SyncOverdue',
        value: 1,
        unit: 'Count',
        dimensions: {}
      }
    ])
  })

  test('a datum CloudWatch would drop is refused', () => {
    const bad: [Partial<MetricDatum>, string][] = [
      [{ value: Number.NaN }, 'is not a finite number'],
      [{ dimensionSets: [['Region']] }, 'dimension Region has no value'],
      [{ dimensionSets: [] }, 'no dimension set'],
      [{ dimensions: { Repository: '' } }, 'must have 1 to 1024 characters'],
      [{ name: 'msg' }, 'collides with a log field']
    ]
    for (const [change, message] of bad) {
      expect(() => emfFields('CloudFrontSgSync', { ...overdue, ...change }, time)).toThrow(message)
    }
  })
})

describe('regions for the SDK clients', () => {
  test("from the queue URL and the topic ARN; other hosts take the function's region", () => {
    expect(regionOfQueueUrl('https://sqs.eu-west-1.amazonaws.com/123456789012/watchdog')).toBe(
      'eu-west-1'
    )
    expect(regionOfQueueUrl('http://127.0.0.1:4566/123456789012/watchdog')).toBeUndefined()
    expect(regionOfTopicArn('arn:aws:sns:us-west-2:123456789012:alarms')).toBe('us-west-2')
    expect(regionOfTopicArn('alarms')).toBeUndefined()
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
