import { deriveIpRanges, generateIpRanges } from '../../dev/ip-ranges-fixture.js'
import { mergeCidrs } from '../../src/ranges/cidr.js'
import type { IpRangesDocument } from '../../src/ranges/parse.js'
import { listServices, selectRanges } from '../../src/ranges/select.js'
import { refusal } from '../helpers/ranges.js'

const v4 = (ip_prefix: string, region: string, service = 'CLOUDFRONT') => ({
  ip_prefix,
  region,
  service,
  network_border_group: region
})
const v6 = (ipv6_prefix: string, region: string, service = 'CLOUDFRONT') => ({
  ipv6_prefix,
  region,
  service,
  network_border_group: region
})

const DOC: IpRangesDocument = {
  syncToken: '1785186425',
  createDate: '2026-07-27-21-07-05',
  prefixes: [
    v4('240.0.1.0/24', 'GLOBAL'),
    v4('240.0.0.0/24', 'GLOBAL'),
    v4('240.0.1.0/24', 'GLOBAL'), // listed twice
    v4('240.9.0.0/16', 'GLOBAL'),
    v4('240.1.0.0/25', 'us-east-1'),
    v4('240.1.0.128/25', 'eu-west-1'), // sibling of the previous one, another region
    v4('240.1.0.0/25', 'eu-west-1'), // the same prefix under two regions
    v4('240.20.0.0/22', 'GLOBAL'),
    v4('240.20.0.0/22', 'us-west-2'), // GLOBAL and regional: both scopes
    v4('240.0.0.0/24', 'GLOBAL', 'AMAZON'),
    v4('241.0.0.0/8', 'us-east-1', 'EC2'),
    v4('240.50.0.0/24', 'GLOBAL', 'ROUTE53')
  ],
  ipv6_prefixes: [
    v6('3fff:0:2000::/36', 'GLOBAL'),
    v6('3FFF:0000:1000::/36', 'GLOBAL'), // non-canonical
    v6('3fff:0:1000::/36', 'GLOBAL'), // the same, canonical
    v6('3fff:800::/40', 'GLOBAL', 'AMAZON')
  ]
}

describe('selectRanges', () => {
  it('splits by scope, dedupes, canonicalises and sorts', () => {
    const selection = selectRanges(DOC, {
      service: 'CLOUDFRONT',
      families: ['ipv4', 'ipv6'],
      mergeAdjacent: false
    })
    expect(selection.cidrs).toEqual({
      global: {
        ipv4: ['240.0.0.0/24', '240.0.1.0/24', '240.9.0.0/16', '240.20.0.0/22'],
        ipv6: ['3fff:0:1000::/36', '3fff:0:2000::/36']
      },
      regional: {
        ipv4: ['240.1.0.0/25', '240.1.0.128/25', '240.20.0.0/22'],
        ipv6: []
      }
    })
    expect(selection.publishedCounts).toEqual({
      global: { ipv4: 4, ipv6: 2 },
      regional: { ipv4: 3, ipv6: 0 }
    })
  })

  it('merges exactly, within each scope, when asked', () => {
    const selection = selectRanges(DOC, {
      service: 'CLOUDFRONT',
      families: ['ipv4', 'ipv6'],
      mergeAdjacent: true
    })
    expect(selection.cidrs).toEqual({
      global: {
        ipv4: ['240.0.0.0/23', '240.9.0.0/16', '240.20.0.0/22'],
        ipv6: ['3fff:0:1000::/36', '3fff:0:2000::/36'] // adjacent, not siblings
      },
      regional: { ipv4: ['240.1.0.0/24', '240.20.0.0/22'], ipv6: [] }
    })
    // counts are before merging
    expect(selection.publishedCounts.global.ipv4).toBe(4)
    expect(selection.publishedCounts.regional.ipv4).toBe(3)
  })

  it('leaves families that were not asked for empty', () => {
    const only6 = selectRanges(DOC, {
      service: 'CLOUDFRONT',
      families: ['ipv6'],
      mergeAdjacent: false
    })
    expect(only6.cidrs.global.ipv4).toEqual([])
    expect(only6.cidrs.regional.ipv4).toEqual([])
    expect(only6.publishedCounts.global).toEqual({ ipv4: 0, ipv6: 2 })
    const only4 = selectRanges(DOC, {
      service: 'ROUTE53',
      families: ['ipv4'],
      mergeAdjacent: false
    })
    expect(only4.cidrs.global.ipv4).toEqual(['240.50.0.0/24'])
  })

  it('lists the services of a document', () => {
    expect(listServices(DOC)).toEqual(['AMAZON', 'CLOUDFRONT', 'EC2', 'ROUTE53'])
  })

  it('refuses a service the document does not list, naming those it does', () => {
    const error = refusal(() =>
      selectRanges(DOC, {
        service: 'CLOUDFRONT_ORIGIN_FACING',
        families: ['ipv4'],
        mergeAdjacent: true
      })
    )
    expect(error.code).toBe('unknown-service')
    expect(error.message).toBe(
      'ip-ranges.json (syncToken 1785186425) lists no prefixes for service "CLOUDFRONT_ORIGIN_FACING"; ' +
        'services present: AMAZON, CLOUDFRONT, EC2, ROUTE53'
    )
    expect(error.hint).toMatch(/input 'service'/)
  })

  it('suggests the right case', () => {
    const error = refusal(() =>
      selectRanges(DOC, { service: 'cloudfront', families: ['ipv4'], mergeAdjacent: true })
    )
    expect(error.message).toMatch(/did you mean CLOUDFRONT\? names are case-sensitive/)
  })

  it('refuses when every requested family is empty across both scopes', () => {
    const error = refusal(() =>
      selectRanges(DOC, { service: 'ROUTE53', families: ['ipv6'], mergeAdjacent: true })
    )
    expect(error.code).toBe('empty-selection')
    expect(error.message).toMatch(/lists no IPv6 prefixes for service ROUTE53, in any region/)
    expect(error.hint).toMatch(/Set input 'ip-families' to the families ROUTE53 publishes/)
  })

  it('leaves a family with nothing published to the planner, the other selected (issue 15)', () => {
    // AWS published no CLOUDFRONT_ORIGIN_FACING IPv6 range until mid-2025: IPv4 must still sync.
    const selection = selectRanges(DOC, {
      service: 'ROUTE53',
      families: ['ipv4', 'ipv6'],
      mergeAdjacent: true
    })
    expect(selection.unpublished).toEqual(['ipv6'])
    expect(selection.cidrs.global).toEqual({ ipv4: ['240.50.0.0/24'], ipv6: [] })
  })

  it.each([
    [
      'IPv4 /7',
      { prefixes: [v4('240.0.0.0/24', 'GLOBAL'), v4('0.0.0.0/7', 'us-east-1')] },
      /prefixes\[1\] "0\.0\.0\.0\/7" of service CLOUDFRONT \(region us-east-1\) is broader than \/8/
    ],
    ['IPv4 /0', { prefixes: [v4('0.0.0.0/0', 'GLOBAL')] }, /"0\.0\.0\.0\/0" .* broader than \/8/],
    [
      'IPv6 /15',
      { ipv6_prefixes: [v6('3ffe::/15', 'GLOBAL')] },
      /ipv6_prefixes\[0\] "3ffe::\/15" .* broader than \/16/
    ]
  ])('refuses a prefix broader than the limit (%s)', (_name, over, message) => {
    const doc = { ...DOC, ...over }
    const error = refusal(() =>
      selectRanges(doc, { service: 'CLOUDFRONT', families: ['ipv4', 'ipv6'], mergeAdjacent: false })
    )
    expect(error.code).toBe('too-broad')
    expect(error.message).toMatch(message)
  })

  it('refuses an invalid prefix in a document that skipped validation', () => {
    const doc = { ...DOC, prefixes: [v4('240.0.0.1/24', 'GLOBAL')] }
    const error = refusal(() =>
      selectRanges(doc, { service: 'CLOUDFRONT', families: ['ipv4'], mergeAdjacent: false })
    )
    expect(error.code).toBe('schema')
    expect(error.message).toMatch(
      /prefixes\[0\] "240\.0\.0\.1\/24" is not a valid IPv4 CIDR: host bits/
    )
  })

  it('accepts exactly /8 and /16, and ignores broad prefixes of families not asked for', () => {
    const doc = {
      ...DOC,
      prefixes: [v4('10.0.0.0/8', 'GLOBAL')],
      ipv6_prefixes: [v6('3fff::/16', 'GLOBAL'), v6('::/0', 'GLOBAL')]
    }
    expect(
      selectRanges(doc, { service: 'CLOUDFRONT', families: ['ipv4'], mergeAdjacent: false }).cidrs
        .global.ipv4
    ).toEqual(['10.0.0.0/8'])
  })
})

describe('selectRanges on generated documents', () => {
  const doc = generateIpRanges({ seed: 11 })

  it('has the real counts and merge savings', () => {
    const cf = selectRanges(doc, {
      service: 'CLOUDFRONT',
      families: ['ipv4', 'ipv6'],
      mergeAdjacent: true
    })
    expect(cf.publishedCounts).toEqual({
      global: { ipv4: 118, ipv6: 32 },
      regional: { ipv4: 93, ipv6: 0 }
    })
    expect(cf.cidrs.global.ipv4).toHaveLength(97)
    expect(cf.cidrs.regional.ipv4).toHaveLength(83)
    expect(cf.cidrs.global.ipv6).toHaveLength(31)
    const of = selectRanges(doc, {
      service: 'CLOUDFRONT_ORIGIN_FACING',
      families: ['ipv4', 'ipv6'],
      mergeAdjacent: true
    })
    expect(of.publishedCounts).toEqual({
      global: { ipv4: 44, ipv6: 3 },
      regional: { ipv4: 2, ipv6: 0 }
    })
    expect(of.cidrs.global.ipv4).toHaveLength(43)
  })

  it('merged output covers the published set exactly', () => {
    const plain = selectRanges(doc, {
      service: 'CLOUDFRONT',
      families: ['ipv4'],
      mergeAdjacent: false
    })
    const merged = selectRanges(doc, {
      service: 'CLOUDFRONT',
      families: ['ipv4'],
      mergeAdjacent: true
    })
    expect(mergeCidrs(plain.cidrs.global.ipv4)).toEqual(merged.cidrs.global.ipv4)
  })

  it('sees a derived change as exactly the added and removed prefixes', () => {
    const { doc: next, added, removed } = deriveIpRanges(doc, { add: 3, remove: 2, seed: 5 })
    const before = selectRanges(doc, {
      service: 'CLOUDFRONT',
      families: ['ipv4'],
      mergeAdjacent: false
    })
    const after = selectRanges(next, {
      service: 'CLOUDFRONT',
      families: ['ipv4'],
      mergeAdjacent: false
    })
    const b = new Set(before.cidrs.global.ipv4)
    const a = new Set(after.cidrs.global.ipv4)
    expect([...a].filter(x => !b.has(x)).sort()).toEqual(added)
    expect([...b].filter(x => !a.has(x)).sort()).toEqual(removed)
    expect(after.cidrs.regional).toEqual(before.cidrs.regional)
    expect(Number(next.syncToken)).toBeGreaterThan(Number(doc.syncToken))
  })
})

describe('selectRanges bounds on what is applied (issue 15)', () => {
  const doc = (prefixes: string[], ipv6: string[] = []): IpRangesDocument => ({
    ...DOC,
    prefixes: prefixes.map(p => v4(p, 'GLOBAL')),
    ipv6_prefixes: ipv6.map(p => v6(p, 'GLOBAL'))
  })
  const slash8s = Array.from({ length: 256 }, (_, i) => `${i}.0.0.0/8`)

  it('refuses 256 /8s that merge to 0.0.0.0/0, naming the merged prefix', () => {
    const error = refusal(() =>
      selectRanges(doc(slash8s), { service: 'CLOUDFRONT', families: ['ipv4'], mergeAdjacent: true })
    )
    expect(error.code).toBe('too-broad')
    expect(error.message).toMatch(
      /IPv4 prefixes of service CLOUDFRONT merge to 0\.0\.0\.0\/0, broader than \/8/
    )
    expect(error.hint).toMatch(/genuine AWS file/)
  })

  it('refuses two /8s merging to a /7', () => {
    const error = refusal(() =>
      selectRanges(doc(['2.0.0.0/8', '3.0.0.0/8']), {
        service: 'CLOUDFRONT',
        families: ['ipv4'],
        mergeAdjacent: true
      })
    )
    expect(error.message).toMatch(/merge to 2\.0\.0\.0\/7/)
  })

  it('refuses 128 separate (unmergeable) /9s by their size, a quarter of IPv4', () => {
    const halves = Array.from({ length: 128 }, (_, i) => `${i * 2}.0.0.0/9`)
    for (const mergeAdjacent of [true, false]) {
      const error = refusal(() =>
        selectRanges(doc(halves), { service: 'CLOUDFRONT', families: ['ipv4'], mergeAdjacent })
      )
      expect(error.code).toBe('too-many-addresses')
      expect(error.message).toMatch(
        /IPv4 prefixes of service CLOUDFRONT cover 1,073,741,824 addresses, more than one \/8 \(16,777,216;/
      )
    }
  })

  it('refuses 256 /8s unmerged by their size', () => {
    const error = refusal(() =>
      selectRanges(doc(slash8s), {
        service: 'CLOUDFRONT',
        families: ['ipv4'],
        mergeAdjacent: false
      })
    )
    expect(error.code).toBe('too-many-addresses')
  })

  it('bounds the total per family over both scopes: two /8s, one GLOBAL one regional', () => {
    const split = { ...DOC, prefixes: [v4('10.0.0.0/8', 'GLOBAL'), v4('12.0.0.0/8', 'us-east-1')] }
    const error = refusal(() =>
      selectRanges(split, { service: 'CLOUDFRONT', families: ['ipv4'], mergeAdjacent: true })
    )
    expect(error.code).toBe('too-many-addresses')
    expect(error.message).toMatch(/cover 33,554,432 addresses/)
  })

  it('bounds IPv6 at one /24 of addresses: a /16 is refused, the real CloudFront set passes', () => {
    const error = refusal(() =>
      selectRanges(doc(['10.0.0.0/24'], ['3fff::/16']), {
        service: 'CLOUDFRONT',
        families: ['ipv6'],
        mergeAdjacent: true
      })
    )
    expect(error.code).toBe('too-many-addresses')
    expect(error.message).toMatch(
      /IPv6 prefixes .* cover about 2\^112\.0 addresses, more than one \/24/
    )
    const real = generateIpRanges({ seed: 11 })
    expect(
      selectRanges(real, { service: 'CLOUDFRONT', families: ['ipv4', 'ipv6'], mergeAdjacent: true })
        .unpublished
    ).toEqual([])
  })

  it('refuses more than 5,000 selected prefixes before sorting or merging them', () => {
    const many = Array.from(
      { length: 270_000 },
      (_, i) => `11.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`
    )
    const huge = doc(many)
    const started = performance.now()
    const error = refusal(() =>
      selectRanges(huge, { service: 'CLOUDFRONT', families: ['ipv4'], mergeAdjacent: true })
    )
    // It stops at the 5,001st: milliseconds, where sorting and merging all would take seconds.
    expect(performance.now() - started).toBeLessThan(1000)
    expect(error.code).toBe('too-many-prefixes')
    expect(error.message).toMatch(
      /lists more than 5000 IPv4 prefixes for service CLOUDFRONT \(the one over the limit is prefixes\[5000\]\)/
    )
  })
})
