// grow-pools through the bundled dist/index.js, as a runner runs it: a pool on an instance with
// too few rule slots grows (groups created and attached before any rule goes in), the outputs and
// the plan file list the new groups, and the rerun changes nothing. Off by default: the same
// setup without the input is refused for capacity.
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

function seed(): { pool: string; eni: string } {
  const tags = { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  const pool = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'cf-1', tags })
  const app = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'app', tags: {} })
  const eni = emulator.addNetworkInterface({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    groupIds: [pool, app],
    instanceId: emulator.newInstanceId()
  })
  return { pool, eni }
}

const run = (inputs: Record<string, string>) =>
  runAction({
    inputs: {
      'ip-ranges-url': rangesUrl,
      regions: 'us-east-1',
      'max-rules-per-group': '20',
      ...inputs
    },
    env: { ...aws.env, AWS_REGION: 'us-east-1' }
  })

test('off by default: a short pool is refused for capacity, nothing created', async () => {
  seed()
  const result = await run({})
  expect(result.exitCode).toBe(1)
  expect(emulator.mutatingCalls()).toEqual([])
  expect(result.outputs['groups-created']).toBe('0')
})

test('grow-pools: create, attach, then authorize; outputs and plan file; the rerun is a no-op', async () => {
  const { pool, eni } = seed()
  const result = await run({ 'grow-pools': 'true' })
  expect(result.stderr).toBe('')
  expect(result.exitCode).toBe(0)
  const created = Number(result.outputs['groups-created'])
  expect(created).toBeGreaterThanOrEqual(1)
  const actions = emulator.mutatingCalls().map(call => call.action)
  const last = (action: string) => actions.lastIndexOf(action)
  const first = (action: string) => actions.indexOf(action)
  expect(actions.filter(a => a === 'CreateSecurityGroup')).toHaveLength(created)
  expect(last('CreateSecurityGroup')).toBeLessThan(first('ModifyNetworkInterfaceAttribute'))
  expect(last('ModifyNetworkInterfaceAttribute')).toBeLessThan(
    first('AuthorizeSecurityGroupIngress')
  )
  const newIds = emulator
    .listGroups()
    .filter(g => g.tags['cloudfront-sg-sync:created-by'] === 'grow-pools')
    .map(g => g.groupId)
  expect(newIds).toHaveLength(created)
  const groupIds = emulator.listNetworkInterfaces().find(e => e.id === eni)?.groupIds ?? []
  expect(groupIds).toEqual(expect.arrayContaining([pool, ...newIds]))
  const plan = result.planFile as { growth: { created: { groupId: string }[] } }
  expect(plan.growth.created.map(g => g.groupId).sort()).toEqual([...newIds].sort())
  expect(result.summary).toContain('grow-pools created')

  const before = emulator.mutatingCalls().length
  const rerun = await run({ 'grow-pools': 'true' })
  expect(rerun.exitCode).toBe(0)
  expect(rerun.outputs['groups-created']).toBe('0')
  expect(emulator.mutatingCalls().slice(before)).toEqual([])
})

test('grow-pools in a dry run counts the groups it would create and creates none', async () => {
  seed()
  const result = await run({ 'grow-pools': 'true', 'dry-run': 'true' })
  expect(result.exitCode).toBe(0)
  expect(Number(result.outputs['groups-created'])).toBeGreaterThanOrEqual(1)
  expect(emulator.mutatingCalls()).toEqual([])
})

test('grow-pools on a load balancer: SetSecurityGroups with its groups plus the new one', async () => {
  const tags = { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  const pool = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'cf-1', tags })
  aws.elbv2.reset()
  const arn = aws.elbv2.addLoadBalancer({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'shop',
    groupIds: [pool]
  })
  const result = await run({ 'grow-pools': 'true' })
  expect(result.stderr).toBe('')
  expect(result.exitCode).toBe(0)
  const created = emulator
    .listGroups()
    .filter(g => g.tags['cloudfront-sg-sync:created-by'] === 'grow-pools')
    .map(g => g.groupId)
  expect(created.length).toBe(Number(result.outputs['groups-created']))
  expect(aws.elbv2.groupsOf(arn)).toEqual([pool, ...created])
  for (const eni of emulator.listNetworkInterfaces()) {
    expect(eni.groupIds).toEqual([pool, ...created])
  }
  expect(result.summary).toContain('application load balancer shop')
})

test('grow-pools refuses, before any change, a load balancer without a free group slot', async () => {
  const tags = { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }
  const pool = emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: 'cf-1', tags })
  const others = [1, 2, 3, 4].map(n =>
    emulator.createGroup({ region: 'us-east-1', vpcId: 'vpc-1', name: `o-${n}`, tags: {} })
  )
  aws.elbv2.reset()
  aws.elbv2.addLoadBalancer({
    region: 'us-east-1',
    vpcId: 'vpc-1',
    name: 'shop',
    groupIds: [pool, ...others]
  })
  const result = await run({ 'grow-pools': 'true' })
  expect(result.exitCode).toBe(1)
  expect(emulator.mutatingCalls()).toEqual([])
  expect(aws.elbv2.calls.filter(c => c.action === 'SetSecurityGroups')).toEqual([])
  expect(result.summary).toContain('⛔ **Refused**')
  expect(result.summary).toContain('application load balancer shop')
  expect(result.outputs['groups-created']).toBe('0')
})
