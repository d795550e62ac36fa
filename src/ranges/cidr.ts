// Strict IPv4 / IPv6 CIDR arithmetic: parse, canonical text, order, containment and exact
// aggregation. Pure: no I/O, no dependencies. Addresses are bigints so both families share code.

import type { IpFamily } from '../types.js'

export interface Cidr {
  family: IpFamily
  /** The network address (host bits all zero). */
  network: bigint
  prefixLength: number
}

export type CidrParseResult = { ok: true; cidr: Cidr } | { ok: false; reason: string }

/** Thrown by `parseCidr`; `reason` says what is wrong, the message also names the entry. */
export class CidrError extends Error {
  readonly input: string
  readonly reason: string

  constructor(input: string, reason: string, label = 'CIDR') {
    super(`${label} ${JSON.stringify(input)} is invalid: ${reason}`)
    this.name = 'CidrError'
    this.input = input
    this.reason = reason
  }
}

const BITS: Record<IpFamily, number> = { ipv4: 32, ipv6: 128 }

const DECIMAL = /^(?:0|[1-9][0-9]{0,2})$/
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

const IPV4_SHAPE = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/

function parseIpv4Address(text: string): bigint | string {
  // Fast path for the common, valid case (ip-ranges.json has ~10k of these).
  const m = IPV4_SHAPE.exec(text)
  if (m) {
    let value = 0
    let ok = true
    for (let i = 1; i <= 4; i++) {
      const part = m[i] as string
      const octet = Number(part)
      if (octet > 255 || (part.length > 1 && part.charCodeAt(0) === 48)) {
        ok = false
        break
      }
      value = value * 256 + octet
    }
    if (ok) return BigInt(value)
  }
  const parts = text.split('.')
  if (parts.length !== 4) return `an IPv4 address has 4 dot-separated octets, found ${parts.length}`
  let value = 0
  for (const [i, part] of parts.entries()) {
    if (!DECIMAL.test(part)) {
      return part === ''
        ? `octet ${i + 1} is empty`
        : `octet ${i + 1} ${JSON.stringify(part)} is not a decimal number without leading zeros`
    }
    const octet = Number(part)
    if (octet > 255) return `octet ${i + 1} (${part}) is greater than 255`
    value = value * 256 + octet
  }
  return BigInt(value)
}

/** Appends the hex groups of `part` ("" has none); false if anything is off (the slow path explains). */
function readGroups(part: string, into: number[]): boolean {
  if (part === '') return true
  let group = 0
  let digits = 0
  for (let i = 0; i < part.length; i++) {
    const c = part.charCodeAt(i)
    if (c === 58 /* : */) {
      if (digits === 0) return false
      into.push(group)
      group = 0
      digits = 0
      continue
    }
    let v: number
    if (c >= 48 && c <= 57) v = c - 48
    else if (c >= 97 && c <= 102) v = c - 87
    else if (c >= 65 && c <= 70) v = c - 55
    else return false
    if (++digits > 4) return false
    group = group * 16 + v
  }
  if (digits === 0) return false
  into.push(group)
  return true
}

function groupsToBigint(groups: readonly number[]): bigint {
  let hex = '0x'
  for (const group of groups) hex += group.toString(16).padStart(4, '0')
  return BigInt(hex)
}

/** Fast path for plain hex IPv6 text; undefined when the slow path must decide (or explain). */
function scanIpv6(text: string): bigint | undefined {
  const gapAt = text.indexOf('::')
  if (gapAt >= 0 && text.indexOf('::', gapAt + 1) >= 0) return undefined
  const head: number[] = []
  const tail: number[] = []
  if (!readGroups(gapAt < 0 ? text : text.slice(0, gapAt), head)) return undefined
  if (gapAt >= 0 && !readGroups(text.slice(gapAt + 2), tail)) return undefined
  if (gapAt < 0) return head.length === 8 ? groupsToBigint(head) : undefined
  const missing = 8 - head.length - tail.length
  if (missing < 1) return undefined
  for (let i = 0; i < missing; i++) head.push(0)
  for (const group of tail) head.push(group)
  return groupsToBigint(head)
}

function parseIpv6Address(text: string): bigint | string {
  const fast = scanIpv6(text)
  if (fast !== undefined) return fast
  if (text.includes('%')) return 'zone identifiers (%...) are not allowed'
  const halves = text.split('::')
  if (halves.length > 2) return '"::" may appear only once'
  const parseGroups = (part: string, allowIpv4Tail: boolean): number[] | string => {
    if (part === '') return []
    const groups = part.split(':')
    const out: number[] = []
    for (const [i, group] of groups.entries()) {
      if (allowIpv4Tail && i === groups.length - 1 && group.includes('.')) {
        const v4 = parseIpv4Address(group)
        if (typeof v4 === 'string') return `embedded IPv4 ${JSON.stringify(group)}: ${v4}`
        const n = Number(v4)
        out.push(Math.floor(n / 65536), n % 65536)
        continue
      }
      if (!HEX_GROUP.test(group)) {
        return group === ''
          ? 'empty group (a single ":" where "::" or a group was expected)'
          : `group ${JSON.stringify(group)} is not 1 to 4 hexadecimal digits`
      }
      out.push(parseInt(group, 16))
    }
    return out
  }
  const head = parseGroups(halves[0] ?? '', halves.length === 1)
  if (typeof head === 'string') return head
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : []
  if (typeof tail === 'string') return tail
  let groups: number[]
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length
    if (missing < 1) return `"::" must stand for at least one group, but ${8 - missing} are present`
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail]
  } else {
    if (head.length !== 8) return `an IPv6 address has 8 groups (or "::"), found ${head.length}`
    groups = head
  }
  return groupsToBigint(groups)
}

/** Parses `a.b.c.d/n` or an IPv6 `x:y::z/n` strictly (host bits must be zero). Never throws. */
export function tryParseCidr(text: string): CidrParseResult {
  if (typeof text !== 'string')
    return { ok: false, reason: `expected a string, got ${typeof text}` }
  if (text.trim() !== text || text === '') {
    return { ok: false, reason: text === '' ? 'empty string' : 'leading or trailing whitespace' }
  }
  const slash = text.indexOf('/')
  if (slash < 0) return { ok: false, reason: 'missing "/prefix-length"' }
  const addressText = text.slice(0, slash)
  const lengthText = text.slice(slash + 1)
  const family: IpFamily = addressText.includes(':') ? 'ipv6' : 'ipv4'
  const bits = BITS[family]
  if (!DECIMAL.test(lengthText)) {
    return {
      ok: false,
      reason:
        lengthText === ''
          ? 'missing prefix length after "/"'
          : `prefix length ${JSON.stringify(lengthText)} is not a decimal number without leading zeros`
    }
  }
  const prefixLength = Number(lengthText)
  if (prefixLength > bits) {
    return { ok: false, reason: `prefix length /${prefixLength} is greater than /${bits}` }
  }
  const address = family === 'ipv4' ? parseIpv4Address(addressText) : parseIpv6Address(addressText)
  if (typeof address === 'string') {
    return { ok: false, reason: `bad ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address: ${address}` }
  }
  const hostMask = (1n << BigInt(bits - prefixLength)) - 1n
  if ((address & hostMask) !== 0n) {
    const network = address & ~hostMask
    return {
      ok: false,
      reason: `host bits are set (the network of /${prefixLength} is ${formatCidr({ family, network, prefixLength })})`
    }
  }
  return { ok: true, cidr: { family, network: address, prefixLength } }
}

/** Like `tryParseCidr` but throws a `CidrError` whose message starts with `label` and the input. */
export function parseCidr(text: string, label?: string): Cidr {
  const result = tryParseCidr(text)
  if (!result.ok) throw new CidrError(String(text), result.reason, label)
  return result.cidr
}

function formatIpv6(value: bigint): string {
  const groups: number[] = []
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn))
  // RFC 5952 4.2: compress the longest run (first one on a tie) of two or more zero groups.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

export function formatAddress(family: IpFamily, value: bigint): string {
  if (family === 'ipv6') return formatIpv6(value)
  const n = Number(value)
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** Canonical text: IPv4 dotted quad, IPv6 per RFC 5952 (lowercase, longest zero run as "::"). */
export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.network)}/${cidr.prefixLength}`
}

/** Canonical text of a CIDR given as text; throws `CidrError` if it is not a valid CIDR. */
export function canonicalCidr(text: string): string {
  return formatCidr(parseCidr(text))
}

function toCidr(value: Cidr | string): Cidr {
  return typeof value === 'string' ? parseCidr(value) : value
}

/** Order: IPv4 before IPv6, then numerically by network address, then by prefix length. */
export function compareCidrs(a: Cidr | string, b: Cidr | string): number {
  const x = toCidr(a)
  const y = toCidr(b)
  if (x.family !== y.family) return x.family === 'ipv4' ? -1 : 1
  if (x.network !== y.network) return x.network < y.network ? -1 : 1
  return x.prefixLength - y.prefixLength
}

/** CIDR texts in `compareCidrs` order, each parsed once (a comparator on texts parses per call). */
export function sortCidrTexts(texts: readonly string[]): string[] {
  return texts
    .map(text => ({ text, cidr: parseCidr(text) }))
    .sort((a, b) => compareCidrs(a.cidr, b.cidr))
    .map(entry => entry.text)
}

/** First and last address covered. */
export function cidrRange(cidr: Cidr): { first: bigint; last: bigint } {
  const size = 1n << BigInt(BITS[cidr.family] - cidr.prefixLength)
  return { first: cidr.network, last: cidr.network + size - 1n }
}

/** Number of addresses covered. */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(BITS[cidr.family] - cidr.prefixLength)
}

/** True if every address of `inner` is in `outer` (a CIDR contains itself). */
export function cidrContains(outer: Cidr | string, inner: Cidr | string): boolean {
  const o = toCidr(outer)
  const i = toCidr(inner)
  if (o.family !== i.family || o.prefixLength > i.prefixLength) return false
  const shift = BigInt(BITS[o.family] - o.prefixLength)
  return i.network >> shift === o.network >> shift
}

/** Parsed, sorted (see `compareCidrs`) and deduplicated. */
export function sortUniqueParsed(list: Iterable<Cidr>): Cidr[] {
  const sorted = [...list].sort(compareCidrs)
  const out: Cidr[] = []
  for (const cidr of sorted) {
    const last = out[out.length - 1]
    if (
      last &&
      last.family === cidr.family &&
      last.network === cidr.network &&
      last.prefixLength === cidr.prefixLength
    ) {
      continue
    }
    out.push(cidr)
  }
  return out
}

/** Canonicalises, sorts and deduplicates CIDR texts; throws `CidrError` on an invalid entry. */
export function sortUniqueCidrs(list: Iterable<string>): string[] {
  return sortUniqueParsed([...list].map(text => parseCidr(text))).map(formatCidr)
}

function mergeParsedOneFamily(sorted: Cidr[]): Cidr[] {
  const stack: Cidr[] = []
  let coveredUpTo = -1n // last address covered by the stack
  for (const cidr of sorted) {
    const { last } = cidrRange(cidr)
    // Sorted by network then prefix length: anything starting inside the covered span is
    // contained in the top of the stack (aligned blocks either nest or are disjoint).
    if (cidr.network <= coveredUpTo) continue
    let current = cidr
    for (;;) {
      const top = stack[stack.length - 1]
      if (!top || top.prefixLength !== current.prefixLength || current.prefixLength === 0) break
      const size = cidrSize(current)
      const isSibling = top.network + size === current.network && (top.network & size) === 0n
      if (!isSibling) break
      stack.pop()
      current = {
        family: current.family,
        network: top.network,
        prefixLength: current.prefixLength - 1
      }
    }
    stack.push(current)
    coveredUpTo = last
  }
  return stack
}

/**
 * Exact aggregation: drops CIDRs contained in another and repeatedly merges sibling halves into
 * their parent. The set of covered addresses is exactly the same (never widened). The result is
 * the unique minimal list of CIDRs covering that set, sorted.
 */
export function mergeParsed(list: Iterable<Cidr>): Cidr[] {
  const sorted = sortUniqueParsed(list)
  return [
    ...mergeParsedOneFamily(sorted.filter(c => c.family === 'ipv4')),
    ...mergeParsedOneFamily(sorted.filter(c => c.family === 'ipv6'))
  ]
}

/** `mergeParsed` on texts: canonical, sorted output; throws `CidrError` on an invalid entry. */
export function mergeCidrs(list: Iterable<string>): string[] {
  return mergeParsed([...list].map(text => parseCidr(text))).map(formatCidr)
}

/**
 * A set of addresses of one family kept as sorted, disjoint [first, last] intervals, so containment
 * and overlap are binary searches: planning stays O((rules + ranges) log ranges) however many
 * rules are revoked (a linear scan per rule was O(rules x ranges), minutes on hostile input).
 */
export class AddressSet {
  private readonly firsts: bigint[] = []
  private readonly lasts: bigint[] = []
  /** Number of addresses in the set. */
  readonly size: bigint

  constructor(
    readonly family: IpFamily,
    cidrs: Iterable<Cidr>
  ) {
    let size = 0n
    for (const cidr of mergeParsed(cidrs)) {
      if (cidr.family !== family) throw new Error(`AddressSet(${family}) given ${formatCidr(cidr)}`)
      const { first, last } = cidrRange(cidr)
      size += last - first + 1n
      // Adjacent blocks (not siblings) become one interval, so any range inside the union lies
      // inside a single interval.
      const end = this.lasts.length - 1
      if (end >= 0 && (this.lasts[end] as bigint) + 1n === first) {
        this.lasts[end] = last
        continue
      }
      this.firsts.push(first)
      this.lasts.push(last)
    }
    this.size = size
  }

  static fromTexts(family: IpFamily, texts: Iterable<string>): AddressSet {
    return new AddressSet(
      family,
      [...texts].map(text => parseCidr(text))
    )
  }

  /** Index of the last interval starting at or before `address`, or -1. */
  private floor(address: bigint): number {
    let low = 0
    let high = this.firsts.length - 1
    let found = -1
    while (low <= high) {
      const mid = (low + high) >> 1
      if ((this.firsts[mid] as bigint) <= address) {
        found = mid
        low = mid + 1
      } else {
        high = mid - 1
      }
    }
    return found
  }

  /** True if every address of `cidr` is in the set. */
  contains(cidr: Cidr): boolean {
    if (cidr.family !== this.family) return false
    const { first, last } = cidrRange(cidr)
    const index = this.floor(first)
    return index >= 0 && (this.lasts[index] as bigint) >= last
  }

  /** True if any address of `cidr` is in the set. */
  overlaps(cidr: Cidr): boolean {
    if (cidr.family !== this.family) return false
    const { first, last } = cidrRange(cidr)
    const index = this.floor(last)
    return index >= 0 && (this.lasts[index] as bigint) >= first
  }
}
