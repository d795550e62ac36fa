import type { SecurityGroup } from '@aws-sdk/client-ec2'
import type { ManagedGroup, SkippedGroup } from '../../src/inventory.js'
import { classifyGroup, isSkipped, referencedPrefixLists } from '../../src/inventory.js'
import { DEFAULT_OWNERSHIP } from '../helpers/sync-fixtures.js'

const owner = DEFAULT_OWNERSHIP

function sg(tags: Record<string, string>, permissions: SecurityGroup['IpPermissions'] = []) {
  return {
    GroupId: 'sg-1',
    GroupName: 'edge',
    VpcId: 'vpc-1',
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    IpPermissions: permissions
  } satisfies SecurityGroup
}

const place = { account: '111111111111', region: 'us-east-1', ruleLimit: 60 }
const tagged = { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'https' }

function managed(group: SecurityGroup): ManagedGroup {
  const entry = classifyGroup(place, group, owner)
  if (isSkipped(entry)) throw new Error(`skipped: ${entry.reason}`)
  return entry
}

describe('classifyGroup', () => {
  test('the owning account comes from EC2 (OwnerId), the rule limit from the place', () => {
    expect(managed({ ...sg(tagged), OwnerId: '222222222222' })).toMatchObject({
      account: '222222222222',
      ruleLimit: 60
    })
    expect(managed(sg(tagged)).account).toBe('111111111111')
  })

  test('scope from the Name tag, port from the Protocol tag', () => {
    expect(managed(sg(tagged))).toMatchObject({ scope: 'global', port: 443, protocol: 'https' })
    expect(managed(sg({ ...tagged, Name: 'cloudfront_r', Protocol: 'http' }))).toMatchObject({
      scope: 'regional',
      port: 80
    })
  })

  test.each([
    [{ ...tagged, Protocol: 'ftp' }, "Protocol tag 'ftp' is not one of http, https"],
    [{ Name: 'cloudfront_g', AutoUpdate: 'true' }, "Protocol tag '(missing)'"],
    [{ ...tagged, AutoUpdate: 'True' }, "tag AutoUpdate is not 'true'"],
    [{ ...tagged, Name: 'other' }, "Name tag 'other' is not a configured scope"]
  ])('%j is left alone with a reason', (tags, reason) => {
    const entry = classifyGroup(place, sg(tags), owner) as SkippedGroup
    expect(isSkipped(entry)).toBe(true)
    expect(entry.reason).toContain(reason)
  })

  test('owns tcp rules on its port with our description or none; everything else is foreign', () => {
    const group = managed(
      sg(tagged, [
        {
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          IpRanges: [
            { CidrIp: '10.0.0.0/24' },
            { CidrIp: '10.0.1.0/24', Description: 'cloudfront-sg-sync' },
            { CidrIp: '10.0.2.0/24', Description: 'office VPN' }
          ],
          Ipv6Ranges: [{ CidrIpv6: '2600:9000:0::/28', Description: '' }],
          UserIdGroupPairs: [{ GroupId: 'sg-9' }],
          PrefixListIds: [{ PrefixListId: 'pl-1' }, { PrefixListId: 'pl-2' }]
        },
        { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.3.0/24' }] },
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 444, IpRanges: [{ CidrIp: '10.0.4.0/24' }] },
        { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.5.0/24' }] }
      ])
    )
    expect(group.managed.ipv4.map(r => r.cidr)).toEqual(['10.0.0.0/24', '10.0.1.0/24'])
    // Canonical form for comparison, EC2's own text kept for revoking.
    expect(group.managed.ipv6).toEqual([{ cidr: '2600:9000::/28', raw: '2600:9000:0::/28' }])
    // 4 foreign CIDRs + 1 group reference + 2 prefix lists (AWS-managed weight 1 per family).
    expect(group.foreignWeight).toEqual({ ipv4: 7, ipv6: 3 })
    expect(group.foreignOnPort.ipv4).toEqual(['10.0.2.0/24'])
  })

  test('a customer-managed prefix list counts its maximum entries in its family', () => {
    const group = classifyGroup(
      place,
      sg(tagged, [
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: 'pl-1' }] }
      ]),
      owner,
      new Map([['pl-1', { ipv4: 20, ipv6: 0 }]])
    ) as ManagedGroup
    expect(group.foreignWeight).toEqual({ ipv4: 20, ipv6: 0 })
    expect(
      referencedPrefixLists([sg(tagged, [{ PrefixListIds: [{ PrefixListId: 'pl-1' }] }])])
    ).toEqual(['pl-1'])
  })
})

describe('the sync-token tag (issue 15)', () => {
  // DEFAULT_OWNERSHIP's clock: 2027-01-01T00:00:00Z (1798761600).
  const withTag = (value: string) =>
    managed(sg({ ...tagged, 'cloudfront-sg-sync:sync-token': value }))

  test('a past publication time is believed', () => {
    expect(withTag('1786615985')).toMatchObject({ syncToken: '1786615985' })
    expect(withTag('1786615985').ignoredSyncToken).toBeUndefined()
  })

  test('up to two hours ahead of the clock (skew) is believed', () => {
    expect(withTag('1798768800').syncToken).toBe('1798768800')
  })

  test.each([
    ['20 digits (every run "No change" before the fix)', '99999999999999999999', /20 digits/],
    ['2286', '9999999999', /later than the runner's clock/],
    ['two hours and a second ahead', '1798768801', /later than the runner's clock/],
    ['not digits', 'soon', /not all digits/]
  ])('ignored, with the reason: %s', (_name, value, reason) => {
    const group = withTag(value)
    expect(group.syncToken).toBeUndefined()
    expect(group.ignoredSyncToken?.value).toBe(value)
    expect(group.ignoredSyncToken?.reason).toMatch(reason)
  })

  test('a long tag value is cut in what is kept for messages', () => {
    const group = withTag('9'.repeat(256))
    expect(group.ignoredSyncToken?.value).toBe(`${'9'.repeat(40)}...`)
  })

  test('no tag: neither field', () => {
    const group = managed(sg(tagged))
    expect(group.syncToken).toBeUndefined()
    expect(group.ignoredSyncToken).toBeUndefined()
  })
})
