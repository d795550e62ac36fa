// What the triggering event asks for. Pure: the caller hands in the event name and the parsed event
// payload (the runner's GITHUB_EVENT_NAME and GITHUB_EVENT_PATH file) plus the two inputs this needs.
//
// - `schedule`, `workflow_dispatch`, any other event and no event at all: run on the latest file.
// - `repository_dispatch`: `payload.action` holds the dispatch's `event_type`. A type listed in
//   `dispatch-event-types` runs with the notification carried in `client_payload`; any other type is
//   skipped (the workflow may listen to dispatches meant for other jobs).
//   https://docs.github.com/en/actions/writing-workflows/choosing-when-your-workflow-runs/events-that-trigger-workflows#repository_dispatch
// - `client_payload` carries the AmazonIpSpaceChanged message forwarded by the SNS forwarder:
//   `{ "create-time": "yyyy-mm-ddThh:mm:ss+00:00", "synctoken": "0123456789", "md5": "<32 hex>",
//   "url": "https://ip-ranges.amazonaws.com/ip-ranges.json" }`, renamed create-time -> create_time.
//   https://docs.aws.amazon.com/vpc/latest/userguide/subscribe-notifications.html
//   Anyone who can dispatch to the repository can write these fields, so each one is checked and a
//   bad one rejects the whole run before anything is read or changed.
import { ConfigError, splitList } from './input.js'
import { isLoopbackHostname } from './ranges/fetch.js'
import { judgeSyncToken, MAX_SYNC_TOKEN_DIGITS } from './sync-token.js'
import type { Notification } from './types.js'

export const DEFAULT_DISPATCH_EVENT_TYPE = 'aws-ip-ranges-changed'
// "event_type: A custom webhook event name. Must be 100 characters or fewer."
// https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
export const MAX_EVENT_TYPE_LENGTH = 100
/** The host AWS publishes ip-ranges.json on, as its change notifications name it. */
const OFFICIAL_HOST = 'ip-ranges.amazonaws.com'

/** The triggering event as the runner describes it. */
export interface TriggerContext {
  eventName?: string
  /** The parsed webhook event (the runner's GITHUB_EVENT_PATH file). */
  payload?: Record<string, unknown>
}

export type TriggerDecision =
  | {
      kind: 'run'
      /** What the dispatch announced; empty for schedule, workflow_dispatch and others. */
      notification: Notification
      /** The event name (`schedule`, `repository_dispatch`, ...), `none` when run outside Actions. */
      event: string
    }
  | { kind: 'skip'; reason: string; event: string }

export interface TriggerOptions {
  /** Accepted `repository_dispatch` event types (see `parseDispatchEventTypes`). */
  dispatchEventTypes: string[]
  /** The configured `ip-ranges-url`: a dispatched `url` must be on the same host. */
  ipRangesUrl: string
  /** The run's clock: a dispatched synctoken later than this (plus skew) is refused. */
  now: Date
}

const MD5 = /^[0-9a-f]{32}$/i
// ISO 8601 date-time with an offset, as in the documented sample `yyyy-mm-ddThh:mm:ss+00:00`;
// fractions and `Z` are accepted too (loose on purpose, strict on size).
const CREATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/
const MAX_CREATE_TIME_LENGTH = 40
const MAX_URL_LENGTH = 2048

export function parseTrigger(trigger: TriggerContext, options: TriggerOptions): TriggerDecision {
  const event = trigger.eventName?.trim() || 'none'
  if (event !== 'repository_dispatch') return { kind: 'run', notification: {}, event }

  const eventType = trigger.payload?.action
  if (typeof eventType !== 'string' || !options.dispatchEventTypes.includes(eventType)) {
    const shown = typeof eventType === 'string' ? describe(eventType) : '(none)'
    return {
      kind: 'skip',
      event,
      reason:
        `repository_dispatch event type ${shown} is not one of dispatch-event-types ` +
        `(${options.dispatchEventTypes.join(', ')}): nothing to do for this action.`
    }
  }
  return { kind: 'run', event, notification: notificationFrom(trigger.payload, options) }
}

/**
 * The `dispatch-event-types` input: event types separated by commas or newlines, each 1 to 100
 * characters; empty means the default `aws-ip-ranges-changed` (what the forwarder sends).
 */
export function parseDispatchEventTypes(value: string): string[] {
  const types = [...new Set(splitList(value))]
  if (types.length === 0) return [DEFAULT_DISPATCH_EVENT_TYPE]
  for (const type of types) {
    if (type.length > MAX_EVENT_TYPE_LENGTH) {
      throw new ConfigError(
        `Input 'dispatch-event-types' has an invalid value '${clip(type)}': expected event types of ` +
          `at most ${MAX_EVENT_TYPE_LENGTH} characters (GitHub's event_type limit), comma or ` +
          'newline separated.'
      )
    }
  }
  return types
}

function notificationFrom(
  payload: Record<string, unknown> | undefined,
  options: TriggerOptions
): Notification {
  const clientPayload = payload?.client_payload
  if (clientPayload === undefined || clientPayload === null) return {}
  if (typeof clientPayload !== 'object' || Array.isArray(clientPayload)) {
    throw new ConfigError(
      `The repository_dispatch client_payload is ${describe(clientPayload)}: expected a JSON ` +
        'object with the fields synctoken, md5, url and create_time.'
    )
  }
  const fields = clientPayload as Record<string, unknown>
  const notification: Notification = {}

  // A future synctoken would make the run refuse the genuine file as stale, and is never what AWS
  // sent: refused with the reason (too long, or later than the runner's clock allows).
  const syncToken = field(fields, 'synctoken', value => {
    const verdict = judgeSyncToken(value, options.now)
    return verdict.plausible ? value : { reason: verdict.reason }
  })
  if (syncToken !== undefined) notification.syncToken = syncToken

  const md5 = field(fields, 'md5', value => (MD5.test(value) ? value.toLowerCase() : undefined))
  if (md5 !== undefined) notification.md5 = md5

  const createTime = field(fields, 'create_time', value =>
    value.length <= MAX_CREATE_TIME_LENGTH &&
    CREATE_TIME.test(value) &&
    !Number.isNaN(Date.parse(value))
      ? value
      : undefined
  )
  if (createTime !== undefined) notification.createTime = createTime

  const url = field(fields, 'url', value => checkUrl(value, options.ipRangesUrl))
  if (url !== undefined) notification.url = url

  return notification
}

const EXPECTED: Record<string, string> = {
  synctoken:
    `a string of 1 to ${MAX_SYNC_TOKEN_DIGITS} digits: the publication time in epoch seconds, ` +
    'which cannot lie in the future',
  md5: 'a string of 32 hexadecimal characters (the MD5 of ip-ranges.json)',
  create_time: `an ISO 8601 date-time such as '2026-08-13T10:13:05+00:00' (at most ${MAX_CREATE_TIME_LENGTH} characters)`,
  url: 'the https URL of ip-ranges.json on ip-ranges.amazonaws.com or the host of ip-ranges-url'
}

/**
 * One optional string field: absent, null or '' means "not announced"; anything else must pass
 * `check`, which returns the normalised value, or undefined (or why) when the value is invalid.
 */
function field(
  fields: Record<string, unknown>,
  name: string,
  check: (value: string) => string | { reason: string } | undefined
): string | undefined {
  const value = fields[name]
  if (value === undefined || value === null || value === '') return undefined
  const checked = typeof value === 'string' ? check(value) : undefined
  if (typeof checked !== 'string') {
    const why = checked === undefined ? '' : `: ${checked.reason}`
    throw new ConfigError(
      `The repository_dispatch client_payload field '${name}' is invalid (${describe(value)}` +
        `${why}): expected ${EXPECTED[name]}. Nothing was changed.`
    )
  }
  return checked
}

function checkUrl(value: string, ipRangesUrl: string): string | undefined {
  if (value.length > MAX_URL_LENGTH) return undefined
  let url: URL
  let expected: URL
  try {
    url = new URL(value)
    expected = new URL(ipRangesUrl)
  } catch {
    return undefined
  }
  // Plain http only where ip-ranges-url itself is plain http on a loopback host (tests, the demo).
  const loopbackHttp =
    url.protocol === 'http:' &&
    expected.protocol === 'http:' &&
    isLoopbackHostname(expected.hostname)
  if (url.protocol !== 'https:' && !loopbackHttp) return undefined
  if (url.username !== '' || url.password !== '') return undefined
  // AWS's notifications always name AWS's own file, also when ip-ranges-url points at a mirror (or a
  // test server): the action downloads from ip-ranges-url either way and only compares the MD5.
  if (url.protocol === 'https:' && url.host === OFFICIAL_HOST) return url.href
  // `host` includes a non-default port: the same host on another port is another server.
  if (url.host !== expected.host) return undefined
  return url.href
}

/** A value safe for a log line: strings JSON-quoted (no raw newlines) and cut to 100 characters. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(clip(value))
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

function clip(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text
}
