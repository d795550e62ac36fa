// The watchdog's settings, from the environment like the forwarder's (config.ts) and checked
// before any call. Without WATCHDOG_QUEUE_URL the watchdog is off: the forwarder only dispatches.
import { ConfigError } from './config.js'

type Env = Record<string, string | undefined>

/** SQS's limit for a message's DelaySeconds (15 minutes). */
export const MAX_DELAY_SECONDS = 900
export const DEFAULT_DELAY_SECONDS = 900
export const METRIC_NAMESPACE = 'CloudFrontSgSync'

export interface WatchdogConfig {
  queueUrl: string
  delaySeconds: number
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])
const TOPIC_ARN_RE = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/

/** The scheduling side (the forwarder): undefined when the watchdog is off. */
export function loadWatchdogConfig(env: Env): WatchdogConfig | undefined {
  const queueUrl = (env.WATCHDOG_QUEUE_URL ?? '').trim()
  if (queueUrl === '') return undefined
  let url: URL | undefined
  try {
    url = new URL(queueUrl)
  } catch {
    url = undefined
  }
  if (
    !url ||
    !(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))
  ) {
    throw new ConfigError(
      `WATCHDOG_QUEUE_URL: ${JSON.stringify(queueUrl)} is not a queue URL ` +
        '(expected https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)'
    )
  }
  const rawDelay = (env.WATCHDOG_DELAY_SECONDS ?? '').trim() || String(DEFAULT_DELAY_SECONDS)
  const delaySeconds = /^\d{1,3}$/.test(rawDelay) ? Number(rawDelay) : NaN
  if (!(delaySeconds >= 0 && delaySeconds <= MAX_DELAY_SECONDS)) {
    throw new ConfigError(
      `WATCHDOG_DELAY_SECONDS: ${JSON.stringify(rawDelay)} is invalid (expected a whole number ` +
        `of seconds from 0 to ${MAX_DELAY_SECONDS}, SQS's limit for DelaySeconds)`
    )
  }
  return { queueUrl, delaySeconds }
}

/** The checking side (the watchdog handler): where alarms go. */
export function loadAlarmTopicArn(env: Env): string {
  const arn = (env.ALARM_TOPIC_ARN ?? '').trim()
  if (!TOPIC_ARN_RE.test(arn)) {
    throw new ConfigError(
      `ALARM_TOPIC_ARN ${arn === '' ? 'is not set' : `${JSON.stringify(arn)} is invalid`} ` +
        '(expected the SNS topic ARN the watchdog publishes alarms to)'
    )
  }
  return arn
}
