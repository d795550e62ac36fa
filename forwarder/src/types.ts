// The shapes Lambda hands the function when SNS invokes it, as documented in
// https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html (the "Example SNS message event").
// Declared here, not taken from @types/aws-lambda, so the bundle has no type-only dependency.

export interface SnsMessage {
  Type: string
  MessageId: string
  TopicArn: string
  Subject?: string | null
  Message: string
  Timestamp: string
  SignatureVersion?: string
  Signature?: string
  SigningCertUrl?: string
  UnsubscribeUrl?: string
  MessageAttributes?: Record<string, { Type: string; Value: string }>
}

export interface SnsEventRecord {
  EventVersion: string
  EventSubscriptionArn: string
  EventSource: string
  Sns: SnsMessage
}

export interface SnsEvent {
  Records: SnsEventRecord[]
}

/** The part of the Lambda context object the handler uses. */
export interface LambdaContext {
  awsRequestId?: string
  functionName?: string
  getRemainingTimeInMillis?: () => number
}
