// Parses infra/sns-forwarder.yml (CloudFormation YAML, short-form intrinsic tags included) and
// checks what it grants: the execution role may write its own log group, read its one secret
// and send to its own dead-letter queue, and nothing else.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

type Doc = Record<string, unknown>

// js-yaml is loaded through require so this works with its v3 and v4 APIs alike and needs no
// type package: only the calls below are used.
interface YamlType {
  new (
    tag: string,
    opts: { kind: 'scalar' | 'sequence' | 'mapping'; construct: (d: unknown) => unknown }
  ): unknown
}
interface JsYaml {
  Type: YamlType
  load(text: string, opts: { schema: unknown }): unknown
  DEFAULT_SCHEMA?: { extend(types: unknown[]): unknown }
  Schema?: { create(types: unknown[]): unknown }
}
const yaml = createRequire(import.meta.url)('js-yaml') as JsYaml

const TEMPLATE = fileURLToPath(new URL('../../infra/sns-forwarder.yml', import.meta.url))

/** The CloudFormation short forms (`!Ref x`, `!GetAtt a.b`, `!Sub ...`) as their long forms. */
function cfnSchema(): unknown {
  const fns = [
    'And',
    'Base64',
    'Cidr',
    'Equals',
    'FindInMap',
    'GetAZs',
    'If',
    'ImportValue',
    'Join',
    'Not',
    'Or',
    'Select',
    'Split',
    'Sub',
    'Transform',
    'GetAtt',
    'Ref',
    'Condition'
  ]
  const types: unknown[] = []
  for (const fn of fns) {
    const key = fn === 'Ref' || fn === 'Condition' ? fn : `Fn::${fn}`
    for (const kind of ['scalar', 'sequence', 'mapping'] as const) {
      types.push(
        new yaml.Type(`!${fn}`, {
          kind,
          construct: data =>
            fn === 'GetAtt' && typeof data === 'string'
              ? { [key]: data.split('.', 2) }
              : { [key]: data }
        })
      )
    }
  }
  if (yaml.DEFAULT_SCHEMA?.extend) return yaml.DEFAULT_SCHEMA.extend(types)
  if (yaml.Schema?.create) return yaml.Schema.create(types)
  throw new Error('unsupported js-yaml version')
}

const template = yaml.load(readFileSync(TEMPLATE, 'utf8'), { schema: cfnSchema() }) as Doc
const resources = template.Resources as Record<
  string,
  { Type: string; Properties?: Doc; Condition?: string }
>

function resourcesOfType(type: string): [string, Doc][] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([name, r]) => [name, r.Properties ?? {}])
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1)
  return items[0] as T
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v])

test('the template parses, with the short-form tags turned into intrinsic functions', () => {
  expect(template.AWSTemplateFormatVersion).toBe('2010-09-09')
  const [, fn] = only(resourcesOfType('AWS::Lambda::Function'))
  expect(fn.Role).toEqual({ 'Fn::GetAtt': ['ForwarderRole', 'Arn'] })
})

test('the function: newest Node.js runtime, index.handler, code from the S3 parameters, DLQ', () => {
  const [, fn] = only(resourcesOfType('AWS::Lambda::Function'))
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
    'TOPIC_ARN'
  ])
})

test('the execution role grants exactly: logs on its group, GetSecretValue on its secret, SendMessage to its DLQ', () => {
  const [roleName, role] = only(resourcesOfType('AWS::IAM::Role'))
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
  const [, sub] = only(resourcesOfType('AWS::SNS::Subscription'))
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
  const [, group] = only(resourcesOfType('AWS::Logs::LogGroup'))
  expect(group.RetentionInDays).toEqual({ Ref: 'LogRetentionInDays' })
  const [, alarm] = only(resourcesOfType('AWS::CloudWatch::Alarm'))
  expect(alarm).toMatchObject({
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 0
  })
})
