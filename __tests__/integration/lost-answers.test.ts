// Issue 15, "A lost answer can end in a false failure": discover -> plan -> apply through the real
// @aws-sdk/client-ec2 against the loopback EC2 emulator, with the answer of one mutating call cut
// after it took effect. The SDK retries; the retry meets the changed group. EC2 does not document
// whether an authorize meets the duplicate check or the quota check first, so every case runs
// under both orders. After any error the group is read exactly once, and what is in place is done.
import { applyPlan } from '../../src/apply.js'
import { discoverRegion } from '../../src/discover.js'
import { buildPlan } from '../../src/plan.js'
import type { CidrsByScope } from '../../src/types.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'
import type {
  AuthorizeCheckOrder,
  Ec2Call,
  Ec2Intercept,
  GroupSnapshot
} from '../../dev/emulators/ec2.js'
import { DEFAULT_OWNERSHIP, regionClients } from '../helpers/sync-fixtures.js'

const ACCOUNT = '123456789012'
const REGION = 'us-east-1'
const DESCRIPTION = 'cloudfront-sg-sync'
const emulator = new Ec2Emulator()
const net = (n: number) => `10.0.${n}.0/24`
const nets = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => net(from + i))
const ORDERS: AuthorizeCheckOrder[] = ['duplicate-first', 'quota-first']
const FOREIGN = { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '192.0.2.0/24' }
// The group holds 10.0.0-3 (ours) and one foreign rule; the new ranges are 10.0.2-7: the authorize
// adds 4 and fills the group exactly (1 + 4 + 4 = 9), then the revoke takes 10.0.0-1 away.
const LIMIT = 9
const OLD = nets(0, 4)
const NEW = nets(2, 8)

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_EC2 = await emulator.start()
  process.env.AWS_ACCESS_KEY_ID = 'AKIDLOSTANSWERS'
  process.env.AWS_SECRET_ACCESS_KEY = 'lost-answers-secret'
})
afterAll(async () => {
  await emulator.stop()
})
beforeEach(() => {
  emulator.reset()
  emulator.rulesPerGroupLimit = LIMIT
  emulator.onRequest = undefined
})

function seedGroup(): string {
  return emulator.createGroup({
    region: REGION,
    vpcId: 'vpc-1',
    name: 'edge',
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' },
    ingress: [
      FOREIGN,
      ...OLD.map(cidr => ({
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        cidr,
        description: DESCRIPTION
      }))
    ]
  })
}

const desired = (ipv4: string[]): CidrsByScope => ({
  global: { ipv4, ipv6: [] },
  regional: { ipv4: [], ipv6: [] }
})

/** One whole sync, as the action runs it; `maxAttempts` bounds the SDK's retries. */
async function sync(ipv4: string[], maxAttempts = 8) {
  const apiFor = regionClients(maxAttempts)
  const inventory = await discoverRegion(
    apiFor(ACCOUNT, REGION),
    { account: ACCOUNT, region: REGION },
    DEFAULT_OWNERSHIP,
    LIMIT
  )
  const plan = buildPlan(desired(ipv4), inventory.groups, {
    families: ['ipv4'],
    maxRemovalsPercent: 100
  })
  expect(plan.problems).toEqual([])
  const from = emulator.calls.length
  const result = await applyPlan(plan, apiFor, {
    ruleDescription: DESCRIPTION,
    syncToken: '1785000000'
  })
  return { plan, result, calls: emulator.calls.slice(from) }
}

/** Answers the chosen call's attempts in turn; later attempts and other calls pass through. */
function intercept(action: string, answers: Ec2Intercept[]): void {
  let seen = 0
  emulator.onRequest = (call: Ec2Call) => {
    if (call.action !== action) return undefined
    return answers[seen++]
  }
}

const drop: Ec2Intercept = { kind: 'drop-after' }
const internalError: Ec2Intercept = {
  kind: 'error',
  code: 'InternalError',
  status: 500,
  message: 'An internal error has occurred'
}

const ingress = (groupId: string) =>
  (emulator.getGroup(groupId) as GroupSnapshot).ingress
    .map(r => `${r.fromPort} ${r.cidrIpv4 ?? r.cidrIpv6 ?? ''}`)
    .sort()
const exact = [`22 ${FOREIGN.cidr}`, ...NEW.map(cidr => `443 ${cidr}`)].sort()
const outcomes = (calls: Ec2Call[]) =>
  calls
    .filter(c => c.action !== 'CreateTags')
    .map(c => `${c.action.replace('SecurityGroupIngress', 'Ingress')} ${c.errorCode ?? 'ok'}`)

/** A second sync: nothing to do, not a single mutating call. */
async function idleRerun(): Promise<void> {
  const { result, calls } = await sync(NEW)
  expect(result.failures).toEqual([])
  expect(calls.filter(c => c.mutating)).toEqual([])
}

describe.each(ORDERS)('EC2 checks %s', order => {
  beforeEach(() => {
    emulator.authorizeCheckOrder = order
  })

  test('the answer to an authorize that fills the group exactly is lost: done, the revokes run, one extra read', async () => {
    const group = seedGroup()
    intercept('AuthorizeSecurityGroupIngress', [drop])
    const { plan, result, calls } = await sync(NEW)
    expect(plan.pools[0]?.groups[0]).toMatchObject({ revokeFirst: false })
    // The retry meets the group as the lost call left it: which error depends on the order.
    const retryError =
      order === 'quota-first' ? 'RulesPerSecurityGroupLimitExceeded' : 'InvalidPermission.Duplicate'
    expect(outcomes(calls)).toEqual([
      'AuthorizeIngress ConnectionDroppedAfterCommit',
      `AuthorizeIngress ${retryError}`,
      'DescribeSecurityGroups ok',
      'RevokeIngress ok'
    ])
    expect(result).toMatchObject({ rulesAdded: 4, rulesRemoved: 2, failures: [] })
    expect(ingress(group)).toEqual(exact)
    await idleRerun()
  })

  test('the answer is lost and every later attempt answers 500: the re-read shows it done', async () => {
    const group = seedGroup()
    intercept('AuthorizeSecurityGroupIngress', [drop, internalError])
    const { result, calls } = await sync(NEW, 2)
    expect(outcomes(calls)).toEqual([
      'AuthorizeIngress ConnectionDroppedAfterCommit',
      'AuthorizeIngress InternalError',
      'DescribeSecurityGroups ok',
      'RevokeIngress ok'
    ])
    expect(result).toMatchObject({ rulesAdded: 4, rulesRemoved: 2, failures: [] })
    expect(ingress(group)).toEqual(exact)
    await idleRerun()
  })

  test('one of the batch added by someone else at the last moment: the rest is sent once more', async () => {
    const group = seedGroup()
    let edited = false
    emulator.onRequest = call => {
      if (call.action !== 'AuthorizeSecurityGroupIngress' || edited) return undefined
      edited = true
      emulator.addIngress(group, [
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: net(7), description: DESCRIPTION }
      ])
      return undefined
    }
    const { result, calls } = await sync(NEW)
    const firstError =
      order === 'quota-first' ? 'RulesPerSecurityGroupLimitExceeded' : 'InvalidPermission.Duplicate'
    expect(outcomes(calls)).toEqual([
      `AuthorizeIngress ${firstError}`,
      'DescribeSecurityGroups ok',
      'AuthorizeIngress ok',
      'RevokeIngress ok'
    ])
    expect(result).toMatchObject({ rulesAdded: 4, rulesRemoved: 2, failures: [] })
    expect(ingress(group)).toEqual(exact)
    await idleRerun()
  })

  test('a genuine quota error (a foreign rule took the last slot): failed, clearly, and the revokes wait', async () => {
    const group = seedGroup()
    let edited = false
    emulator.onRequest = call => {
      if (call.action !== 'AuthorizeSecurityGroupIngress' || edited) return undefined
      edited = true
      emulator.addIngress(group, [
        { protocol: 'tcp', fromPort: 8080, toPort: 8080, cidr: '198.51.100.0/24' }
      ])
      return undefined
    }
    const { result, calls } = await sync(NEW)
    expect(outcomes(calls)).toEqual([
      'AuthorizeIngress RulesPerSecurityGroupLimitExceeded',
      'DescribeSecurityGroups ok'
    ])
    expect(result.rulesAdded).toBe(0)
    expect(result.rulesRemoved).toBe(0)
    expect(result.failures).toHaveLength(1)
    expect(result.failures[0]).toContain(group)
    expect(result.failures[0]).toMatch(
      /RulesPerSecurityGroupLimitExceeded: the group has fewer free rule slots than max-rules-per-group assumed/
    )
    // Not counted as partly done, and the old rules all stay: no address lost.
    expect(result.failures[0]).not.toMatch(/rules not added/)
    expect(result.outcomes[0]?.error).toMatch(/revokes postponed/)
    expect(ingress(group)).toEqual(
      [`22 ${FOREIGN.cidr}`, '8080 198.51.100.0/24', ...OLD.map(c => `443 ${c}`)].sort()
    )
  })

  test('one of the batch present and a foreign rule took a slot: the rest once more, then only the rest failed', async () => {
    const group = seedGroup()
    let edited = false
    emulator.onRequest = call => {
      if (call.action !== 'AuthorizeSecurityGroupIngress' || edited) return undefined
      edited = true
      emulator.rulesPerGroupLimit = LIMIT + 1
      emulator.addIngress(group, [
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: net(7), description: DESCRIPTION },
        { protocol: 'tcp', fromPort: 8080, toPort: 8080, cidr: '198.51.100.0/24' }
      ])
      emulator.rulesPerGroupLimit = LIMIT
      return undefined
    }
    const { result, calls } = await sync(NEW)
    const firstError =
      order === 'quota-first' ? 'RulesPerSecurityGroupLimitExceeded' : 'InvalidPermission.Duplicate'
    expect(outcomes(calls)).toEqual([
      `AuthorizeIngress ${firstError}`,
      'DescribeSecurityGroups ok',
      'AuthorizeIngress RulesPerSecurityGroupLimitExceeded',
      'DescribeSecurityGroups ok'
    ])
    expect(result.rulesAdded).toBe(1)
    expect(result.failures[0]).toMatch(
      /3 of 4 rules not added: RulesPerSecurityGroupLimitExceeded: the group has fewer free rule slots/
    )
    expect(result.failures[0]).toMatch(/revokes postponed/)
    expect(calls.some(c => c.action === 'RevokeSecurityGroupIngress')).toBe(false)
  })

  test('an authorize denied outright: failed with the permission explanation, the revokes wait', async () => {
    seedGroup()
    intercept('AuthorizeSecurityGroupIngress', [
      {
        kind: 'error',
        code: 'UnauthorizedOperation',
        status: 403,
        message: 'You are not authorized'
      }
    ])
    const { result, calls } = await sync(NEW)
    expect(outcomes(calls)).toEqual([
      'AuthorizeIngress UnauthorizedOperation',
      'DescribeSecurityGroups ok'
    ])
    expect(result.failures[0]).toMatch(/UnauthorizedOperation.*ec2:AuthorizeSecurityGroupIngress/)
    expect(calls.some(c => c.action === 'RevokeSecurityGroupIngress')).toBe(false)
  })
})

describe('a revoke whose answer is lost', () => {
  // Only the rules on the way out change: 10.0.0-1 go, nothing is added.
  const KEPT = nets(2, 4)
  const kept = [`22 ${FOREIGN.cidr}`, ...KEPT.map(cidr => `443 ${cidr}`)].sort()

  test('the retry meets InvalidPermission.NotFound: done', async () => {
    const group = seedGroup()
    intercept('RevokeSecurityGroupIngress', [drop])
    const { result, calls } = await sync(KEPT)
    expect(outcomes(calls)).toEqual([
      'RevokeIngress ConnectionDroppedAfterCommit',
      'RevokeIngress InvalidPermission.NotFound',
      'DescribeSecurityGroups ok'
    ])
    expect(result).toMatchObject({ rulesRemoved: 2, failures: [] })
    expect(ingress(group)).toEqual(kept)
    const rerun = await sync(KEPT)
    expect(rerun.calls.filter(c => c.mutating)).toEqual([])
  })

  test('every later attempt answers 500: the re-read shows the rules gone, done', async () => {
    const group = seedGroup()
    intercept('RevokeSecurityGroupIngress', [drop, internalError])
    const { result, calls } = await sync(KEPT, 2)
    expect(outcomes(calls)).toEqual([
      'RevokeIngress ConnectionDroppedAfterCommit',
      'RevokeIngress InternalError',
      'DescribeSecurityGroups ok'
    ])
    expect(result).toMatchObject({ rulesRemoved: 2, failures: [] })
    expect(ingress(group)).toEqual(kept)
    const rerun = await sync(KEPT)
    expect(rerun.calls.filter(c => c.mutating)).toEqual([])
  })

  test('a revoke that truly fails (500s, rules still there): failed, with the error', async () => {
    const group = seedGroup()
    intercept('RevokeSecurityGroupIngress', [internalError, internalError])
    const { result, calls } = await sync(KEPT, 2)
    expect(outcomes(calls)).toEqual([
      'RevokeIngress InternalError',
      'RevokeIngress InternalError',
      'DescribeSecurityGroups ok'
    ])
    expect(result.rulesRemoved).toBe(0)
    expect(result.failures[0]).toMatch(/InternalError/)
    expect(ingress(group)).toEqual([`22 ${FOREIGN.cidr}`, ...OLD.map(c => `443 ${c}`)].sort())
  })
})
