// The watchdog: the forwarder bundle's second handler, invoked by the SQS queue the forwarder
// schedules checks on (schedule-check.ts). For each check it asks GitHub whether a workflow run
// started after the dispatch and how it ended (actions-runs.ts, watchdog-verdict.ts), then:
// - a successful run: CloudWatch metric SyncCompleted (seconds from AWS's create-time to the
//   run's completion) and SyncOverdue 0;
// - no run, a failed run, a run still queued or running, or no answer from GitHub: SyncOverdue 1,
//   on which a CloudWatch alarm fires, and an alarm on the SNS topic (ALARM_TOPIC_ARN).
// Metrics are EMF log lines (metrics.ts) in namespace CloudFrontSgSync; SyncOverdue goes to two
// series, with the dimension Repository and without any (the one the stack's alarm watches,
// whatever the number of repositories).
// A check whose alarm cannot be published (SNS failing) is returned as a batch item failure, so
// SQS delivers it again (the event source mapping reports batch item failures).
import type { Verdict } from './watchdog-verdict.js'
import { describeVerdict, judgeRuns } from './watchdog-verdict.js'
import { ActionsReadError, listDispatchRuns, listWorkflows } from './actions-runs.js'
import { publish } from './aws-services.js'
import { ConfigError, loadConfig } from './config.js'
import type { ForwarderConfig } from './config.js'
import { createLogger } from './log.js'
import type { Logger } from './log.js'
import type { MetricDatum } from './metrics.js'
import { putMetric } from './metrics.js'
import type { CheckRequest } from './schedule-check.js'
import { parseCheckRequest } from './schedule-check.js'
import { SecretError, getGitHubToken } from './secret.js'
import type { LambdaContext } from './types.js'
import { METRIC_NAMESPACE, loadAlarmTopicArn } from './watchdog-config.js'

/** The part of an SQS event record the watchdog reads (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). */
interface SqsRecord {
  messageId?: string
  body?: string
}

export interface WatchdogResult {
  batchItemFailures: { itemIdentifier: string }[]
}

/** Runs created this long before the recorded dispatch time still count (clock skew). */
const CLOCK_SKEW_MS = 30_000

type Finding = Verdict | { outcome: 'unchecked'; error: string }

export const watchdogHandler = async (
  event: unknown,
  context?: LambdaContext
): Promise<WatchdogResult> => {
  const log = createLogger({ requestId: context?.awsRequestId, handler: 'watchdog' })
  let config: ForwarderConfig
  let alarmTopicArn: string
  try {
    config = loadConfig(process.env)
    alarmTopicArn = loadAlarmTopicArn(process.env)
  } catch (err) {
    if (err instanceof ConfigError) log.error('configuration invalid', { error: err.message })
    throw err
  }
  const records: SqsRecord[] = Array.isArray((event as { Records?: unknown } | null)?.Records)
    ? (event as { Records: SqsRecord[] }).Records
    : []
  const targets = new Set(config.targets.map(t => `${t.owner}/${t.repo}`.toLowerCase()))
  const failures: WatchdogResult['batchItemFailures'] = []

  for (const record of records) {
    const request = parseCheckRequest(record.body ?? '')
    if (typeof request === 'string' || !targets.has(request.repository.toLowerCase())) {
      // Not ours to judge: anyone allowed to send to the queue could have written it.
      log.warn('dropped', {
        messageId: record.messageId,
        reason: typeof request === 'string' ? request : 'repository not in TARGET_REPOSITORIES'
      })
      continue
    }
    const finding = await check(config, request)
    try {
      await report(finding, request, alarmTopicArn, log)
    } catch (err) {
      log.error('watchdog report failed', {
        repository: request.repository,
        error: (err as Error).message,
        hint: 'the execution role needs sns:Publish on ALARM_TOPIC_ARN; SQS delivers the check again'
      })
      if (record.messageId) failures.push({ itemIdentifier: record.messageId })
    }
  }
  return { batchItemFailures: failures }
}

async function check(config: ForwarderConfig, request: CheckRequest): Promise<Finding> {
  try {
    const token = await getGitHubToken(config.secretId)
    const reader = { apiUrl: config.apiUrl, token }
    const since = new Date(Date.parse(request.dispatchedAt) - CLOCK_SKEW_MS)
    const runs = await listDispatchRuns(reader, request.repository, since)
    // The workflows' states only matter (and are only read) when no run started.
    const workflows = runs.length === 0 ? await listWorkflows(reader, request.repository) : []
    return judgeRuns(runs, workflows, request.createTime)
  } catch (err) {
    const hint = err instanceof ActionsReadError || err instanceof SecretError ? err.hint : ''
    return { outcome: 'unchecked', error: `${(err as Error).message}${hint ? ` (${hint})` : ''}` }
  }
}

async function report(
  finding: Finding,
  request: CheckRequest,
  alarmTopicArn: string,
  log: Logger
): Promise<void> {
  const repository = request.repository
  const metric = (datum: MetricDatum) => putMetric(log, METRIC_NAMESPACE, datum)
  // The per-repository series, and the one without dimensions that SyncOverdueAlarm watches.
  const overdue = (value: number): MetricDatum => ({
    name: 'SyncOverdue',
    value,
    unit: 'Count',
    dimensions: { Repository: repository },
    dimensionSets: [['Repository'], []]
  })
  if (finding.outcome === 'completed') {
    metric({
      name: 'SyncCompleted',
      value: finding.lagSeconds,
      unit: 'Seconds',
      dimensions: { Repository: repository },
      dimensionSets: [['Repository']]
    })
    metric(overdue(0))
    log.info('watchdog', {
      outcome: 'completed',
      repository,
      synctoken: request.synctoken,
      runId: finding.run.id,
      runUrl: finding.run.htmlUrl,
      lagSeconds: finding.lagSeconds
    })
    return
  }
  const alarm =
    finding.outcome === 'unchecked'
      ? {
          subject: `cloudfront-sg-sync: watchdog could not check ${repository}`,
          message:
            `The watchdog could not learn whether the dispatch sent to ${repository} at ` +
            `${request.dispatchedAt} (syncToken ${request.synctoken}) started a run: ` +
            `${finding.error}`
        }
      : (describeVerdict(finding, repository, request.synctoken, request.dispatchedAt) as {
          subject: string
          message: string
        })
  // The metric first: it cannot fail, so SyncOverdueAlarm fires even if the publish below is
  // refused (a retry writes it again; the alarm takes the maximum).
  metric(overdue(1))
  const messageId = await publish(alarmTopicArn, alarm.subject, alarm.message)
  log.error('watchdog', {
    outcome: finding.outcome,
    repository,
    synctoken: request.synctoken,
    ...('run' in finding ? { runId: finding.run.id, runUrl: finding.run.htmlUrl } : {}),
    ...('disabled' in finding ? { disabled: finding.disabled.map(w => w.path) } : {}),
    alarm: alarm.message,
    snsMessageId: messageId
  })
}
