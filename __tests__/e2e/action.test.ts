// The committed dist/index.js, run as a GitHub runner runs it (INPUT_* variables, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, event file) on Node 24, against the loopback EC2 emulator through the real
// SDK and a loopback ip-ranges.json server over real HTTP.
import { execFileSync } from 'node:child_process'
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Emulator, GroupSnapshot } from '../../dev/emulators/ec2.js'
import { deriveIpRanges, generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { md5Hex } from '../../src/ranges/verify.js'
import type { IpRangesDocument } from '../../src/ranges/parse.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { node24, runAction } from '../../dev/run-action.js'
import type { RunActionOptions } from '../../dev/run-action.js'

let aws: AwsEmulators
let emulator: Ec2Emulator
const ranges = new RangesServer()
let env: Record<string, string>
let rangesUrl: string

const base = generateIpRanges({ seed: 11, syncToken: '1785000000', otherServicesScale: 0.05 })

beforeAll(async () => {
  aws = await startAwsEmulators()
  emulator = aws.ec2
  rangesUrl = await ranges.start()
  env = { ...aws.env, AWS_REGION: 'us-east-1' }
})
afterAll(async () => {
  await aws.stop()
  await ranges.stop()
})
beforeEach(() => {
  emulator.reset()
  emulator.rulesPerGroupLimit = 60
  emulator.onStateChange = undefined
  ranges.serve(serializeIpRanges(base))
})

/** The published CIDRs, selected independently of the action's own code. */
function published(doc: IpRangesDocument, service: string, scope: 'global' | 'regional') {
  const inScope = (region: string) => (region === 'GLOBAL') === (scope === 'global')
  const v4 = doc.prefixes
    .filter(p => p.service === service && inScope(p.region))
    .map(p => p.ip_prefix)
  const v6 = doc.ipv6_prefixes
    .filter(p => p.service === service && inScope(p.region))
    .map(p => p.ipv6_prefix)
  return [...new Set([...v4, ...v6])].sort()
}

const tags = (name: string, protocol = 'https') => ({
  Name: name,
  AutoUpdate: 'true',
  Protocol: protocol
})

function seedGroups(): Record<string, string> {
  const group = (region: string, vpcId: string, name: string, t: Record<string, string>) =>
    emulator.createGroup({ region, vpcId, name, tags: t })
  return {
    g1: group('us-east-1', 'vpc-1', 'edge-g1', tags('cloudfront_g')),
    g2: group('us-east-1', 'vpc-1', 'edge-g2', tags('cloudfront_g')),
    r1: group('us-east-1', 'vpc-1', 'edge-r1', tags('cloudfront_r')),
    r2: group('us-east-1', 'vpc-1', 'edge-r2', tags('cloudfront_r')),
    w1: group('eu-west-1', 'vpc-9', 'web-g1', tags('cloudfront_g', 'http')),
    w2: group('eu-west-1', 'vpc-9', 'web-g2', tags('cloudfront_g', 'http'))
  }
}

const held = (...groupIds: string[]) =>
  groupIds
    .flatMap(id => (emulator.getGroup(id) as GroupSnapshot).ingress)
    .map(rule => rule.cidrIpv4 ?? rule.cidrIpv6 ?? '')
    .sort()

const cloudfrontInputs = {
  regions: 'us-east-1, eu-west-1',
  service: 'CLOUDFRONT',
  'ip-families': 'ipv4,ipv6',
  'merge-adjacent': 'false'
}

function run(inputs: Record<string, string>, extra: Partial<RunActionOptions> = {}) {
  return runAction({ inputs: { 'ip-ranges-url': rangesUrl, ...inputs }, env, ...extra })
}

test('the bundle runs on Node 24, the runtime action.yml declares', () => {
  expect(execFileSync(node24(), ['--version']).toString()).toMatch(/^v24\./)
})

describe('the bundled action end to end', () => {
  test('first sync, then a rerun with nothing changed makes zero mutating calls', async () => {
    const g = seedGroups()
    const first = await run(cloudfrontInputs)
    expect(first.stderr).toBe('')
    expect(first.exitCode).toBe(0)

    expect(held(g.g1 as string, g.g2 as string)).toEqual(published(base, 'CLOUDFRONT', 'global'))
    expect(held(g.r1 as string, g.r2 as string)).toEqual(published(base, 'CLOUDFRONT', 'regional'))
    expect(held(g.w1 as string, g.w2 as string)).toEqual(published(base, 'CLOUDFRONT', 'global'))
    // One authorize per group, and one CreateTags per region recording the applied syncToken.
    expect(
      emulator
        .mutatingCalls()
        .map(c => c.action)
        .sort()
    ).toEqual(
      [...Array(6).fill('AuthorizeSecurityGroupIngress'), 'CreateTags', 'CreateTags'].sort()
    )
    expect(emulator.getGroup(g.w1 as string)?.tags['cloudfront-sg-sync:sync-token']).toBe(
      '1785000000'
    )
    const total =
      2 * published(base, 'CLOUDFRONT', 'global').length +
      published(base, 'CLOUDFRONT', 'regional').length
    expect(first.outputs).toMatchObject({
      changed: 'true',
      'rules-added': String(total),
      'rules-removed': '0',
      'groups-changed': '6',
      'sync-token': '1785000000'
    })
    expect(first.summary).toContain('✅ **Applied**')
    expect(first.summary).toContain('### 123456789012 · us-east-1 · vpc-1 · global · tcp/443')
    expect(first.summary).toContain('### 123456789012 · eu-west-1 · vpc-9 · global · tcp/80')
    expect(first.summary).toContain(md5Hex(serializeIpRanges(base)))
    expect(first.planFile).toMatchObject({ status: 'applied', totals: { rulesAdded: total } })

    const callsBefore = emulator.calls.length
    const second = await run(cloudfrontInputs)
    expect(second.exitCode).toBe(0)
    expect(emulator.calls.slice(callsBefore).filter(c => c.mutating)).toEqual([])
    // One describe page per region for the sync, and the exposure audit's one interface read per
    // region (no interface carries the groups here, so nothing else).
    const rerun = emulator.calls.slice(callsBefore)
    expect(rerun.filter(c => c.action !== 'DescribeNetworkInterfaces')).toHaveLength(2)
    expect(rerun.filter(c => c.action === 'DescribeNetworkInterfaces')).toHaveLength(2)
    expect(second.outputs).toMatchObject({
      changed: 'false',
      'rules-added': '0',
      'rules-removed': '0'
    })
    expect(second.summary).toContain('✅ **No change**')
  })

  test('one range added and one removed: one authorize and one revoke, exact final state', async () => {
    const g = seedGroups()
    expect((await run(cloudfrontInputs)).exitCode).toBe(0)
    const changed = deriveIpRanges(base, { seed: 5, add: 1, remove: 1, scope: 'global' })
    ranges.serve(serializeIpRanges(changed.doc))
    const callsBefore = emulator.calls.length

    const result = await run({ ...cloudfrontInputs, regions: 'us-east-1' })
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ 'rules-added': '1', 'rules-removed': '1' })
    const mutations = emulator.calls.slice(callsBefore).filter(c => c.mutating)
    expect(mutations.map(c => c.action).sort()).toEqual(
      ['AuthorizeSecurityGroupIngress', 'CreateTags', 'RevokeSecurityGroupIngress'].sort()
    )
    expect(held(g.g1 as string, g.g2 as string)).toEqual(
      published(changed.doc, 'CLOUDFRONT', 'global')
    )
    expect(held(g.g1 as string, g.g2 as string)).toContain(changed.added[0])
    expect(result.summary).toContain(`${changed.added[0]} (`)
    expect(result.summary).toContain(`${changed.removed[0]} (`)
  })

  test('a late notification for older ranges never undoes newer ones', async () => {
    const g = seedGroups()
    const newer = deriveIpRanges(base, { seed: 8, add: 1, remove: 1, scope: 'global' })
    ranges.serve(serializeIpRanges(newer.doc))
    const inputs = { ...cloudfrontInputs, regions: 'us-east-1' }
    expect((await run(inputs)).exitCode).toBe(0)
    const afterNewer = held(g.g1 as string, g.g2 as string)

    // The CDN (or a replayed dispatch) now serves the older file.
    ranges.serve(serializeIpRanges(base))
    const callsBefore = emulator.calls.length
    const result = await run(inputs)
    expect(result.exitCode).toBe(0)
    expect(emulator.calls.slice(callsBefore).filter(c => c.mutating)).toEqual([])
    expect(held(g.g1 as string, g.g2 as string)).toEqual(afterNewer)
    // A warning, not a notice (issue 15): the pool is not on this run's ranges.
    expect(result.stdout).toMatch(/::warning::.*global\/tcp:443 held back: .* holds newer ranges/)
    expect(result.summary).toContain('already holds newer ranges')
    expect(result.summary).toContain('⚠️ **Held back**')
  })

  test('a range replaced by its covering parent moves between groups with no gap', async () => {
    const doc = structuredClone(base)
    const entry = { region: 'GLOBAL', service: 'CLOUDFRONT', network_border_group: 'GLOBAL' }
    doc.prefixes.push(
      { ...entry, ip_prefix: '198.18.0.0/24' },
      { ...entry, ip_prefix: '198.18.1.0/24' }
    )
    ranges.serve(serializeIpRanges(doc))
    const g = seedGroups()
    // 120 global ranges fill two groups exactly; a third gives the headroom a change needs.
    g.g3 = emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'edge-g3',
      tags: tags('cloudfront_g')
    })
    const inputs = { ...cloudfrontInputs, regions: 'us-east-1' }
    expect((await run(inputs)).exitCode).toBe(0)
    const holder = (cidr: string) => [g.g1, g.g2].find(id => held(id as string).includes(cidr))
    // Placement spreads ranges, so the two halves live in different groups.
    expect(holder('198.18.0.0/24')).not.toBe(holder('198.18.1.0/24'))

    const merged = structuredClone(base)
    merged.syncToken = '1785003600'
    merged.prefixes.push({ ...entry, ip_prefix: '198.18.0.0/23' })
    ranges.serve(serializeIpRanges(merged))
    const gaps: string[] = []
    emulator.onStateChange = snapshot => {
      const now = snapshot
        .filter(s => [g.g1, g.g2, g.g3].includes(s.groupId))
        .flatMap(s => s.ingress.map(rule => rule.cidrIpv4))
      const covered =
        now.includes('198.18.0.0/23') ||
        (now.includes('198.18.0.0/24') && now.includes('198.18.1.0/24'))
      if (!covered) gaps.push(now.length.toString())
    }
    const result = await run(inputs)
    expect(result.stdout).not.toContain('::error::')
    expect(result.exitCode).toBe(0)
    expect(gaps).toEqual([])
    expect(held(g.g1 as string, g.g2 as string, g.g3 as string)).toEqual(
      published(merged, 'CLOUDFRONT', 'global')
    )
    expect(result.outputs).toMatchObject({ 'rules-added': '1', 'rules-removed': '2' })
  })

  test('not enough rule slots: refused before any mutation, with what to add', async () => {
    emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'only',
      tags: tags('cloudfront_g')
    })
    const result = await run({ ...cloudfrontInputs, regions: 'us-east-1' })
    expect(result.exitCode).toBe(1)
    expect(emulator.mutatingCalls()).toEqual([])
    expect(result.stdout).toMatch(
      /::error::.*Pool 123456789012\/us-east-1\/vpc-1\/global\/tcp:443 cannot hold its ipv4 ranges/
    )
    expect(result.stdout).toContain('tag 1 more security group(s) in vpc-1')
    expect(result.summary).toContain('⛔ **Refused**')
    expect(result.outputs).toMatchObject({ changed: 'false', 'rules-added': '0' })
  })

  test('an MD5 that does not match the notified file stops the run before any AWS call', async () => {
    seedGroups()
    const result = await run(cloudfrontInputs, {
      event: {
        name: 'repository_dispatch',
        payload: {
          action: 'aws-ip-ranges-changed',
          client_payload: { md5: '0'.repeat(32), synctoken: base.syncToken }
        }
      }
    })
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toMatch(/::error::.*MD5/)
    // The reason and its hint are two sentences (issue 13 #3).
    expect(result.stdout).toMatch(/::error::.*was announced\. Same syncToken, different content/)
    expect(emulator.calls).toEqual([])
    expect(result.summary).toContain('❌ **Failed**')
  })

  test('dry run plans and reports, and changes nothing', async () => {
    seedGroups()
    const result = await run({ ...cloudfrontInputs, 'dry-run': 'true' })
    expect(result.exitCode).toBe(0)
    expect(emulator.mutatingCalls()).toEqual([])
    expect(result.outputs.changed).toBe('true')
    expect(Number(result.outputs['rules-added'])).toBeGreaterThan(300)
    expect(result.summary).toContain('🧪 **Dry run**')
  })

  test('a throttling storm (30% RequestLimitExceeded) still converges', async () => {
    const g = seedGroups()
    emulator.faults = { throttleRate: 0.3, seed: 3 }
    const result = await run(cloudfrontInputs)
    emulator.faults = {}
    expect(result.exitCode).toBe(0)
    expect(
      emulator.calls.filter(c => c.errorCode === 'RequestLimitExceeded').length
    ).toBeGreaterThan(0)
    expect(held(g.g1 as string, g.g2 as string)).toEqual(published(base, 'CLOUDFRONT', 'global'))
    expect(held(g.r1 as string, g.r2 as string)).toEqual(published(base, 'CLOUDFRONT', 'regional'))
  })

  test('the default service and merge settings sync the origin-facing set', async () => {
    const g = seedGroups()
    const result = await run({ regions: 'us-east-1' })
    expect(result.exitCode).toBe(0)
    const global = held(g.g1 as string, g.g2 as string)
    const expected = base.prefixes
      .filter(p => p.service === 'CLOUDFRONT_ORIGIN_FACING' && p.region === 'GLOBAL')
      .map(p => p.ip_prefix)
    // Merging may combine neighbours into fewer rules, but never widens.
    expect(global.length).toBeGreaterThan(0)
    expect(global.length).toBeLessThanOrEqual(new Set(expected).size)
    expect(result.summary).toContain('CLOUDFRONT_ORIGIN_FACING (ipv4)')
  })

  test.each([
    [
      { 'max-rules-per-group': 'sixty' },
      "Input 'max-rules-per-group' has an invalid value 'sixty'"
    ],
    [{ 'ip-ranges-url': 'http://example.com/ip-ranges.json' }, "Input 'ip-ranges-url'"],
    [{ regions: 'us-east-1;eu-west-1' }, "Input 'regions'"]
  ])('bad input %j fails with a clear error and no call at all', async (inputs, message) => {
    seedGroups()
    const requestsBefore = ranges.requests
    const result = await run(inputs)
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain(`::error::${message}`)
    expect(emulator.calls).toEqual([])
    expect(ranges.requests).toBe(requestsBefore)
  })
})
