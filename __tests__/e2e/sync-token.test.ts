// Issue 15, syncToken plausibility, through the bundled action (dist/index.js on Node 24) against the
// loopback EC2 emulator and ip-ranges.json server: a forged tag must not freeze a pool, a held-back
// pool must never read "No change", an implausible document or dispatch changes nothing.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { GroupSnapshot } from '../../dev/emulators/ec2.js'
import { deriveIpRanges, generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import type { IpRangesDocument } from '../../src/ranges/parse.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { runAction } from '../../dev/run-action.js'
import type { RunActionOptions } from '../../dev/run-action.js'
import { unescapeMarkdown } from '../helpers/markdown-text.js'

const TAG = 'cloudfront-sg-sync:sync-token'
const FORGED = '99999999999999999999'
let aws: AwsEmulators
const ranges = new RangesServer()
let rangesUrl: string
const base = generateIpRanges({ seed: 15, syncToken: '1785000000', otherServicesScale: 0.05 })

beforeAll(async () => {
  aws = await startAwsEmulators()
  rangesUrl = await ranges.start()
})
afterAll(async () => {
  await aws.stop()
  await ranges.stop()
})
beforeEach(() => {
  aws.ec2.reset()
  aws.ec2.rulesPerGroupLimit = 200 // one group holds the whole global set
  ranges.serve(serializeIpRanges(base))
})

const inputs = {
  regions: 'us-east-1',
  service: 'CLOUDFRONT',
  'ip-families': 'ipv4',
  'max-rules-per-group': '200',
  'merge-adjacent': 'false'
}
function run(extra: Partial<RunActionOptions> = {}) {
  return runAction({
    inputs: { 'ip-ranges-url': rangesUrl, ...inputs },
    env: { ...aws.env, AWS_REGION: 'us-east-1' },
    ...extra
  })
}

function group(name: string, scope: 'cloudfront_g' | 'cloudfront_r', extra = {}): string {
  return aws.ec2.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name,
    tags: { Name: scope, AutoUpdate: 'true', Protocol: 'https', ...extra }
  })
}

const snapshot = (id: string) => aws.ec2.getGroup(id) as GroupSnapshot
const cidrsOf = (id: string) =>
  snapshot(id)
    .ingress.map(rule => rule.cidrIpv4 ?? '')
    .sort()
function published(doc: IpRangesDocument, scope: 'global' | 'regional'): string[] {
  const inScope = (region: string) => (region === 'GLOBAL') === (scope === 'global')
  const wanted = doc.prefixes.filter(p => p.service === 'CLOUDFRONT' && inScope(p.region))
  return [...new Set(wanted.map(p => p.ip_prefix))].sort()
}

test('(a) a group tagged with a 20-digit syncToken is synced anyway, with a warning', async () => {
  const forged = group('edge-g', 'cloudfront_g', { [TAG]: FORGED })
  const result = await run()
  expect(result.stderr).toBe('')
  expect(result.exitCode).toBe(0)
  // Before issue 15: "No change", exit 0, the group left empty behind the forged tag.
  expect(cidrsOf(forged)).toEqual(published(base, 'global'))
  expect(result.outputs).toMatchObject({ changed: 'true', 'groups-changed': '1' })
  expect(result.summary).toContain('✅ **Applied**')
  // The change overwrote the forged tag with the genuine token.
  expect(snapshot(forged).tags[TAG]).toBe(base.syncToken)
  const warning = new RegExp(
    `${forged}: tag ${TAG} '${FORGED}' ignored, it cannot be a syncToken \\(it has 20 digits`
  )
  expect(result.annotations.filter(line => line.startsWith('::warning::')).join('\n')).toMatch(
    warning
  )
  expect(unescapeMarkdown(result.summary)).toMatch(
    new RegExp(`> \\[!WARNING\\]\\n> us-east-1 ${warning.source}`)
  )

  // The next run sees the genuine tag: nothing to do, no warning left.
  const again = await run()
  expect(again.exitCode).toBe(0)
  expect(again.summary).toContain('✅ **No change**')
  // No sync-token warning left (the global-only seed keeps its coverage warning, issue 13).
  expect(
    again.annotations.filter(line => line.startsWith('::warning::') && line.includes(TAG))
  ).toEqual([])
})

test('(a) a forged tag on a group already in sync: left as it is, a warning each run', async () => {
  // Not repaired: the tag is ignored (it holds nothing back), and rewriting it would be a change on a
  // run that has nothing to change; the next real change overwrites it.
  const id = aws.ec2.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'edge-g',
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https', [TAG]: FORGED },
    ingress: published(base, 'global').map(cidr => ({
      protocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidr
    }))
  })
  const result = await run()
  expect(result.exitCode).toBe(0)
  expect(aws.ec2.mutatingCalls()).toEqual([])
  expect(result.summary).toContain('✅ **No change**')
  expect(result.annotations.join('\n')).toMatch(
    new RegExp(`::warning::us-east-1 ${id}: tag ${TAG} '${FORGED}' ignored`)
  )
})

test('(c) a late notification holding a pool back is a warning, never "No change"', async () => {
  const g = group('edge-g', 'cloudfront_g')
  const newer = deriveIpRanges(base, { seed: 8, add: 1, remove: 1, scope: 'global' })
  ranges.serve(serializeIpRanges(newer.doc))
  expect((await run()).exitCode).toBe(0)
  const afterNewer = cidrsOf(g)

  // The older file arrives late (a replayed dispatch, a stale CDN copy): held back.
  ranges.serve(serializeIpRanges(base))
  const callsBefore = aws.ec2.calls.length
  const late = await run()
  expect(late.exitCode).toBe(0) // late notifications are normal operation
  expect(aws.ec2.calls.slice(callsBefore).filter(c => c.mutating)).toEqual([])
  expect(cidrsOf(g)).toEqual(afterNewer)
  expect(late.summary).not.toContain('No change')
  expect(late.summary).toContain('⚠️ **Held back**: 1 pool(s) already hold newer ranges')
  expect(late.summary).toContain(
    '> [!WARNING]\n> 123456789012/us-east-1/vpc-1/global/tcp:443 held back'
  )
  expect(late.annotations.join('\n')).toMatch(
    /::warning::.*global\/tcp:443 held back: .* holds newer ranges \(syncToken \d+ > 1785000000\)/
  )
  expect(late.planFile).toMatchObject({ status: 'held-back' })
  expect(late.outputs).toMatchObject({ changed: 'false' })
})

test('(b) a served document with a 20-digit syncToken is refused: zero mutating calls', async () => {
  const g = group('edge-g', 'cloudfront_g')
  ranges.serve(serializeIpRanges({ ...base, syncToken: FORGED }))
  const result = await run()
  expect(result.exitCode).toBe(1)
  expect(aws.ec2.mutatingCalls()).toEqual([])
  expect(snapshot(g).ingress).toEqual([])
  expect(snapshot(g).tags[TAG]).toBeUndefined()
  expect(result.annotations.join('\n')).toMatch(
    /::error::.*syncToken 99999999999999999999 .*cannot be an AWS publication time: it has 20 digits/
  )
  expect(result.summary).toContain('❌ **Failed**: nothing was changed.')

  // Before issue 15 the forged token was recorded and every genuine file after it held back.
  ranges.serve(serializeIpRanges(base))
  const genuine = await run()
  expect(genuine.exitCode).toBe(0)
  expect(cidrsOf(g)).toEqual(published(base, 'global'))
})

test('(d) a dispatch with an implausible synctoken is refused before any AWS call', async () => {
  group('edge-g', 'cloudfront_g')
  const requestsBefore = ranges.requests
  const result = await run({
    event: {
      name: 'repository_dispatch',
      payload: { action: 'aws-ip-ranges-changed', client_payload: { synctoken: '9999999999' } }
    }
  })
  expect(result.exitCode).toBe(1)
  expect(aws.ec2.calls).toEqual([])
  expect(ranges.requests).toBe(requestsBefore)
  expect(result.annotations.join('\n')).toMatch(
    /::error::The repository_dispatch client_payload field 'synctoken' is invalid \("9999999999": it is 2286-11-20T17:46:39Z, later than the runner's clock/
  )
})
