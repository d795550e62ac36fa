// Selects one service's prefixes from a validated document, split by scope and family,
// canonical, deduplicated, sorted and optionally merged. Pure: no I/O.

import type { CidrsByScope, IpFamily, Scope } from '../types.js'
import {
  AddressSet,
  type Cidr,
  formatCidr,
  mergeParsed,
  sortUniqueParsed,
  tryParseCidr
} from './cidr.js'
import { type IpRangesDocument, RangesError } from './parse.js'

export interface SelectOptions {
  /** Exact service name as AWS spells it, e.g. `CLOUDFRONT_ORIGIN_FACING`. */
  service: string
  families: readonly IpFamily[]
  /** Exact aggregation of contained and sibling CIDRs (never widens the set of addresses). */
  mergeAdjacent: boolean
}

export interface Selection {
  cidrs: CidrsByScope
  /** Distinct published prefixes per scope and family, before merging. */
  publishedCounts: Record<Scope, Record<IpFamily, number>>
  /**
   * Requested families the service publishes no prefix for, in any region. Not refused here: the
   * planner decides, knowing whether any group holds rules of that family (issue 15).
   */
  unpublished: IpFamily[]
}

/** Prefixes broader than this are refused as absurd (a published /7 would open half the web). */
export const BROADEST_PREFIX: Record<IpFamily, number> = { ipv4: 8, ipv6: 16 }

/**
 * Most addresses the selected set of one family may hold, after merging, GLOBAL and regional
 * together. IPv4: one /8 (2^24, 16.8M). CloudFront's whole CLOUDFRONT IPv4 set is about 4.2M
 * addresses (2^22.01 in the 2026-07/08 files of /work/shared/data/ip-ranges), a quarter of that;
 * CLOUDFRONT_ORIGIN_FACING about 0.34M. IPv6: one /24 (2^104). The same files hold 2^94.65
 * addresses for CLOUDFRONT (mostly /36s under 2600:9000::/28) and 2^93.04 for
 * CLOUDFRONT_ORIGIN_FACING: a margin of ~650x and ~1,900x, where IPv4's is 4x, because IPv6
 * blocks come in much coarser steps (one new /28 alone would be 2^100).
 */
export const MAX_ADDRESSES: Record<IpFamily, bigint> = { ipv4: 1n << 24n, ipv6: 1n << 104n }
const MAX_ADDRESSES_AS: Record<IpFamily, string> = { ipv4: 'one /8', ipv6: 'one /24' }

/**
 * Most prefixes selected (both families and scopes, duplicates included), checked while reading,
 * before any sort, merge or plan: CLOUDFRONT lists about 243 (211 IPv4, 32 IPv6), and no pool
 * could hold 5,000 rules without dozens of groups. A 270k-prefix document is refused in
 * milliseconds instead of planning for minutes.
 */
export const MAX_SELECTED_PREFIXES = 5000

export const GLOBAL_REGION = 'GLOBAL'

export function scopeOfRegion(region: string): Scope {
  return region === GLOBAL_REGION ? 'global' : 'regional'
}

const familyName = (family: IpFamily): string => (family === 'ipv4' ? 'IPv4' : 'IPv6')

/** Every service named in the document, sorted. */
export function listServices(doc: IpRangesDocument): string[] {
  const services = new Set<string>()
  for (const entry of doc.prefixes) services.add(entry.service)
  for (const entry of doc.ipv6_prefixes) services.add(entry.service)
  return [...services].sort()
}

export function selectRanges(doc: IpRangesDocument, options: SelectOptions): Selection {
  const { service, mergeAdjacent } = options
  const families = [...new Set(options.families)]
  const raw: Record<Scope, Record<IpFamily, Cidr[]>> = {
    global: { ipv4: [], ipv6: [] },
    regional: { ipv4: [], ipv6: [] }
  }
  let listed = 0
  let selected = 0
  const take = (prefix: string, region: string, family: IpFamily, where: string): void => {
    listed++
    if (!families.includes(family)) return
    if (++selected > MAX_SELECTED_PREFIXES) {
      throw new RangesError(
        'too-many-prefixes',
        `ip-ranges.json (syncToken ${doc.syncToken}) lists more than ${MAX_SELECTED_PREFIXES} ` +
          `${families.map(familyName).join(' and ')} prefixes for service ${service} (the ` +
          `one over the limit is ${where}); CloudFront publishes about 250: refusing ` +
          'to plan for it',
        'Check that ip-ranges-url serves the genuine AWS file and that input service names the ' +
          'CloudFront set; nothing was changed.'
      )
    }
    const parsed = tryParseCidr(prefix)
    if (!parsed.ok || parsed.cidr.family !== family) {
      throw new RangesError(
        'schema',
        `ip-ranges.json: ${where} ${JSON.stringify(prefix)} is not a valid ${familyName(family)} CIDR` +
          (parsed.ok ? '' : `: ${parsed.reason}`),
        'The document was not validated: pass it through parseIpRanges first.'
      )
    }
    const cidr = parsed.cidr
    if (cidr.prefixLength < BROADEST_PREFIX[family]) {
      throw new RangesError(
        'too-broad',
        `ip-ranges.json: ${where} ${JSON.stringify(prefix)} of service ${service} (region ${region}) ` +
          `is broader than /${BROADEST_PREFIX[family]}: refusing to open security groups to it`,
        'Check that ip-ranges-url serves the genuine AWS file; nothing was changed.'
      )
    }
    raw[scopeOfRegion(region)][family].push(cidr)
  }
  doc.prefixes.forEach((entry, i) => {
    if (entry.service === service) take(entry.ip_prefix, entry.region, 'ipv4', `prefixes[${i}]`)
  })
  doc.ipv6_prefixes.forEach((entry, i) => {
    if (entry.service === service) {
      take(entry.ipv6_prefix, entry.region, 'ipv6', `ipv6_prefixes[${i}]`)
    }
  })

  if (listed === 0) {
    const services = listServices(doc)
    const near = services.find(s => s.toLowerCase() === service.toLowerCase())
    throw new RangesError(
      'unknown-service',
      `ip-ranges.json (syncToken ${doc.syncToken}) lists no prefixes for service ${JSON.stringify(service)}` +
        (near ? ` (did you mean ${near}? names are case-sensitive)` : '') +
        `; services present: ${services.join(', ') || '(none)'}`,
      "Set input 'service' to one of the listed services, e.g. CLOUDFRONT_ORIGIN_FACING or CLOUDFRONT."
    )
  }

  const cidrs: CidrsByScope = {
    global: { ipv4: [], ipv6: [] },
    regional: { ipv4: [], ipv6: [] }
  }
  const publishedCounts: Record<Scope, Record<IpFamily, number>> = {
    global: { ipv4: 0, ipv6: 0 },
    regional: { ipv4: 0, ipv6: 0 }
  }
  for (const scope of ['global', 'regional'] as const) {
    for (const family of families) {
      const unique = sortUniqueParsed(raw[scope][family])
      publishedCounts[scope][family] = unique.length
      cidrs[scope][family] = (mergeAdjacent ? mergeParsed(unique) : unique).map(formatCidr)
    }
  }
  for (const family of families) checkBounds(doc, service, family, raw, cidrs)
  const unpublished = families.filter(
    family => publishedCounts.global[family] + publishedCounts.regional[family] === 0
  )
  if (unpublished.length === families.length) {
    throw new RangesError(
      'empty-selection',
      `ip-ranges.json (syncToken ${doc.syncToken}) lists no ` +
        `${families.map(familyName).join(' or ')} prefixes for service ${service}, in any ` +
        'region; refusing to sync an empty set (it would remove every rule)',
      `Set input 'ip-families' to the families ${service} publishes, or retry later if this is ` +
        'a transient publication error.'
    )
  }
  return { cidrs, publishedCounts, unpublished }
}

/**
 * The bounds that must hold on what is applied, not only on what is published: 256 /8s each pass
 * the broadest-prefix rule but merge to 0.0.0.0/0, and 128 /9s open half the IPv4 space.
 */
function checkBounds(
  doc: IpRangesDocument,
  service: string,
  family: IpFamily,
  raw: Record<Scope, Record<IpFamily, Cidr[]>>,
  cidrs: CidrsByScope
): void {
  const name = familyName(family)
  for (const scope of ['global', 'regional'] as const) {
    const broad = cidrs[scope][family].find(text => {
      const parsed = tryParseCidr(text)
      return !parsed.ok || parsed.cidr.prefixLength < BROADEST_PREFIX[family]
    })
    if (broad !== undefined) {
      throw new RangesError(
        'too-broad',
        `ip-ranges.json (syncToken ${doc.syncToken}): the ${name} prefixes of service ${service} ` +
          `merge to ${broad}, broader than /${BROADEST_PREFIX[family]}: refusing to open ` +
          'security groups to it',
        'Check that ip-ranges-url serves the genuine AWS file; nothing was changed.'
      )
    }
  }
  const total = new AddressSet(family, [...raw.global[family], ...raw.regional[family]]).size
  if (total > MAX_ADDRESSES[family]) {
    throw new RangesError(
      'too-many-addresses',
      `ip-ranges.json (syncToken ${doc.syncToken}): the ${name} prefixes of service ${service} ` +
        `cover ${describeCount(total)} addresses, more than ${MAX_ADDRESSES_AS[family]} ` +
        `(${describeCount(MAX_ADDRESSES[family])}; CloudFront's whole ${name} set is far smaller): ` +
        'refusing to open security groups to them',
      'Check that ip-ranges-url serves the genuine AWS file; nothing was changed.'
    )
  }
}

/** An address count as digits, or as a power of two when it is too long to read. */
export function describeCount(count: bigint): string {
  if (count < 10n ** 12n) return count.toLocaleString('en-US')
  return `about 2^${Math.log2(Number(count)).toFixed(1)}`
}
