// Deterministic generator of realistic, synthetic ip-ranges.json documents for tests, demos and
// benchmarks. Same structure, key order and formatting as AWS's file, realistic counts and
// prefix-length distributions (learnt from real files), but made-up addresses:
//   IPv4: 240.0.0.0/4 (reserved, never routed); CloudFront sets in 240.0.0.0/8, the rest above.
//   IPv6: 3fff::/20 (documentation, RFC 9637); CloudFront sets in 3fff::/24, the rest in 3fff:800::/21.
// Within one service no two CIDRs overlap; as in the real file, AMAZON repeats many other services'
// prefixes, and every CLOUDFRONT_ORIGIN_FACING prefix lies inside a CLOUDFRONT one.
//
// CLI: tsx dev/ip-ranges-fixture.ts [--seed N] [--sync-token T] [--out FILE]

import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { IpFamily } from '../src/types.js'
import type { IpRangesDocument, Ipv4PrefixEntry, Ipv6PrefixEntry } from '../src/ranges/parse.js'
import { seededRandom } from './random.js'
import type { Random } from './random.js'

export interface ScopeCounts {
  global: number
  regional: number
  /** IPv6 prefixes (all GLOBAL, as in the real file). */
  ipv6: number
}

export interface FixtureOptions {
  seed?: number
  syncToken?: string
  /** Defaults to the date of `syncToken`. */
  createDate?: string
  cloudfront?: Partial<ScopeCounts>
  originFacing?: Partial<ScopeCounts>
  /** Multiplies every other service's entry count (1 gives a ~2.5 MB file; 0 only CloudFront). */
  otherServicesScale?: number
}

export const DEFAULT_SYNC_TOKEN = '1785000000'
export const CLOUDFRONT_COUNTS: ScopeCounts = { global: 118, regional: 93, ipv6: 32 }
export const ORIGIN_FACING_COUNTS: ScopeCounts = { global: 44, regional: 2, ipv6: 3 }

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1))
}

function pick<T>(random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)] as T
}

function weighted<T extends string | number>(random: Random, table: readonly [T, number][]): T {
  const total = table.reduce((sum, [, w]) => sum + w, 0)
  let r = random() * total
  for (const [value, weight] of table) {
    r -= weight
    if (r < 0) return value
  }
  return (table[table.length - 1] as [T, number])[0]
}

function shuffle<T>(random: Random, list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[list[i], list[j]] = [list[j] as T, list[i] as T]
  }
  return list
}

// ---------------------------------------------------------------------------------------------
// Shapes learnt from real files (statistics only, no addresses)

/** [prefix length, weight] */
type LengthTable = [number, number][]

const CLOUDFRONT_V4_LENGTHS: LengthTable = [
  [14, 5], [15, 11], [16, 12], [17, 9], [18, 17], [19, 7], [20, 4], [21, 1], [22, 8], [23, 23],
  [24, 43], [25, 21], [26, 40], [27, 8], [30, 1], [32, 1]
] // prettier-ignore
const CLOUDFRONT_V6_LENGTHS: LengthTable = [
  [36, 5], [37, 1], [38, 1], [39, 1], [40, 4], [41, 2], [42, 2], [43, 3], [44, 2], [45, 2],
  [46, 2], [47, 1], [48, 4], [56, 2]
] // prettier-ignore
const OTHER_V4_LENGTHS: LengthTable = [
  [13, 60], [14, 120], [15, 345], [16, 633], [17, 122], [18, 203], [19, 91], [20, 211], [21, 333],
  [22, 807], [23, 780], [24, 3026], [25, 268], [26, 513], [27, 315], [28, 368], [29, 491], [30, 189],
  [31, 501], [32, 1248]
] // prettier-ignore
const OTHER_V6_LENGTHS: LengthTable = [
  [32, 2], [33, 2], [34, 4], [35, 14], [36, 388], [37, 2], [38, 6], [39, 150], [40, 2799], [41, 4],
  [42, 50], [43, 10], [44, 43], [45, 13], [46, 15], [47, 113], [48, 1468], [52, 10], [54, 6],
  [55, 4], [56, 637], [58, 6], [59, 17], [60, 226], [62, 18], [63, 1], [64, 65], [65, 16], [96, 5],
  [128, 13]
] // prettier-ignore

/** Services in the order the real file lists them, with [IPv4, IPv6] entry counts. */
const OTHER_SERVICES: [string, number, number][] = [
  ['CHIME_VOICECONNECTOR', 24, 0], ['ROUTE53_HEALTHCHECKS', 31, 26], ['S3', 441, 513],
  ['IVS_REALTIME', 104, 149], ['WORKSPACES_GATEWAYS', 73, 43], ['EC2', 1921, 2227],
  ['ROUTE53', 26, 14], ['CLOUDFRONT', 0, 0], ['GLOBALACCELERATOR', 131, 45],
  ['AMAZON_CONNECT', 21, 15], ['ROUTE53_HEALTHCHECKS_PUBLISHING', 39, 0], ['CHIME_MEETINGS', 1, 1],
  ['CLOUDFRONT_ORIGIN_FACING', 0, 0], ['IVS_LOW_LATENCY', 1, 1], ['CODEBUILD', 60, 0],
  ['API_GATEWAY', 214, 0], ['ROUTE53_RESOLVER', 638, 0], ['EBS', 102, 0], ['EFS', 87, 84],
  ['EC2_INSTANCE_CONNECT', 37, 37], ['KINESIS_VIDEO_STREAMS', 105, 0], ['AMAZON_APPFLOW', 48, 0],
  ['CLOUD9', 44, 0], ['AURORA_DSQL', 20, 20], ['MEDIA_PACKAGE_V2', 52, 0], ['DYNAMODB', 94, 0]
] // prettier-ignore
/** AMAZON's own entries (it also repeats about half of every other service's). */
const AMAZON_OWN: [number, number] = [3700, 1500]
const AMAZON_COPY_PROBABILITY = 0.5

const REGIONS: [string, number][] = [
  ['us-east-1', 1417], ['us-west-2', 661], ['us-east-2', 608], ['eu-central-1', 577],
  ['us-west-1', 571], ['eu-west-1', 532], ['GLOBAL', 160], ['ap-northeast-1', 428],
  ['ap-southeast-1', 415], ['eu-west-2', 405], ['ap-southeast-2', 333], ['ap-south-1', 303],
  ['sa-east-1', 299], ['ap-northeast-2', 266], ['eu-south-1', 222], ['eu-west-3', 216],
  ['eu-north-1', 213], ['ca-central-1', 200], ['me-south-1', 171], ['ap-northeast-3', 164],
  ['ap-east-1', 161], ['eu-south-2', 148], ['af-south-1', 139], ['us-gov-west-1', 132],
  ['cn-north-1', 131], ['cn-northwest-1', 124], ['ap-southeast-3', 119], ['ap-south-2', 102],
  ['us-gov-east-1', 101], ['ap-southeast-4', 96], ['il-central-1', 94], ['ap-southeast-5', 91],
  ['me-central-1', 85], ['eu-central-2', 85], ['ca-west-1', 78], ['ap-east-2', 73],
  ['mx-central-1', 72], ['ap-southeast-7', 72]
] // prettier-ignore
const CLOUDFRONT_REGIONS: [string, number][] = [
  ['us-east-1', 12], ['us-west-2', 11], ['eu-west-2', 8], ['us-east-2', 8], ['sa-east-1', 7],
  ['eu-central-1', 6], ['ap-northeast-1', 5], ['ap-south-1', 5], ['ap-southeast-1', 5],
  ['ap-southeast-2', 5], ['eu-west-3', 5], ['ap-southeast-3', 4], ['me-central-1', 4],
  ['ap-northeast-2', 3], ['eu-west-1', 2], ['us-west-1', 2], ['ca-central-1', 1]
] // prettier-ignore
/** Made-up local-zone suffixes for the ~3% of entries whose border group is not the region. */
const LOCAL_ZONES = ['bos-1', 'iah-1', 'mci-1', 'den-1', 'lax-1', 'phl-1', 'akl-1', 'wl1-phx-wlz-1']
/**
 * Share of CloudFront prefixes published as two sibling halves, which exact merging joins: on real
 * files merging takes GLOBAL IPv4 118 -> 97, regional 93 -> 83, IPv6 32 -> 31.
 */
const SIBLING_SHARE = { global: 0.18, regional: 0.11, ipv6: 0.03 }

// ---------------------------------------------------------------------------------------------
// Address allocation

const BITS: Record<IpFamily, number> = { ipv4: 32, ipv6: 128 }

interface Span {
  family: IpFamily
  base: bigint
  end: bigint
}

const span = (family: IpFamily, base: bigint, prefixLength: number): Span => ({
  family,
  base,
  end: base + (1n << BigInt(BITS[family] - prefixLength))
})

/** 240.0.0.0/8 */
const V4_CLOUDFRONT = span('ipv4', 0xf0000000n, 8)
/** 241.0.0.0 - 254.255.255.255 */
const V4_OTHER: Span = { family: 'ipv4', base: 0xf1000000n, end: 0xff000000n }
/** 3fff::/24 */
const V6_CLOUDFRONT = span('ipv6', 0x3fff0000n << 96n, 24)
/** 3fff:800::/21 */
const V6_OTHER = span('ipv6', 0x3fff0800n << 96n, 21)

/**
 * Hands out aligned, non-overlapping blocks of a span, biggest first: allocating in non-increasing
 * size order keeps every block aligned. With a random gap of one or two blocks after each
 * allocation (the default), no two allocated blocks are ever adjacent siblings by accident.
 */
class Allocator {
  private cursor: bigint
  private lastSize: bigint | undefined

  constructor(
    private readonly span: Span,
    private readonly random: Random,
    start = span.base,
    /** Free blocks left after each one: at least 1 where accidental siblings must not occur. */
    private readonly gap: [number, number] = [1, 2]
  ) {
    this.cursor = start
  }

  take(length: number): bigint {
    const size = 1n << BigInt(BITS[this.span.family] - length)
    if (this.lastSize !== undefined && size > this.lastSize) {
      throw new Error('Allocator: blocks must be requested biggest first')
    }
    this.lastSize = size
    const network = ((this.cursor + size - 1n) / size) * size
    this.cursor = network + size * (1n + BigInt(randomInt(this.random, ...this.gap)))
    if (network + size > this.span.end) {
      throw new Error(`Allocator: ${this.span.family} fixture space exhausted`)
    }
    return network
  }
}

function formatAddress(family: IpFamily, value: bigint): string {
  if (family === 'ipv4') {
    const n = Number(value)
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
  }
  const groups: number[] = []
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn))
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j === i ? i + 1 : j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/** Parses the fixture's own (well-formed) CIDR text; not a validator. */
function parseBlock(text: string): { family: IpFamily; network: bigint; length: number } {
  const [address = '', length = ''] = text.split('/')
  if (!address.includes(':')) {
    const n = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0)
    return { family: 'ipv4', network: BigInt(n), length: Number(length) }
  }
  const [head = '', tail] = address.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups =
    tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const network = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n)
  return { family: 'ipv6', network, length: Number(length) }
}

// ---------------------------------------------------------------------------------------------
// Generation

interface Block {
  family: IpFamily
  network: bigint
  length: number
  region: string
  /** Blocks split from the same unit share an id (they are siblings). */
  pair?: number
}

const cidrText = (b: { family: IpFamily; network: bigint; length: number }): string =>
  `${formatAddress(b.family, b.network)}/${b.length}`

function borderGroup(random: Random, region: string): string {
  if (region === 'GLOBAL' || random() >= 0.035) return region
  return `${region}-${pick(random, LOCAL_ZONES)}`
}

interface Unit {
  length: number
  region: string
  split: boolean
}

function units(
  random: Random,
  count: number,
  share: number,
  table: LengthTable,
  maxLength: number,
  regionOf: () => string
): Unit[] {
  const pairs = Math.min(Math.round(count * share), Math.floor(count / 2))
  const list: Unit[] = Array.from({ length: count - pairs }, () => ({
    length: weighted(random, table),
    region: regionOf(),
    split: false
  }))
  const splittable = [...list.keys()].filter(i => (list[i] as Unit).length < maxLength)
  for (const i of shuffle(random, splittable).slice(0, pairs)) (list[i] as Unit).split = true
  return list
}

function allocateUnits(
  random: Random,
  where: Span,
  list: Unit[],
  pairIds: { next: number }
): Block[] {
  const allocator = new Allocator(where, random)
  const family = where.family
  const blocks: Block[] = []
  for (const unit of [...list].sort((a, b) => a.length - b.length)) {
    const network = allocator.take(unit.length)
    if (unit.split) {
      const pair = pairIds.next++
      const half = 1n << BigInt(BITS[family] - unit.length - 1)
      const length = unit.length + 1
      blocks.push({ family, network, length, region: unit.region, pair })
      blocks.push({ family, network: network + half, length, region: unit.region, pair })
    } else {
      blocks.push({ family, network, length: unit.length, region: unit.region })
    }
  }
  return blocks
}

function cloudFrontBlocks(random: Random, counts: ScopeCounts): { v4: Block[]; v6: Block[] } {
  const pairIds = { next: 1 }
  const regional = (): string => weighted(random, CLOUDFRONT_REGIONS)
  const global = (): string => 'GLOBAL'
  const v4Units = [
    ...units(random, counts.global, SIBLING_SHARE.global, CLOUDFRONT_V4_LENGTHS, 32, global),
    ...units(random, counts.regional, SIBLING_SHARE.regional, CLOUDFRONT_V4_LENGTHS, 32, regional)
  ]
  const v6Units = units(random, counts.ipv6, SIBLING_SHARE.ipv6, CLOUDFRONT_V6_LENGTHS, 128, global)
  return {
    v4: allocateUnits(random, V4_CLOUDFRONT, v4Units, pairIds),
    v6: allocateUnits(random, V6_CLOUDFRONT, v6Units, pairIds)
  }
}

/** A subnet of `block` (or the block itself when `exact`), in `block`'s region. */
function carve(random: Random, block: Block, exact: boolean): Block {
  const maxLength = Math.min(block.length + 6, block.family === 'ipv4' ? 26 : 56)
  if (exact || maxLength <= block.length) return { ...block, pair: undefined }
  const length = randomInt(random, block.length + 1, maxLength)
  const slot = BigInt(randomInt(random, 0, 2 ** (length - block.length) - 1))
  const network = block.network + slot * (1n << BigInt(BITS[block.family] - length))
  return { family: block.family, network, length, region: block.region }
}

/**
 * Origin-facing prefixes lie inside CloudFront ones (about a quarter exactly equal, as in the real
 * file), never two in the same CloudFront block; one sibling pair is taken whole so that merging
 * saves one rule, as on real data.
 */
function originFacingBlocks(
  random: Random,
  counts: ScopeCounts,
  v4: Block[],
  v6: Block[]
): Block[] {
  const choose = (from: Block[], n: number, what: string, exactShare: number): Block[] => {
    if (n === 0) return []
    const firstPair = from.find(b => b.pair !== undefined)?.pair
    const whole = n >= 2 && what === 'GLOBAL IPv4' ? from.filter(b => b.pair === firstPair) : []
    const singles = shuffle(
      random,
      from.filter(b => b.pair === undefined)
    )
    const halves = shuffle(
      random,
      from.filter(b => b.pair !== undefined && !whole.includes(b))
    )
    const rest = [...singles, ...halves]
    if (whole.length + rest.length < n) {
      throw new Error(`fixture: ${n} origin-facing ${what} prefixes need as many CloudFront ones`)
    }
    return [
      ...whole.map(b => carve(random, b, true)),
      ...rest.slice(0, n - whole.length).map(b => carve(random, b, random() < exactShare))
    ]
  }
  const global4 = v4.filter(b => b.region === 'GLOBAL')
  const regional4 = v4.filter(b => b.region !== 'GLOBAL')
  return [
    ...choose(global4, counts.global, 'GLOBAL IPv4', 0.25),
    ...choose(regional4, counts.regional, 'regional IPv4', 0.25),
    ...choose(v6, counts.ipv6, 'IPv6', 1)
  ]
}

type Entry = Ipv4PrefixEntry | Ipv6PrefixEntry

function toEntry(random: Random, service: string, block: Block): Entry {
  const prefix = cidrText(block)
  const region = block.region
  const network_border_group = borderGroup(random, region)
  return block.family === 'ipv4'
    ? { ip_prefix: prefix, region, service, network_border_group }
    : { ipv6_prefix: prefix, region, service, network_border_group }
}

export function createDateFromSyncToken(syncToken: string): string {
  const iso = new Date(Number(syncToken) * 1000).toISOString() // 2026-07-22T16:47:05.000Z
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}`
}

/** A full, synthetic ip-ranges.json document; the same options always give the same document. */
export function generateIpRanges(options: FixtureOptions = {}): IpRangesDocument {
  const random = seededRandom(options.seed ?? 1)
  const syncToken = options.syncToken ?? DEFAULT_SYNC_TOKEN
  const createDate = options.createDate ?? createDateFromSyncToken(syncToken)
  const cfCounts = { ...CLOUDFRONT_COUNTS, ...options.cloudfront }
  const ofCounts = { ...ORIGIN_FACING_COUNTS, ...options.originFacing }
  const scale = options.otherServicesScale ?? 1

  const cloudfront = cloudFrontBlocks(random, cfCounts)
  const perService = new Map<string, Block[]>([
    ['CLOUDFRONT', [...cloudfront.v4, ...cloudfront.v6]],
    ['CLOUDFRONT_ORIGIN_FACING', originFacingBlocks(random, ofCounts, cloudfront.v4, cloudfront.v6)]
  ])

  // Every other service, from two shared allocators, biggest blocks first.
  const requests: { service: string; family: IpFamily; length: number; region: string }[] = []
  for (const [service, n4, n6] of [['AMAZON', ...AMAZON_OWN], ...OTHER_SERVICES] as const) {
    for (let i = 0; i < Math.round(n4 * scale); i++) {
      const length = weighted(random, OTHER_V4_LENGTHS)
      requests.push({ service, family: 'ipv4', length, region: weighted(random, REGIONS) })
    }
    for (let i = 0; i < Math.round(n6 * scale); i++) {
      const length = weighted(random, OTHER_V6_LENGTHS)
      requests.push({ service, family: 'ipv6', length, region: weighted(random, REGIONS) })
    }
  }
  const allocators = {
    ipv4: new Allocator(V4_OTHER, random, V4_OTHER.base, [0, 1]),
    ipv6: new Allocator(V6_OTHER, random, V6_OTHER.base, [0, 1])
  }
  const order = requests.map((r, i) => ({ r, i }))
  order.sort((a, b) => a.r.length - b.r.length || a.i - b.i)
  for (const { r } of order) {
    const network = allocators[r.family].take(r.length)
    const blocks = perService.get(r.service) ?? []
    blocks.push({ family: r.family, network, length: r.length, region: r.region })
    perService.set(r.service, blocks)
  }

  // AMAZON repeats every CLOUDFRONT GLOBAL prefix and about half of the other services' ones.
  const amazon = perService.get('AMAZON') ?? []
  for (const [service, blocks] of perService) {
    if (service === 'AMAZON') continue
    for (const block of blocks) {
      const cloudfront = service.startsWith('CLOUDFRONT')
      const always = service === 'CLOUDFRONT' && block.region === 'GLOBAL'
      if (always || (!cloudfront && random() < AMAZON_COPY_PROBABILITY)) amazon.push(block)
    }
  }
  perService.set('AMAZON', amazon)

  const prefixes: Ipv4PrefixEntry[] = []
  const ipv6Prefixes: Ipv6PrefixEntry[] = []
  for (const service of ['AMAZON', ...OTHER_SERVICES.map(([name]) => name)]) {
    for (const block of shuffle(random, [...(perService.get(service) ?? [])])) {
      const entry = toEntry(random, service, block)
      if ('ip_prefix' in entry) prefixes.push(entry)
      else ipv6Prefixes.push(entry)
    }
  }
  return { syncToken, createDate, prefixes, ipv6_prefixes: ipv6Prefixes }
}

// ---------------------------------------------------------------------------------------------
// Derived versions

export interface ChangeOptions {
  seed?: number
  /** Defaults to the original's plus four hours. */
  syncToken?: string
  createDate?: string
  /** CLOUDFRONT (default) or CLOUDFRONT_ORIGIN_FACING (whose additions also go to CLOUDFRONT). */
  service?: 'CLOUDFRONT' | 'CLOUDFRONT_ORIGIN_FACING'
  scope?: 'global' | 'regional'
  family?: IpFamily
  /** New, non-overlapping prefixes. */
  add?: number
  /** Existing prefixes removed (with their AMAZON copies); never one holding an origin-facing one. */
  remove?: number
  /** New EC2 prefixes: a republication that leaves CloudFront unchanged. */
  unrelated?: number
}

export interface DerivedIpRanges {
  doc: IpRangesDocument
  added: string[]
  removed: string[]
}

function prefixOf(entry: Entry): string {
  return 'ip_prefix' in entry ? entry.ip_prefix : entry.ipv6_prefix
}

function contains(outer: string, inner: string): boolean {
  const o = parseBlock(outer)
  const i = parseBlock(inner)
  if (o.family !== i.family || o.length > i.length) return false
  const shift = BigInt(BITS[o.family] - o.length)
  return o.network >> shift === i.network >> shift
}

/** An allocator over `where` that starts past every prefix of `entries` inside it. */
function allocatorAfter(random: Random, where: Span, entries: readonly Entry[]): Allocator {
  let start = where.base
  for (const entry of entries) {
    const b = parseBlock(prefixOf(entry))
    if (b.family !== where.family || b.network < where.base || b.network >= where.end) continue
    const end = b.network + (1n << BigInt(BITS[b.family] - b.length))
    if (end > start) start = end
  }
  return new Allocator(where, random, start)
}

/** Inserts `entry` right after a random entry of `service` (or at the end if it has none). */
function insertInRun<T extends Entry>(random: Random, list: T[], service: string, entry: T): void {
  const positions = list.flatMap((e, i) => (e.service === service ? [i] : []))
  const at =
    positions.length === 0
      ? list.length
      : (positions[Math.floor(random() * positions.length)] as number) + 1
  list.splice(at, 0, entry)
}

/**
 * A later version of `doc` with CloudFront prefixes added and/or removed, as AWS publishes them:
 * new syncToken and createDate, the rest of the document untouched. `doc` is not modified.
 */
export function deriveIpRanges(doc: IpRangesDocument, change: ChangeOptions = {}): DerivedIpRanges {
  const random = seededRandom(change.seed ?? 2)
  const service = change.service ?? 'CLOUDFRONT'
  const scope = change.scope ?? 'global'
  const family = change.family ?? 'ipv4'
  const syncToken = change.syncToken ?? String(Number(doc.syncToken) + 4 * 3600)
  const createDate = change.createDate ?? createDateFromSyncToken(syncToken)
  const prefixes = doc.prefixes.map(e => ({ ...e }))
  const ipv6Prefixes = doc.ipv6_prefixes.map(e => ({ ...e }))
  const list: Entry[] = family === 'ipv4' ? prefixes : ipv6Prefixes
  const inScope = (e: Entry): boolean => (e.region === 'GLOBAL') === (scope === 'global')
  const removed: string[] = []
  const added: string[] = []

  if (change.remove) {
    const originFacing = list.filter(e => e.service === 'CLOUDFRONT_ORIGIN_FACING').map(prefixOf)
    const candidates = list.filter(
      e =>
        e.service === service &&
        inScope(e) &&
        (service !== 'CLOUDFRONT' || !originFacing.some(of => contains(prefixOf(e), of)))
    )
    if (candidates.length < change.remove) {
      throw new Error(
        `deriveIpRanges: only ${candidates.length} ${service} ${scope} ${family} prefixes can be removed`
      )
    }
    for (const entry of shuffle(random, candidates).slice(0, change.remove)) {
      const prefix = prefixOf(entry)
      removed.push(prefix)
      const copies = new Set([service, 'AMAZON'])
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i] as Entry
        if (prefixOf(e) === prefix && copies.has(e.service) && e.region === entry.region)
          list.splice(i, 1)
      }
    }
  }

  if (change.add) {
    const where = family === 'ipv4' ? V4_CLOUDFRONT : V6_CLOUDFRONT
    const allocator = allocatorAfter(random, where, list)
    const table = family === 'ipv4' ? CLOUDFRONT_V4_LENGTHS : CLOUDFRONT_V6_LENGTHS
    const lengths = Array.from({ length: change.add }, () => weighted(random, table)).sort(
      (a, b) => a - b
    )
    for (const length of lengths) {
      const network = allocator.take(length)
      const region = scope === 'global' ? 'GLOBAL' : weighted(random, CLOUDFRONT_REGIONS)
      const block: Block = { family, network, length, region }
      const services = service === 'CLOUDFRONT' ? ['CLOUDFRONT'] : ['CLOUDFRONT', service]
      if (scope === 'global') services.push('AMAZON')
      for (const s of services) insertInRun(random, list, s, toEntry(random, s, block))
      added.push(cidrText(block))
    }
  }

  if (change.unrelated) {
    const allocator = allocatorAfter(random, V4_OTHER, prefixes)
    for (let i = 0; i < change.unrelated; i++) {
      const block: Block = {
        family: 'ipv4',
        network: allocator.take(24),
        length: 24,
        region: weighted(random, REGIONS)
      }
      insertInRun(random, prefixes, 'EC2', toEntry(random, 'EC2', block) as Ipv4PrefixEntry)
    }
  }

  return {
    doc: { syncToken, createDate, prefixes, ipv6_prefixes: ipv6Prefixes },
    added: added.sort(),
    removed: removed.sort()
  }
}

// ---------------------------------------------------------------------------------------------
// Serialisation

/**
 * Exactly AWS's formatting (two-space indentation, this key order, no trailing newline): the real
 * files round-trip byte for byte through JSON.parse and this, so MD5s behave as with real files.
 */
export function serializeIpRanges(doc: IpRangesDocument): string {
  return JSON.stringify(
    {
      syncToken: doc.syncToken,
      createDate: doc.createDate,
      prefixes: doc.prefixes.map(e => ({
        ip_prefix: e.ip_prefix,
        region: e.region,
        service: e.service,
        network_border_group: e.network_border_group
      })),
      ipv6_prefixes: doc.ipv6_prefixes.map(e => ({
        ipv6_prefix: e.ipv6_prefix,
        region: e.region,
        service: e.service,
        network_border_group: e.network_border_group
      }))
    },
    null,
    2
  )
}

// ---------------------------------------------------------------------------------------------
// CLI

function main(argv: string[]): void {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const seed = arg('--seed')
  const syncToken = arg('--sync-token')
  const text = serializeIpRanges(
    generateIpRanges({
      ...(seed !== undefined ? { seed: Number(seed) } : {}),
      ...(syncToken !== undefined ? { syncToken } : {})
    })
  )
  const out = arg('--out')
  if (out) writeFileSync(out, text)
  else process.stdout.write(text)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2))
}
