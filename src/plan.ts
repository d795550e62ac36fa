// The planner: from the wanted CIDRs and the groups as they are, decide every rule to add and to
// revoke. Pure and deterministic. Everything that could make a run unsafe (not enough rule slots,
// too many removals) is decided here, so it stops the run before the first mutation.
import type { ManagedGroup, ManagedRule } from './inventory.js'
import {
  AddressSet,
  type Cidr,
  compareCidrs,
  formatCidr,
  parseCidr,
  tryParseCidr
} from './ranges/cidr.js'
import { BROADEST_PREFIX, describeCount, MAX_ADDRESSES } from './ranges/select.js'
import type { CidrsByScope, IpFamily, Scope } from './types.js'
import { SCOPES } from './types.js'

export interface PlanOptions {
  families: IpFamily[]
  maxRemovalsPercent: number
  /**
   * How much more address space a pool's managed rules may allow after the run than before, in
   * percent of today's (default 100: at most double). Pools with no managed rule of a family (a
   * first sync) are bounded only by the absolute limits of the ranges step.
   */
  maxGrowthPercent?: number
  /**
   * Requested families the document publishes nothing for. Nothing to do where no group holds a
   * managed rule of the family (a notice); refused where some do, since all would be revoked.
   */
  unpublished?: IpFamily[]
  /** syncToken of the ranges being applied; pools already holding newer ranges are left alone. */
  syncToken?: string
}

/** A pool left as it is because a group in it already holds ranges newer than this run's. */
export interface HeldBackPool {
  id: string
  groupId: string
  recordedSyncToken: string
}

export interface GroupChange {
  account: string
  region: string
  groupId: string
  groupName: string
  vpcId: string
  scope: Scope
  port: number
  add: Record<IpFamily, string[]>
  remove: Record<IpFamily, ManagedRule[]>
  before: Record<IpFamily, number>
  after: Record<IpFamily, number>
  /** Rule slots still free per family once the plan is applied. */
  capacityLeft: Record<IpFamily, number>
  /**
   * Revoke this group's obsolete rules before the pool's authorizes: only set when the group is full
   * and every rule it revokes lies outside the wanted ranges, so revoking early opens no gap.
   */
  revokeFirst: boolean
}

export interface Pool {
  /** account/region/vpc/scope/port, for messages and the report. */
  id: string
  account: string
  region: string
  vpcId: string
  scope: Scope
  port: number
  desired: Record<IpFamily, string[]>
  groups: GroupChange[]
}

export interface PlanProblem {
  kind: 'capacity' | 'removals' | 'growth' | 'unpublished' | 'bounds'
  message: string
  /** The pool that lacks capacity (capacity problems only). */
  poolId?: string
}

export interface PlanTotals {
  rulesAdded: number
  rulesRemoved: number
  groupsChanged: number
  /** Managed rules before the change, and how many revoked rules drop addresses we no longer want. */
  managedBefore: number
  removalsUncovered: number
}

export interface Plan {
  pools: Pool[]
  problems: PlanProblem[]
  totals: PlanTotals
  heldBack: HeldBackPool[]
  /** Worth telling the user, not failures (a family with nothing published and nothing managed). */
  notices?: string[]
}

export const DEFAULT_MAX_GROWTH_PERCENT = 100

const emptyFamilies = <T>(make: () => T): Record<IpFamily, T> => ({ ipv4: make(), ipv6: make() })

type PoolKey = Pick<ManagedGroup, 'account' | 'region' | 'vpcId' | 'scope' | 'port'>

export function poolId(group: PoolKey): string {
  return `${group.account}/${group.region}/${group.vpcId}/${group.scope}/tcp:${group.port}`
}

export function buildPlan(
  desired: CidrsByScope,
  groups: ManagedGroup[],
  options: PlanOptions
): Plan {
  const byPool = new Map<string, ManagedGroup[]>()
  for (const group of [...groups].sort((a, b) => compareText(a.groupId, b.groupId))) {
    const id = poolId(group)
    const members = byPool.get(id)
    if (members) members.push(group)
    else byPool.set(id, [group])
  }

  const problems: PlanProblem[] = []
  const notices: string[] = []
  const families = familiesToPlan(groups, options, problems, notices)
  const planOptions = { ...options, families }

  // Per scope, computed once: the exact union of the wanted ranges as sorted intervals, which
  // tells in O(log n) whether a revocation drops an address still wanted (no early revoke) or no
  // longer wanted (removal guard); and the wanted ranges sorted. Each group's additions are taken
  // from the sorted list in order, so they come out sorted without parsing every CIDR again.
  const covering = {} as Record<Scope, Record<IpFamily, AddressSet>>
  const sorted = {} as Record<Scope, Record<IpFamily, string[]>>
  const parsed = {} as Record<Scope, Record<IpFamily, Cidr[]>>
  for (const scope of SCOPES) {
    const ipv4 = parseSorted(desired[scope].ipv4)
    const ipv6 = parseSorted(desired[scope].ipv6)
    sorted[scope] = { ipv4: ipv4.texts, ipv6: ipv6.texts }
    parsed[scope] = { ipv4: ipv4.cidrs, ipv6: ipv6.cidrs }
    covering[scope] = {
      ipv4: new AddressSet('ipv4', ipv4.cidrs),
      ipv6: new AddressSet('ipv6', ipv6.cidrs)
    }
    for (const family of families) {
      const problem = boundsProblem(scope, family, parsed[scope][family], covering[scope][family])
      if (problem) problems.push(problem)
    }
  }
  // What each pool's managed rules allow today, per family: for the growth and removal guards.
  const before = new Map<string, Record<IpFamily, AddressSet>>()

  const pools: Pool[] = []
  const heldBack: HeldBackPool[] = []
  for (const id of [...byPool.keys()].sort(compareText)) {
    const members = byPool.get(id) ?? []
    const first = members[0]
    if (!first) continue
    // Notifications arrive late and out of order: never replace newer ranges with older ones.
    const newer = members.find(group => isNewer(group.syncToken, options.syncToken))
    if (newer?.syncToken) {
      heldBack.push({ id, groupId: newer.groupId, recordedSyncToken: newer.syncToken })
      continue
    }
    const pool = planPool(
      id,
      sorted[first.scope],
      covering[first.scope],
      members,
      planOptions,
      problems
    )
    pools.push(pool)
    const allowed = { ipv4: managedSet(members, 'ipv4'), ipv6: managedSet(members, 'ipv6') }
    before.set(id, allowed)
    // A pool already tagged with this very document was planned from it before, growth guard
    // included (the tag is written before the first change): an interrupted or failed run's rerun
    // must converge, not be refused for the part it has already done.
    const resumed = members.some(
      group => group.syncToken !== undefined && group.syncToken === options.syncToken
    )
    if (!resumed) {
      const growth = growthProblems(
        pool,
        allowed,
        covering[first.scope],
        families,
        options.maxGrowthPercent ?? DEFAULT_MAX_GROWTH_PERCENT
      )
      problems.push(...growth)
    }
  }

  const plannedIds = new Set(pools.map(pool => pool.id))
  const planned = groups.filter(group => plannedIds.has(poolId(group)))
  const totals = summarise(pools, planned, before, parsed, families)
  const guard = removalGuard(totals, options.maxRemovalsPercent)
  if (guard) problems.push(guard)
  return { pools, problems, totals, heldBack, notices }
}

const familyName = (family: IpFamily): string => (family === 'ipv4' ? 'IPv4' : 'IPv6')

/**
 * The families to plan. A family the document publishes nothing for is nothing to do when no
 * group holds a managed rule of it (AWS published no origin-facing IPv6 range until mid-2025): a
 * notice. Where groups do hold some, planning it would revoke them all: refused.
 */
function familiesToPlan(
  groups: ManagedGroup[],
  options: PlanOptions,
  problems: PlanProblem[],
  notices: string[]
): IpFamily[] {
  const unpublished = new Set(options.unpublished ?? [])
  const families: IpFamily[] = []
  for (const family of options.families) {
    if (!unpublished.has(family)) {
      families.push(family)
      continue
    }
    const holding = groups.filter(group => group.managed[family].length > 0)
    const name = familyName(family)
    if (holding.length === 0) {
      notices.push(
        `The ranges list no ${name} prefix for this service and no group holds a managed ${name} ` +
          `rule: nothing to do for ${name}; the other families were synced.`
      )
      continue
    }
    families.push(family)
    const rules = holding.reduce((sum, group) => sum + group.managed[family].length, 0)
    problems.push({
      kind: 'unpublished',
      message:
        `The ranges list no ${name} prefix for this service, but ${holding.length} group(s) ` +
        `(${holding
          .slice(0, 3)
          .map(group => group.groupId)
          .join(', ')}${holding.length > 3 ? ', ...' : ''}) hold ${rules} managed ${name} ` +
        `rule(s), which would all be revoked. If ${name} was dropped on purpose, remove ${family} ` +
        "from input 'ip-families' (and delete those rules by hand if they must go); otherwise " +
        'retry later: this may be a transient publication error.'
    })
  }
  return families
}

/**
 * The bounds of the ranges step, checked again on exactly what the plan applies: however the
 * wanted set was transformed (merged, deduplicated), no rule may be broader than the broadest
 * published prefix allowed, nor the set larger than its absolute limit.
 */
function boundsProblem(
  scope: Scope,
  family: IpFamily,
  wanted: Cidr[],
  covering: AddressSet
): PlanProblem | undefined {
  const broad = wanted.find(cidr => cidr.prefixLength < BROADEST_PREFIX[family])
  if (broad !== undefined) {
    return {
      kind: 'bounds',
      message:
        `The ${scope} ${familyName(family)} ranges include ${formatCidr(broad)}, broader than ` +
        `/${BROADEST_PREFIX[family]}: refusing to open security groups to it. Check the ip-ranges ` +
        'source.'
    }
  }
  if (covering.size > MAX_ADDRESSES[family]) {
    return {
      kind: 'bounds',
      message:
        `The ${scope} ${familyName(family)} ranges cover ${describeCount(covering.size)} ` +
        `addresses, more than the ${describeCount(MAX_ADDRESSES[family])} allowed. Check the ` +
        'ip-ranges source.'
    }
  }
  return undefined
}

/**
 * A pool may always grow to this many addresses, whatever it holds today. Real publications add
 * ranges in steps that are large next to a small pool: a third origin-facing regional range, or a
 * /36 beside the origin-facing IPv6 /40, multiplies such a pool's addresses many times over. The
 * floor is one range of the largest size CloudFront has published (IPv4 /14, 2026 history) and,
 * for IPv6, a /32: more than the whole CLOUDFRONT IPv6 set (about 2^94.7 addresses).
 */
export const GROWTH_FLOOR: Record<IpFamily, bigint> = { ipv4: 1n << 18n, ipv6: 1n << 96n }

/**
 * Refuse a pool whose rules would allow far more addresses than they do today: a forged document
 * adding a /9 beside the genuine set passes every absolute bound, but not this one. A pool with no
 * managed rule of the family yet (a first sync) is bounded only by the absolute limits, and every
 * pool may grow up to GROWTH_FLOOR.
 */
function growthProblems(
  pool: Pool,
  allowed: Record<IpFamily, AddressSet>,
  covering: Record<IpFamily, AddressSet>,
  families: IpFamily[],
  maxPercent: number
): PlanProblem[] {
  const problems: PlanProblem[] = []
  for (const family of families) {
    const today = allowed[family].size
    const after = covering[family].size
    if (today === 0n || after <= GROWTH_FLOOR[family]) continue
    // after / today > 1 + maxPercent / 100, in integers (hundredths of a percent).
    const hundredths = BigInt(Math.round(maxPercent * 100))
    if (after * 10_000n <= today * (10_000n + hundredths)) continue
    const ratio = Number((after * 1000n) / today) / 1000
    const needed = Math.ceil((ratio - 1) * 100)
    problems.push({
      kind: 'growth',
      message:
        `Pool ${pool.id} would allow ${describeCount(after)} ${familyName(family)} addresses where ` +
        `its managed rules allow ${describeCount(today)} today (${ratio.toFixed(1)} times as ` +
        `many), more than max-growth-percent (${maxPercent}%) allows. If this is expected (for ` +
        `example after switching service to CLOUDFRONT), rerun with max-growth-percent: ` +
        `${needed} for this one run; otherwise check the ip-ranges source.`
    })
  }
  return problems
}

/** The addresses a pool's managed rules of one family allow. */
function managedSet(members: ManagedGroup[], family: IpFamily): AddressSet {
  const cidrs: Cidr[] = []
  for (const group of members) {
    for (const rule of group.managed[family]) {
      const parsed = tryParseCidr(rule.cidr)
      if (parsed.ok && parsed.cidr.family === family) cidrs.push(parsed.cidr)
    }
  }
  return new AddressSet(family, cidrs)
}

function isNewer(recorded: string | undefined, current: string | undefined): boolean {
  if (recorded === undefined || current === undefined) return false
  return BigInt(recorded) > BigInt(current)
}

function planPool(
  id: string,
  desiredForScope: Record<IpFamily, string[]>,
  covering: Record<IpFamily, AddressSet>,
  members: ManagedGroup[],
  options: PlanOptions,
  problems: PlanProblem[]
): Pool {
  const first = members[0] as ManagedGroup
  const changes: GroupChange[] = members.map(group => ({
    account: group.account,
    region: group.region,
    groupId: group.groupId,
    groupName: group.groupName,
    vpcId: group.vpcId,
    scope: group.scope,
    port: group.port,
    add: emptyFamilies<string[]>(() => []),
    remove: emptyFamilies<ManagedRule[]>(() => []),
    before: { ipv4: group.managed.ipv4.length, ipv6: group.managed.ipv6.length },
    after: { ipv4: group.managed.ipv4.length, ipv6: group.managed.ipv6.length },
    capacityLeft: emptyFamilies(() => 0),
    revokeFirst: false
  }))

  // Pass 1, per family: keep every wanted CIDR where it already is (first holder wins), revoke the
  // rest. Placement stability starts here: nothing that is wanted ever moves.
  const kept = new Map<IpFamily, number[]>()
  const toPlace = new Map<IpFamily, string[]>()
  for (const family of options.families) {
    const wanted = new Set(desiredForScope[family])
    const held = new Set<string>()
    kept.set(
      family,
      members.map((group, index) => {
        const change = changes[index] as GroupChange
        let keptHere = 0
        for (const rule of group.managed[family]) {
          if (wanted.has(rule.cidr) && !held.has(rule.cidr)) {
            held.add(rule.cidr)
            keptHere += 1
          } else {
            change.remove[family].push(rule)
          }
        }
        return keptHere
      })
    )
    // A wanted CIDR someone else already allows on this port needs no rule of ours (adding one
    // would fail as a duplicate); it is not ours to keep either, so it is not counted as kept.
    for (const group of members) {
      for (const cidr of group.foreignOnPort[family]) if (wanted.has(cidr)) held.add(cidr)
    }
    toPlace.set(
      family,
      desiredForScope[family].filter(cidr => !held.has(cidr))
    )
  }

  // A group may revoke early only if none of its revocations drops an address still wanted.
  const mayRevokeFirst = members.map((_, index) =>
    options.families.every(family =>
      (changes[index] as GroupChange).remove[family].every(
        rule => !overlaps(covering[family], rule.cidr)
      )
    )
  )

  // Pass 2, per family: place new CIDRs where there is room right now (adds run before revokes),
  // in the group with the most room; then in full groups that can revoke obsolete rules first.
  for (const family of options.families) {
    const keptCounts = kept.get(family) ?? []
    const roomAtEnd = members.map(
      (group, index) => group.ruleLimit - group.foreignWeight[family] - (keptCounts[index] ?? 0)
    )
    const roomNow = (index: number): number => {
      const group = members[index] as ManagedGroup
      const change = changes[index] as GroupChange
      const end = roomAtEnd[index] ?? 0
      if (change.revokeFirst) return end
      const used = group.foreignWeight[family] + group.managed[family].length
      return Math.min(end, group.ruleLimit - used - change.add[family].length)
    }

    const pending = toPlace.get(family) ?? []
    let unplaced = 0
    for (const cidr of pending) {
      let target = pickMostRoom(members.length, roomNow)
      if (target === undefined) {
        target = pickMostRoom(members.length, index =>
          mayRevokeFirst[index] ? (roomAtEnd[index] ?? 0) : 0
        )
        if (target !== undefined) (changes[target] as GroupChange).revokeFirst = true
      }
      if (target === undefined) {
        unplaced += 1
        continue
      }
      ;(changes[target] as GroupChange).add[family].push(cidr)
      roomAtEnd[target] = (roomAtEnd[target] ?? 0) - 1
    }

    changes.forEach((change, index) => {
      change.after[family] = (keptCounts[index] ?? 0) + change.add[family].length
      change.capacityLeft[family] = roomAtEnd[index] ?? 0
    })
    if (unplaced > 0) {
      problems.push(
        capacityProblem(id, first, members, family, desiredForScope[family].length, unplaced)
      )
    }
  }

  const desired = emptyFamilies<string[]>(() => [])
  for (const family of options.families) desired[family] = [...desiredForScope[family]]
  return {
    id,
    account: first.account,
    region: first.region,
    vpcId: first.vpcId,
    scope: first.scope,
    port: first.port,
    desired,
    groups: changes
  }
}

function pickMostRoom(count: number, room: (index: number) => number): number | undefined {
  let best: number | undefined
  let bestRoom = 0
  for (let index = 0; index < count; index += 1) {
    const value = room(index)
    if (value > bestRoom) {
      best = index
      bestRoom = value
    }
  }
  return best
}

function capacityProblem(
  id: string,
  sample: ManagedGroup,
  members: ManagedGroup[],
  family: IpFamily,
  wanted: number,
  unplaced: number
): PlanProblem {
  // Groups of a pool share account and region, so they share the quota.
  const quota = sample.ruleLimit
  const extraGroups = Math.ceil(unplaced / quota)
  const foreign = members.reduce((sum, group) => sum + group.foreignWeight[family], 0)
  const steadyQuota = Math.ceil((wanted + foreign) / members.length)
  // The ranges would fit once the change is done, but not while it is under way: new rules are
  // added before the rules they replace are revoked, so the pool needs that much headroom.
  const headroomOnly = steadyQuota <= quota
  const quotaNeeded = headroomOnly ? quota + unplaced : steadyQuota
  const groups = `${members.length} group(s)`
  const why = headroomOnly
    ? `needs ${unplaced} free rule slot(s) while it changes (new rules are added before the ` +
      `rules they replace are revoked, so no address is ever uncovered), and its ${groups} ` +
      'have no room for them'
    : `has ${unplaced} more rule(s) than fit in its ${groups}`
  return {
    kind: 'capacity',
    poolId: id,
    message:
      `Pool ${id} cannot hold its ${family} ranges: it ${why} (${quota} rules per group, ` +
      `${foreign} used by rules this action does not own). ` +
      `Fix: tag ${extraGroups} more security group(s) in ${sample.vpcId} (${sample.region}) like ` +
      `${sample.groupId} (Name=${sample.nameTag}, the same auto-update and Protocol tags) and ` +
      `attach them where ${sample.groupId} is attached, or raise the EC2 quota 'Inbound or ` +
      `outbound rules per security group' (L-0EA8095F) to at least ${quotaNeeded} and set ` +
      'max-rules-per-group to match.'
  }
}

function summarise(
  pools: Pool[],
  groups: ManagedGroup[],
  before: Map<string, Record<IpFamily, AddressSet>>,
  wanted: Record<Scope, Record<IpFamily, Cidr[]>>,
  families: IpFamily[]
): PlanTotals {
  let rulesAdded = 0
  let rulesRemoved = 0
  let groupsChanged = 0
  let removalsUncovered = 0
  for (const pool of pools) {
    const changedHere = new Set<string>()
    for (const family of families) {
      const allowed = before.get(pool.id)?.[family] ?? new AddressSet(family, [])
      const free = freeRevokes(allowed, wanted[pool.scope][family])
      for (const change of pool.groups) {
        rulesAdded += change.add[family].length
        rulesRemoved += change.remove[family].length
        if (change.add[family].length + change.remove[family].length > 0) {
          changedHere.add(change.groupId)
        }
        removalsUncovered += change.remove[family].filter(rule => !contains(free, rule.cidr)).length
      }
    }
    groupsChanged += changedHere.size
  }
  const managedBefore = groups.reduce(
    (sum, group) => sum + families.reduce((n, family) => n + group.managed[family].length, 0),
    0
  )
  return { rulesAdded, rulesRemoved, groupsChanged, managedBefore, removalsUncovered }
}

/**
 * The addresses whose rules may be revoked for free: the wanted ranges lying wholly inside what the
 * pool's managed rules allow today. A revoke inside one of them is a merge or a duplicate (nothing
 * lost, nothing gained). A revoke "covered" by a broader new range is not free: 43 rules replaced
 * by 0.0.0.0/0 are 43 withdrawals, which the guard weighs.
 */
function freeRevokes(before: AddressSet, wanted: Cidr[]): AddressSet {
  return new AddressSet(
    before.family,
    wanted.filter(cidr => before.contains(cidr))
  )
}

/** CIDR texts parsed once, in `compareCidrs` order (a comparator on texts parses per call). */
function parseSorted(texts: readonly string[]): { texts: string[]; cidrs: Cidr[] } {
  const entries = texts
    .map(text => ({ text, cidr: parseCidr(text) }))
    .sort((a, b) => compareCidrs(a.cidr, b.cidr))
  return { texts: entries.map(entry => entry.text), cidrs: entries.map(entry => entry.cidr) }
}

/**
 * Refuse a plan that withdraws too much: a corrupt or unexpected range set must not strip an origin
 * of its CloudFront access. Rules replaced by a range the pool already allowed in full (merges,
 * duplicates) do not count; rules replaced by a broader range do.
 */
function removalGuard(totals: PlanTotals, maxPercent: number): PlanProblem | undefined {
  if (maxPercent >= 100 || totals.managedBefore === 0) return undefined
  const percent = (totals.removalsUncovered / totals.managedBefore) * 100
  if (percent <= maxPercent) return undefined
  return {
    kind: 'removals',
    message:
      `The plan withdraws ${totals.removalsUncovered} of ${totals.managedBefore} managed rules ` +
      `(${percent.toFixed(1)}%), more than max-removals-percent (${maxPercent}%). If this is ` +
      'expected (for example after changing the service input), rerun with max-removals-percent: ' +
      '100 for this one run; otherwise check the ip-ranges source.'
  }
}

function contains(set: AddressSet, cidr: string): boolean {
  const parsed = tryParseCidr(cidr)
  return parsed.ok && set.contains(parsed.cidr)
}

/** Unreadable CIDRs count as overlapping: they never justify an early revoke. */
function overlaps(set: AddressSet, cidr: string): boolean {
  const parsed = tryParseCidr(cidr)
  return !parsed.ok || set.overlaps(parsed.cidr)
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
