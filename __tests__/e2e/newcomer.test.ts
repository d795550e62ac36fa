// What a newcomer hits first (issue 13), through the bundled action against the loopback emulators:
// the Quick Start tagging only cloudfront_g, a mis-tagged group, and the quota warning per region.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { errorText, runAction } from '../../dev/run-action.js'
import type { ActionRun } from '../../dev/run-action.js'

let aws: AwsEmulators
const ranges = new RangesServer()
let env: Record<string, string>
let rangesUrl: string

const doc = generateIpRanges({ seed: 13, syncToken: '1785000000', otherServicesScale: 0.05 })
const regionalCount = new Set(
  doc.prefixes
    .filter(p => p.service === 'CLOUDFRONT_ORIGIN_FACING' && p.region !== 'GLOBAL')
    .map(p => p.ip_prefix)
).size

beforeAll(async () => {
  aws = await startAwsEmulators()
  rangesUrl = await ranges.start()
  env = { ...aws.env, AWS_REGION: 'us-east-1' }
})
afterAll(async () => {
  await aws.stop()
  await ranges.stop()
})
beforeEach(() => {
  aws.ec2.reset()
  ranges.serve(serializeIpRanges(doc))
})

const group = (region: string, name: string, tags: Record<string, string>) =>
  aws.ec2.createGroup({ region, vpcId: 'vpc-1', name, tags })

function run(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction({ inputs: { 'ip-ranges-url': rangesUrl, ...inputs }, env })
}

const warnings = (r: ActionRun): string =>
  r.annotations.filter(line => line.startsWith('::warning::')).join('\n')

/** The summary's status line as a reader sees it (Markdown escapes undone). */
const statusOf = (r: ActionRun): string => (r.summary.split('\n')[2] ?? '').replace(/\\(.)/g, '$1')

test('Quick Start tagging only cloudfront_g: synced, and a warning names the regional ranges left out', async () => {
  expect(regionalCount).toBeGreaterThan(0)
  group('us-east-1', 'edge-g', { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' })
  const result = await run({ regions: 'us-east-1', 'ip-families': 'ipv4' })
  expect(result.exitCode).toBe(0)
  const expected = `us-east-1: ${regionalCount} regional range(s) of CLOUDFRONT_ORIGIN_FACING reach no group, since no group there is tagged Name=cloudfront_r`
  expect(warnings(result)).toContain(expected)
  expect(result.summary).toContain('> [!WARNING]')
  expect(result.summary.replace(/\\(.)/g, '$1')).toContain(expected)
})

test('both scopes tagged: no coverage warning', async () => {
  group('us-east-1', 'edge-g', { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' })
  group('us-east-1', 'edge-r', { Name: 'cloudfront_r', AutoUpdate: 'true', Protocol: 'https' })
  const result = await run({ regions: 'us-east-1', 'ip-families': 'ipv4' })
  expect(result.exitCode).toBe(0)
  expect(warnings(result)).not.toContain('reach no group')
})

test.each([
  [
    { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'HTTPS' },
    'Protocol=HTTPS (expected https)'
  ],
  [
    { Name: 'CloudFront_G', AutoUpdate: 'true', Protocol: 'https' },
    'Name=CloudFront_G (expected cloudfront_g)'
  ],
  [
    { Name: 'cloudfront_g', AutoUpdate: 'True', Protocol: 'https' },
    'AutoUpdate=True (expected true)'
  ]
])('a group tagged %j and nothing else: the step fails, naming %s', async (tags, hint) => {
  const id = group('us-east-1', 'odd', tags)
  const result = await run({ regions: 'us-east-1' })
  expect(result.exitCode).toBe(1)
  expect(errorText(result)).toContain(`No security group to sync`)
  expect(errorText(result)).toContain(`${id} is tagged ${hint}`)
  // The summary leads with it: no green status, no contradictory "No change".
  expect(statusOf(result)).toMatch(
    /^❌ \*\*Failed\*\*: nothing was changed\. No security group to sync/
  )
  expect(statusOf(result)).toContain(hint)
  expect(result.summary).not.toContain('No change')
  expect(aws.ec2.mutatingCalls()).toEqual([])
})

test('the quota warning is one line for all regions, not one per region', async () => {
  for (const region of ['us-east-1', 'eu-west-1', 'ap-south-1']) {
    group(region, 'edge-g', { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' })
    group(region, 'edge-r', { Name: 'cloudfront_r', AutoUpdate: 'true', Protocol: 'https' })
  }
  aws.quotas.deny('123456789012')
  try {
    const result = await run({ regions: 'us-east-1, eu-west-1, ap-south-1', 'ip-families': 'ipv4' })
    expect(result.exitCode).toBe(0)
    const quota = warnings(result)
      .split('\n')
      .filter(line => line.includes('Could not read the quota'))
    expect(quota).toHaveLength(1)
    expect(quota[0]).toContain('The same in 2 more place(s)')
    expect(result.summary.match(/Could not read the quota/g)).toHaveLength(1)
  } finally {
    aws.quotas.reset()
  }
})
