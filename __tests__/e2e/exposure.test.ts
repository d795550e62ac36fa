// The exposure audit through the bundled dist/index.js, as a runner runs it: the sync applies, the
// audit finds an ALB open to the internet and an instance carrying half a pool; the summary, the
// outputs and the plan file say so, and fail-on-exposure decides the exit code.
import type { AwsEmulators } from '../../dev/emulators/aws.js'
import { startAwsEmulators } from '../../dev/emulators/aws.js'
import type { Ec2Emulator } from '../../dev/emulators/ec2.js'
import { generateIpRanges, serializeIpRanges } from '../../dev/ip-ranges-fixture.js'
import { RangesServer } from '../../dev/ranges-server.js'
import { runAction } from '../../dev/run-action.js'

let aws: AwsEmulators
let emulator: Ec2Emulator
const ranges = new RangesServer()
let rangesUrl: string

beforeAll(async () => {
  aws = await startAwsEmulators()
  emulator = aws.ec2
  rangesUrl = await ranges.start()
  ranges.serve(serializeIpRanges(generateIpRanges({ seed: 5, syncToken: '1785000000' })))
})
afterAll(async () => {
  await aws.stop()
  await ranges.stop()
})
beforeEach(() => emulator.reset())

function seed(): { open: string; albEni: string; instanceEni: string } {
  const tags = { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  const g1 = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'cf-1', tags })
  const g2 = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'cf-2', tags })
  const open = emulator.createGroup({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'old-open',
    tags: {},
    ingress: [{ protocol: '-1', cidr: '0.0.0.0/0' }]
  })
  const albEni = emulator.addNetworkInterface({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    groupIds: [g1, g2, open],
    description: 'ELB app/shop-alb/50dc6c495c0c9188',
    requesterId: 'amazon-elb'
  })
  const instanceEni = emulator.addNetworkInterface({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    groupIds: [g1],
    instanceId: emulator.newInstanceId()
  })
  return { open, albEni, instanceEni }
}

const run = (inputs: Record<string, string>) =>
  runAction({
    inputs: { 'ip-ranges-url': rangesUrl, regions: 'us-east-1', ...inputs },
    env: { ...aws.env, AWS_REGION: 'us-east-1' }
  })

test('findings are reported after the sync applied; fail-on-exposure false keeps the run green', async () => {
  const { open, albEni, instanceEni } = seed()
  const result = await run({})
  expect(result.stderr).toBe('')
  expect(result.exitCode).toBe(0)
  expect(result.outputs.changed).toBe('true')
  expect(result.outputs['exposure-findings']).toBe('2')
  const exposure = JSON.parse(result.outputs.exposure as string) as {
    findings: { kind: string; interfaceId?: string; sources?: string[] }[]
  }
  expect(exposure.findings.map(f => [f.kind, f.interfaceId])).toEqual([
    ['wider-exposure', albEni],
    ['partial-pool', instanceEni]
  ])
  expect(exposure.findings[0]?.sources).toEqual([`0.0.0.0/0 via ${open} (all traffic)`])
  expect(result.summary).toContain('### Exposure audit')
  expect(result.summary).toContain('application load balancer shop-alb')
  expect(result.summary).toMatch(/wider exposure[\s\S]*partial pool/)
  expect(result.planFile).toMatchObject({ exposure: { exposureCount: 2 } })
})

test('fail-on-exposure true fails the run, after the rules were applied', async () => {
  seed()
  const result = await run({ 'fail-on-exposure': 'true' })
  expect(result.exitCode).toBe(1)
  expect(result.outputs['rules-added']).not.toBe('0')
  expect(emulator.mutatingCalls().some(c => c.action === 'AuthorizeSecurityGroupIngress')).toBe(
    true
  )
  expect(result.summary).toContain('✅ **Applied**')
  expect(result.summary).toContain('fail-on-exposure')
  expect(result.stdout).toContain('::error::fail-on-exposure')
})

test('a denied DescribeNetworkInterfaces is a warning; the sync succeeds', async () => {
  seed()
  emulator.onRequest = call =>
    call.action === 'DescribeNetworkInterfaces'
      ? { kind: 'error', code: 'UnauthorizedOperation', status: 403 }
      : undefined
  try {
    const result = await run({ 'fail-on-exposure': 'true' })
    expect(result.exitCode).toBe(0)
    expect(result.outputs['exposure-findings']).toBe('0')
    expect(result.stdout).toContain('::warning::Exposure audit skipped in')
    expect(result.summary).toContain('ec2:DescribeNetworkInterfaces')
  } finally {
    emulator.onRequest = undefined
  }
})

test('a plan refused for capacity: the audit still runs and says the interfaces have no free slot', async () => {
  const tags = { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  const pool = [1, 2].map(n =>
    emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: `cf-${n}`, tags })
  )
  const others = [1, 2, 3].map(n =>
    emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: `other-${n}`, tags: {} })
  )
  const full = emulator.addNetworkInterface({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    groupIds: [...pool, ...others],
    description: 'ELB app/full-alb/50dc6c495c0c9188',
    requesterId: 'amazon-elb'
  })
  const quotaCalls = aws.quotas.calls.length
  const result = await run({ 'max-rules-per-group': '5' })
  expect(result.exitCode).toBe(1)
  expect(emulator.mutatingCalls()).toEqual([])
  expect(result.summary).toContain('⛔ **Refused**')
  expect(result.summary).toContain('no room to grow')
  expect(result.summary).toContain(full)
  const exposure = JSON.parse(result.outputs.exposure as string) as {
    findings: { kind: string }[]
  }
  expect(exposure.findings.map(f => f.kind)).toEqual(['no-room'])
  // The interface quota was read (the rule quota was not: max-rules-per-group is a number).
  expect(aws.quotas.calls.slice(quotaCalls).map(c => c.quotaCode)).toEqual(['L-2AFB9258'])
})
