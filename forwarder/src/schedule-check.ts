// After a dispatch, the forwarder asks the watchdog to look later: one SQS message per
// repository, delayed by WATCHDOG_DELAY_SECONDS. A failure to schedule is logged, never thrown:
// the dispatch itself succeeded, and failing the invocation would make Lambda dispatch again.
import { sendMessage } from './aws-services.js'
import type { Logger } from './log.js'
import type { IpRangesNotification } from './message.js'
import type { WatchdogConfig } from './watchdog-config.js'

/** The SQS message body: what the watchdog needs to find the run and measure its lag. */
export interface CheckRequest {
  version: 1
  repository: string
  eventType: string
  synctoken: string
  /** AWS's create-time of the notification (ISO 8601). */
  createTime: string
  /** When the dispatch was accepted by GitHub (ISO 8601). */
  dispatchedAt: string
}

export interface Delivery {
  repository: string
  notification: IpRangesNotification
  dispatchedAt: Date
}

const REPOSITORY_RE = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/

export function checkRequestOf(delivery: Delivery, eventType: string): CheckRequest {
  return {
    version: 1,
    repository: delivery.repository,
    eventType,
    synctoken: delivery.notification.synctoken,
    createTime: delivery.notification.createTime,
    dispatchedAt: delivery.dispatchedAt.toISOString()
  }
}

/** The body read back, or why it is not a check request (anyone who may send can write one). */
export function parseCheckRequest(body: string): CheckRequest | string {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return 'the body is not JSON'
  }
  if (typeof value !== 'object' || value === null) return 'the body is not a JSON object'
  const v = value as Record<string, unknown>
  const text = (key: string) => (typeof v[key] === 'string' ? (v[key] as string) : '')
  if (v.version !== 1) return `unknown version ${JSON.stringify(v.version)}`
  if (!REPOSITORY_RE.test(text('repository'))) return 'repository is not owner/repo'
  if (!/^\d{1,20}$/.test(text('synctoken'))) return 'synctoken is not digits'
  for (const key of ['createTime', 'dispatchedAt']) {
    if (Number.isNaN(Date.parse(text(key)))) return `${key} is not a date-time`
  }
  return {
    version: 1,
    repository: text('repository'),
    eventType: text('eventType'),
    synctoken: text('synctoken'),
    createTime: text('createTime'),
    dispatchedAt: text('dispatchedAt')
  }
}

export async function scheduleChecks(
  config: WatchdogConfig | undefined,
  deliveries: Delivery[],
  eventType: string,
  log: Logger
): Promise<number> {
  if (!config) return 0
  let scheduled = 0
  for (const delivery of deliveries) {
    const request = checkRequestOf(delivery, eventType)
    try {
      const messageId = await sendMessage(
        config.queueUrl,
        JSON.stringify(request),
        config.delaySeconds
      )
      scheduled++
      log.info('watchdog scheduled', {
        repository: request.repository,
        synctoken: request.synctoken,
        delaySeconds: config.delaySeconds,
        sqsMessageId: messageId
      })
    } catch (err) {
      log.error('watchdog not scheduled', {
        repository: request.repository,
        synctoken: request.synctoken,
        error: (err as Error).message,
        hint: 'the execution role needs sqs:SendMessage on the watchdog queue (WATCHDOG_QUEUE_URL)'
      })
    }
  }
  return scheduled
}
