// The four invariants of issue 7, checked on every state the EC2 emulator goes through (its
// `onStateChange` fires after each successful mutation, and after each hand edit with no call):
//
// - no gap: a CIDR the target wants, once its addresses are allowed in its pool (by any rule on the
//   pool's port), stays allowed in every later state, between any two calls (this implies the
//   issue's "wanted before and after is never absent", and survives kills and reruns);
// - no widening: every rule the action adds is on a managed group, tcp on the group's port, carries
//   the action's description and lies inside the union of the published ranges of its pool's scope
//   (a published range, or an exact merge of some);
// - nothing foreign touched: the action never creates or deletes groups, never changes egress rules,
//   tags other than its sync-token tag, or ingress rules it does not own (other protocol, port,
//   source kind or description), and never touches groups outside the pools at all;
// - convergence (`checkConverged`): each pool holds exactly the wanted ranges, each once.
//
// CIDR arithmetic is done here, independently of src/, with bigint intervals.
import type { Ec2Call, Ec2Emulator, GroupSnapshot, RuleSnapshot } from '../../dev/emulators/ec2.js'

export const SYNC_TOKEN_TAG = 'cloudfront-sg-sync:sync-token'

type Family = 'ipv4' | 'ipv6'
interface Interval {
  start: bigint
  end: bigint
}

// ---------------------------------------------------------------------------------------------
// CIDR intervals

function parseV4(address: string): bigint | undefined {
  const parts = address.split('.')
  if (parts.length !== 4 || parts.some(p => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n)
}

function parseV6(address: string): bigint | undefined {
  const halves = address.split('::')
  if (halves.length > 2) return
  const groups = (s: string | undefined) => (s ? s.split(':') : [])
  const head = groups(halves[0])
  const tail = groups(halves[1])
  const fill = 8 - head.length - tail.length
  if (halves.length === 1 ? fill !== 0 : fill < 1) return
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail]
  if (all.some(g => !/^[0-9a-fA-F]{1,4}$/.test(g))) return
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n)
}

export function familyOf(cidr: string): Family {
  return cidr.includes(':') ? 'ipv6' : 'ipv4'
}

export function interval(cidr: string): Interval {
  const [address = '', lengthText = ''] = cidr.split('/')
  const family = familyOf(cidr)
  const bits = family === 'ipv4' ? 32 : 128
  const value = family === 'ipv4' ? parseV4(address) : parseV6(address)
  const length = Number(lengthText)
  if (value === undefined || !/^\d{1,3}$/.test(lengthText) || length > bits) {
    throw new Error(`not a CIDR: ${cidr}`)
  }
  const size = 1n << BigInt(bits - length)
  const start = (value / size) * size
  return { start, end: start + size - 1n }
}

/** Sorted, merged intervals of one family. */
function union(cidrs: Iterable<string>, family: Family): Interval[] {
  const list = [...cidrs]
    .filter(c => familyOf(c) === family)
    .map(interval)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
  const merged: Interval[] = []
  for (const next of list) {
    const last = merged[merged.length - 1]
    if (last && next.start <= last.end + 1n) {
      if (next.end > last.end) last.end = next.end
    } else merged.push({ ...next })
  }
  return merged
}

/** A set of addresses, both families, built from CIDRs. */
export class AddressSet {
  private readonly parts: Record<Family, Interval[]>

  constructor(cidrs: Iterable<string>) {
    const list = [...cidrs]
    this.parts = { ipv4: union(list, 'ipv4'), ipv6: union(list, 'ipv6') }
  }

  covers(cidr: string): boolean {
    const { start, end } = interval(cidr)
    return this.parts[familyOf(cidr)].some(part => part.start <= start && end <= part.end)
  }

  equals(other: AddressSet): boolean {
    const same = (a: Interval[], b: Interval[]) =>
      a.length === b.length && a.every((x, i) => x.start === b[i]?.start && x.end === b[i]?.end)
    return same(this.parts.ipv4, other.parts.ipv4) && same(this.parts.ipv6, other.parts.ipv6)
  }
}

// ---------------------------------------------------------------------------------------------
// Pools and rules

/** One pool of the action: groups sharing region, VPC, scope and port. */
export interface PoolSpec {
  name: string
  groupIds: string[]
  port: number
  /** The ranges the target document wants in this pool (canonical CIDRs, both families). */
  wanted: string[]
  /** Everything the action may open in this pool: the union of every document in play. */
  allowed: string[]
}

export function cidrOf(rule: RuleSnapshot): string | undefined {
  return rule.cidrIpv4 ?? rule.cidrIpv6
}

function onPort(rule: RuleSnapshot, port: number): boolean {
  return !rule.isEgress && rule.protocol === 'tcp' && rule.fromPort === port && rule.toPort === port
}

/** The action's ownership rule: tcp on the port, a CIDR, its description or none. */
export function isManaged(rule: RuleSnapshot, port: number, description: string): boolean {
  return (
    onPort(rule, port) &&
    cidrOf(rule) !== undefined &&
    (rule.description === undefined || rule.description === '' || rule.description === description)
  )
}

function describeRule(rule: RuleSnapshot): string {
  const source = cidrOf(rule) ?? rule.referencedGroupId ?? rule.prefixListId ?? '?'
  const ports = rule.fromPort === undefined ? '' : `/${rule.fromPort}-${rule.toPort}`
  return `${rule.isEgress ? 'egress' : 'ingress'} ${rule.protocol}${ports} ${source} "${rule.description ?? ''}"`
}

function poolCidrs(state: Map<string, GroupSnapshot>, pool: PoolSpec): string[] {
  return pool.groupIds.flatMap(id =>
    (state.get(id)?.ingress ?? [])
      .filter(rule => onPort(rule, pool.port))
      .map(cidrOf)
      .filter((cidr): cidr is string => cidr !== undefined)
  )
}

// ---------------------------------------------------------------------------------------------
// The monitor

export interface MonitorOptions {
  pools: PoolSpec[]
  ruleDescription?: string
  /** Only groups of this account are watched (several runs can share one emulator by account). */
  account?: string
}

export class InvariantMonitor {
  readonly violations: string[] = []
  /** States seen (successful mutating calls and hand edits). */
  states = 0
  /** Successful mutating calls seen, in order. */
  readonly mutations: Ec2Call[] = []
  private previous: Map<string, GroupSnapshot>
  private readonly protectedCidrs: Map<string, Set<string>>
  private readonly allowed: Map<string, AddressSet>
  private readonly poolOf = new Map<string, PoolSpec>()
  private readonly description: string

  constructor(
    emulator: Ec2Emulator,
    private readonly options: MonitorOptions
  ) {
    this.description = options.ruleDescription ?? 'cloudfront-sg-sync'
    for (const pool of options.pools) {
      for (const id of pool.groupIds) this.poolOf.set(id, pool)
    }
    this.allowed = new Map(options.pools.map(pool => [pool.name, new AddressSet(pool.allowed)]))
    this.previous = this.watched(emulator.listGroups())
    this.protectedCidrs = new Map(options.pools.map(pool => [pool.name, new Set<string>()]))
    this.updateProtected(this.previous)
  }

  /** The listener to hand to the emulator (directly or through a StateHub). */
  readonly listener = (snapshot: GroupSnapshot[], call?: Ec2Call): void => {
    // Never throw here: the emulator would turn it into an InternalError answer.
    try {
      this.check(this.watched(snapshot), call)
    } catch (error) {
      this.violations.push(`monitor error: ${(error as Error).message}`)
    }
  }

  private watched(snapshot: GroupSnapshot[]): Map<string, GroupSnapshot> {
    const account = this.options.account
    return new Map(
      snapshot.filter(g => account === undefined || g.account === account).map(g => [g.groupId, g])
    )
  }

  private check(state: Map<string, GroupSnapshot>, call: Ec2Call | undefined): void {
    if (call && this.options.account !== undefined && call.account !== this.options.account) {
      return
    }
    this.states += 1
    const where = call ? `after call #${call.seq} ${call.action}` : 'after a hand edit'
    if (call) {
      this.mutations.push(call)
      this.checkOwnChanges(state, where)
    }
    // Hand edits may add or remove anything; what they uncover is no longer protected.
    this.checkNoGap(state, where, call === undefined)
    this.previous = state
    this.updateProtected(state)
  }

  private checkOwnChanges(state: Map<string, GroupSnapshot>, where: string): void {
    for (const id of this.previous.keys()) {
      if (!state.has(id)) this.violations.push(`foreign: group ${id} deleted ${where}`)
    }
    for (const [id, group] of state) {
      const before = this.previous.get(id)
      if (!before) {
        this.violations.push(`foreign: group ${id} created ${where}`)
        continue
      }
      const pool = this.poolOf.get(id)
      for (const key of new Set([...Object.keys(before.tags), ...Object.keys(group.tags)])) {
        if (before.tags[key] !== group.tags[key] && (key !== SYNC_TOKEN_TAG || !pool)) {
          this.violations.push(`foreign: tag ${key} of ${id} changed ${where}`)
        }
      }
      if (group.name !== before.name || group.vpcId !== before.vpcId) {
        this.violations.push(`foreign: ${id} renamed or moved ${where}`)
      }
      const ids = (rules: RuleSnapshot[]) => new Set(rules.map(r => r.ruleId))
      const egressBefore = ids(before.egress)
      const egressNow = ids(group.egress)
      if (
        egressBefore.size !== egressNow.size ||
        [...egressBefore].some(ruleId => !egressNow.has(ruleId))
      ) {
        this.violations.push(`foreign: egress of ${id} changed ${where}`)
      }
      const inBefore = ids(before.ingress)
      const inNow = ids(group.ingress)
      for (const rule of group.ingress.filter(r => !inBefore.has(r.ruleId))) {
        this.checkAdded(id, pool, rule, where)
      }
      for (const rule of before.ingress.filter(r => !inNow.has(r.ruleId))) {
        if (!pool || !isManaged(rule, pool.port, this.description)) {
          this.violations.push(`foreign: ${id} lost ${describeRule(rule)} ${where}`)
        }
      }
    }
  }

  private checkAdded(
    groupId: string,
    pool: PoolSpec | undefined,
    rule: RuleSnapshot,
    where: string
  ): void {
    const cidr = cidrOf(rule)
    if (!pool) {
      this.violations.push(`foreign: ${groupId} (not managed) got ${describeRule(rule)} ${where}`)
      return
    }
    if (!onPort(rule, pool.port) || cidr === undefined || rule.description !== this.description) {
      this.violations.push(`widening: ${groupId} got ${describeRule(rule)} ${where}`)
      return
    }
    if (!this.allowed.get(pool.name)?.covers(cidr)) {
      this.violations.push(
        `widening: ${groupId} got ${cidr}, not inside the published ranges of ${pool.name} ${where}`
      )
    }
  }

  private checkNoGap(state: Map<string, GroupSnapshot>, where: string, byHand: boolean): void {
    for (const pool of this.options.pools) {
      const present = new AddressSet(poolCidrs(state, pool))
      const guarded = this.protectedCidrs.get(pool.name) as Set<string>
      for (const cidr of [...guarded]) {
        if (present.covers(cidr)) continue
        guarded.delete(cidr)
        if (!byHand) this.violations.push(`gap: ${cidr} absent from ${pool.name} ${where}`)
      }
    }
  }

  private updateProtected(state: Map<string, GroupSnapshot>): void {
    for (const pool of this.options.pools) {
      const present = new AddressSet(poolCidrs(state, pool))
      const guarded = this.protectedCidrs.get(pool.name) as Set<string>
      for (const cidr of pool.wanted) if (present.covers(cidr)) guarded.add(cidr)
    }
  }
}

/** Fans the emulator's single `onStateChange` out to several listeners (monitors, kill switches). */
export class StateHub {
  private readonly listeners = new Set<(snapshot: GroupSnapshot[], call?: Ec2Call) => void>()

  constructor(emulator: Ec2Emulator) {
    emulator.onStateChange = (snapshot, call) => {
      for (const listener of this.listeners) listener(snapshot, call)
    }
  }

  add(listener: (snapshot: GroupSnapshot[], call?: Ec2Call) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

// ---------------------------------------------------------------------------------------------
// Convergence

/**
 * Problems with the final state: a pool must hold every wanted address (its own rules or foreign
 * ones on the port), nothing outside the wanted ranges in rules it owns, no CIDR twice, and (when
 * `exact`) exactly the wanted CIDRs as its own rules. Empty when converged.
 */
export function checkConverged(
  groups: GroupSnapshot[],
  pools: PoolSpec[],
  options: { ruleDescription?: string; exact?: boolean } = {}
): string[] {
  const description = options.ruleDescription ?? 'cloudfront-sg-sync'
  const state = new Map(groups.map(g => [g.groupId, g]))
  const problems: string[] = []
  for (const pool of pools) {
    const owned = pool.groupIds.flatMap(id =>
      (state.get(id)?.ingress ?? [])
        .filter(rule => isManaged(rule, pool.port, description))
        .map(rule => cidrOf(rule) as string)
    )
    const seen = new Set<string>()
    for (const cidr of owned) {
      if (seen.has(cidr)) problems.push(`${pool.name}: ${cidr} held twice`)
      seen.add(cidr)
    }
    const wanted = new AddressSet(pool.wanted)
    for (const cidr of owned) {
      if (!wanted.covers(cidr)) problems.push(`${pool.name}: ${cidr} is not wanted`)
    }
    const present = new AddressSet(poolCidrs(state, pool))
    for (const cidr of pool.wanted) {
      if (!present.covers(cidr)) problems.push(`${pool.name}: ${cidr} is missing`)
    }
    if (options.exact) {
      const expected = [...new Set(pool.wanted)].sort()
      const actual = [...seen].sort()
      if (JSON.stringify(expected) !== JSON.stringify(actual)) {
        problems.push(
          `${pool.name}: holds ${actual.length} own rules, ${expected.length} wanted ` +
            `(extra: ${actual.filter(c => !expected.includes(c)).join(' ') || '-'}; missing: ` +
            `${expected.filter(c => !actual.includes(c)).join(' ') || '-'})`
        )
      }
    }
  }
  return problems
}

/** Every ingress rule that is not the action's, per group, as text (to prove they all survive). */
export function foreignRules(groups: GroupSnapshot[], pools: PoolSpec[], description?: string) {
  const portOf = new Map(pools.flatMap(pool => pool.groupIds.map(id => [id, pool.port] as const)))
  const text: string[] = []
  for (const group of groups) {
    const port = portOf.get(group.groupId)
    for (const rule of [...group.ingress, ...group.egress]) {
      if (port !== undefined && isManaged(rule, port, description ?? 'cloudfront-sg-sync')) continue
      text.push(`${group.groupId} ${describeRule(rule)}`)
    }
  }
  return text.sort()
}
