// SNS -> Lambda events in the shape AWS documents for the SNS trigger
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html, "Example SNS message event").
import { randomUUID } from 'node:crypto'
import type { SnsEvent, SnsMessage } from '../src/types.js'

export const AWS_TOPIC = 'arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged'

/** A message as AWS publishes it to AmazonIpSpaceChanged. */
export const VALID_MESSAGE = {
  'create-time': '2026-08-13T10:13:05+00:00',
  synctoken: '1786615985',
  md5: '0f8e1a2b3c4d5e6f708192a3b4c5d6e7',
  url: 'https://ip-ranges.amazonaws.com/ip-ranges.json'
}

export function snsEvent(
  message: unknown = VALID_MESSAGE,
  sns: Partial<SnsMessage> = {}
): SnsEvent {
  const topicArn = sns.TopicArn ?? AWS_TOPIC
  const messageId = randomUUID()
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
        EventSource: 'aws:sns',
        Sns: {
          SignatureVersion: '1',
          Timestamp: '2026-08-13T10:13:06.123Z',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem',
          MessageId: messageId,
          Message: typeof message === 'string' ? message : JSON.stringify(message),
          MessageAttributes: {},
          Type: 'Notification',
          UnsubscribeUrl: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:x`,
          TopicArn: topicArn,
          Subject: null,
          ...sns
        }
      }
    ]
  }
}

export function lambdaContext(remainingMs = 60_000) {
  const deadline = Date.now() + remainingMs
  return {
    awsRequestId: randomUUID(),
    functionName: 'sns-forwarder-test',
    getRemainingTimeInMillis: () => deadline - Date.now()
  }
}
