// AWS identity end to end (issue 3): the committed dist/index.js on Node 24, assuming roles with the
// job's OIDC token through the real SDK against the loopback STS, EC2, Service Quotas and Actions
// OIDC emulators. Once STS has issued a key, the EC2 emulator accepts only the keys STS issued
// (allow-list mode), so every synced group below proves the EC2 calls were signed with them.
// The last test scans everything every run of this file printed or wrote for credential values.
import {
  DEFAULT_CHAIN_ACCOUNT,
  DEFAULT_CHAIN_KEY,
  startAwsEmulators
} from '../../dev/emulators/aws.js'
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import type { GroupSnapshot } from '../../dev/emulators/ec2.js'
import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { errorText, runAction } from '../../dev/run-action.js'
import type { ActionRun, RunActionOptions } from '../../dev/run-action.js'

const ACCOUNT_A = '111111111111'
const ACCOUNT_B = '222222222222'
const ACCOUNT_DENIED = '333333333333'
const ROLE_A = `arn:aws:iam::${ACCOUNT_A}:role/cloudfront-sg-sync`
const ROLE_B = `arn:aws:iam::${ACCOUNT_B}:role/ops/cloudfront-sg-sync`
// Trusts another repository only: this job's token (repo:octo-org/edge:...) is refused.
const ROLE_DENIED = `arn:aws:iam::${ACCOUNT_DENIED}:role/cloudfront-sg-sync`
const OTHER_REPO_SUBJECT = 'repo:octo-org/other-repo:ref:refs/heads/main'
// What the OIDC emulator puts in `sub` for its default workflow context (a push to main).
const JOB_SUBJECT = 'repo:octo-org/edge:ref:refs/heads/main'

let aws: AwsEmulators
const ranges = new RangesServer()
let rangesUrl: string
/** Every run of this file, for the leak scan at the end. */
const runs: ActionRun[] = []

const doc = generateIpRanges({ seed: 31, syncToken: '1786000000', otherServicesScale: 0.05 })

beforeAll(async () => {
  aws = await startAwsEmulators({
    roles: [
      { roleArn: ROLE_A, subject: 'repo:octo-org/edge:*' },
      { roleArn: ROLE_B, subject: ['repo:octo-org/edge:ref:refs/heads/*'] },
      { roleArn: ROLE_DENIED, subject: OTHER_REPO_SUBJECT }
    ]
  })
  rangesUrl = await ranges.start()
  ranges.serve(serializeIpRanges(doc))
})
afterAll(async () => {
  await Promise.all([aws.stop(), ranges.stop()])
})
beforeEach(() => {
  aws.ec2.reset()
  aws.ec2.rulesPerGroupLimit = 60
  aws.sts.reset()
  aws.quotas.reset()
  // Not aws.oidc.reset(): it forgets the issued tokens the leak scan needs.
})

async function run(
  inputs: Record<string, string>,
  extra: Partial<RunActionOptions> = {}
): Promise<ActionRun> {
  const result = await runAction({
    // No merging: groups hold exactly the published CIDRs, which the tests compare against.
    inputs: {
      'ip-ranges-url': rangesUrl,
      regions: 'us-east-1',
      'merge-adjacent': 'false',
      ...inputs
    },
    env: { ...aws.env, AWS_REGION: 'us-east-1' },
    ...extra
  })
  runs.push(result)
  return result
}

function seedGroup(account: string, name = 'cloudfront_g', vpcId = 'vpc-1'): string {
  return aws.ec2.createGroup({
    account,
    region: 'us-east-1',
    vpcId,
    name: `edge-${account}-${name}`,
    tags: { Name: name, AutoUpdate: 'true', Protocol: 'https' }
  })
}

const held = (groupId: string) =>
  (aws.ec2.getGroup(groupId) as GroupSnapshot).ingress.map(rule => rule.cidrIpv4 ?? '').sort()

/** The published IPv4 CIDRs of a service's GLOBAL set, selected independently of the action. */
const globalV4 = (service: string) =>
  [
    ...new Set(
      doc.prefixes.filter(p => p.service === service && p.region === 'GLOBAL').map(p => p.ip_prefix)
    )
  ].sort()

describe('one role through OIDC', () => {
  test('the role is assumed with the job token and every EC2 call is signed with its keys', async () => {
    const groupId = seedGroup(ACCOUNT_A)
    const result = await run({ 'role-to-assume': ROLE_A })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)

    // One token requested (the runtime bearer accepted), one AssumeRoleWithWebIdentity for ROLE_A.
    expect(aws.oidc.requests.at(-1)).toMatchObject({
      audience: 'sts.amazonaws.com',
      authorized: true,
      status: 200
    })
    const assumed = aws.sts.calls.filter(c => c.action === 'AssumeRoleWithWebIdentity')
    expect(assumed).toEqual([expect.objectContaining({ ok: true, roleArn: ROLE_A })])
    const issued = aws.sts.issued.find(c => c.accessKeyId === assumed[0]?.accessKeyId)
    expect(issued).toMatchObject({ account: ACCOUNT_A, subject: JOB_SUBJECT })

    // Allow-list mode: EC2 answers only STS-issued keys (with their session token), and maps each to
    // its account, so calls accepted as ACCOUNT_A were signed with the assumed credentials.
    expect(aws.ec2.calls.length).toBeGreaterThan(0)
    expect(aws.ec2.calls.every(c => c.ok && c.account === ACCOUNT_A)).toBe(true)
    // The quota too was read with the assumed keys, as ACCOUNT_A.
    expect(aws.quotas.calls.map(c => c.account)).toEqual([ACCOUNT_A])

    expect(held(groupId)).toEqual(globalV4('CLOUDFRONT_ORIGIN_FACING'))
    expect(result.outputs.changed).toBe('true')
    expect(JSON.parse(result.outputs.accounts ?? '{}')).toEqual({
      [ACCOUNT_A]: {
        'rules-added': held(groupId).length,
        'rules-removed': 0,
        'groups-changed': 1
      }
    })
    expect(result.stdout).toContain(`Assumed ${ROLE_A} (account ${ACCOUNT_A})`)
    expect(result.summary).toContain(`### ${ACCOUNT_A} · us-east-1 · vpc-1 · global · tcp/443`)
  })

  test('a run with the default-chain keys cannot even read the groups', async () => {
    // A group the default chain's account owns: without allow-list mode this run would sync it.
    const ownGroup = seedGroup(DEFAULT_CHAIN_ACCOUNT)
    seedGroup(ACCOUNT_A)
    // Allow-list mode is on: an earlier test (or this setup run) had STS issue a key.
    const setup = await run({ 'role-to-assume': ROLE_A, 'dry-run': 'true' })
    expect(setup.exitCode).toBe(0)
    aws.ec2.calls.length = 0

    const result = await run({})
    expect(result.exitCode).toBe(1)
    expect(aws.ec2.calls.length).toBeGreaterThan(0)
    expect(aws.ec2.calls.every(c => !c.ok && c.errorCode === 'AuthFailure')).toBe(true)
    expect(aws.ec2.mutatingCalls()).toEqual([])
    expect(held(ownGroup)).toEqual([])
    expect(errorText(result)).toContain(
      'AWS was not able to validate the provided access credentials'
    )
  })
})

test('two roles in two accounts: both synced in one run, each reported under its account id', async () => {
  const a = seedGroup(ACCOUNT_A)
  const b = seedGroup(ACCOUNT_B)
  const result = await run({ 'role-to-assume': `${ROLE_A}\n${ROLE_B}` })
  expect(result.stderr).toBe('')
  expect(result.exitCode).toBe(0)

  expect(
    aws.sts.calls
      .filter(c => c.action === 'AssumeRoleWithWebIdentity' && c.ok)
      .map(c => c.roleArn)
      .sort()
  ).toEqual([ROLE_A, ROLE_B].sort())
  const expected = globalV4('CLOUDFRONT_ORIGIN_FACING')
  expect(held(a)).toEqual(expected)
  expect(held(b)).toEqual(expected)
  // Each account's group was changed by a call accepted as that account.
  const changedIn = (account: string) =>
    aws.ec2.mutatingCalls().filter(c => c.ok && c.account === account)
  expect(changedIn(ACCOUNT_A).some(c => c.params.GroupId === a)).toBe(true)
  expect(changedIn(ACCOUNT_B).some(c => c.params.GroupId === b)).toBe(true)

  const accounts = JSON.parse(result.outputs.accounts ?? '{}') as Record<string, unknown>
  const counts = { 'rules-added': expected.length, 'rules-removed': 0, 'groups-changed': 1 }
  expect(accounts).toEqual({ [ACCOUNT_A]: counts, [ACCOUNT_B]: counts })
  expect(result.outputs['rules-added']).toBe(String(2 * expected.length))
  expect(result.summary).toContain(`### ${ACCOUNT_A} · us-east-1 · vpc-1 · global · tcp/443`)
  expect(result.summary).toContain(`### ${ACCOUNT_B} · us-east-1 · vpc-1 · global · tcp/443`)
  expect(result.summary).toMatch(
    /\| Accounts \| (111111111111, 222222222222|222222222222, 111111111111) \|/
  )
  const plan = result.planFile as { accounts: string[]; pools: { account: string }[] }
  expect([...plan.accounts].sort()).toEqual([ACCOUNT_A, ACCOUNT_B])
  expect(plan.pools.map(pool => pool.account).sort()).toEqual([ACCOUNT_A, ACCOUNT_B])
})

test('without id-token: write the run says which permission to grant, before any AWS call', async () => {
  seedGroup(ACCOUNT_A)
  const oidcRequests = aws.oidc.requests.length
  const env = Object.fromEntries(
    Object.entries({ ...aws.env, AWS_REGION: 'us-east-1' }).filter(
      ([name]) => !name.startsWith('ACTIONS_ID_TOKEN_REQUEST_')
    )
  )
  const result = await run({ 'role-to-assume': ROLE_A }, { env })
  expect(result.exitCode).toBe(1)
  const message = errorText(result)
  expect(message).toContain('ACTIONS_ID_TOKEN_REQUEST_URL')
  expect(message).toContain('permissions:\n  id-token: write')
  expect(message).toContain('contents: read')
  expect(result.summary).toContain('id-token: write')
  expect(aws.ec2.calls).toEqual([])
  expect(aws.sts.calls).toEqual([])
  expect(aws.quotas.calls).toEqual([])
  expect(aws.oidc.requests.length).toBe(oidcRequests)
})

test('AccessDenied shows the token claims and the trust condition, never the token', async () => {
  seedGroup(ACCOUNT_DENIED)
  const tokensBefore = aws.oidc.issuedTokens.length
  const result = await run({ 'role-to-assume': ROLE_DENIED })
  expect(result.exitCode).toBe(1)
  expect(aws.sts.calls).toEqual([
    expect.objectContaining({
      action: 'AssumeRoleWithWebIdentity',
      ok: false,
      errorCode: 'AccessDenied'
    })
  ])
  const message = errorText(result)
  expect(message).toContain(`Could not assume ${ROLE_DENIED}: AccessDenied`)
  expect(message).toMatch(new RegExp(`sub:\\s+${JOB_SUBJECT}`))
  expect(message).toMatch(/aud:\s+sts\.amazonaws\.com/)
  // The trust-policy condition that would accept this job's token.
  expect(message).toContain(`"token.actions.githubusercontent.com:sub": "${JOB_SUBJECT}"`)
  expect(message).toContain('"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"')
  expect(message).toContain(`oidc-provider/token.actions.githubusercontent.com`)

  const tokens = aws.oidc.issuedTokens.slice(tokensBefore)
  expect(tokens.length).toBeGreaterThan(0)
  const everything = [result.stdout, result.stderr, result.summary].join('\n')
  for (const token of tokens) {
    const [, payload, signature] = token.split('.')
    for (const part of [token, payload ?? token, signature ?? token]) {
      for (const line of everything.split('\n')) {
        if (!line.startsWith('::add-mask::')) expect(line).not.toContain(part)
      }
    }
  }
  expect(aws.ec2.calls).toEqual([])
  expect(aws.quotas.calls).toEqual([])
})

describe('the rule quota from Service Quotas', () => {
  const cloudfront = {
    'role-to-assume': ROLE_A,
    service: 'CLOUDFRONT'
  }

  test('quota 200: the whole CLOUDFRONT GLOBAL set fits one group, no shortfall', async () => {
    const expected = globalV4('CLOUDFRONT')
    expect(expected.length).toBeGreaterThanOrEqual(118)
    aws.quotas.setQuota(ACCOUNT_A, 'us-east-1', 200)
    aws.ec2.rulesPerGroupLimit = 200 // what EC2 enforces in that account
    const groupId = seedGroup(ACCOUNT_A)
    const regional = seedGroup(ACCOUNT_A, 'cloudfront_r')

    const result = await run(cloudfront)
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(aws.quotas.calls).toEqual([
      expect.objectContaining({
        operation: 'GetServiceQuota',
        account: ACCOUNT_A,
        region: 'us-east-1',
        quotaCode: 'L-0EA8095F',
        status: 200
      })
    ])
    expect(result.stdout).toContain(`Rule quota in ${ACCOUNT_A} us-east-1: 200 per group`)
    expect(held(groupId)).toEqual(expected)
    expect(held(regional).length).toBeGreaterThan(60)
    expect(result.stdout).not.toMatch(/::(error|warning)::/)
    expect(result.summary).toContain('✅ **Applied**')
    expect(result.summary).not.toContain('cannot hold')
  })

  test('the same ranges with max-rules-per-group: 60 are refused before any change', async () => {
    aws.quotas.setQuota(ACCOUNT_A, 'us-east-1', 200)
    aws.ec2.rulesPerGroupLimit = 200
    seedGroup(ACCOUNT_A)
    seedGroup(ACCOUNT_A, 'cloudfront_r')

    const result = await run({ ...cloudfront, 'max-rules-per-group': '60' })
    expect(result.exitCode).toBe(1)
    expect(aws.quotas.calls).toEqual([])
    expect(aws.ec2.mutatingCalls()).toEqual([])
    expect(errorText(result)).toMatch(
      new RegExp(`Pool ${ACCOUNT_A}/us-east-1/vpc-1/global/tcp:443 cannot hold its ipv4 ranges`)
    )
    expect(result.summary).toContain('⛔ **Refused**')
  })

  test('quota lookup denied: planned with 60, and a warning names the permission', async () => {
    aws.quotas.deny(ACCOUNT_A)
    const groupId = seedGroup(ACCOUNT_A)

    const result = await run({ 'role-to-assume': ROLE_A })
    expect(result.exitCode).toBe(0)
    expect(aws.quotas.calls[0]).toMatchObject({
      operation: 'GetServiceQuota',
      account: ACCOUNT_A,
      errorType: 'AccessDeniedException'
    })
    // Only the quota's warning is asserted here: the seeded group is global only, so the regional
    // ranges get a coverage warning of their own (issue 13, e2e/newcomer.test.ts).
    const warnings = result.annotations.filter(
      line => line.startsWith('::warning::') && line.includes('quota')
    )
    expect(warnings).toEqual([expect.stringContaining('servicequotas:GetServiceQuota')])
    expect(warnings[0]).toContain('L-0EA8095F')
    expect(warnings[0]).toContain('60 rules per group')
    expect(result.stdout).toContain(`Rule quota in ${ACCOUNT_A} us-east-1: 60 per group`)
    expect(result.summary).toContain('servicequotas:GetServiceQuota')
    expect(held(groupId)).toEqual(globalV4('CLOUDFRONT_ORIGIN_FACING'))
  })

  test('quota lookup denied with the whole CLOUDFRONT set in one group: refused at 60', async () => {
    aws.quotas.deny(ACCOUNT_A)
    aws.ec2.rulesPerGroupLimit = 200
    seedGroup(ACCOUNT_A)
    seedGroup(ACCOUNT_A, 'cloudfront_r')

    const result = await run(cloudfront)
    expect(result.exitCode).toBe(1)
    expect(result.annotations.some(line => line.includes('servicequotas:GetServiceQuota'))).toBe(
      true
    )
    expect(errorText(result)).toContain('cannot hold its ipv4 ranges')
    expect(aws.ec2.mutatingCalls()).toEqual([])
  })
})

test('no OIDC token or assumed credential is ever printed or written unmasked', () => {
  const tokens = [...aws.oidc.issuedTokens]
  const credentials = aws.sts.issued
  // Every test above ran; the scan is only meaningful with real values in it.
  expect(runs.length).toBeGreaterThanOrEqual(10)
  expect(tokens.length).toBeGreaterThanOrEqual(credentials.length)
  expect(credentials.length).toBeGreaterThanOrEqual(6)

  const secrets: Array<[string, string]> = [
    ['ACTIONS_ID_TOKEN_REQUEST_TOKEN', aws.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? ''],
    ['default-chain secret key', DEFAULT_CHAIN_KEY.secret]
  ]
  for (const token of tokens) {
    const [, payload, signature] = token.split('.')
    secrets.push(['OIDC token', token], ['OIDC token payload', payload ?? ''])
    secrets.push(['OIDC token signature', signature ?? ''])
  }
  for (const c of credentials) {
    secrets.push(
      [`access key id of ${c.roleArn}`, c.accessKeyId],
      [`secret key of ${c.roleArn}`, c.secretAccessKey],
      [`session token of ${c.roleArn}`, c.sessionToken]
    )
  }
  expect(secrets.every(([, value]) => value.length >= 16)).toBe(true)

  const leaks: string[] = []
  runs.forEach((result, index) => {
    const texts: Array<[string, string]> = [
      ['stdout', result.stdout],
      ['stderr', result.stderr],
      ['summary', result.summary],
      ['outputs', JSON.stringify(result.outputs)],
      ['plan file', JSON.stringify(result.planFile ?? null)]
    ]
    for (const [where, text] of texts) {
      for (const line of text.split('\n')) {
        if (where === 'stdout' && line.startsWith('::add-mask::')) continue
        for (const [what, value] of secrets) {
          if (line.includes(value)) leaks.push(`run ${index}: ${what} in ${where}`)
        }
      }
    }
  })
  expect(leaks).toEqual([])

  // And the values were masked before use: each token and assumed credential has its add-mask line.
  const masked = new Set(
    runs.flatMap(result =>
      result.stdout
        .split('\n')
        .filter(line => line.startsWith('::add-mask::'))
        .map(line => line.slice('::add-mask::'.length))
    )
  )
  const unmasked = [
    ...tokens.filter(token => !masked.has(token)).map(() => 'an OIDC token'),
    ...credentials.flatMap(c =>
      [c.accessKeyId, c.secretAccessKey, c.sessionToken]
        .filter(value => !masked.has(value))
        .map(() => `a credential of ${c.roleArn}`)
    )
  ]
  expect(unmasked).toEqual([])
})
