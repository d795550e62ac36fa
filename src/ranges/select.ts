// Selects one service's prefixes from a validated document, split by scope and family,
// canonical, deduplicated, sorted and optionally merged. Pure: no I/O.

import type { CidrsByScope, IpFamily, Scope } from '../types.js'
import { type Cidr, formatCidr, mergeParsed, sortUniqueParsed, tryParseCidr } from './cidr.js'
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
}

/** Prefixes broader than this are refused as absurd (a published /7 would open half the web). */
export const BROADEST_PREFIX: Record<IpFamily, number> = { ipv4: 8, ipv6: 16 }

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
  const take = (prefix: string, region: string, family: IpFamily, where: string): void => {
    listed++
    if (!families.includes(family)) return
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
  for (const family of families) {
    if (publishedCounts.global[family] + publishedCounts.regional[family] === 0) {
      throw new RangesError(
        'empty-selection',
        `ip-ranges.json (syncToken ${doc.syncToken}) lists no ${familyName(family)} prefixes for ` +
          `service ${service}, in any region; refusing to sync an empty set (it would remove every rule)`,
        `Remove ${family} from input 'ip-families' if ${service} has no ${familyName(family)} ranges, ` +
          'or retry later if this is a transient publication error.'
      )
    }
  }
  return { cidrs, publishedCounts }
}
