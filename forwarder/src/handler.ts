// SNS (AmazonIpSpaceChanged) -> GitHub repository_dispatch.
//
// For each record: accept only a Notification from the configured topic whose message is a valid
// ip-ranges change notice and whose SNS signature verifies (signature.ts); drop anything else with
// a log line. Forward each accepted notice to
// every target repository as `event_type` + `client_payload {synctoken, md5, url, create_time}`.
// A failed dispatch fails the invocation, so Lambda retries the event (SNS invokes Lambda
// asynchronously) and, once retries are spent, sends it to the dead-letter queue.
import { ConfigError, loadConfig } from './config.js'
import type { ForwarderConfig } from './config.js'
import { createDispatch } from './github.js'
import type { DispatchOutcome } from './github.js'
import { createLogger } from './log.js'
import type { Logger } from './log.js'
import { inspectRecord } from './message.js'
import type { IpRangesNotification } from './message.js'
import { SecretError, getGitHubToken } from './secret.js'
import {
  CertificateUnavailableError,
  createCertificateSource,
  verifySnsSignature
} from './signature.js'
import type { CertificateSource } from './signature.js'
import type { LambdaContext } from './types.js'
import { scheduleChecks } from './schedule-check.js'
import type { Delivery } from './schedule-check.js'
import { loadWatchdogConfig } from './watchdog-config.js'
import type { WatchdogConfig } from './watchdog-config.js'

// The watchdog's handler ships in the same bundle (infra/sns-forwarder.yml: index.watchdogHandler).
export { watchdogHandler } from './watchdog.js'

export interface ForwarderResult {
  received: number
  accepted: number
  dropped: number
  dispatched: number
}

export class DispatchFailedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DispatchFailedError'
  }
}

/** Time kept back from the Lambda deadline for logging and returning. */
const DEADLINE_MARGIN_MS = 2000
const DEFAULT_BUDGET_MS = 60_000

export function clientPayload(n: IpRangesNotification): Record<string, string> {
  // Four top-level properties; GitHub allows at most 10.
  return { synctoken: n.synctoken, md5: n.md5, url: n.url, create_time: n.createTime }
}

async function forward(
  config: ForwarderConfig,
  token: string,
  accepted: { messageId: string | undefined; notification: IpRangesNotification }[],
  deadline: number,
  log: Logger
): Promise<{ delivered: number; failures: string[]; deliveries: Delivery[] }> {
  let delivered = 0
  const failures: string[] = []
  const deliveries: Delivery[] = []
  for (const { messageId, notification } of accepted) {
    const outcomes = await Promise.all(
      config.targets.map(async target => {
        const outcome = await createDispatch(
          {
            apiUrl: config.apiUrl,
            token,
            target,
            eventType: config.eventType,
            clientPayload: clientPayload(notification)
          },
          { deadline }
        )
        return { target, outcome }
      })
    )
    for (const { target, outcome } of outcomes) {
      const repository = `${target.owner}/${target.repo}`
      logDispatch(log, repository, messageId, notification, config.eventType, outcome)
      if (outcome.ok) {
        delivered++
        deliveries.push({ repository, notification, dispatchedAt: new Date() })
      } else
        failures.push(
          `${repository}: ${outcome.error ?? 'failed'}${outcome.hint ? ` (${outcome.hint})` : ''}`
        )
    }
  }
  return { delivered, failures, deliveries }
}

function logDispatch(
  log: Logger,
  repository: string,
  messageId: string | undefined,
  n: IpRangesNotification,
  eventType: string,
  o: DispatchOutcome
): void {
  const fields = {
    repository,
    outcome: o.ok ? 'delivered' : 'failed',
    status: o.status,
    attempts: o.attempts,
    history: o.history,
    durationMs: o.durationMs,
    eventType,
    synctoken: n.synctoken,
    messageId,
    kind: o.kind,
    error: o.error,
    hint: o.hint
  }
  if (o.ok) log.info('dispatch', fields)
  else log.error('dispatch', fields)
}

export interface HandlerOptions {
  /**
   * The network the SNS signing certificates are fetched over (the global fetch by default). It
   * only ever sees URLs that passed the https://sns.<region>.amazonaws.com check.
   */
  certificateFetch?: typeof fetch
}

export type Handler = (event: unknown, context?: LambdaContext) => Promise<ForwarderResult>

/** Signing certificates of this container (Lambda reuses module state across invocations). */
const containerCertificates = createCertificateSource()

export function createHandler(options: HandlerOptions = {}): Handler {
  const certificates = options.certificateFetch
    ? createCertificateSource(options.certificateFetch)
    : containerCertificates
  return (event, context) => handle(event, context, certificates)
}

/** The Lambda entry point (`index.handler`). */
export const handler: Handler = createHandler()

async function handle(
  event: unknown,
  context: LambdaContext | undefined,
  certificates: CertificateSource
): Promise<ForwarderResult> {
  const started = Date.now()
  const log = createLogger({ requestId: context?.awsRequestId })
  const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_BUDGET_MS
  const deadline = started + remaining - DEADLINE_MARGIN_MS

  let config: ForwarderConfig
  let watchdog: WatchdogConfig | undefined
  try {
    config = loadConfig(process.env)
    watchdog = loadWatchdogConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) log.error('configuration invalid', { error: err.message })
    throw err
  }

  const records: unknown[] =
    typeof event === 'object' &&
    event !== null &&
    Array.isArray((event as { Records?: unknown }).Records)
      ? (event as { Records: unknown[] }).Records
      : []
  if (records.length === 0) log.warn('dropped', { reason: 'event has no Records' })

  const accepted: { messageId: string | undefined; notification: IpRangesNotification }[] = []
  let dropped = 0
  for (const record of records) {
    let verdict = inspectRecord(record, config.topicArn)
    if (verdict.ok) {
      // Only records that passed the cheap checks cost a certificate look-up.
      const sns = (record as { Sns: Record<string, unknown> }).Sns
      let signature
      try {
        signature = await verifySnsSignature(sns, certificates)
      } catch (err) {
        if (!(err instanceof CertificateUnavailableError)) throw err
        // Transient (the certificate host did not answer): fail, so Lambda retries the event.
        log.error('signing certificate unavailable', {
          messageId: verdict.messageId,
          error: err.message
        })
        throw err
      }
      if (!signature.ok) {
        verdict = {
          ok: false,
          messageId: verdict.messageId,
          topicArn: config.topicArn,
          reason: signature.reason
        }
      }
    }
    if (verdict.ok) {
      accepted.push({ messageId: verdict.messageId, notification: verdict.notification })
    } else {
      dropped++
      log.warn('dropped', {
        reason: verdict.reason,
        messageId: verdict.messageId,
        topicArn: verdict.topicArn
      })
    }
  }

  const result: ForwarderResult = {
    received: records.length,
    accepted: accepted.length,
    dropped,
    dispatched: 0
  }
  if (accepted.length === 0) {
    log.info('done', { ...result, durationMs: Date.now() - started })
    return result
  }

  let token: string
  try {
    token = await getGitHubToken(config.secretId)
  } catch (err) {
    const e = err instanceof SecretError ? err : new SecretError(String(err), '')
    log.error('token unavailable', { secretId: config.secretId, error: e.message, hint: e.hint })
    throw new DispatchFailedError(
      `GitHub token unavailable: ${e.message}${e.hint ? ` (${e.hint})` : ''}`
    )
  }

  const { delivered, failures, deliveries } = await forward(config, token, accepted, deadline, log)
  result.dispatched = delivered
  await scheduleChecks(watchdog, deliveries, config.eventType, log)
  log.info('done', { ...result, failed: failures.length, durationMs: Date.now() - started })
  if (failures.length > 0) {
    throw new DispatchFailedError(
      `${failures.length} of ${failures.length + delivered} dispatches failed: ${failures.join('; ')}`
    )
  }
  return result
}
