// check mode: the inputs it adds, and its verdict as a pure function of a real plan.
import { decideCheck } from '../../src/check.js'
import { ConfigError, parseConfig } from '../../src/config.js'
import { formatDuration, parseDuration } from '../../src/duration.js'
import type { ManagedGroup } from '../../src/inventory.js'
import { buildPlan } from '../../src/plan.js'
import type { CidrsByScope } from '../../src/types.js'

const parse = (inputs: Record<string, string>) =>
  parseConfig(name => inputs[name] ?? '', { AWS_REGION: 'us-east-1' }, {}, new Date())

describe('mode and max-staleness inputs', () => {
  test('default to a sync, and 24 hours', () => {
    expect(parse({})).toMatchObject({ mode: 'sync', maxStalenessSeconds: 86400 })
    expect(parse({ mode: 'check' }).mode).toBe('check')
  })

  test.each([
    ['90m', 5400],
    ['2d', 172800],
    ['36h', 129600],
    ['45s', 45],
    ['0s', 0],
    [' 12H ', 43200]
  ])('max-staleness %j is %d seconds', (value, seconds) => {
    expect(parse({ 'max-staleness': value }).maxStalenessSeconds).toBe(seconds)
  })

  test.each(['24', '1.5h', '2 days', '-1h', 'h', '1w', '366d', '1d12h'])(
    'max-staleness %j is refused, naming the input and the expected form',
    value => {
      expect(() => parse({ 'max-staleness': value })).toThrow(ConfigError)
      expect(() => parse({ 'max-staleness': value })).toThrow(
        `Input 'max-staleness' has an invalid value '${value}': expected a duration such as '90m'`
      )
    }
  )

  test('an unknown mode is refused with both choices', () => {
    expect(() => parse({ mode: 'audit' })).toThrow(
      "Input 'mode' has an invalid value 'audit': expected 'sync' (change the groups) or 'check'"
    )
  })

  test('durations read back in words', () => {
    expect(parseDuration('x', '1d')).toBe(86400)
    expect([30, 90 * 60, 26 * 3600, 3 * 86400 + 3600].map(formatDuration)).toEqual([
      '30s',
      '1h 30m',
      '1d 2h',
      '3d 1h'
    ])
  })
})

// ---- the verdict ----

const DOCUMENT = '1785000000'
const HOUR = 3600
const net = (n: number) => `10.0.${n}.0/24`
const wanted: CidrsByScope = {
  global: { ipv4: [net(1), net(2)], ipv6: [] },
  regional: { ipv4: [], ipv6: [] }
}

function group(id: string, vpc: string, cidrs: string[], syncToken?: string): ManagedGroup {
  return {
    account: '111111111111',
    region: 'us-east-1',
    groupId: id,
    groupName: id,
    vpcId: vpc,
    nameTag: 'cloudfront_g',
    scope: 'global',
    protocol: 'https',
    port: 443,
    managed: { ipv4: cidrs.map(cidr => ({ cidr, raw: cidr })), ipv6: [] },
    ruleLimit: 60,
    foreignWeight: { ipv4: 0, ipv6: 0 },
    foreignOnPort: { ipv4: [], ipv6: [] },
    ...(syncToken ? { syncToken } : {})
  }
}

function check(groups: ManagedGroup[], maxStalenessSeconds = 24 * HOUR, limit = 60) {
  const sized = groups.map(g => ({ ...g, ruleLimit: limit }))
  const plan = buildPlan(wanted, sized, {
    families: ['ipv4'],
    maxRemovalsPercent: 100,
    syncToken: DOCUMENT
  })
  return decideCheck(plan, sized, { documentSyncToken: DOCUMENT, maxStalenessSeconds })
}

const before = (seconds: number) => String(Number(DOCUMENT) - seconds)
const POOL1 = '111111111111/us-east-1/vpc-1/global/tcp:443'
const POOL2 = '111111111111/us-east-1/vpc-2/global/tcp:443'

describe('decideCheck', () => {
  test('pools that hold the published set pass, tagged long ago or never tagged', () => {
    const result = check([
      group('sg-a', 'vpc-1', [net(1), net(2)], before(40 * 86400)),
      group('sg-b', 'vpc-2', [net(1), net(2)])
    ])
    expect(result).toMatchObject({ inSync: true, stalenessSeconds: 0, findings: [] })
    expect(result.pools.map(p => p.state)).toEqual(['in-sync', 'in-sync'])
  })

  test('a pool that differs fails as out of sync, since its last recorded sync', () => {
    const result = check([
      group('sg-a', 'vpc-1', [net(1)], before(2 * HOUR)),
      group('sg-b', 'vpc-2', [net(1), net(2)])
    ])
    expect(result.inSync).toBe(false)
    expect(result.stalenessSeconds).toBe(2 * HOUR)
    expect(result.findings.map(f => f.condition)).toEqual(['out-of-sync'])
    expect(result.findings[0]?.message).toContain(
      `${POOL1} (+1 / −0 rules; last synced to syncToken 1784992800 (2026-07-25T15:20:00Z))`
    )
    expect(result.pools.find(p => p.id === POOL1)).toMatchObject({
      state: 'out-of-sync',
      rulesToAdd: 1,
      rulesToRemove: 0,
      lagSeconds: 2 * HOUR
    })
  })

  test('an out-of-sync pool with no recorded syncToken: staleness unknown, still out of sync', () => {
    const result = check([group('sg-a', 'vpc-1', [net(1), net(9)])])
    expect(result.inSync).toBe(false)
    expect(result.stalenessSeconds).toBeUndefined()
    expect(result.findings.map(f => f.condition)).toEqual(['out-of-sync'])
    expect(result.findings[0]?.message).toContain('no syncToken recorded, so since when is unknown')
  })

  test('lagging by more than max-staleness is reported as stale too, with since when', () => {
    const result = check([group('sg-a', 'vpc-1', [net(1)], before(3 * 86400))], 2 * 86400)
    expect(result.stalenessSeconds).toBe(3 * 86400)
    expect(result.findings.map(f => f.condition)).toEqual(['out-of-sync', 'stale'])
    expect(result.findings[1]?.message).toBe(
      `The sync has stopped: 1 pool(s) lag the published ranges by up to 3d, more than ` +
        `max-staleness (2d): ${POOL1} behind since syncToken 1784740800 (2026-07-22T17:20:00Z). ` +
        'Check that the sync workflow is enabled and its recent runs succeed.'
    )
    // Exactly at the limit is not stale.
    expect(check([group('sg-a', 'vpc-1', [net(1)], before(86400))], 86400).findings).toHaveLength(1)
  })

  test('staleness is the largest known lag among the out-of-sync pools', () => {
    const result = check([
      group('sg-a', 'vpc-1', [net(1)], before(5 * HOUR)),
      group('sg-a2', 'vpc-1', [], before(9 * HOUR)),
      group('sg-b', 'vpc-2', [net(2)], before(7 * HOUR))
    ])
    // The pool's newest tag counts (5h, not 9h).
    expect(result.pools.map(p => p.lagSeconds)).toEqual([5 * HOUR, 7 * HOUR])
    expect(result.stalenessSeconds).toBe(7 * HOUR)
  })

  test('a group recording a newer syncToken than the document holds its pool back: fails', () => {
    const result = check([
      group('sg-a', 'vpc-1', [net(1), net(3)], String(Number(DOCUMENT) + 600)),
      group('sg-b', 'vpc-2', [net(1), net(2)])
    ])
    expect(result.inSync).toBe(false)
    expect(result.stalenessSeconds).toBe(0)
    expect(result.findings.map(f => f.condition)).toEqual(['held-back'])
    expect(result.findings[0]?.message).toContain(
      `${POOL1} since syncToken 1785000600 (2026-07-25T17:30:00Z)`
    )
    expect(result.pools.find(p => p.id === POOL2)?.state).toBe('in-sync')
  })

  test('a plan a sync would refuse fails the check, even with nothing placeable', () => {
    const result = check([group('sg-a', 'vpc-1', [])], 24 * HOUR, 1)
    expect(result.inSync).toBe(false)
    expect(result.findings[0]?.condition).toBe('refused')
    expect(result.findings[0]?.message).toMatch(/^A sync would be refused: Pool .* cannot hold/)
  })

  test('long pool lists are cut at five', () => {
    const groups = Array.from({ length: 7 }, (_, i) => group(`sg-${i}`, `vpc-${i}`, [net(1)]))
    const message = check(groups).findings[0]?.message ?? ''
    expect(message).toMatch(/^7 pool\(s\) do not hold/)
    expect(message).toContain('; and 2 more.')
  })
})
