// The watchdog's three AWS calls, each in the protocol the service's current SDK speaks:
// - SQS SendMessage: AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.SendMessage`), the protocol of the
//   SQS API since 2023 (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
// - SNS Publish: the Query protocol (form body, XML answer)
//   (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
// - CloudWatch PutMetricData: the Query protocol, which CloudWatch still accepts beside its newer
//   CBOR one (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html).
import type { AwsResponse, AwsService } from './aws-request.js'
import { AwsCallError, sendAwsRequest } from './aws-request.js'

type Env = Record<string, string | undefined>

export const SQS: AwsService = { signingName: 'sqs', hostPrefix: 'sqs', endpointEnv: 'SQS' }
export const SNS: AwsService = { signingName: 'sns', hostPrefix: 'sns', endpointEnv: 'SNS' }
export const CLOUDWATCH: AwsService = {
  signingName: 'monitoring',
  hostPrefix: 'monitoring',
  endpointEnv: 'CLOUDWATCH'
}

const FORM = 'application/x-www-form-urlencoded; charset=utf-8'

/** SendMessage; returns the MessageId. `delaySeconds`: 0 to 900 (SQS's limit). */
export async function sendMessage(
  queueUrl: string,
  body: string,
  delaySeconds: number,
  env: Env = process.env
): Promise<string> {
  const res = await sendAwsRequest(
    {
      service: SQS,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.SendMessage'
      },
      body: JSON.stringify({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds })
    },
    env
  )
  if (res.status !== 200) throw jsonError('sqs:SendMessage', res)
  return String((JSON.parse(res.text) as { MessageId?: unknown }).MessageId ?? '')
}

/** Publish; returns the MessageId. SNS limits the subject to 100 printable ASCII characters. */
export async function publish(
  topicArn: string,
  subject: string,
  message: string,
  env: Env = process.env
): Promise<string> {
  const res = await query(
    SNS,
    {
      Action: 'Publish',
      Version: '2010-03-31',
      TopicArn: topicArn,
      Subject: subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
      Message: message
    },
    env
  )
  if (res.status !== 200) throw xmlError('sns:Publish', res)
  return /<MessageId>([^<]*)<\/MessageId>/.exec(res.text)?.[1] ?? ''
}

export interface MetricDatum {
  name: string
  value: number
  unit: 'Count' | 'Seconds'
  dimensions: Record<string, string>
  timestamp?: Date
}

export async function putMetricData(
  namespace: string,
  data: MetricDatum[],
  env: Env = process.env
): Promise<void> {
  const params: Record<string, string> = {
    Action: 'PutMetricData',
    Version: '2010-08-01',
    Namespace: namespace
  }
  data.forEach((datum, i) => {
    const member = `MetricData.member.${i + 1}`
    params[`${member}.MetricName`] = datum.name
    params[`${member}.Value`] = String(datum.value)
    params[`${member}.Unit`] = datum.unit
    if (datum.timestamp) params[`${member}.Timestamp`] = datum.timestamp.toISOString()
    Object.entries(datum.dimensions).forEach(([name, value], j) => {
      params[`${member}.Dimensions.member.${j + 1}.Name`] = name
      params[`${member}.Dimensions.member.${j + 1}.Value`] = value
    })
  })
  const res = await query(CLOUDWATCH, params, env)
  if (res.status !== 200) throw xmlError('cloudwatch:PutMetricData', res)
}

function query(service: AwsService, params: Record<string, string>, env: Env) {
  return sendAwsRequest(
    { service, headers: { 'content-type': FORM }, body: new URLSearchParams(params).toString() },
    env
  )
}

function jsonError(operation: string, res: AwsResponse): AwsCallError {
  let code = `HTTP${res.status}`
  let message = res.text.slice(0, 300)
  try {
    const body = JSON.parse(res.text) as { __type?: string; message?: string; Message?: string }
    code = (body.__type ?? code).replace(/^.*#/, '')
    message = body.message ?? body.Message ?? message
  } catch {
    // not JSON: keep the text
  }
  return new AwsCallError(`${operation} failed: ${code}: ${message}`, code, res.status)
}

function xmlError(operation: string, res: AwsResponse): AwsCallError {
  const code = /<Code>([^<]*)<\/Code>/.exec(res.text)?.[1] ?? `HTTP${res.status}`
  const message = /<Message>([^<]*)<\/Message>/.exec(res.text)?.[1] ?? res.text.slice(0, 300)
  return new AwsCallError(`${operation} failed: ${code}: ${message}`, code, res.status)
}
