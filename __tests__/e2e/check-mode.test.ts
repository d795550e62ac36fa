// `mode: check` through the committed bundle (dist/index.js) on Node 24, against the loopback EC2
// emulator and a loopback ip-ranges.json server: in sync, out of sync, held back and stale, each
// with its exit code, outputs and summary, and never one mutating call.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Emulator } from '../../dev/emulators/ec2.js'
import { deriveIpRanges, generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { runAction } from '../../dev/run-action.js'
import { unescapeMarkdown } from '../helpers/markdown-text.js'

let aws: AwsEmulators
let emulator: Ec2Emulator
const ranges = new RangesServer()
let env: Record<string, string>
let rangesUrl: string

const base = generateIpRanges({ seed: 11, syncToken: '1785000000', otherServicesScale: 0.05 })
const inputs = { regions: 'us-east-1', service: 'CLOUDFRONT', 'merge-adjacent': 'false' }
const POOL = '123456789012/us-east-1/vpc-1/global/tcp:443'

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
  ranges.serve(serializeIpRanges(base))
})

const tags = (name: string, extra: Record<string, string> = {}) => ({
  Name: name,
  AutoUpdate: 'true',
  Protocol: 'https',
  ...extra
})

function run(more: Record<string, string> = {}) {
  return runAction({ inputs: { 'ip-ranges-url': rangesUrl, ...inputs, ...more }, env })
}

/** Two global groups and two regional, synced to `base` by a real sync run. */
async function syncedGroups(): Promise<void> {
  for (const [name, tag] of [
    ['edge-g1', 'cloudfront_g'],
    ['edge-g2', 'cloudfront_g'],
    ['edge-r1', 'cloudfront_r'],
    ['edge-r2', 'cloudfront_r']
  ] as const) {
    emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name, tags: tags(tag) })
  }
  const sync = await run()
  expect(sync.stdout).not.toContain('::error::')
  expect(sync.exitCode).toBe(0)
  expect(sync.outputs.changed).toBe('true')
}

/** Runs the check and proves it changed nothing: only reads reached EC2. */
async function check(more: Record<string, string> = {}) {
  const callsBefore = emulator.calls.length
  const result = await run({ mode: 'check', ...more })
  const calls = emulator.calls.slice(callsBefore)
  expect(calls.length).toBeGreaterThan(0)
  expect(calls.filter(c => c.mutating)).toEqual([])
  // The groups, and the exposure audit's interfaces: reads only.
  expect(calls.every(c => /^(Describe|Get)/.test(c.action))).toBe(true)
  expect(calls.some(c => c.action === 'DescribeSecurityGroups')).toBe(true)
  return result
}

describe('mode: check', () => {
  test('in sync: passes, in-sync true, staleness 0', async () => {
    await syncedGroups()
    const result = await check()
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.outputs).toMatchObject({
      'in-sync': 'true',
      'staleness-seconds': '0',
      changed: 'false',
      'rules-added': '0',
      'sync-token': '1785000000'
    })
    expect(unescapeMarkdown(result.summary)).toContain('✅ **In sync**: 4 groups in 1 region(s)')
    expect(unescapeMarkdown(result.summary)).toContain(
      '| Pools | 2 in sync, 0 out of sync, 0 held back |'
    )
    expect(result.planFile).toMatchObject({ status: 'in-sync', check: { inSync: true } })
  })

  test('in sync with no syncToken tag at all (synced before the tag existed): passes', async () => {
    await syncedGroups()
    // The same groups and rules, without the tag a sync records.
    const synced = emulator.listGroups()
    emulator.reset()
    for (const group of synced) {
      const { 'cloudfront-sg-sync:sync-token': recorded, ...untagged } = group.tags
      expect(recorded).toBe('1785000000')
      emulator.createGroup({
        region: group.region,
        vpcId: group.vpcId,
        name: group.name,
        tags: untagged,
        ingress: group.ingress.map(rule => ({
          protocol: rule.protocol,
          fromPort: rule.fromPort as number,
          toPort: rule.toPort as number,
          cidr: rule.cidrIpv4 ?? (rule.cidrIpv6 as string),
          ...(rule.description ? { description: rule.description } : {})
        }))
      })
    }
    const result = await check()
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ 'in-sync': 'true', 'staleness-seconds': '0' })
  })

  test('out of sync: fails, says which pool, by how much and since when', async () => {
    await syncedGroups()
    const changed = deriveIpRanges(base, { seed: 5, add: 1, remove: 1, scope: 'global' })
    ranges.serve(serializeIpRanges(changed.doc)) // published 4 hours later
    const result = await check()
    expect(result.exitCode).toBe(1)
    expect(result.outputs).toMatchObject({
      'in-sync': 'false',
      'staleness-seconds': '14400',
      changed: 'true',
      'rules-added': '1',
      'rules-removed': '1',
      'sync-token': changed.doc.syncToken
    })
    expect(result.stdout).toContain(
      `::error::1 pool(s) do not hold the published ranges (syncToken 1785014400): ${POOL} ` +
        '(+1 / −1 rules; last synced to syncToken 1785000000 (2026-07-25T17:20:00Z))'
    )
    expect(unescapeMarkdown(result.summary)).toContain('❌ **Check failed** (out-of-sync)')
    expect(unescapeMarkdown(result.summary)).toContain('> **out-of-sync**: 1 pool(s) do not hold')
    expect(unescapeMarkdown(result.summary)).toContain(
      '| Staleness | 4h (14400 s); max-staleness 1d |'
    )
    expect(unescapeMarkdown(result.summary)).toContain(`${changed.added[0]} (`)
  })

  test('held back: a group records a newer syncToken than the document: fails', async () => {
    await syncedGroups()
    emulator.createGroup({
      region: 'us-east-1',
      vpcId: 'vpc-1',
      name: 'edge-g3',
      tags: tags('cloudfront_g', { 'cloudfront-sg-sync:sync-token': '1785003600' })
    })
    const result = await check()
    expect(result.exitCode).toBe(1)
    expect(result.outputs).toMatchObject({
      'in-sync': 'false',
      'staleness-seconds': '0',
      changed: 'false'
    })
    expect(unescapeMarkdown(result.summary)).toContain('❌ **Check failed** (held-back)')
    expect(unescapeMarkdown(result.summary)).toContain(
      `${POOL} since syncToken 1785003600 (2026-07-25T18:20:00Z)`
    )
    expect(unescapeMarkdown(result.summary)).toContain(
      '| Pools | 1 in sync, 0 out of sync, 1 held back |'
    )
  })

  test('stale: lagging more than max-staleness says the sync has stopped', async () => {
    await syncedGroups()
    const later = deriveIpRanges(base, {
      seed: 6,
      add: 2,
      scope: 'regional',
      syncToken: String(1785000000 + 3 * 86400)
    })
    ranges.serve(serializeIpRanges(later.doc))
    const result = await check({ 'max-staleness': '2d' })
    expect(result.exitCode).toBe(1)
    expect(result.outputs).toMatchObject({
      'in-sync': 'false',
      'staleness-seconds': '259200',
      'rules-added': '2'
    })
    expect(result.stdout).toContain(
      '::error::1 pool(s) do not hold the published ranges (syncToken 1785259200)'
    )
    expect(unescapeMarkdown(result.summary)).toContain('❌ **Check failed** (out-of-sync, stale)')
    expect(unescapeMarkdown(result.summary)).toContain(
      '> **stale**: The sync has stopped: 1 pool(s) lag the published ranges by up to 3d, more ' +
        'than max-staleness (2d): 123456789012/us-east-1/vpc-1/regional/tcp:443 behind since ' +
        'syncToken 1785000000 (2026-07-25T17:20:00Z).'
    )
  })

  test('a bad max-staleness fails before any call, naming the input', async () => {
    const requestsBefore = ranges.requests
    const result = await run({ mode: 'check', 'max-staleness': '24' })
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain(
      "::error::Input 'max-staleness' has an invalid value '24': expected a duration such as '90m'"
    )
    expect(emulator.calls).toEqual([])
    expect(ranges.requests).toBe(requestsBefore)
  })
})
