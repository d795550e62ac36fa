// Parses infra/sns-forwarder.yml (CloudFormation YAML, short-form intrinsic tags included) and
// checks what it grants: the execution role may write its own log group, read its one secret
// and send to its own dead-letter queue and the watchdog's queue, and nothing else; the watchdog's
// role is as narrow.
import { fileURLToPath } from 'node:url'
import type { CfnDoc } from '../../__tests__/helpers/cfn-yaml.js'
import { loadCfnTemplate, resourcesOfType as ofType } from '../../__tests__/helpers/cfn-yaml.js'

type Doc = CfnDoc

const TEMPLATE = fileURLToPath(new URL('../../infra/sns-forwarder.yml', import.meta.url))

const template = loadCfnTemplate(TEMPLATE)
const resources = template.Resources

function resourcesOfType(type: string): [string, Doc][] {
  return ofType(template, type)
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1)
  return items[0] as T
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v])

/** The forwarder function and role (the watchdog's are checked at the end). */
const props = (name: string): Doc => resources[name]?.Properties as Doc
const forwarderFunction = (): Doc => props('ForwarderFunction')

test('the template parses, with the short-form tags turned into intrinsic functions', () => {
  expect(template.AWSTemplateFormatVersion).toBe('2010-09-09')
  expect(resourcesOfType('AWS::Lambda::Function').map(([name]) => name)).toEqual([
    'ForwarderFunction',
    'WatchdogFunction'
  ])
  const fn = forwarderFunction()
  expect(fn.Role).toEqual({ 'Fn::GetAtt': ['ForwarderRole', 'Arn'] })
})

test('the function: newest Node.js runtime, index.handler, code from the S3 parameters, DLQ', () => {
  const fn = forwarderFunction()
  expect(fn.Runtime).toBe('nodejs24.x')
  expect(fn.Handler).toBe('index.handler')
  expect(fn.Code).toEqual({ S3Bucket: { Ref: 'CodeS3Bucket' }, S3Key: { Ref: 'CodeS3Key' } })
  expect(fn.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } })
  expect(fn.LoggingConfig).toMatchObject({ LogGroup: { Ref: 'ForwarderLogGroup' } })
  const vars = (fn.Environment as { Variables: Doc }).Variables
  expect(Object.keys(vars).sort()).toEqual([
    'EVENT_TYPE',
    'GITHUB_API_URL',
    'GITHUB_TOKEN_SECRET_ID',
    'NODE_OPTIONS',
    'TARGET_REPOSITORIES',
    'TOPIC_ARN',
    'WATCHDOG_DELAY_SECONDS',
    'WATCHDOG_QUEUE_URL'
  ])
})

test('the execution role grants exactly: logs on its group, GetSecretValue on its secret, SendMessage to its DLQ and the watchdog queue', () => {
  expect(resourcesOfType('AWS::IAM::Role').map(([name]) => name)).toEqual([
    'ForwarderRole',
    'WatchdogRole'
  ])
  const roleName = 'ForwarderRole'
  const role = props('ForwarderRole')
  // No managed policies (AWSLambdaBasicExecutionRole would add logs:CreateLogGroup on "*"),
  // no separate policy resources, no boundary tricks.
  expect(role.ManagedPolicyArns).toBeUndefined()
  expect(resourcesOfType('AWS::IAM::Policy')).toHaveLength(0)
  expect(resourcesOfType('AWS::IAM::ManagedPolicy')).toHaveLength(0)

  const trust = (role.AssumeRolePolicyDocument as { Statement: Doc[] }).Statement
  expect(trust).toEqual([
    expect.objectContaining({
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: 'sts:AssumeRole'
    })
  ])

  const policies = role.Policies as { PolicyDocument: { Statement: Doc[] } }[]
  const statements = policies.flatMap(p => p.PolicyDocument.Statement)
  const grants = statements.map(s => {
    expect(s.Effect).toBe('Allow')
    expect(s.NotAction).toBeUndefined()
    expect(s.NotResource).toBeUndefined()
    expect(s.Condition).toBeUndefined()
    return {
      actions: asList(s.Action).map(String).sort(),
      resources: asList(s.Resource)
    }
  })
  expect(grants).toEqual([
    {
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [{ 'Fn::GetAtt': ['ForwarderLogGroup', 'Arn'] }]
    },
    {
      actions: ['secretsmanager:GetSecretValue'],
      resources: [
        {
          'Fn::If': [
            'CreateSecret',
            { Ref: 'GitHubTokenSecret' },
            { Ref: 'ExistingTokenSecretArn' }
          ]
        }
      ]
    },
    {
      actions: ['sqs:SendMessage'],
      resources: [{ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }]
    },
    {
      actions: ['sqs:SendMessage'],
      resources: [{ 'Fn::GetAtt': ['WatchdogQueue', 'Arn'] }]
    }
  ])
  // Each resource named above is the one of its kind in this stack.
  expect(resources.ForwarderLogGroup?.Type).toBe('AWS::Logs::LogGroup')
  expect(resources.GitHubTokenSecret?.Type).toBe('AWS::SecretsManager::Secret')
  expect(resources.DeadLetterQueue?.Type).toBe('AWS::SQS::Queue')
  expect(JSON.stringify(role)).not.toContain('"*"')
  expect(roleName).toBe('ForwarderRole')
})

test('the secret in the stack never carries the token', () => {
  const [, secret] = only(resourcesOfType('AWS::SecretsManager::Secret'))
  expect(secret.SecretString).toBeUndefined()
  expect(secret.GenerateSecretString).toBeUndefined()
  expect(JSON.stringify(template.Parameters)).not.toMatch(/NoEcho/)
})

test('SNS: subscribed to the AWS topic, and only that topic may invoke the function', () => {
  const params = template.Parameters as Record<string, Doc>
  expect(params.TopicArn?.Default).toBe('arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged')
  // The other subscription is the watchdog's optional e-mail (checked below).
  const lambdaSubs = resourcesOfType('AWS::SNS::Subscription').filter(
    ([, sub]) => sub.Protocol === 'lambda'
  )
  const [, sub] = only(lambdaSubs)
  expect(sub).toMatchObject({
    TopicArn: { Ref: 'TopicArn' },
    Protocol: 'lambda',
    Endpoint: { 'Fn::GetAtt': ['ForwarderFunction', 'Arn'] }
  })
  const [, perm] = only(resourcesOfType('AWS::Lambda::Permission'))
  expect(perm).toEqual({
    Action: 'lambda:InvokeFunction',
    FunctionName: { 'Fn::GetAtt': ['ForwarderFunction', 'Arn'] },
    Principal: 'sns.amazonaws.com',
    SourceArn: { Ref: 'TopicArn' }
  })
})

test('log retention is set, and the DLQ has an alarm', () => {
  for (const [, group] of resourcesOfType('AWS::Logs::LogGroup')) {
    expect(group.RetentionInDays).toEqual({ Ref: 'LogRetentionInDays' })
  }
  expect(props('DeadLetterAlarm')).toMatchObject({
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 0
  })
})

test('the watchdog: the same bundle, fed by its queue, least privilege, an alarm on SyncOverdue', () => {
  const fn = props('WatchdogFunction')
  expect(fn).toMatchObject({ Handler: 'index.watchdogHandler', Runtime: 'nodejs24.x' })
  expect(fn.Code).toEqual(forwarderFunction().Code)
  expect(Object.keys((fn.Environment as { Variables: Doc }).Variables)).toContain('ALARM_TOPIC_ARN')
  expect(resources.WatchdogEventSource?.Properties).toEqual({
    EventSourceArn: { 'Fn::GetAtt': ['WatchdogQueue', 'Arn'] },
    FunctionName: { Ref: 'WatchdogFunction' },
    BatchSize: 10,
    FunctionResponseTypes: ['ReportBatchItemFailures']
  })
  const queue = resources.WatchdogQueue?.Properties as Doc
  // AWS recommends a visibility timeout of six times the function's timeout.
  expect(queue.VisibilityTimeout).toBe(6 * (fn.Timeout as number))
  expect(template.Parameters?.WatchdogDelaySeconds).toMatchObject({ MaxValue: 900, Default: 900 })

  const statements = (
    props('WatchdogRole').Policies as { PolicyDocument: { Statement: Doc[] } }[]
  ).flatMap(p => p.PolicyDocument.Statement)
  const grants = Object.fromEntries(
    statements.map(s => [
      String(s.Sid),
      { actions: asList(s.Action).map(String).sort(), resource: s.Resource }
    ])
  )
  expect(grants).toEqual({
    WriteOwnLogs: {
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resource: { 'Fn::GetAtt': ['WatchdogLogGroup', 'Arn'] }
    },
    ReadGitHubToken: {
      actions: ['secretsmanager:GetSecretValue'],
      resource: {
        'Fn::If': ['CreateSecret', { Ref: 'GitHubTokenSecret' }, { Ref: 'ExistingTokenSecretArn' }]
      }
    },
    ConsumeChecks: {
      actions: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
      resource: { 'Fn::GetAtt': ['WatchdogQueue', 'Arn'] }
    },
    PublishAlarms: { actions: ['sns:Publish'], resource: { Ref: 'WatchdogTopic' } }
  })
  // Metrics are EMF log lines, extracted by CloudWatch Logs: no PutMetricData, and no '*'.
  expect(JSON.stringify(statements)).not.toContain('cloudwatch:')
  expect(statements.every(s => s.Resource !== '*')).toBe(true)
  // Text: lines reach the log group as written, bare JSON objects as EMF requires.
  expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: 'WatchdogLogGroup' }, LogFormat: 'Text' })

  // The series without dimensions: the watchdog's EMF lines name the empty dimension set.
  expect((resources.SyncOverdueAlarm?.Properties as Doc).Dimensions).toBeUndefined()
  expect(resources.SyncOverdueAlarm?.Properties).toMatchObject({
    Namespace: 'CloudFrontSgSync',
    MetricName: 'SyncOverdue',
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 0,
    TreatMissingData: 'notBreaching',
    AlarmActions: [{ Ref: 'WatchdogTopic' }]
  })
  expect(resources.WatchdogEmailSubscription).toMatchObject({
    Condition: 'HasAlarmEmail',
    Properties: { Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } }
  })
})
