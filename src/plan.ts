// The planner: from the wanted CIDRs and the groups as they are, decide every rule to add and to
// revoke. Pure and deterministic. Everything that could make a run unsafe (not enough rule slots,
// too many removals) is decided here, so it stops the run before the first mutation.
import type { ManagedGroup, ManagedRule } from './inventory.js'
import { cidrContains, mergeCidrs, sortCidrTexts } from './ranges/cidr.js'
import type { CidrsByScope, IpFamily, Scope } from './types.js'
import { SCOPES } from './types.js'

export interface PlanOptions {
  families: IpFamily[]
  maxRemovalsPercent: number
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
  kind: 'capacity' | 'removals'
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
}

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

  // Per scope, computed once: the exact union of the wanted ranges, which tells whether a
  // revocation drops an address still wanted (no early revoke) or no longer wanted (removal
  // guard); and the wanted ranges sorted. Each group's additions are taken from the sorted list in
  // order, so they come out sorted without parsing every CIDR again per group.
  const covering = {} as Record<Scope, Record<IpFamily, string[]>>
  const sorted = {} as Record<Scope, Record<IpFamily, string[]>>
  for (const scope of SCOPES) {
    covering[scope] = {
      ipv4: mergeCidrs(desired[scope].ipv4),
      ipv6: mergeCidrs(desired[scope].ipv6)
    }
    sorted[scope] = {
      ipv4: sortCidrTexts(desired[scope].ipv4),
      ipv6: sortCidrTexts(desired[scope].ipv6)
    }
  }

  const problems: PlanProblem[] = []
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
    pools.push(planPool(id, sorted[first.scope], covering[first.scope], members, options, problems))
  }

  const plannedIds = new Set(pools.map(pool => pool.id))
  const planned = groups.filter(group => plannedIds.has(poolId(group)))
  const totals = summarise(pools, planned, covering, options.families)
  const guard = removalGuard(totals, options.maxRemovalsPercent)
  if (guard) problems.push(guard)
  return { pools, problems, totals, heldBack }
}

function isNewer(recorded: string | undefined, current: string | undefined): boolean {
  if (recorded === undefined || current === undefined) return false
  return BigInt(recorded) > BigInt(current)
}

function planPool(
  id: string,
  desiredForScope: Record<IpFamily, string[]>,
  covering: Record<IpFamily, string[]>,
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
        rule => !covering[family].some(outer => overlaps(outer, rule.cidr))
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
  const why = headroomOnly
    ? `needs ${unplaced} free rule slot(s) while it changes (new rules are added before the ` +
      'rules they replace are revoked, so no address is ever uncovered), and its'
    : `has ${unplaced} more rule(s) than fit in its`
  return {
    kind: 'capacity',
    poolId: id,
    message:
      `Pool ${id} cannot hold its ${family} ranges: it ${why} ${members.length} group(s) have ` +
      `no room (${quota} rules per group, ${foreign} used by rules this action does not own). ` +
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
  covering: Record<Scope, Record<IpFamily, string[]>>,
  families: IpFamily[]
): PlanTotals {
  let rulesAdded = 0
  let rulesRemoved = 0
  let groupsChanged = 0
  let removalsUncovered = 0
  for (const pool of pools) {
    for (const change of pool.groups) {
      let changed = false
      for (const family of families) {
        rulesAdded += change.add[family].length
        rulesRemoved += change.remove[family].length
        changed ||= change.add[family].length + change.remove[family].length > 0
        const cover = covering[pool.scope][family]
        removalsUncovered += change.remove[family].filter(
          rule => !cover.some(outer => contains(outer, rule.cidr))
        ).length
      }
      if (changed) groupsChanged += 1
    }
  }
  const managedBefore = groups.reduce(
    (sum, group) => sum + families.reduce((n, family) => n + group.managed[family].length, 0),
    0
  )
  return { rulesAdded, rulesRemoved, groupsChanged, managedBefore, removalsUncovered }
}

/**
 * Refuse a plan that withdraws too much: a corrupt or unexpected range set must not strip an origin
 * of its CloudFront access. Rules replaced by a covering range (merges, duplicates) do not count.
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

function contains(outer: string, inner: string): boolean {
  try {
    return cidrContains(outer, inner)
  } catch {
    return false
  }
}

function overlaps(a: string, b: string): boolean {
  return contains(a, b) || contains(b, a)
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
