// Parses infra/github-oidc-role.yml and checks the role is exactly as narrow as the action needs:
// trusted only from the repository (branch / environment when set) through the GitHub OIDC
// provider, and allowed only the calls src/aws/ makes, mutations only on tagged groups.
import { fileURLToPath } from 'node:url'
import type { CfnDoc } from '../helpers/cfn-yaml.js'
import { loadCfnTemplate, resourcesOfType } from '../helpers/cfn-yaml.js'

const TEMPLATE = fileURLToPath(new URL('../../infra/github-oidc-role.yml', import.meta.url))
const template = loadCfnTemplate(TEMPLATE)

interface Statement {
  Sid?: string
  Effect: string
  Action: string | string[]
  NotAction?: unknown
  Resource: string | string[]
  NotResource?: unknown
  Principal?: unknown
  Condition?: Record<string, Record<string, unknown>>
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value])

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1)
  return items[0] as T
}

const [roleId, role] = only(resourcesOfType(template, 'AWS::IAM::Role'))

/** The permissions policy: a `!Sub` JSON string, rendered with sample parameter values. */
function permissions(tagKey = 'AutoUpdate'): Statement[] {
  const policies = role.Policies as Array<{ PolicyName: string; PolicyDocument: CfnDoc }>
  const { PolicyDocument } = only(policies)
  const text = PolicyDocument['Fn::Sub']
  expect(typeof text).toBe('string')
  const values: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::AccountId': '111122223333',
    AutoUpdateTagKey: tagKey
  }
  const rendered = (text as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`unexpected substitution \${${name}}`)
    return value
  })
  const document = JSON.parse(rendered) as { Version: string; Statement: Statement[] }
  expect(document.Version).toBe('2012-10-17')
  return document.Statement
}

const GROUPS = 'arn:aws:ec2:*:111122223333:security-group/*'

test('one role, one inline policy, no managed policies; growth only as a conditioned policy', () => {
  expect(roleId).toBe('SyncRole')
  expect(role.ManagedPolicyArns).toBeUndefined()
  expect(role.PermissionsBoundary).toBeUndefined()
  expect(resourcesOfType(template, 'AWS::IAM::Policy')).toHaveLength(0)
  expect(resourcesOfType(template, 'AWS::IAM::ManagedPolicy')).toHaveLength(0)
  expect(resourcesOfType(template, 'AWS::IAM::RolePolicy').map(([id]) => id)).toEqual([
    'GrowthPolicy'
  ])
})

describe('pool growth (AllowPoolGrowth)', () => {
  const growth = template.Resources?.GrowthPolicy as unknown as {
    Condition: string
    Properties: { RoleName: unknown; PolicyDocument: CfnDoc }
  }
  const statements = (): Statement[] => {
    const text = growth.Properties.PolicyDocument['Fn::Sub'] as string
    const values: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::AccountId': '111122223333',
      AutoUpdateTagKey: 'AutoUpdate'
    }
    const rendered = text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      const value = values[name]
      if (value === undefined) throw new Error(`unexpected substitution \${${name}}`)
      return value
    })
    return (JSON.parse(rendered) as { Statement: Statement[] }).Statement
  }

  test('off by default, and only with the parameter', () => {
    expect(template.Parameters?.AllowPoolGrowth?.Default).toBe('false')
    expect(template.Conditions?.PoolGrowth).toEqual({
      'Fn::Equals': [{ Ref: 'AllowPoolGrowth' }, 'true']
    })
    expect(growth.Condition).toBe('PoolGrowth')
    expect(growth.Properties.RoleName).toEqual({ Ref: 'SyncRole' })
  })

  test('creates only marked, auto-update groups; tags only on create; never deletes', () => {
    const bySid = Object.fromEntries(statements().map(s => [s.Sid, s]))
    expect(bySid.CreateMarkedGroups?.Condition).toEqual({
      StringEquals: {
        'aws:RequestTag/cloudfront-sg-sync:created-by': 'grow-pools',
        'aws:RequestTag/AutoUpdate': 'true'
      }
    })
    expect(bySid.CreateMarkedGroups?.Resource).toBe(GROUPS)
    expect(bySid.CreateGroupsInVpcs?.Resource).toBe('arn:aws:ec2:*:111122223333:vpc/*')
    expect(bySid.TagGroupsOnCreate?.Condition?.StringEquals).toMatchObject({
      'ec2:CreateAction': 'CreateSecurityGroup'
    })
    const actions = statements().flatMap(s => list(s.Action))
    expect([...new Set(actions)].sort()).toEqual([
      'ec2:CreateSecurityGroup',
      'ec2:CreateTags',
      'ec2:ModifyNetworkInterfaceAttribute',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:SetSecurityGroups'
    ])
    expect(bySid.AttachGroupsToLoadBalancers?.Resource).toEqual([
      'arn:aws:elasticloadbalancing:*:111122223333:loadbalancer/app/*',
      'arn:aws:elasticloadbalancing:*:111122223333:loadbalancer/net/*'
    ])
    for (const s of statements()) {
      expect(s.Effect).toBe('Allow')
      // Only the read-only DescribeLoadBalancers, which has no resource-level permission, is "*".
      if (s.Sid === 'ReadLoadBalancers') continue
      for (const resource of list(s.Resource)) expect(resource).toContain(':111122223333:')
    }
  })
})

test('the policy grants exactly what src/aws calls, statement by statement', () => {
  const statements = permissions()
  for (const s of statements) {
    expect(s.Effect).toBe('Allow')
    expect(s.NotAction).toBeUndefined()
    expect(s.NotResource).toBeUndefined()
    expect(s.Principal).toBeUndefined()
  }
  const bySid = Object.fromEntries(statements.map(s => [s.Sid, s]))
  expect(Object.keys(bySid)).toEqual([
    'ReadSecurityGroups',
    'ChangeRulesOfTaggedGroups',
    'RecordSyncTokenOnTaggedGroups',
    'ReadRulesQuota',
    'AuditExposure',
    'AuditPrefixListEntries',
    'ReadGroupsPerInterfaceQuota',
    'ReadRulesQuotaDefault'
  ])
  // Describe* actions support no resource-level permissions: "*" is required, and harmless.
  expect(bySid.ReadSecurityGroups).toEqual({
    Sid: 'ReadSecurityGroups',
    Effect: 'Allow',
    Action: ['ec2:DescribeSecurityGroups', 'ec2:DescribeManagedPrefixLists'],
    Resource: '*'
  })
  expect(bySid.ChangeRulesOfTaggedGroups).toEqual({
    Sid: 'ChangeRulesOfTaggedGroups',
    Effect: 'Allow',
    Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
    Resource: GROUPS,
    Condition: { StringEquals: { 'aws:ResourceTag/AutoUpdate': 'true' } }
  })
  // CreateTags: only on tagged groups, only the sync-token key (so the role can never tag another
  // group into scope), only a plausible Unix time as its value, never as part of a
  // resource-creating call (ec2:CreateAction absent).
  expect(bySid.RecordSyncTokenOnTaggedGroups).toEqual({
    Sid: 'RecordSyncTokenOnTaggedGroups',
    Effect: 'Allow',
    Action: 'ec2:CreateTags',
    Resource: GROUPS,
    Condition: {
      StringEquals: { 'aws:ResourceTag/AutoUpdate': 'true' },
      StringLike: {
        'aws:RequestTag/cloudfront-sg-sync:sync-token': ['1?????????', '2?????????']
      },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['cloudfront-sg-sync:sync-token'] },
      Null: { 'aws:TagKeys': 'false', 'ec2:CreateAction': 'true' }
    }
  })
  expect(bySid.ReadRulesQuota).toEqual({
    Sid: 'ReadRulesQuota',
    Effect: 'Allow',
    Action: 'servicequotas:GetServiceQuota',
    Resource: 'arn:aws:servicequotas:*:111122223333:vpc/L-0EA8095F'
  })
  // The exposure audit: read-only. DescribeNetworkInterfaces has no resource-level permissions;
  // prefix list entries are readable per list (AWS-managed lists belong to AWS, hence any owner).
  expect(bySid.AuditExposure).toEqual({
    Sid: 'AuditExposure',
    Effect: 'Allow',
    Action: 'ec2:DescribeNetworkInterfaces',
    Resource: '*'
  })
  expect(bySid.AuditPrefixListEntries).toEqual({
    Sid: 'AuditPrefixListEntries',
    Effect: 'Allow',
    Action: 'ec2:GetManagedPrefixListEntries',
    Resource: 'arn:aws:ec2:*:*:prefix-list/*'
  })
  expect(bySid.ReadGroupsPerInterfaceQuota).toEqual({
    Sid: 'ReadGroupsPerInterfaceQuota',
    Effect: 'Allow',
    Action: 'servicequotas:GetServiceQuota',
    Resource: 'arn:aws:servicequotas:*:111122223333:vpc/L-2AFB9258'
  })
  // GetAWSDefaultServiceQuota has no resource type: "*" only (Service Authorization Reference).
  expect(bySid.ReadRulesQuotaDefault).toEqual({
    Sid: 'ReadRulesQuotaDefault',
    Effect: 'Allow',
    Action: 'servicequotas:GetAWSDefaultServiceQuota',
    Resource: '*'
  })
})

test('no wildcard action, and no mutating action on "*" or without the tag condition', () => {
  const statements = permissions()
  const actions = statements.flatMap(s => list(s.Action))
  for (const action of actions) expect(action).not.toMatch(/\*/)
  const readOnly = /^(ec2:Describe|ec2:GetManagedPrefixListEntries$|servicequotas:Get)/
  for (const s of statements) {
    const mutating = list(s.Action).filter(a => !readOnly.test(a))
    if (mutating.length === 0) continue
    expect(list(s.Resource)).toEqual([GROUPS])
    expect(s.Condition?.StringEquals).toEqual({ 'aws:ResourceTag/AutoUpdate': 'true' })
  }
  // Nothing the action does not call: no egress, no deletes, no DeleteTags, no IAM, no STS.
  expect(actions.sort()).toEqual([
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:CreateTags',
    'ec2:DescribeManagedPrefixLists',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSecurityGroups',
    'ec2:GetManagedPrefixListEntries',
    'ec2:RevokeSecurityGroupIngress',
    'servicequotas:GetAWSDefaultServiceQuota',
    'servicequotas:GetServiceQuota',
    'servicequotas:GetServiceQuota'
  ])
})

test('the tag key is the parameter, inside the condition key', () => {
  const statements = permissions('team:cf-sync')
  expect(statements[1]?.Condition).toEqual({
    StringEquals: { 'aws:ResourceTag/team:cf-sync': 'true' }
  })
  const parameter = template.Parameters?.AutoUpdateTagKey
  expect(parameter?.Default).toBe('AutoUpdate')
})

test('trust: only the GitHub OIDC provider, only this audience, exact subject (StringEquals)', () => {
  const trust = role.AssumeRolePolicyDocument as { Statement: Statement[] }
  const statement = only(trust.Statement)
  expect(statement.Effect).toBe('Allow')
  expect(statement.Action).toBe('sts:AssumeRoleWithWebIdentity')
  expect(statement.Principal).toEqual({
    Federated: {
      'Fn::If': [
        'CreateProvider',
        { Ref: 'GitHubOIDCProvider' },
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com'
        }
      ]
    }
  })
  // One operator, and not one that evaluates wildcards: `main*` would trust `main-evil`.
  expect(Object.keys(statement.Condition ?? {})).toEqual(['StringEquals'])
  expect(statement.Condition).toEqual({
    StringEquals: {
      'token.actions.githubusercontent.com:aud': { Ref: 'Audience' },
      'token.actions.githubusercontent.com:sub': {
        'Fn::Sub': [
          'repo:${Repo}:${Context}',
          {
            Repo: {
              'Fn::If': [
                'ImmutableSubject',
                { 'Fn::Sub': '${GitHubOrg}@${OwnerId}/${RepositoryName}@${RepositoryId}' },
                { 'Fn::Sub': '${GitHubOrg}/${RepositoryName}' }
              ]
            },
            Context: {
              'Fn::If': [
                'HasEnvironment',
                { 'Fn::Sub': 'environment:${Environment}' },
                { 'Fn::Sub': 'ref:refs/heads/${Branch}' }
              ]
            }
          }
        ]
      }
    }
  })
  // The org and repository are required parameters (no default that would trust everyone).
  expect(template.Parameters?.GitHubOrg?.Default).toBeUndefined()
  expect(template.Parameters?.RepositoryName?.Default).toBeUndefined()
})

// ---- A small evaluator for the intrinsic functions the template uses, so the tests can check what
// ---- the deployed trust policy says for given parameter values, and which values the Rules accept.
type Params = Record<string, string>

const DEFAULTS: Params = Object.fromEntries(
  Object.entries(template.Parameters ?? {}).map(([name, p]) => [name, String(p.Default ?? '')])
)

function evaluate(node: unknown, params: Params): unknown {
  if (Array.isArray(node)) return node.map(n => evaluate(n, params))
  if (typeof node !== 'object' || node === null) return node
  const [fn, arg] = Object.entries(node as CfnDoc)[0] as [string, unknown]
  const args = arg as unknown[]
  switch (fn) {
    case 'Ref': {
      const value = params[arg as string]
      if (value === undefined) throw new Error(`no value for ${String(arg)}`)
      return value
    }
    case 'Fn::Equals':
      return evaluate(args[0], params) === evaluate(args[1], params)
    case 'Fn::Not':
      return !evaluate(args[0], params)
    case 'Fn::And':
      return args.every(a => evaluate(a, params) === true)
    case 'Fn::Or':
      return args.some(a => evaluate(a, params) === true)
    case 'Fn::If': {
      const condition = evaluate(template.Conditions?.[args[0] as string], params)
      return evaluate(condition ? args[1] : args[2], params)
    }
    case 'Fn::Sub': {
      const [text, vars] = Array.isArray(arg) ? (arg as [string, CfnDoc]) : [arg as string, {}]
      const local = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, String(evaluate(v, params))])
      )
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const value = local[name] ?? params[name]
        if (value === undefined) throw new Error(`no value for \${${name}}`)
        return value
      })
    }
    default:
      return Object.fromEntries(
        Object.entries(node as CfnDoc).map(([k, v]) => [k, evaluate(v, params)])
      )
  }
}

/** The values a stack would get: defaults, overrides, each checked against its AllowedPattern. */
function stackParameters(overrides: Params): Params | string {
  const params = { ...DEFAULTS, ...overrides }
  for (const [name, value] of Object.entries(params)) {
    const pattern = template.Parameters?.[name]?.AllowedPattern
    if (typeof pattern === 'string' && !new RegExp(pattern).test(value)) {
      return `${name}: ${JSON.stringify(value)} does not match ${pattern}`
    }
  }
  for (const [name, rule] of Object.entries(template.Rules ?? {})) {
    for (const a of (rule as { Assertions: { Assert: unknown }[] }).Assertions) {
      if (evaluate(a.Assert, params) !== true) return `rule ${name} refuses`
    }
  }
  return params
}

function subject(overrides: Params): string {
  const params = stackParameters({ GitHubOrg: 'octo-org', RepositoryName: 'edge', ...overrides })
  if (typeof params === 'string') throw new Error(params)
  const trust = role.AssumeRolePolicyDocument as { Statement: Statement[] }
  const condition = only(trust.Statement).Condition as CfnDoc
  const rendered = evaluate(condition, params) as Record<string, Record<string, string>>
  return rendered.StringEquals?.['token.actions.githubusercontent.com:sub'] as string
}

test('by default the role trusts the main branch only, never every ref', () => {
  expect(template.Parameters?.Branch?.Default).toBe('main')
  expect(template.Parameters?.Environment?.Default).toBe('')
  expect(subject({})).toBe('repo:octo-org/edge:ref:refs/heads/main')
  expect(subject({ Branch: 'release/2.x' })).toBe('repo:octo-org/edge:ref:refs/heads/release/2.x')
  // GitHub's sub for a job that declares an environment names the environment, not the branch.
  expect(subject({ Branch: '', Environment: 'production' })).toBe(
    'repo:octo-org/edge:environment:production'
  )
  // Immutable subject claims: each name carries its numeric id.
  expect(subject({ OwnerId: '123456', RepositoryId: '456789' })).toBe(
    'repo:octo-org@123456/edge@456789:ref:refs/heads/main'
  )
})

test('one branch or one environment is required: neither, or both, is refused', () => {
  const base = { GitHubOrg: 'octo-org', RepositoryName: 'edge' }
  expect(stackParameters({ ...base, Branch: '', Environment: '' })).toMatch(
    /rule BranchOrEnvironment/
  )
  expect(stackParameters({ ...base, Branch: 'main', Environment: 'production' })).toMatch(
    /rule BranchOrEnvironment/
  )
  expect(stackParameters({ ...base, Environment: '' })).toMatchObject({ Branch: 'main' })
  expect(JSON.stringify(template.Rules?.BranchOrEnvironment)).toContain('Set exactly one')
})

test.each([
  ['Branch', 'main*'],
  ['Branch', 'ma?n'],
  ['Branch', '*'],
  ['Branch', 'release/${aws:username}'],
  ['Branch', 'main branch'],
  ['Branch', 'refs:heads'],
  ['Environment', 'prod*'],
  ['Environment', '?'],
  ['Environment', '${aws:username}']
])('parameter %s refuses %j (IAM would read a wildcard or a policy variable)', (name, value) => {
  const pattern = template.Parameters?.[name]?.AllowedPattern as string
  expect(new RegExp(pattern).test(value)).toBe(false)
  expect(String(template.Parameters?.[name]?.ConstraintDescription)).toMatch(/wildcards/)
})

test.each([
  ['Branch', 'main'],
  ['Branch', 'release/2.x'],
  ['Branch', 'feature/a_b-c.d'],
  ['Environment', 'production'],
  ['Environment', 'prod-eu.1']
])('parameter %s accepts %j', (name, value) => {
  const pattern = template.Parameters?.[name]?.AllowedPattern as string
  expect(new RegExp(pattern).test(value)).toBe(true)
})

/** IAM StringLike: `*` any run of characters, `?` exactly one character, case-sensitive. */
function stringLike(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${source}$`, 's').test(value)
}

test('CreateTags may write only a sync-token value shaped like a Unix time in seconds', () => {
  const statement = permissions().find(s => s.Sid === 'RecordSyncTokenOnTaggedGroups')
  const patterns = list(
    statement?.Condition?.StringLike?.['aws:RequestTag/cloudfront-sg-sync:sync-token'] as
      string | string[]
  )
  expect(patterns).toEqual(['1?????????', '2?????????'])
  const allowed = (value: string) => patterns.some(p => stringLike(p, value))
  expect(allowed('1786615985')).toBe(true)
  expect(allowed('2000000000')).toBe(true)
  // The forged tags of issue 15: far future, 20 digits, too short, before 2001.
  expect(allowed('99999999999999999999')).toBe(false)
  expect(allowed('17866159850')).toBe(false)
  expect(allowed('178661598')).toBe(false)
  expect(allowed('0999999999')).toBe(false)
  expect(allowed('3000000000')).toBe(false)
  // Only the sync-token key: a request carrying any other key is outside ForAllValues.
  expect(statement?.Condition?.['ForAllValues:StringEquals']).toEqual({
    'aws:TagKeys': ['cloudfront-sg-sync:sync-token']
  })
})

test('the OIDC provider is optional and accepts the configured audience', () => {
  const provider = template.Resources.GitHubOIDCProvider
  expect(provider?.Type).toBe('AWS::IAM::OIDCProvider')
  expect(provider?.Condition).toBe('CreateProvider')
  expect(provider?.Properties).toEqual({
    Url: 'https://token.actions.githubusercontent.com',
    ClientIdList: [{ Ref: 'Audience' }]
  })
  expect(template.Conditions?.CreateProvider).toEqual({
    'Fn::Equals': [{ Ref: 'CreateOIDCProvider' }, 'true']
  })
  expect(template.Parameters?.Audience?.Default).toBe('sts.amazonaws.com')
})

test('branch and environment are exclusive; the role name and session length are parameters', () => {
  expect(JSON.stringify(template.Rules?.BranchOrEnvironment)).toContain('Fn::Or')
  expect(role.RoleName).toEqual({ Ref: 'RoleName' })
  expect(role.MaxSessionDuration).toEqual({ Ref: 'MaxSessionDuration' })
  expect(template.Outputs?.RoleArn?.Value).toEqual({ 'Fn::GetAtt': ['SyncRole', 'Arn'] })
})
