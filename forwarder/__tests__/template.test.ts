// Parses infra/sns-forwarder.yml (CloudFormation YAML, short-form intrinsic tags included) and
// checks what it grants: the execution role may write its own log group, read its one secret
// and send to its own dead-letter queue, and nothing else.
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
