// Ranges that reach no group (issue 13), and the tag values that were close.
import type { SecurityGroup } from '@aws-sdk/client-ec2'
import { describeUncovered, uncoveredScopes } from '../../src/coverage.js'
import type { Ownership } from '../../src/inventory.js'
import { classifyGroup, closeMatch, isSkipped, nearMisses } from '../../src/inventory.js'
import type { CidrsByScope } from '../../src/types.js'
import { DEFAULT_OWNERSHIP } from '../helpers/sync-fixtures.js'

const desired: CidrsByScope = {
  global: { ipv4: ['10.0.0.0/24', '10.0.1.0/24'], ipv6: ['2600:9000::/28'] },
  regional: { ipv4: ['10.9.0.0/24', '10.9.1.0/24'], ipv6: [] }
}
const options = {
  families: ['ipv4', 'ipv6'] as const,
  nameTags: { global: 'cloudfront_g', regional: 'cloudfront_r' },
  label: (_account: string, region: string) => region
}

describe('uncoveredScopes', () => {
  it('names the region, scope, count and tag when only cloudfront_g is tagged', () => {
    const gaps = uncoveredScopes(
      desired,
      [{ account: 'a', region: 'us-east-1', groups: [{ scope: 'global' }] }],
      { ...options, families: [...options.families] }
    )
    expect(gaps).toEqual([
      { where: 'us-east-1', scope: 'regional', ranges: 2, nameTag: 'cloudfront_r' }
    ])
    expect(describeUncovered(gaps[0] as (typeof gaps)[number], 'CLOUDFRONT_ORIGIN_FACING')).toBe(
      'us-east-1: 2 regional range(s) of CLOUDFRONT_ORIGIN_FACING reach no group, since no group ' +
        'there is tagged Name=cloudfront_r. Tag one (with the same opt-in and Protocol tags as the ' +
        'others) to allow them, or narrow the ranges if you mean to leave them out.'
    )
  })

  it('says nothing when both scopes are tagged, a scope publishes nothing, or the region is empty', () => {
    const both = [
      {
        account: 'a',
        region: 'r',
        groups: [{ scope: 'global' as const }, { scope: 'regional' as const }]
      }
    ]
    const fams = { ...options, families: [...options.families] }
    expect(uncoveredScopes(desired, both, fams)).toEqual([])
    const noRegional = { ...desired, regional: { ipv4: [], ipv6: [] } }
    expect(
      uncoveredScopes(
        noRegional,
        [{ account: 'a', region: 'r', groups: [{ scope: 'global' }] }],
        fams
      )
    ).toEqual([])
    expect(uncoveredScopes(desired, [{ account: 'a', region: 'r', groups: [] }], fams)).toEqual([])
  })

  it('counts only the requested families', () => {
    const gaps = uncoveredScopes(
      desired,
      [{ account: 'a', region: 'r', groups: [{ scope: 'regional' }] }],
      { ...options, families: ['ipv6'] }
    )
    expect(gaps).toEqual([{ where: 'r', scope: 'global', ranges: 1, nameTag: 'cloudfront_g' }])
  })
})

const owner: Ownership = DEFAULT_OWNERSHIP
const sg = (id: string, tags: Record<string, string>): SecurityGroup => ({
  GroupId: id,
  GroupName: id,
  VpcId: 'vpc-1',
  OwnerId: '123456789012',
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
})

describe('close tag values', () => {
  it('closeMatch: case and spaces only, never an exact match', () => {
    expect(closeMatch('HTTPS', ['http', 'https'])).toBe('https')
    expect(closeMatch(' https', ['http', 'https'])).toBe('https')
    expect(closeMatch('https', ['http', 'https'])).toBeUndefined()
    expect(closeMatch('htps', ['http', 'https'])).toBeUndefined()
  })

  it('a Protocol=HTTPS group is skipped with the expected value named', () => {
    const entry = classifyGroup(
      { account: '123456789012', region: 'us-east-1', ruleLimit: 60 },
      sg('sg-1', { Name: 'cloudfront_g', AutoUpdate: 'true', Protocol: 'HTTPS' }),
      owner
    )
    expect(isSkipped(entry) && entry.closeTag).toBe('Protocol=HTTPS (expected https)')
    expect(isSkipped(entry) && entry.reason).toContain("did you mean 'https'?")
  })

  it('nearMisses names AutoUpdate and Name values off by case, and ignores unrelated groups', () => {
    expect(
      nearMisses(
        [
          sg('sg-1', { Name: 'CloudFront_G', AutoUpdate: 'true' }),
          sg('sg-2', { Name: 'cloudfront_r', AutoUpdate: 'True' }),
          sg('sg-3', { Name: 'CLOUDFRONT_R', AutoUpdate: 'TRUE' }),
          sg('sg-4', { Name: 'web', AutoUpdate: 'true' }),
          sg('sg-5', { Name: 'cloudfront_g', AutoUpdate: 'false' }),
          sg('sg-6', { Name: 'cloudfront_g', AutoUpdate: 'true' })
        ],
        owner
      )
    ).toEqual([
      'sg-1 is tagged Name=CloudFront_G (expected cloudfront_g)',
      'sg-2 is tagged AutoUpdate=True (expected true)',
      'sg-3 is tagged AutoUpdate=TRUE (expected true) and Name=CLOUDFRONT_R (expected cloudfront_r)'
    ])
  })
})
