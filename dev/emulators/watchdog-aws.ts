// Loopback emulators of the two AWS calls the forwarder's watchdog makes through the SDK's
// clients, each in the protocol the client speaks on the wire:
// - SQS SendMessage, AWS JSON 1.0: `POST /`, `Content-Type: application/x-amz-json-1.0`,
//   `X-Amz-Target: AmazonSQS.SendMessage`, body {QueueUrl, MessageBody, DelaySeconds}; answer
//   {MessageId, MD5OfMessageBody}; errors 400 {"__type": "com.amazonaws.sqs#...", "message"} with
//   the `x-amzn-query-error` header.
//   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
// - SNS Publish, Query: form body Action=Publish&Version=2010-03-31&TopicArn&Subject&Message;
//   answer <PublishResponse><PublishResult><MessageId>; errors <ErrorResponse><Error><Code>.
//   https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
// Each request must carry a SigV4 Authorization header scoped to the service's signing name
// (sqs, sns); the signature itself is not verified. Point the clients at them with
// AWS_ENDPOINT_URL_SQS / _SNS. The queue URLs this emulator hands out are on its own host, as the
// URL a real queue has is on SQS's: the SQS client sends to the queue URL's host
// (`useQueueUrlAsEndpoint`, on by default), so a URL on amazonaws.com would leave loopback.
import { createHash, randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { listenLoopback, readBody, sendJson } from './http-util.js'
import type { Listening } from './http-util.js'

const JSON_10 = 'application/x-amz-json-1.0'

export interface SentMessage {
  messageId: string
  queueUrl: string
  body: string
  delaySeconds: number
  sentAt: number
}

export interface PublishedMessage {
  messageId: string
  topicArn: string
  subject?: string
  message: string
}

export interface WatchdogAwsOptions {
  region?: string
  accountId?: string
  queues?: string[]
  topics?: string[]
}

function signedFor(req: IncomingMessage, service: string): boolean {
  const auth = String(req.headers.authorization ?? '')
  const scope = new RegExp(
    `^AWS4-HMAC-SHA256 Credential=[^/]+/\\d{8}/[a-z0-9-]+/${service}/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`
  )
  return scope.test(auth) && typeof req.headers['x-amz-date'] === 'string'
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() })
  res.end(`<?xml version="1.0"?>\n${xml}`)
}

function queryError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  ns: string
) {
  sendXml(
    res,
    status,
    `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`
  )
}

/** SQS and SNS on one loopback port each. */
export class WatchdogAwsEmulator {
  readonly sent: SentMessage[] = []
  readonly published: PublishedMessage[] = []
  /** Every request: service, operation and the HTTP status answered. */
  readonly calls: { service: string; operation: string; status: number }[] = []
  /** Services (`sns`, `sqs`) that read every request and never answer, as a stalled network. */
  readonly hang = new Set<string>()
  /** Requests left unanswered by `hang`. */
  unanswered = 0
  /** Scripted failures for the next call of a service (`sns`, `sqs`). */
  readonly failNext = new Map<string, { status: number; code: string }>()
  private readonly queues = new Set<string>()
  private readonly topics = new Set<string>()
  private readonly region: string
  private readonly accountId: string
  private sqs: Listening | undefined
  private sns: Listening | undefined

  private constructor(options: WatchdogAwsOptions) {
    this.region = options.region ?? 'us-east-1'
    this.accountId = options.accountId ?? '123456789012'
    for (const name of options.queues ?? []) this.queues.add(name)
    for (const name of options.topics ?? []) this.topics.add(name)
  }

  static async start(options: WatchdogAwsOptions = {}): Promise<WatchdogAwsEmulator> {
    const emulator = new WatchdogAwsEmulator(options)
    emulator.sqs = await listenLoopback((req, res) => emulator.handleSqs(req, res))
    emulator.sns = await listenLoopback((req, res) => emulator.handleSns(req, res))
    return emulator
  }

  /** AWS_ENDPOINT_URL_SQS and _SNS for this emulator. */
  get env(): Record<string, string> {
    if (!this.sqs || !this.sns) throw new Error('emulator not started')
    return { AWS_ENDPOINT_URL_SQS: this.sqs.url, AWS_ENDPOINT_URL_SNS: this.sns.url }
  }

  queueUrl(name: string): string {
    if (!this.sqs) throw new Error('emulator not started')
    return `${this.sqs.url}/${this.accountId}/${name}`
  }

  topicArn(name: string): string {
    return `arn:aws:sns:${this.region}:${this.accountId}:${name}`
  }

  /**
   * Takes every message sent so far out of the queue, as Lambda's SQS event source hands them to
   * a function (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), whatever their delay:
   * tests stand in for the passing of time.
   */
  drainAsLambdaEvent(): { Records: Record<string, unknown>[] } {
    const messages = this.sent.splice(0)
    return {
      Records: messages.map(m => ({
        messageId: m.messageId,
        receiptHandle: `rh-${m.messageId}`,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(m.sentAt),
          ApproximateFirstReceiveTimestamp: String(m.sentAt + m.delaySeconds * 1000)
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(m.body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${this.region}:${this.accountId}:${m.queueUrl.split('/').pop()}`,
        awsRegion: this.region
      }))
    }
  }

  reset(): void {
    this.sent.length = 0
    this.published.length = 0
    this.calls.length = 0
    this.failNext.clear()
    this.hang.clear()
    this.unanswered = 0
  }

  async close(): Promise<void> {
    await Promise.all([this.sqs?.close(), this.sns?.close()])
  }

  private async handleSqs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req)
    if (this.hang.has('sqs')) {
      this.unanswered++
      return
    }
    const target = String(req.headers['x-amz-target'] ?? '')
    const operation = target.replace(/^AmazonSQS\./, '')
    const fail = (status: number, type: string, queryCode: string, message: string) => {
      this.calls.push({ service: 'sqs', operation, status })
      sendJson(
        res,
        status,
        { __type: `com.amazonaws.sqs#${type}`, message },
        { 'x-amzn-query-error': `${queryCode};Sender`, 'x-amzn-requestid': randomUUID() },
        JSON_10
      )
    }
    if (!String(req.headers['content-type'] ?? '').startsWith(JSON_10)) {
      return fail(400, 'InvalidAction', 'InvalidAction', `Content-Type must be ${JSON_10}`)
    }
    if (!signedFor(req, 'sqs')) {
      return fail(400, 'MissingAuthenticationToken', 'MissingAuthenticationToken', 'Unsigned')
    }
    const scripted = this.failNext.get('sqs')
    if (scripted) {
      this.failNext.delete('sqs')
      return fail(scripted.status, scripted.code, scripted.code, scripted.code)
    }
    if (operation !== 'SendMessage') {
      return fail(400, 'InvalidAction', 'InvalidAction', `Unsupported operation ${target}`)
    }
    let body: { QueueUrl?: unknown; MessageBody?: unknown; DelaySeconds?: unknown }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      return fail(400, 'SerializationException', 'SerializationException', 'Malformed JSON')
    }
    const queueName = typeof body.QueueUrl === 'string' ? body.QueueUrl.split('/').pop() : ''
    if (!queueName || !this.queues.has(queueName)) {
      return fail(
        400,
        'QueueDoesNotExist',
        'AWS.SimpleQueueService.NonExistentQueue',
        'The specified queue does not exist.'
      )
    }
    const delay = body.DelaySeconds ?? 0
    if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 0 || delay > 900) {
      return fail(
        400,
        'InvalidParameterValue',
        'InvalidParameterValue',
        `Value ${String(delay)} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`
      )
    }
    if (typeof body.MessageBody !== 'string' || body.MessageBody === '') {
      return fail(
        400,
        'MissingParameter',
        'MissingParameter',
        'The request must contain the parameter MessageBody.'
      )
    }
    const messageId = randomUUID()
    this.sent.push({
      messageId,
      queueUrl: body.QueueUrl as string,
      body: body.MessageBody,
      delaySeconds: delay,
      sentAt: Date.now()
    })
    this.calls.push({ service: 'sqs', operation, status: 200 })
    sendJson(
      res,
      200,
      {
        MessageId: messageId,
        MD5OfMessageBody: createHash('md5').update(body.MessageBody).digest('hex')
      },
      { 'x-amzn-requestid': randomUUID() },
      JSON_10
    )
  }

  private async handleSns(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = new URLSearchParams(await readBody(req))
    if (this.hang.has('sns')) {
      this.unanswered++
      return
    }
    const operation = params.get('Action') ?? ''
    const ns = 'http://sns.amazonaws.com/doc/2010-03-31/'
    const fail = (status: number, code: string, message: string) => {
      this.calls.push({ service: 'sns', operation, status })
      queryError(res, status, code, message, ns)
    }
    if (
      !String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    ) {
      return fail(400, 'InvalidAction', 'Content-Type must be application/x-www-form-urlencoded')
    }
    if (!signedFor(req, 'sns')) return fail(403, 'MissingAuthenticationToken', 'Unsigned')
    const scripted = this.failNext.get('sns')
    if (scripted) {
      this.failNext.delete('sns')
      return fail(scripted.status, scripted.code, scripted.code)
    }
    if (operation !== 'Publish' || params.get('Version') !== '2010-03-31') {
      return fail(400, 'InvalidAction', `Could not find operation ${operation}`)
    }
    const topicArn = params.get('TopicArn') ?? ''
    if (!this.topics.has(topicArn.split(':').pop() ?? '')) {
      return fail(404, 'NotFound', 'Topic does not exist')
    }
    const subject = params.get('Subject') ?? undefined
    // SNS: at most 100 characters, ASCII, no line breaks, not starting with a space.
    if (subject !== undefined && (subject.length > 100 || !/^[\x20-\x7e]+$/.test(subject))) {
      return fail(400, 'InvalidParameter', 'Invalid parameter: Subject')
    }
    const message = params.get('Message') ?? ''
    if (message === '') return fail(400, 'InvalidParameter', 'Invalid parameter: Empty message')
    const messageId = randomUUID()
    this.published.push({ messageId, topicArn, message, ...(subject ? { subject } : {}) })
    this.calls.push({ service: 'sns', operation, status: 200 })
    sendXml(
      res,
      200,
      `<PublishResponse xmlns="${ns}"><PublishResult><MessageId>${messageId}</MessageId>` +
        `</PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId>` +
        '</ResponseMetadata></PublishResponse>'
    )
  }
}
