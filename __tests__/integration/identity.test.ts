// OIDC role assumption and quota lookup through the real @actions/core (getIDToken), the real
// @aws-sdk/client-sts / client-service-quotas / client-ec2, against the loopback OIDC, STS,
// Service Quotas and EC2 emulators.
import * as core from '@actions/core'
import { jest } from '@jest/globals'
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { createEc2Api } from '../../src/aws/ec2.js'
import type { AwsAccount, IdentityConfig, IdentityDeps } from '../../src/aws/identity.js'
import { IdentityError, resolveAccounts } from '../../src/aws/identity.js'
import { readRuleQuota } from '../../src/aws/quotas.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'
import { OidcEmulator } from '../../dev/emulators/oidc.js'
import { ServiceQuotasEmulator } from '../../dev/emulators/service-quotas.js'
import { StsEmulator } from '../../dev/emulators/sts.js'

const ACCOUNT_A = '111111111111'
const ACCOUNT_B = '222222222222'
const ROLE_A = `arn:aws:iam::${ACCOUNT_A}:role/cloudfront-sg-sync`
const ROLE_B = `arn:aws:iam::${ACCOUNT_B}:role/ops/cloudfront-sg-sync`
const SUBJECT = 'repo:octo-org/edge:ref:refs/heads/main'

let oidc: OidcEmulator
let ec2: Ec2Emulator
let sts: StsEmulator
let quotas: ServiceQuotasEmulator
const savedEnv = { ...process.env }

/** Everything setSecret was given, and the order of events, to prove masking came first. */
let secrets: string[]
let events: string[]
/** Every token the job received (to prove none shows up in a message). */
let tokens: string[]
let stdout: string[]

const identity = (roles: string[], audience = 'sts.amazonaws.com'): IdentityConfig => ({
  roles,
  roleSessionName: 'cloudfront-sg-sync',
  roleDurationSeconds: 900,
  audience
})

function deps(extra: Partial<IdentityDeps> = {}): IdentityDeps {
  return {
    // The real toolkit call, reaching the OIDC emulator through ACTIONS_ID_TOKEN_REQUEST_*.
    getIDToken: async audience => {
      const token = await core.getIDToken(audience)
      tokens.push(token)
      events.push('token')
      return token
    },
    setSecret: value => {
      secrets.push(value)
      events.push('mask')
    },
    env: process.env,
    region: 'us-east-1',
    info: message => events.push(`info:${message}`),
    warning: message => events.push(`warning:${message}`),
    retry: { baseDelayMs: 1 },
    ...extra
  }
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a failure')
}

beforeAll(async () => {
  oidc = await OidcEmulator.start()
  ec2 = new Ec2Emulator()
  sts = new StsEmulator({
    providers: [{ issuer: oidc.issuer, publicKey: oidc.publicKey }],
    ec2,
    accountIds: { AKIDDEFAULTCHAIN: '333333333333' }
  })
  quotas = await ServiceQuotasEmulator.start({ accountOf: id => sts.accountOf(id) })
  Object.assign(process.env, oidc.env(), {
    AWS_ENDPOINT_URL_STS: await sts.start(),
    AWS_ENDPOINT_URL_EC2: await ec2.start(),
    AWS_ENDPOINT_URL_SERVICE_QUOTAS: quotas.url,
    AWS_ACCESS_KEY_ID: 'AKIDDEFAULTCHAIN',
    AWS_SECRET_ACCESS_KEY: 'default-chain-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1'
  })
  delete process.env.AWS_SESSION_TOKEN
  delete process.env.AWS_PROFILE
})

afterAll(async () => {
  await Promise.all([oidc.close(), ec2.stop(), sts.stop(), quotas.close()])
  process.env = savedEnv
})

beforeEach(() => {
  secrets = []
  events = []
  tokens = []
  stdout = []
  oidc.reset()
  oidc.lifetimeSeconds = 300
  sts.reset()
  quotas.reset()
  ec2.reset()
  for (const role of [ROLE_A, ROLE_B]) sts.removeRole(role)
  sts.addRole({ roleArn: ROLE_A, subject: 'repo:octo-org/edge:*' })
  sts.addRole({ roleArn: ROLE_B, subject: SUBJECT, audience: 'sts.amazonaws.com' })
  // @actions/core writes ::add-mask:: and ::debug:: commands to stdout: keep them for assertions.
  jest.spyOn(process.stdout, 'write').mockImplementation(chunk => {
    stdout.push(String(chunk))
    return true
  })
})

afterEach(() => {
  jest.restoreAllMocks()
})

/** No message may contain a token or a credential value. */
function expectNoSecretIn(...texts: string[]): void {
  const values = [...tokens, ...secrets]
  expect(values.length).toBeGreaterThan(0)
  for (const text of texts) for (const value of values) expect(text).not.toContain(value)
}

const groupIdsSeenBy = async (account: AwsAccount): Promise<string[]> => {
  const api = createEc2Api({
    region: 'us-east-1',
    credentials: account.credentials,
    maxAttempts: 1
  })
  return (await api.describeGroups([])).map(group => group.GroupId ?? '').sort()
}

describe('OIDC role assumption', () => {
  test('one role: token masked, credentials masked, EC2 accepts only the issued keys', async () => {
    const own = ec2.createGroup({
      account: ACCOUNT_A,
      region: 'us-east-1',
      vpcId: 'vpc-a',
      name: 'a',
      tags: {}
    })
    ec2.createGroup({
      account: ACCOUNT_B,
      region: 'us-east-1',
      vpcId: 'vpc-b',
      name: 'b',
      tags: {}
    })

    const [account, ...rest] = await resolveAccounts(identity([ROLE_A]), deps())
    expect(rest).toEqual([])
    expect(account).toMatchObject({
      accountId: ACCOUNT_A,
      roleArn: ROLE_A,
      callerArn: `arn:aws:sts::${ACCOUNT_A}:assumed-role/cloudfront-sg-sync/cloudfront-sg-sync`
    })

    // The token request carried the audience and the runtime bearer token.
    expect(oidc.requests).toEqual([
      { audience: 'sts.amazonaws.com', authorized: true, status: 200 }
    ])
    // Masked: the token as soon as it arrived, then the three credential values, before any log.
    const issued = sts.issued[0]
    expect(secrets).toEqual([
      tokens[0],
      issued?.accessKeyId,
      issued?.secretAccessKey,
      issued?.sessionToken
    ])
    expect(events.slice(0, 5)).toEqual(['token', 'mask', 'mask', 'mask', 'mask'])
    expectNoSecretIn(...events.filter(e => e.startsWith('info:')))

    // The issued credentials reach exactly that account's groups.
    expect(await groupIdsSeenBy(account as AwsAccount)).toEqual([own])
    // Anything else is refused as EC2 refuses unknown keys.
    const stranger = new EC2Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' },
      maxAttempts: 1
    })
    await expect(stranger.send(new DescribeSecurityGroupsCommand({}))).rejects.toMatchObject({
      name: 'AuthFailure'
    })
    // ...and so is the issued key without its session token.
    const withoutToken = new EC2Client({
      region: 'us-east-1',
      credentials: {
        accessKeyId: issued?.accessKeyId ?? '',
        secretAccessKey: issued?.secretAccessKey ?? ''
      },
      maxAttempts: 1
    })
    await expect(withoutToken.send(new DescribeSecurityGroupsCommand({}))).rejects.toMatchObject({
      name: 'AuthFailure'
    })
  })

  test('two roles in two accounts: each EC2 client sees its own account', async () => {
    const inA = ec2.createGroup({
      account: ACCOUNT_A,
      region: 'us-east-1',
      vpcId: 'vpc-a',
      name: 'a',
      tags: {}
    })
    const inB = ec2.createGroup({
      account: ACCOUNT_B,
      region: 'us-east-1',
      vpcId: 'vpc-b',
      name: 'b',
      tags: {}
    })

    const accounts = await resolveAccounts(identity([ROLE_A, ROLE_B]), deps({ concurrency: 2 }))
    expect(accounts.map(a => [a.accountId, a.roleArn])).toEqual([
      [ACCOUNT_A, ROLE_A],
      [ACCOUNT_B, ROLE_B]
    ])
    expect(oidc.count()).toBe(2)
    expect(sts.count('AssumeRoleWithWebIdentity')).toBe(2)
    expect(await groupIdsSeenBy(accounts[0] as AwsAccount)).toEqual([inA])
    expect(await groupIdsSeenBy(accounts[1] as AwsAccount)).toEqual([inB])
    expect(secrets).toHaveLength(8)
  })

  test('without id-token permission: says so, with the YAML, before any request', async () => {
    const error = await failure(resolveAccounts(identity([ROLE_A]), deps({ env: {} })))
    expect(error).toBeInstanceOf(IdentityError)
    expect(error.message).toContain(
      'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN'
    )
    expect(error.message).toContain('permissions:\n  id-token: write')
    expect(oidc.count()).toBe(0)
    expect(sts.count()).toBe(0)
  })

  test('the toolkit failing for lack of the variables gets the same hint', async () => {
    const saved = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
    delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
    try {
      // deps.env still claims the variables exist: the toolkit's own error is recognised.
      const error = await failure(
        resolveAccounts(identity([ROLE_A]), deps({ env: { ...oidc.env() } }))
      )
      expect(error.message).toContain('id-token: write')
      expect(error.message).toContain('ACTIONS_ID_TOKEN_REQUEST_TOKEN')
    } finally {
      process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = saved
    }
  })

  test('AccessDenied: claims and a matching trust condition, never the token; no retry', async () => {
    sts.removeRole(ROLE_A)
    sts.addRole({ roleArn: ROLE_A, subject: 'repo:octo-org/other-repo:*' })
    const error = await failure(resolveAccounts(identity([ROLE_A]), deps()))
    expect(error).toBeInstanceOf(IdentityError)
    const message = error.message
    expect(message).toContain(`Could not assume ${ROLE_A}: AccessDenied`)
    expect(message).toContain('Not authorized to perform sts:AssumeRoleWithWebIdentity')
    expect(message).toMatch(/sub:\s+repo:octo-org\/edge:ref:refs\/heads\/main/)
    expect(message).toMatch(/aud:\s+sts\.amazonaws\.com/)
    expect(message).toMatch(/repository:\s+octo-org\/edge/)
    expect(message).toContain(
      '"token.actions.githubusercontent.com:sub": "repo:octo-org/edge:ref:refs/heads/main"'
    )
    expect(message).toContain('"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"')
    expect(message).toContain(
      `arn:aws:iam::${ACCOUNT_A}:oidc-provider/token.actions.githubusercontent.com`
    )
    expectNoSecretIn(message, JSON.stringify(events))
    expect(sts.count('AssumeRoleWithWebIdentity')).toBe(1)
  })

  test('several failing roles are all reported in one error', async () => {
    sts.removeRole(ROLE_A)
    const error = await failure(resolveAccounts(identity([ROLE_A, ROLE_B], 'api://other'), deps()))
    expect(error.message).toContain('2 of 2 roles could not be assumed')
    expect(error.message).toContain(ROLE_A)
    expect(error.message).toContain(`${ROLE_B}: InvalidIdentityToken (Incorrect token audience)`)
    expect(error.message).toContain("'api://other' in its audiences")
  })

  test('throttled, then IdP unreachable, then success: retried with a fresh token each time', async () => {
    sts.faults = {
      failNext: [
        {
          action: 'AssumeRoleWithWebIdentity',
          code: 'Throttling',
          status: 400,
          message: 'Rate exceeded'
        },
        { action: 'AssumeRoleWithWebIdentity', code: 'IDPCommunicationError', status: 400 }
      ]
    }
    const [account] = await resolveAccounts(identity([ROLE_A]), deps())
    expect(account?.accountId).toBe(ACCOUNT_A)
    expect(sts.calls.map(c => c.errorCode ?? 'ok')).toEqual([
      'Throttling',
      'IDPCommunicationError',
      'ok'
    ])
    expect(oidc.count()).toBe(3)
    expect(events.filter(e => e.startsWith('info:Assuming'))).toHaveLength(2)
  })

  test('an expired token fails fast with ExpiredTokenException explained', async () => {
    oidc.lifetimeSeconds = -30
    const error = await failure(resolveAccounts(identity([ROLE_A]), deps()))
    expect(error.message).toContain('ExpiredTokenException (Token expired: current date/time')
    expect(error.message).toContain('a rerun requests a fresh one')
    expect(sts.count()).toBe(1)
    expectNoSecretIn(error.message)
  })

  test('a forged token (signed by another key) is rejected as InvalidIdentityToken', async () => {
    const other = await OidcEmulator.start()
    try {
      const error = await failure(
        resolveAccounts(
          identity([ROLE_A]),
          deps({
            getIDToken: async aud => (tokens.push(other.issueToken(aud)), tokens.at(-1) as string)
          })
        )
      )
      expect(error.message).toContain(
        'InvalidIdentityToken (The web identity token that was passed could not be validated'
      )
    } finally {
      await other.close()
    }
  })

  test('credentials renew themselves before they expire', async () => {
    const [account] = await resolveAccounts(identity([ROLE_A]), deps())
    const first = await account?.credentials?.()
    expect(first?.accessKeyId).toMatch(/^ASIA/)
    // Still valid for ~15 minutes: the cached value is returned.
    expect((await account?.credentials?.())?.accessKeyId).toBe(first?.accessKeyId)
    expect(sts.count('AssumeRoleWithWebIdentity')).toBe(1)
  })
})

describe('default credential chain', () => {
  test('no role: account id from GetCallerIdentity, credentials left to the SDK', async () => {
    const accounts = await resolveAccounts(identity([]), deps())
    expect(accounts).toEqual([
      { accountId: '333333333333', callerArn: 'arn:aws:iam::333333333333:user/ci' }
    ])
    expect(oidc.count()).toBe(0)
    expect(sts.calls.map(c => c.action)).toEqual(['GetCallerIdentity'])
  })

  test('STS unreachable: account reported as default, with a warning', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_STS
    const dead = new StsEmulator()
    process.env.AWS_ENDPOINT_URL_STS = await dead.start()
    await dead.stop()
    try {
      const accounts = await resolveAccounts(identity([]), deps())
      expect(accounts).toEqual([{ accountId: 'default' }])
      expect(events.find(e => e.startsWith('warning:'))).toContain('GetCallerIdentity')
    } finally {
      process.env.AWS_ENDPOINT_URL_STS = saved
    }
  })
})

describe('rules-per-group quota', () => {
  test('the applied quota (200) comes from Service Quotas, per account and region', async () => {
    quotas.setQuota(ACCOUNT_A, 'us-east-1', 200)
    const [a, b] = await resolveAccounts(identity([ROLE_A, ROLE_B]), deps())
    await expect(readRuleQuota('us-east-1', a?.credentials)).resolves.toEqual({
      value: 200,
      source: 'service-quotas'
    })
    await expect(readRuleQuota('us-east-1', b?.credentials)).resolves.toEqual({
      value: 60,
      source: 'service-quotas'
    })
    expect(quotas.calls.map(c => [c.operation, c.account, c.region, c.quotaCode])).toEqual([
      ['GetServiceQuota', ACCOUNT_A, 'us-east-1', 'L-0EA8095F'],
      ['GetServiceQuota', ACCOUNT_B, 'us-east-1', 'L-0EA8095F']
    ])
  })

  test('denied: falls back to the AWS default with a warning naming the permission', async () => {
    quotas.setQuota(ACCOUNT_A, 'us-east-1', 200).deny(ACCOUNT_A, 'GetServiceQuota')
    const [a] = await resolveAccounts(identity([ROLE_A]), deps())
    const quota = await readRuleQuota('eu-west-1', a?.credentials, { maxAttempts: 1 })
    expect(quota).toMatchObject({ value: 60, source: 'default' })
    expect(quota.warning).toContain('servicequotas:GetServiceQuota')
    expect(quota.warning).toContain(`arn:aws:servicequotas:eu-west-1:<account>:vpc/L-0EA8095F`)
    expect(quotas.calls.map(c => [c.operation, c.errorType])).toEqual([
      ['GetServiceQuota', 'AccessDeniedException'],
      ['GetAWSDefaultServiceQuota', undefined]
    ])
  })

  test('both operations denied: 60 with the warning; no applied value: the default, silently', async () => {
    quotas
      .deny(ACCOUNT_A, 'GetServiceQuota', 'GetAWSDefaultServiceQuota')
      .withoutAppliedValue(ACCOUNT_B)
    const [a, b] = await resolveAccounts(identity([ROLE_A, ROLE_B]), deps())
    const denied = await readRuleQuota('us-east-1', a?.credentials, { maxAttempts: 1 })
    expect(denied).toMatchObject({ value: 60, source: 'default' })
    expect(denied.warning).toContain('servicequotas:GetServiceQuota')
    await expect(readRuleQuota('us-east-1', b?.credentials)).resolves.toEqual({
      value: 60,
      source: 'default'
    })
  })
})
