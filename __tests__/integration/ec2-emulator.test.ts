// The loopback EC2 emulator driven through the real @aws-sdk/client-ec2 over HTTP.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeManagedPrefixListsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  paginateDescribeSecurityGroups,
  type EC2ClientConfig,
  type IpPermission
} from '@aws-sdk/client-ec2'
import { Ec2Emulator, type GroupSnapshot } from '../../dev/emulators/ec2.js'

const emulator = new Ec2Emulator()
let url = ''

beforeAll(async () => {
  url = await emulator.start()
})
afterAll(async () => {
  await emulator.stop()
})
beforeEach(() => {
  emulator.reset()
  emulator.rulesPerGroupLimit = 60
  emulator.onStateChange = undefined
})

function client(region = 'eu-west-1', extra: Partial<EC2ClientConfig> = {}): EC2Client {
  return new EC2Client({
    region,
    endpoint: url,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' },
    maxAttempts: 1,
    ...extra
  })
}

/** The error the SDK throws, to assert on its name (= EC2 code) and HTTP status. */
async function failure(
  p: Promise<unknown>
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } }
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode }
  }
  throw new Error('expected the call to fail')
}

function tcp(port: number, cidrs: string[], ipv6: string[] = []): IpPermission {
  return {
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    IpRanges: cidrs.map(c => ({ CidrIp: c })),
    Ipv6Ranges: ipv6.map(c => ({ CidrIpv6: c }))
  }
}

function ingressCidrs(groupId: string): string[] {
  const g = emulator.getGroup(groupId) as GroupSnapshot
  return g.ingress.map(r => r.cidrIpv4 ?? r.cidrIpv6 ?? '?').sort()
}

function seed(name: string, tags: Record<string, string>, region = 'eu-west-1', vpcId = 'vpc-1') {
  return emulator.createGroup({ region, vpcId, name, tags })
}

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i))

describe('wire protocol and endpoint configuration', () => {
  it('is reached through AWS_ENDPOINT_URL_EC2 and answers with parseable XML', async () => {
    const id = seed('web', { Name: 'cloudfront_g' })
    const saved = process.env.AWS_ENDPOINT_URL_EC2
    process.env.AWS_ENDPOINT_URL_EC2 = url
    try {
      const ec2 = new EC2Client({
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
        maxAttempts: 1
      })
      const out = await ec2.send(new DescribeSecurityGroupsCommand({}))
      expect(out.SecurityGroups?.map(g => g.GroupId)).toEqual([id])
      expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/)
      const g = out.SecurityGroups?.[0]
      expect(g).toMatchObject({
        OwnerId: '123456789012',
        GroupName: 'web',
        VpcId: 'vpc-1',
        Tags: [{ Key: 'Name', Value: 'cloudfront_g' }],
        IpPermissions: [],
        IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]
      })
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EC2
      else process.env.AWS_ENDPOINT_URL_EC2 = saved
    }
  })

  it('rejects unsigned requests with AuthFailure (401) and unknown actions with InvalidAction', async () => {
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeSecurityGroups&Version=2016-11-15'
    })
    expect(unsigned.status).toBe(401)
    const text = await unsigned.text()
    expect(text).toContain('<Response><Errors><Error><Code>AuthFailure</Code>')
    expect(text).toMatch(/<RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/)

    const unknown = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/ec2/aws4_request, ' +
          'SignedHeaders=host;x-amz-date, Signature=00'
      },
      body: 'Action=RunInstances&Version=2016-11-15'
    })
    expect(unknown.status).toBe(400)
    expect(await unknown.text()).toContain('<Code>InvalidAction</Code>')
    expect(emulator.calls.map(c => [c.action, c.ok, c.errorCode])).toEqual([
      ['DescribeSecurityGroups', false, 'AuthFailure'],
      ['RunInstances', false, 'InvalidAction']
    ])
  })

  it('maps access keys to accounts and, when restricted, refuses unknown keys', async () => {
    const restricted = new Ec2Emulator({
      allowedAccessKeys: new Map([['AKIDPROD', '210987654321']])
    })
    const rurl = await restricted.start()
    try {
      const mk = (key: string) =>
        new EC2Client({
          region: 'us-east-1',
          endpoint: rurl,
          credentials: { accessKeyId: key, secretAccessKey: 'x' },
          maxAttempts: 1
        })
      const created = await mk('AKIDPROD').send(
        new CreateSecurityGroupCommand({ GroupName: 'a', Description: 'a', VpcId: 'vpc-9' })
      )
      expect(restricted.getGroup(created.GroupId as string)?.account).toBe('210987654321')
      const err = await failure(mk('AKIDOTHER').send(new DescribeSecurityGroupsCommand({})))
      expect(err).toMatchObject({ name: 'AuthFailure', status: 401 })
    } finally {
      await restricted.stop()
    }
  })
})

describe('CreateSecurityGroup / DescribeSecurityGroups', () => {
  it('creates a tagged group and refuses a duplicate name in the same VPC', async () => {
    const ec2 = client()
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'cf',
        Description: 'CloudFront',
        VpcId: 'vpc-1',
        TagSpecifications: [
          { ResourceType: 'security-group', Tags: [{ Key: 'Name', Value: 'cloudfront_r' }] }
        ]
      })
    )
    expect(out.GroupId).toMatch(/^sg-[0-9a-f]{17}$/)
    expect(emulator.getGroup(out.GroupId as string)?.tags).toEqual({ Name: 'cloudfront_r' })
    const dup = await failure(
      ec2.send(
        new CreateSecurityGroupCommand({ GroupName: 'cf', Description: 'x', VpcId: 'vpc-1' })
      )
    )
    expect(dup).toMatchObject({ name: 'InvalidGroup.Duplicate', status: 400 })
    expect(dup.message).toBe("The security group 'cf' already exists for VPC 'vpc-1'")
    // Same name in another VPC is fine.
    await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: 'cf', Description: 'x', VpcId: 'vpc-2' })
    )
  })

  it('filters by tag (OR within values, AND across filters), tag-key, group-id, vpc-id, group-name', async () => {
    const g = seed('g', { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' })
    const r = seed('r', { Name: 'cloudfront_r', AutoUpdate: 'true', Protocol: 'http' })
    const off = seed('off', { Name: 'cloudfront_g', AutoUpdate: 'false' }, 'eu-west-1', 'vpc-2')
    const other = seed('other', { Team: 'x' })
    const ids = async (Filters: Array<{ Name: string; Values: string[] }>, GroupIds?: string[]) =>
      (
        (await client().send(new DescribeSecurityGroupsCommand({ Filters, GroupIds })))
          .SecurityGroups ?? []
      )
        .map(s => s.GroupId)
        .sort()
    expect(await ids([{ Name: 'tag:Name', Values: ['cloudfront_g', 'cloudfront_r'] }])).toEqual(
      [g, r, off].sort()
    )
    expect(
      await ids([
        { Name: 'tag:Name', Values: ['cloudfront_g', 'cloudfront_r'] },
        { Name: 'tag:AutoUpdate', Values: ['true'] }
      ])
    ).toEqual([g, r].sort())
    expect(await ids([{ Name: 'tag:Name', Values: ['cloudfront'] }])).toEqual([])
    expect(await ids([{ Name: 'tag-key', Values: ['Team'] }])).toEqual([other])
    expect(await ids([{ Name: 'group-id', Values: [r] }])).toEqual([r])
    expect(await ids([{ Name: 'vpc-id', Values: ['vpc-2'] }])).toEqual([off])
    expect(await ids([{ Name: 'group-name', Values: ['g', 'other'] }])).toEqual([g, other].sort())
    expect(await ids([], [g, other])).toEqual([g, other].sort())
    const missing = await failure(
      client().send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] }))
    )
    expect(missing.name).toBe('InvalidGroup.NotFound')
    const badFilter = await failure(
      client().send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })
      )
    )
    expect(badFilter.name).toBe('InvalidParameterValue')
  })

  it('paginates with MaxResults/NextToken (SDK paginator) and returns all without MaxResults', async () => {
    const all = range(12, i => seed(`g${i}`, { Name: 'cloudfront_g' }))
    const pages: string[][] = []
    for await (const page of paginateDescribeSecurityGroups(
      { client: client(), pageSize: 5 },
      { Filters: [{ Name: 'tag:Name', Values: ['cloudfront_g'] }] }
    )) {
      pages.push((page.SecurityGroups ?? []).map(g => g.GroupId as string))
    }
    expect(pages.map(p => p.length)).toEqual([5, 5, 2])
    expect(pages.flat()).toEqual(all)
    const whole = await client().send(new DescribeSecurityGroupsCommand({}))
    expect(whole.SecurityGroups).toHaveLength(12)
    expect(whole.NextToken).toBeUndefined()
    const tooSmall = await failure(
      client().send(new DescribeSecurityGroupsCommand({ MaxResults: 4 }))
    )
    expect(tooSmall.name).toBe('InvalidParameterValue')
  })

  it('keeps regions and accounts apart on one endpoint', async () => {
    const multi = new Ec2Emulator({ accountIds: { AKIDB: '222222222222' } })
    const murl = await multi.start()
    try {
      const mk = (region: string, key = 'AKIDA') =>
        new EC2Client({
          region,
          endpoint: murl,
          credentials: { accessKeyId: key, secretAccessKey: 'x' },
          maxAttempts: 1
        })
      const { GroupId } = await mk('eu-west-1').send(
        new CreateSecurityGroupCommand({ GroupName: 'a', Description: 'a', VpcId: 'vpc-1' })
      )
      expect(
        (await mk('us-east-1').send(new DescribeSecurityGroupsCommand({}))).SecurityGroups
      ).toEqual([])
      expect(
        (await mk('eu-west-1', 'AKIDB').send(new DescribeSecurityGroupsCommand({}))).SecurityGroups
      ).toEqual([])
      const elsewhere = await failure(
        mk('us-east-1').send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId,
            IpPermissions: [tcp(443, ['1.0.0.0/24'])]
          })
        )
      )
      expect(elsewhere.name).toBe('InvalidGroup.NotFound')
      expect(multi.calls.map(c => `${c.account}/${c.region}`)).toEqual([
        '123456789012/eu-west-1',
        '123456789012/us-east-1',
        '222222222222/eu-west-1',
        '123456789012/us-east-1'
      ])
    } finally {
      await multi.stop()
    }
  })
})

describe('CreateTags / DeleteTags', () => {
  it('adds, overwrites and deletes tags (a value given must match)', async () => {
    const id = seed('g', { Name: 'cloudfront_g' })
    const ec2 = client()
    await ec2.send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: [
          { Key: 'Protocol', Value: 'https' },
          { Key: 'Name', Value: 'cloudfront_r' }
        ]
      })
    )
    expect(emulator.getGroup(id)?.tags).toEqual({ Name: 'cloudfront_r', Protocol: 'https' })
    await ec2.send(
      new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'Protocol', Value: 'http' }] })
    )
    expect(emulator.getGroup(id)?.tags).toEqual({ Name: 'cloudfront_r', Protocol: 'https' })
    await ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'Protocol' }] }))
    expect(emulator.getGroup(id)?.tags).toEqual({ Name: 'cloudfront_r' })
    const missing = await failure(
      ec2.send(
        new CreateTagsCommand({
          Resources: [id, 'sg-0000000000000dead'],
          Tags: [{ Key: 'A', Value: 'b' }]
        })
      )
    )
    expect(missing.name).toBe('InvalidGroup.NotFound')
    expect(emulator.getGroup(id)?.tags).toEqual({ Name: 'cloudfront_r' }) // atomic: nothing tagged
  })
})

describe('AuthorizeSecurityGroupIngress', () => {
  it('adds IPv4 and IPv6 rules, returns their rule ids, canonicalises CIDRs', async () => {
    const id = seed('g', {})
    const out = await client().send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 443,
            ToPort: 443,
            IpRanges: [{ CidrIp: '100.68.0.18/18', Description: 'cloudfront-sg-sync' }],
            Ipv6Ranges: [{ CidrIpv6: '2600:9000:0000:0000::/28' }]
          }
        ]
      })
    )
    expect(out.Return).toBe(true)
    expect(
      out.SecurityGroupRules?.map(r => [r.CidrIpv4 ?? r.CidrIpv6, r.Description, r.IsEgress])
    ).toEqual([
      ['100.68.0.0/18', 'cloudfront-sg-sync', false],
      ['2600:9000::/28', undefined, false]
    ])
    expect(
      out.SecurityGroupRules?.every(r => /^sgr-[0-9a-f]{17}$/.test(r.SecurityGroupRuleId ?? ''))
    ).toBe(true)
    // The non-canonical form of an existing rule is a duplicate (EC2 API reference, IpRange).
    const dup = await failure(
      client().send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(443, ['100.68.1.1/18'])]
        })
      )
    )
    expect(dup.name).toBe('InvalidPermission.Duplicate')
    expect(dup.message).toBe(
      'the specified rule "peer: 100.68.0.0/18, TCP, from port: 443, to port: 443, ALLOW" already exists'
    )
  })

  it('fails the whole request on one existing rule (InvalidPermission.Duplicate): nothing added', async () => {
    const id = emulator.createGroup({
      region: 'eu-west-1',
      vpcId: 'vpc-1',
      name: 'g',
      tags: {},
      ingress: [{ protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '1.0.0.0/24' }]
    })
    const err = await failure(
      client().send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(80, ['2.0.0.0/24', '1.0.0.0/24', '3.0.0.0/24'])]
        })
      )
    )
    expect(err).toMatchObject({ name: 'InvalidPermission.Duplicate', status: 400 })
    expect(ingressCidrs(id)).toEqual(['1.0.0.0/24'])
  })

  it('refuses the same permission twice in one request (InvalidParameterValue)', async () => {
    const id = seed('g', {})
    const err = await failure(
      client().send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(80, ['1.0.0.0/24']), tcp(80, ['1.0.0.0/24'])]
        })
      )
    )
    expect(err).toMatchObject({
      name: 'InvalidParameterValue',
      message: 'The same permission must not appear multiple times'
    })
    expect(ingressCidrs(id)).toEqual([])
  })

  it('refuses malformed CIDRs and unknown groups', async () => {
    const id = seed('g', {})
    for (const bad of ['1.2.3.4', '1.2.3.256/24', '1.2.3.0/33', '::/0', 'x']) {
      const err = await failure(
        client().send(
          new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [tcp(80, [bad])] })
        )
      )
      expect(err).toMatchObject({
        name: 'InvalidParameterValue',
        message: `CIDR block ${bad} is malformed`
      })
    }
    const err6 = await failure(
      client().send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(80, [], ['2600:::/28'])]
        })
      )
    )
    expect(err6.name).toBe('InvalidParameterValue')
    const nf = await failure(
      client().send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: 'sg-0123456789abcdef0',
          IpPermissions: [tcp(80, ['1.0.0.0/24'])]
        })
      )
    )
    expect(nf).toMatchObject({ name: 'InvalidGroup.NotFound', status: 400 })
    expect(nf.message).toBe("The security group 'sg-0123456789abcdef0' does not exist")
  })

  it('enforces the per-group limit separately for IPv4 and IPv6, the whole request failing', async () => {
    const id = seed('g', {})
    const ec2 = client()
    const v4 = range(60, i => `10.0.${i}.0/24`)
    const v6 = range(60, i => `2600:${i.toString(16)}::/32`)
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [tcp(443, v4)] })
    )
    // IPv6 has its own 60.
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [tcp(443, [], v6)] })
    )
    const err = await failure(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(80, ['192.0.2.0/24'])]
        })
      )
    )
    expect(err).toMatchObject({
      name: 'RulesPerSecurityGroupLimitExceeded',
      message: 'The maximum number of rules per security group has been reached.'
    })
    expect(emulator.getGroup(id)?.ingress).toHaveLength(120)
  })

  it('counts security-group references in both families and prefix lists by weight (limit configurable)', async () => {
    const limited = new Ec2Emulator({ rulesPerGroupLimit: 5, prefixListWeights: { 'pl-0cf': 3 } })
    const lurl = await limited.start()
    try {
      const ec2 = new EC2Client({
        region: 'eu-west-1',
        endpoint: lurl,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
        maxAttempts: 1
      })
      const src = limited.createGroup({
        region: 'eu-west-1',
        vpcId: 'vpc-1',
        name: 'src',
        tags: {}
      })
      const id = limited.createGroup({ region: 'eu-west-1', vpcId: 'vpc-1', name: 'dst', tags: {} })
      // 1 SG reference (counts 1 IPv4 + 1 IPv6) + an IPv4 prefix list of 3 entries.
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [{ GroupId: src }] },
            {
              IpProtocol: 'tcp',
              FromPort: 443,
              ToPort: 443,
              PrefixListIds: [{ PrefixListId: 'pl-0cf' }]
            }
          ]
        })
      )
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(80, ['1.0.0.0/24'], ['2600::/32'])]
        })
      )
      // IPv4: 1 reference + 3 (a customer-managed IPv4 list) + 1 CIDR = 5, full; IPv6: 1 + 1 = 2.
      const err = await failure(
        ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: id,
            IpPermissions: [tcp(81, ['2.0.0.0/24'])]
          })
        )
      )
      expect(err.name).toBe('RulesPerSecurityGroupLimitExceeded')
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(81, [], ['2601::/32'])]
        })
      )
      const lists = await ec2.send(
        new DescribeManagedPrefixListsCommand({ PrefixListIds: ['pl-0cf'] })
      )
      expect(lists.PrefixLists?.[0]).toMatchObject({ AddressFamily: 'IPv4', MaxEntries: 3 })
      const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))
      const perms = described.SecurityGroups?.[0]?.IpPermissions ?? []
      expect(perms.find(p => p.FromPort === 22)?.UserIdGroupPairs).toEqual([
        { UserId: '123456789012', GroupId: src }
      ])
      expect(perms.find(p => p.FromPort === 443)?.PrefixListIds).toEqual([
        { PrefixListId: 'pl-0cf' }
      ])
    } finally {
      await limited.stop()
    }
  })
})

describe('RevokeSecurityGroupIngress', () => {
  function seeded(): string {
    return emulator.createGroup({
      region: 'eu-west-1',
      vpcId: 'vpc-1',
      name: 'g',
      tags: {},
      ingress: [
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '1.0.0.0/24', description: 'managed' },
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '2.0.0.0/24' },
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: '2600:9000::/28' }
      ]
    })
  }

  it('removes rules by permission (description not needed) and by rule id', async () => {
    const id = seeded()
    const ec2 = client()
    const out = await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [tcp(443, ['1.0.0.0/24'])]
      })
    )
    expect(out.Return).toBe(true)
    expect(out.RevokedSecurityGroupRules?.map(r => r.CidrIpv4)).toEqual(['1.0.0.0/24'])
    expect(ingressCidrs(id)).toEqual(['2.0.0.0/24', '2600:9000::/28'])
    const v6 = emulator.getGroup(id)?.ingress.find(r => r.cidrIpv6)?.ruleId as string
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: id, SecurityGroupRuleIds: [v6] })
    )
    expect(ingressCidrs(id)).toEqual(['2.0.0.0/24'])
  })

  it('fails whole with InvalidPermission.NotFound when one rule is missing', async () => {
    const id = seeded()
    const err = await failure(
      client().send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(443, ['2.0.0.0/24', '9.0.0.0/24'])]
        })
      )
    )
    expect(err).toMatchObject({ name: 'InvalidPermission.NotFound', status: 400 })
    expect(ingressCidrs(id)).toEqual(['1.0.0.0/24', '2.0.0.0/24', '2600:9000::/28'])
    const badId = await failure(
      client().send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: id,
          SecurityGroupRuleIds: ['sgr-0000000000000dead']
        })
      )
    )
    expect(badId.name).toBe('InvalidSecurityGroupRuleId.NotFound')
  })
})

describe('DescribeSecurityGroupRules', () => {
  it('lists rules of a group with pagination and filters by rule id', async () => {
    const id = emulator.createGroup({
      region: 'eu-west-1',
      vpcId: 'vpc-1',
      name: 'g',
      tags: {},
      ingress: range(7, i => ({
        protocol: 'tcp',
        fromPort: 80,
        toPort: 80,
        cidr: `10.${i}.0.0/16`,
        description: 'd'
      }))
    })
    seed('other', {})
    const ec2 = client()
    const first = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [id] }],
        MaxResults: 5
      })
    )
    expect(first.SecurityGroupRules).toHaveLength(5)
    expect(first.NextToken).toBeDefined()
    const second = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [id] }],
        MaxResults: 5,
        NextToken: first.NextToken
      })
    )
    const rules = [...(first.SecurityGroupRules ?? []), ...(second.SecurityGroupRules ?? [])]
    expect(second.NextToken).toBeUndefined()
    expect(rules).toHaveLength(8) // 7 ingress + the default egress rule
    const ingress = rules.filter(r => !r.IsEgress)
    expect(ingress[0]).toMatchObject({
      GroupId: id,
      GroupOwnerId: '123456789012',
      IpProtocol: 'tcp',
      FromPort: 80,
      ToPort: 80,
      CidrIpv4: '10.0.0.0/16',
      Description: 'd'
    })
    const one = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        SecurityGroupRuleIds: [ingress[3]?.SecurityGroupRuleId as string]
      })
    )
    expect(one.SecurityGroupRules?.map(r => r.CidrIpv4)).toEqual(['10.3.0.0/16'])
  })
})

describe('observability', () => {
  it('records calls, flags mutating ones and reports state after each successful mutation', async () => {
    const snapshots: GroupSnapshot[][] = []
    emulator.onStateChange = s => snapshots.push(s)
    const id = seed('g', {})
    const ec2 = client('eu-central-1')
    await failure(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(80, ['1.0.0.0/24'])]
        })
      )
    ) // wrong region
    await ec2.send(new DescribeSecurityGroupsCommand({}))
    await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'x', VpcId: 'vpc-1' })
    )
    expect(
      emulator.calls.map(c => [c.seq, c.action, c.region, c.mutating, c.ok, c.errorCode])
    ).toEqual([
      [1, 'AuthorizeSecurityGroupIngress', 'eu-central-1', true, false, 'InvalidGroup.NotFound'],
      [2, 'DescribeSecurityGroups', 'eu-central-1', false, true, undefined],
      [3, 'CreateSecurityGroup', 'eu-central-1', true, true, undefined]
    ])
    expect(emulator.calls[0]?.params).toMatchObject({
      GroupId: id,
      'IpPermissions.1.IpRanges.1.CidrIp': '1.0.0.0/24'
    })
    expect(emulator.mutatingCalls().map(c => c.seq)).toEqual([1, 3])
    expect(snapshots).toHaveLength(1)
    expect(snapshots[0]?.map(g => g.name).sort()).toEqual(['g', 'x'])
  })

  it('answers DryRun with DryRunOperation and changes nothing', async () => {
    const id = seed('g', {})
    const err = await failure(
      client().send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          DryRun: true,
          IpPermissions: [tcp(80, ['1.0.0.0/24'])]
        })
      )
    )
    expect(err).toMatchObject({ name: 'DryRunOperation', status: 412 })
    expect(ingressCidrs(id)).toEqual([])
  })

  it('seed API: createGroup with rules, listGroups by region, reset', () => {
    seed('a', { Name: 'cloudfront_g' }, 'us-east-1')
    seed('b', { Name: 'cloudfront_g' }, 'eu-west-1')
    expect(emulator.listGroups({ region: 'us-east-1' }).map(g => g.name)).toEqual(['a'])
    expect(() => seed('a', {}, 'us-east-1')).toThrow(/already exists/)
    emulator.reset()
    expect(emulator.listGroups()).toEqual([])
  })
})

describe('fault injection', () => {
  it('throttles with RequestLimitExceeded (503), which the SDK retries when allowed', async () => {
    seed('g', {})
    emulator.faults = { throttleRate: 1 }
    const raw = await failure(client().send(new DescribeSecurityGroupsCommand({})))
    expect(raw).toMatchObject({ name: 'RequestLimitExceeded', status: 503 })

    emulator.faults = {
      failNext: [
        { action: 'DescribeSecurityGroups', code: 'RequestLimitExceeded', status: 503 },
        { code: 'InternalError', status: 500 }
      ]
    }
    const out = await client('eu-west-1', { maxAttempts: 3 }).send(
      new DescribeSecurityGroupsCommand({})
    )
    expect(out.SecurityGroups).toHaveLength(1)
    expect(out.$metadata.attempts).toBe(3)
    expect(emulator.calls.slice(-3).map(c => c.errorCode ?? 'ok')).toEqual([
      'RequestLimitExceeded',
      'InternalError',
      'ok'
    ])
  })

  it('is deterministic for a given seed', async () => {
    const outcomes = async () => {
      emulator.reset()
      emulator.faults = { errorRate: 0.5, throttleRate: 0.2, seed: 42 }
      for (let i = 0; i < 12; i++)
        await client()
          .send(new DescribeSecurityGroupsCommand({}))
          .catch(() => undefined)
      return emulator.calls.map(c => c.errorCode ?? 'ok')
    }
    const first = await outcomes()
    expect(await outcomes()).toEqual(first)
    expect(new Set(first).size).toBeGreaterThan(1)
  })

  it('drops connections and adds latency', async () => {
    emulator.faults = { dropConnectionNext: 1 }
    await expect(client().send(new DescribeSecurityGroupsCommand({}))).rejects.toThrow()
    expect(emulator.calls.at(-1)?.errorCode).toBe('ConnectionDropped')
    emulator.faults = { dropConnectionNext: 1 }
    const retried = await client('eu-west-1', { maxAttempts: 2 }).send(
      new DescribeSecurityGroupsCommand({})
    )
    expect(retried.$metadata.attempts).toBe(2)

    emulator.faults = { latencyMs: 120 }
    const t0 = Date.now()
    await client().send(new DescribeSecurityGroupsCommand({}))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110)
  })
})

describe('standalone', () => {
  it('prints its URL when run with tsx --port', async () => {
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx')
    const child = spawn(tsx, ['dev/emulators/ec2.ts', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit']
    })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          if (out.includes('\n')) resolve(out.trim())
        })
        child.on('error', reject)
        child.on('exit', code => reject(new Error(`exited ${code}`)))
      })
      expect(line).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const res = await fetch(line, { method: 'POST', body: 'Action=DescribeSecurityGroups' })
      expect(res.status).toBe(401)
    } finally {
      child.kill('SIGTERM')
    }
  }, 20000)
})
