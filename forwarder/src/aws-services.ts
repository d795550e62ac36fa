// The watchdog's two AWS calls through the SDK's clients, as secret.ts reads its secret: one
// client per region, kept for the container's life; the SDK signs, retries (3 attempts) and
// honours the standard endpoint settings, e.g. AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_SNS
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
// - SQS SendMessage: the client speaks AWS JSON 1.0 and sends to the queue URL's host
//   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
// - SNS Publish: the Query protocol (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns'
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs'

export class AwsCallError extends Error {
  constructor(
    message: string,
    readonly code: string
  ) {
    super(message)
    this.name = 'AwsCallError'
  }
}

const sqsClients = new Map<string, SQSClient>()
const snsClients = new Map<string, SNSClient>()

/** `us-west-2` in https://sqs.us-west-2.amazonaws.com/123456789012/name; other hosts: none. */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  return /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\//.exec(queueUrl)?.[1]
}

/** `us-east-1` in arn:aws:sns:us-east-1:123456789012:topic. */
export function regionOfTopicArn(topicArn: string): string | undefined {
  return /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:/.exec(topicArn)?.[1]
}

/** The client for `region` (or the function's own region when undefined), made once. */
function cached<C>(clients: Map<string, C>, region: string | undefined, make: () => C): C {
  const key = region ?? ''
  let client = clients.get(key)
  if (!client) {
    client = make()
    clients.set(key, client)
  }
  return client
}

// Each attempt bounded (by default the SDK only warns when requestTimeout passes, and waits
// on): a queue or topic that hangs must not hold the forwarder to its 60 s timeout, after which
// Lambda would send the event, and so the dispatch, again.
const settings = (region: string | undefined) => ({
  ...(region ? { region } : {}),
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true }
})

function failure(operation: string, err: unknown): AwsCallError {
  const name = err instanceof Error ? err.name : 'Error'
  const message = err instanceof Error ? err.message : String(err)
  return new AwsCallError(`${operation} failed: ${name}: ${message}`, name)
}

/** SendMessage; returns the MessageId. `delaySeconds`: 0 to 900 (SQS's limit). */
export async function sendMessage(
  queueUrl: string,
  body: string,
  delaySeconds: number
): Promise<string> {
  const region = regionOfQueueUrl(queueUrl)
  const client = cached(sqsClients, region, () => new SQSClient(settings(region)))
  try {
    const out = await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds })
    )
    return out.MessageId ?? ''
  } catch (err) {
    throw failure('sqs:SendMessage', err)
  }
}

/** Publish; returns the MessageId. SNS limits the subject to 100 printable ASCII characters. */
export async function publish(topicArn: string, subject: string, message: string): Promise<string> {
  const region = regionOfTopicArn(topicArn)
  const client = cached(snsClients, region, () => new SNSClient(settings(region)))
  try {
    const out = await client.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
        Message: message
      })
    )
    return out.MessageId ?? ''
  } catch (err) {
    throw failure('sns:Publish', err)
  }
}
