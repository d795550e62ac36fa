// Decides, for one record of the SNS event, whether it is an AmazonIpSpaceChanged notification
// worth forwarding. Anything else gets a reason and is dropped, never forwarded.
//
// Record shape: https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
// Message shape: {"create-time":"yyyy-mm-ddThh:mm:ss+00:00","synctoken":"0123456789",
//   "md5":"6a45316e8bc9463c9e926d5d37836d33","url":"https://ip-ranges.amazonaws.com/ip-ranges.json"}
//   https://docs.aws.amazon.com/vpc/latest/userguide/subscribe-notifications.html

export const IP_RANGES_HOST = 'ip-ranges.amazonaws.com'
/** The real message is ~170 bytes; anything far larger is not one. */
export const MAX_MESSAGE_BYTES = 4096

export interface IpRangesNotification {
  createTime: string
  synctoken: string
  md5: string
  url: string
}

export type RecordVerdict =
  | { ok: true; messageId: string | undefined; notification: IpRangesNotification }
  | { ok: false; messageId: string | undefined; topicArn: string | undefined; reason: string }

const CREATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/
const SYNCTOKEN_RE = /^\d{1,20}$/
const MD5_RE = /^[0-9a-fA-F]{32}$/

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A value safe to put in a log line: a string cut to 100 characters, or its type. */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value)
  }
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
}

export function parseNotificationMessage(
  message: unknown
): { ok: true; notification: IpRangesNotification } | { ok: false; reason: string } {
  if (typeof message !== 'string') return { ok: false, reason: 'Message is not a string' }
  if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) {
    return { ok: false, reason: `Message is larger than ${MAX_MESSAGE_BYTES} bytes` }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(message)
  } catch {
    return { ok: false, reason: 'Message is not JSON' }
  }
  if (!isObject(parsed)) return { ok: false, reason: 'Message is not a JSON object' }

  const createTime = parsed['create-time']
  if (
    typeof createTime !== 'string' ||
    !CREATE_TIME_RE.test(createTime) ||
    Number.isNaN(Date.parse(createTime))
  ) {
    return {
      ok: false,
      reason: `create-time ${describe(createTime)} is not an ISO 8601 date-time`
    }
  }
  const synctoken = parsed.synctoken
  if (typeof synctoken !== 'string' || !SYNCTOKEN_RE.test(synctoken)) {
    return { ok: false, reason: `synctoken ${describe(synctoken)} is not a string of digits` }
  }
  const md5 = parsed.md5
  if (typeof md5 !== 'string' || !MD5_RE.test(md5)) {
    return { ok: false, reason: `md5 ${describe(md5)} is not 32 hexadecimal digits` }
  }
  const rawUrl = parsed.url
  if (typeof rawUrl !== 'string' || rawUrl.length > 2048) {
    return { ok: false, reason: `url ${describe(rawUrl)} is not a URL` }
  }
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return { ok: false, reason: `url ${describe(rawUrl)} is not a URL` }
  }
  if (
    url.protocol !== 'https:' ||
    url.hostname !== IP_RANGES_HOST ||
    url.port !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    return {
      ok: false,
      reason: `url ${describe(rawUrl)} is not https://${IP_RANGES_HOST}/...`
    }
  }
  return {
    ok: true,
    notification: { createTime, synctoken, md5: md5.toLowerCase(), url: url.href }
  }
}

export function inspectRecord(record: unknown, topicArn: string): RecordVerdict {
  if (!isObject(record)) {
    return {
      ok: false,
      messageId: undefined,
      topicArn: undefined,
      reason: 'record is not an object'
    }
  }
  const sns = record.Sns
  const messageId = isObject(sns) && typeof sns.MessageId === 'string' ? sns.MessageId : undefined
  const recordTopic = isObject(sns) && typeof sns.TopicArn === 'string' ? sns.TopicArn : undefined
  const drop = (reason: string): RecordVerdict => ({
    ok: false,
    messageId,
    topicArn: recordTopic,
    reason
  })
  if (record.EventSource !== 'aws:sns' || !isObject(sns)) {
    return drop(`not an SNS record (EventSource ${describe(record.EventSource)})`)
  }
  if (sns.Type !== 'Notification') return drop(`Sns.Type ${describe(sns.Type)} is not Notification`)
  if (recordTopic !== topicArn) {
    return drop(`topic ${describe(recordTopic)} is not the configured topic ${topicArn}`)
  }
  const parsed = parseNotificationMessage(sns.Message)
  if (!parsed.ok) return drop(parsed.reason)
  return { ok: true, messageId, notification: parsed.notification }
}
