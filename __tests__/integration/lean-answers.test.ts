// createEc2Api's lean answers over real HTTP against the EC2 emulator: the groups it reads are the
// ones a plain SDK client reads, page by page, and authorize/revoke still fail the SDK's way.
import { EC2Client, paginateDescribeSecurityGroups } from '@aws-sdk/client-ec2'
import type { Filter, SecurityGroup } from '@aws-sdk/client-ec2'
import { createEc2Api } from '../../src/aws/ec2.js'
import { readSecurityGroupsPage } from '../../src/aws/security-groups-xml.js'
import { Ec2Emulator } from '../../dev/emulators/ec2.js'
import type { SeedRule } from '../../dev/emulators/ec2.js'
import { seededRandom } from '../../dev/random.js'
import { bodyRecorder } from '../helpers/raw-bodies.js'

const emulator = new Ec2Emulator()
const REGION = 'eu-west-1'
const KEYS = { accessKeyId: 'AKIDLEANANSWERS', secretAccessKey: 'lean-answers-secret' }
let endpoint = ''
const saved = process.env.AWS_ENDPOINT_URL_EC2

beforeAll(async () => {
  endpoint = await emulator.start()
  process.env.AWS_ENDPOINT_URL_EC2 = endpoint
})
afterAll(async () => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EC2
  else process.env.AWS_ENDPOINT_URL_EC2 = saved
  await emulator.stop()
})
beforeEach(() => {
  emulator.reset()
  emulator.rulesPerGroupLimit = 200
})

// Rule descriptions allow a-zA-Z0-9. _-:/()#,@[]+=&;{}!$* (EC2 API reference); '&' is escaped in XML.
const DESCRIPTIONS = ['cloudfront-sg-sync', 'ops & edge; {lb} [x] =+!$*#@', '', undefined]

/** Groups with every kind of ingress source, in random numbers, with awkward text. */
function seed(groups: number, seedValue: number, maxRules = 40): void {
  const random = seededRandom(seedValue)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  const ids: string[] = []
  for (let g = 0; g < groups; g += 1) {
    const rules: SeedRule[] = []
    const count = Math.floor(random() * maxRules)
    for (let r = 0; r < count; r += 1) {
      const port = pick([80, 443, 8080])
      const description = pick(DESCRIPTIONS)
      const kind = pick(['v4', 'v4', 'v6', 'pl', 'sg', 'all'] as const)
      if (kind === 'v4') {
        rules.push({
          protocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidr: `10.${g >> 8}.${g & 255}.${r}/32`,
          description
        })
      } else if (kind === 'v6') {
        rules.push({
          protocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidr: `2600:9000:${g.toString(16)}:${r.toString(16)}::/64`,
          description
        })
      } else if (kind === 'pl') {
        rules.push({
          protocol: 'tcp',
          fromPort: port,
          toPort: port,
          prefixListId: `pl-${r}a2b3c4d`,
          description
        })
      } else if (kind === 'sg' && ids.length > 0) {
        rules.push({
          protocol: 'tcp',
          fromPort: port,
          toPort: port,
          sourceGroupId: pick(ids),
          description
        })
      } else if (kind === 'all') {
        rules.push({ protocol: '-1', cidr: `172.16.${r}.0/24`, description })
      }
    }
    const unique = new Map(rules.map(rule => [JSON.stringify({ ...rule, description: '' }), rule]))
    ids.push(
      emulator.createGroup({
        region: REGION,
        vpcId: `vpc-${g % 3}`,
        name: `edge ${g} & co`,
        description: pick(DESCRIPTIONS) || 'group',
        tags: {
          Name: g % 2 ? 'cloudfront_g' : 'cloudfront_r',
          AutoUpdate: 'true',
          Note: pick(['origine été', 'a < b > "c"', '', 'x & y'])
        },
        ingress: [...unique.values()]
      })
    )
  }
}

/** A plain SDK client's pages, each with the raw XML EC2 sent for it. */
async function viaPlainSdk(
  filters: Filter[],
  pageSize: number
): Promise<{ groups: SecurityGroup[]; pages: { xml: string; groups: SecurityGroup[] }[] }> {
  const client = new EC2Client({ region: REGION, endpoint, credentials: KEYS, maxAttempts: 1 })
  const raw: string[] = []
  client.middlewareStack.add(
    bodyRecorder(body => raw.push(body.toString('utf8'))),
    { step: 'deserialize', priority: 'low' }
  )
  const pages: { xml: string; groups: SecurityGroup[] }[] = []
  for await (const page of paginateDescribeSecurityGroups(
    { client, pageSize },
    { Filters: filters, MaxResults: pageSize }
  )) {
    pages.push({ xml: raw[pages.length] ?? '', groups: page.SecurityGroups ?? [] })
  }
  return { groups: pages.flatMap(page => page.groups), pages }
}

const FILTERS: Filter[] = [{ Name: 'tag:AutoUpdate', Values: ['true'] }]

it.each([1, 2, 3])('reads the same groups as the SDK (seed %i, 60 groups)', async seedValue => {
  seed(60, seedValue)
  const api = createEc2Api({ region: REGION, credentials: KEYS, maxAttempts: 1 })
  const lean = await api.describeGroups(FILTERS)
  const plain = await viaPlainSdk(FILTERS, 1000)
  expect(lean).toHaveLength(60)
  expect(lean).toEqual(plain.groups)
  // The reader itself reads every page (so the equality above is not the SDK's fallback).
  for (const page of plain.pages) {
    expect(readSecurityGroupsPage(page.xml).SecurityGroups).toEqual(page.groups)
  }
  const sources = lean.flatMap(group => group.IpPermissions ?? [])
  expect(sources.some(p => (p.Ipv6Ranges ?? []).length > 0)).toBe(true)
  expect(sources.some(p => (p.PrefixListIds ?? []).length > 0)).toBe(true)
  expect(sources.some(p => (p.UserIdGroupPairs ?? []).length > 0)).toBe(true)
  expect(sources.some(p => p.IpProtocol === '-1')).toBe(true)
  const oneGroup = lean[7] as SecurityGroup
  expect(await api.describeGroup(oneGroup.GroupId as string)).toEqual(oneGroup)
})

it('follows the next-page token like the SDK: 2,100 groups, 3 pages, 3 calls', async () => {
  seed(2100, 4, 4)
  const api = createEc2Api({ region: REGION, credentials: KEYS, maxAttempts: 1 })
  const before = emulator.calls.length
  const lean = await api.describeGroups(FILTERS)
  const describes = emulator.calls.slice(before)
  expect(describes.map(call => call.action)).toEqual(Array(3).fill('DescribeSecurityGroups'))
  expect(describes.filter(call => call.params.NextToken)).toHaveLength(2)
  expect(lean).toHaveLength(2100)
  expect(lean).toEqual((await viaPlainSdk(FILTERS, 1000)).groups)
}, 60_000)

it('leaves errors to the SDK: a missing group and a duplicate rule fail with EC2 codes', async () => {
  seed(1, 5)
  const api = createEc2Api({ region: REGION, credentials: KEYS, maxAttempts: 1 })
  await expect(api.describeGroup('sg-0123456789abcdef0')).rejects.toMatchObject({
    name: 'InvalidGroup.NotFound'
  })
  const [group] = await api.describeGroups(FILTERS)
  const id = group?.GroupId as string
  await api.authorize(id, 443, { ipv4: ['192.0.2.0/24'], ipv6: [] }, 'cloudfront-sg-sync')
  await expect(
    api.authorize(id, 443, { ipv4: ['192.0.2.0/24'], ipv6: [] }, 'cloudfront-sg-sync')
  ).rejects.toMatchObject({ name: 'InvalidPermission.Duplicate' })
  await api.revoke(id, 443, { ipv4: ['192.0.2.0/24'], ipv6: [] })
  const after = await api.describeGroup(id)
  const cidrs = after?.IpPermissions?.flatMap(p => p.IpRanges?.map(r => r.CidrIp) ?? [])
  expect(cidrs).not.toContain('192.0.2.0/24')
})
