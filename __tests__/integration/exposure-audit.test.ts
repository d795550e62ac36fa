// The exposure audit through the real SDK over loopback HTTP against the EC2 emulator: interfaces of
// a load balancer and an instance, the filter-value limit (chunks of 200 group ids), pagination,
// prefix lists, and a throttled or denied DescribeNetworkInterfaces degrading to a warning.
import { createAuditEc2Api } from '../../src/audit/ec2-reads.js'
import type { AuditPlace } from '../../src/audit/run.js'
import { auditExposure } from '../../src/audit/run.js'
import type { ManagedGroup } from '../../src/inventory.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'

const REGION = 'us-east-1'
const ACCOUNT = '123456789012'
const KEYS = { accessKeyId: 'AKIDAUDIT', secretAccessKey: 'secret' }
const CLOUDFRONT = { ipv4: ['13.32.0.0/15', '52.84.0.0/15'], ipv6: [] }

let emulator: Ec2Emulator
beforeAll(async () => {
  emulator = new Ec2Emulator()
  process.env.AWS_ENDPOINT_URL_EC2 = await emulator.start()
})
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_EC2
  await emulator.stop()
})
beforeEach(() => {
  emulator.reset()
  emulator.onRequest = undefined
})

function managed(groupId: string, vpcId = 'vpc-1'): ManagedGroup {
  return {
    account: ACCOUNT,
    region: REGION,
    groupId,
    groupName: groupId,
    vpcId,
    nameTag: 'cloudfront_g',
    scope: 'global',
    protocol: 'https',
    port: 443,
    managed: { ipv4: [], ipv6: [] },
    ruleLimit: 60,
    foreignWeight: { ipv4: 0, ipv6: 0 },
    foreignOnPort: { ipv4: [], ipv6: [] }
  }
}

function place(groups: ManagedGroup[], maxAttempts = 3): AuditPlace {
  return {
    account: ACCOUNT,
    region: REGION,
    groups,
    api: createAuditEc2Api({ region: REGION, credentials: KEYS, maxAttempts }),
    groupsPerInterface: async () => ({ value: 5 })
  }
}

const audit = (groups: ManagedGroup[], needing: string[] = [], maxAttempts?: number) =>
  auditExposure([place(groups, maxAttempts)], {
    cloudFront: CLOUDFRONT,
    ruleDescription: 'cloudfront-sg-sync',
    poolsNeedingGroups: new Set(needing)
  })

const pooled = (name: string, cidr: string) =>
  emulator.createGroup({
    region: REGION,
    vpcId: 'vpc-1',
    name,
    tags: { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' },
    ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidr }]
  })

test('an ALB carrying half the pool and an open group, an instance carrying it whole', async () => {
  const g1 = pooled('cf-1', '13.32.0.0/15')
  const g2 = pooled('cf-2', '52.84.0.0/15')
  const open = emulator.createGroup({
    region: REGION,
    vpcId: 'vpc-1',
    name: 'legacy-open',
    tags: {},
    ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '0.0.0.0/0' }]
  })
  const cf = emulator.addPrefixList({
    region: REGION,
    owner: 'AWS',
    name: 'com.amazonaws.global.cloudfront.origin-facing',
    maxEntries: 55,
    entries: ['13.32.0.0/15']
  })
  const partners = emulator.addPrefixList({
    region: REGION,
    name: 'partners',
    entries: [{ cidr: '203.0.113.0/24', description: 'partner' }, '10.9.0.0/16']
  })
  const lists = emulator.createGroup({
    region: REGION,
    vpcId: 'vpc-1',
    name: 'lists',
    tags: {},
    ingress: [
      { protocol: 'tcp', fromPort: 443, toPort: 443, prefixListId: cf },
      { protocol: 'tcp', fromPort: 443, toPort: 443, prefixListId: partners }
    ]
  })
  const albEnis = ['a', 'b'].map(() =>
    emulator.addNetworkInterface({
      region: REGION,
      vpcId: 'vpc-1',
      groupIds: [g1, open],
      description: 'ELB app/web-alb/50dc6c495c0c9188',
      requesterId: 'amazon-elb'
    })
  )
  const instance = emulator.newInstanceId()
  const instanceEni = emulator.addNetworkInterface({
    region: REGION,
    vpcId: 'vpc-1',
    groupIds: [g1, g2, lists],
    instanceId: instance
  })

  const report = await audit([managed(g1), managed(g2)])
  expect(report.warnings).toEqual([])
  expect(report.audited).toEqual([`${ACCOUNT} ${REGION}`])
  const kinds = report.findings.map(f => [f.kind, f.interfaceId])
  expect(kinds).toEqual([
    ['wider-exposure', albEnis[0]],
    ['wider-exposure', albEnis[1]],
    ['wider-exposure', instanceEni],
    ['partial-pool', albEnis[0]],
    ['partial-pool', albEnis[1]],
    // The partners list holds a private entry too, but one public entry makes the list wide.
    ['cloudfront-prefix-list', instanceEni]
  ])
  expect(report.exposureCount).toBe(5)
  expect(report.findings[0]?.attachment).toEqual({
    kind: 'load-balancer',
    type: 'application',
    name: 'web-alb'
  })
  expect(report.findings[0]?.sources).toEqual([`0.0.0.0/0 via ${open} (tcp/443)`])
  expect(report.findings[2]?.attachment).toEqual({ kind: 'instance', instanceId: instance })
  expect(report.findings[2]?.sources?.[0]).toContain('partners')
  expect(report.findings[2]?.sources?.[0]).toContain('203.0.113.0/24')
  // Read-only: no call tried to change anything.
  expect(emulator.mutatingCalls()).toEqual([])
})

test('250 managed groups: two DescribeNetworkInterfaces calls of at most 200 ids, all pages read', async () => {
  const ids = Array.from({ length: 250 }, (_, i) => pooled(`cf-${i}`, '13.32.0.0/15'))
  // 1,100 interfaces carrying the last group: more than one page of 1,000.
  const last = ids[ids.length - 1] as string
  for (let i = 0; i < 1100; i += 1) {
    emulator.addNetworkInterface({ region: REGION, vpcId: 'vpc-1', groupIds: [last] })
  }
  const report = await audit(ids.map(id => managed(id)))
  expect(report.warnings).toEqual([])
  const describes = emulator.calls.filter(c => c.action === 'DescribeNetworkInterfaces')
  const valueCounts = describes.map(
    c => Object.keys(c.params).filter(k => /^Filter\.1\.Value\.\d+$/.test(k)).length
  )
  expect(describes.every(c => c.ok)).toBe(true)
  // 200 ids (one page: nothing carries them), then 50 ids over two pages (1,000 + 100).
  expect(valueCounts).toEqual([200, 50, 50])
  // All 250 groups form one pool; 1,100 interfaces carry 1 of its 250 groups.
  expect(report.findings.filter(f => f.kind === 'partial-pool')).toHaveLength(1100)
})

test('the emulator refuses more than 200 filter values, as EC2 does', async () => {
  const { DescribeNetworkInterfacesCommand, EC2Client } = await import('@aws-sdk/client-ec2')
  const client = new EC2Client({ region: REGION, credentials: KEYS, maxAttempts: 1 })
  const values = Array.from({ length: 201 }, (_, i) => `sg-${String(i).padStart(8, '0')}`)
  await expect(
    client.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'group-id', Values: values }] })
    )
  ).rejects.toMatchObject({ name: 'FilterLimitExceeded' })
})

test.each([
  ['denied', 'UnauthorizedOperation', 403, 'ec2:DescribeNetworkInterfaces'],
  ['throttled', 'RequestLimitExceeded', 503, 'throttled']
])(
  'a %s DescribeNetworkInterfaces becomes a warning, not a failure',
  async (_n, code, status, hint) => {
    const g1 = pooled('cf-1', '13.32.0.0/15')
    emulator.onRequest = call =>
      call.action === 'DescribeNetworkInterfaces' ? { kind: 'error', code, status } : undefined
    const report = await audit([managed(g1)], [], 2)
    expect(report.findings).toEqual([])
    expect(report.audited).toEqual([])
    expect(report.warnings).toHaveLength(1)
    expect(report.warnings[0]).toContain('Exposure audit skipped in')
    expect(report.warnings[0]).toContain(hint)
  }
)
