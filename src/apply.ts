// Executes a Plan. Regions run concurrently; in each pool every authorize runs before any revoke,
// so a wanted address is never absent. One call per group and direction. After any error the
// group is read once and what is already in place counts as done (./settle.ts): a lost answer or a
// race with another writer is not a failure.
import type { Ec2Api } from './aws/ec2.js'
import { errorCode, explainEc2Error } from './aws/ec2.js'
import type { ManagedRule } from './inventory.js'
import { SYNC_TOKEN_TAG } from './inventory.js'
import { canonicalCidr } from './ranges/cidr.js'
import type { GroupChange, Plan, Pool } from './plan.js'
import type { Families, PresentCidrs, Settlement } from './settle.js'
import { partialFailure, settleAuthorize, settleRevoke } from './settle.js'
import type { IpFamily } from './types.js'
import { IP_FAMILIES } from './types.js'

export interface GroupOutcome {
  account: string
  region: string
  groupId: string
  added: number
  removed: number
  /** What went wrong for this group, if anything. */
  error?: string
}

export interface ApplyResult {
  outcomes: GroupOutcome[]
  rulesAdded: number
  rulesRemoved: number
  failures: string[]
}

export interface ApplyOptions {
  ruleDescription: string
  /** Recorded (tag SYNC_TOKEN_TAG) on every group about to change, before its rules change. */
  syncToken?: string
  /** Groups worked on at once within a region (EC2 rate-limits per account and region). */
  concurrency?: number
  log?: (message: string) => void
}

const DEFAULT_CONCURRENCY = 4

export async function applyPlan(
  plan: Plan,
  apiFor: (account: string, region: string) => Ec2Api,
  options: ApplyOptions
): Promise<ApplyResult> {
  // Every account and region at once, and every pool of a region at once; EC2 throttles per
  // account and region, so one limiter per region bounds the calls in flight there.
  const places = [...new Set(plan.pools.map(pool => `${pool.account}/${pool.region}`))]
  const perRegion = await Promise.all(
    places.map(async place => {
      const pools = plan.pools.filter(p => `${p.account}/${p.region}` === place)
      const first = pools[0] as Pool
      const api = apiFor(first.account, first.region)
      const refusal = await recordSyncToken(api, pools, options)
      if (refusal) return refusal
      const limiter = new Limiter(options.concurrency ?? DEFAULT_CONCURRENCY)
      const perPool = await Promise.all(pools.map(pool => applyPool(pool, api, limiter, options)))
      return perPool.flat()
    })
  )
  const outcomes = perRegion.flat()
  return {
    outcomes,
    rulesAdded: outcomes.reduce((sum, o) => sum + o.added, 0),
    rulesRemoved: outcomes.reduce((sum, o) => sum + o.removed, 0),
    failures: outcomes
      .filter(o => o.error)
      .map(o => `${o.account} ${o.region} ${o.groupId}: ${o.error}`)
  }
}

async function applyPool(
  pool: Pool,
  api: Ec2Api,
  limiter: Limiter,
  options: ApplyOptions
): Promise<GroupOutcome[]> {
  const outcomes = new Map<string, GroupOutcome>(
    pool.groups.map(g => [
      g.groupId,
      { account: g.account, region: g.region, groupId: g.groupId, added: 0, removed: 0 }
    ])
  )
  const outcomeOf = (change: GroupChange): GroupOutcome =>
    outcomes.get(change.groupId) as GroupOutcome
  const fail = (change: GroupChange, message: string): void => {
    const outcome = outcomeOf(change)
    outcome.error = outcome.error ? `${outcome.error}; ${message}` : message
  }
  const step = async (
    change: GroupChange,
    work: () => Promise<Settled>,
    field: 'added' | 'removed'
  ) => {
    const settled = await work()
    outcomeOf(change)[field] += settled.done
    if (settled.error) fail(change, settled.error)
  }

  // Obsolete rules of full groups go first; the planner allows it only where no wanted address is lost.
  const early = pool.groups.filter(g => g.revokeFirst && count(g.remove) > 0)
  await limiter.each(early, g => step(g, () => revoke(api, g), 'removed'))

  const adding = pool.groups.filter(g => count(g.add) > 0)
  await limiter.each(adding, g =>
    step(g, () => authorize(api, g, options.ruleDescription), 'added')
  )

  // A failed authorize may leave an address uncovered; revoking now could open a gap, so the
  // pool's revokes wait for the next run.
  const failedAdd = adding.find(g => outcomeOf(g).error)
  const late = pool.groups.filter(g => !g.revokeFirst && count(g.remove) > 0)
  if (failedAdd) {
    for (const g of late) fail(g, `revokes postponed: authorize failed in ${failedAdd.groupId}`)
  } else {
    await limiter.each(late, g => step(g, () => revoke(api, g), 'removed'))
  }
  for (const g of pool.groups) {
    const outcome = outcomeOf(g)
    if (outcome.added + outcome.removed > 0 || outcome.error) {
      options.log?.(
        `${g.region} ${g.groupId} (${pool.id}): +${outcome.added} -${outcome.removed}` +
          (outcome.error ? ` (${outcome.error})` : '')
      )
    }
  }
  return [...outcomes.values()]
}

/**
 * Tags the groups about to change with the syncToken being applied, in one CreateTags call per
 * region, before any rule changes: a run killed mid-apply has already recorded which ranges the
 * pool is moving to, so a late, older file cannot undo them (the plan leaves such pools alone).
 * Returns the outcomes of a region where the tag could not be written: nothing changes there.
 */
async function recordSyncToken(
  api: Ec2Api,
  pools: Pool[],
  options: ApplyOptions
): Promise<GroupOutcome[] | undefined> {
  const changing = pools.flatMap(pool =>
    pool.groups.filter(g => count(g.add) + count(g.remove) > 0)
  )
  if (!options.syncToken || changing.length === 0) return undefined
  try {
    await api.tag(
      changing.map(g => g.groupId),
      SYNC_TOKEN_TAG,
      options.syncToken
    )
    return undefined
  } catch (error) {
    const message =
      `nothing changed: could not record the syncToken in tag ${SYNC_TOKEN_TAG} first ` +
      `(${explainEc2Error(error)})`
    return pools.flatMap(pool =>
      pool.groups.map(g => ({
        account: g.account,
        region: g.region,
        groupId: g.groupId,
        added: 0,
        removed: 0,
        ...(changing.includes(g) ? { error: message } : {})
      }))
    )
  }
}

/** How much of a group's batch is in place, and why the rest is not. */
interface Settled {
  done: number
  error?: string
}

// The batch as planned, then at most once more what is still left (see ./settle.ts).
const SENDS = 2

async function authorize(api: Ec2Api, change: GroupChange, description: string): Promise<Settled> {
  return sendSettled(api, change, {
    batch: change.add,
    verb: 'added',
    send: cidrs => api.authorize(change.groupId, change.port, cidrs, description),
    settle: settleAuthorize
  })
}

async function revoke(api: Ec2Api, change: GroupChange): Promise<Settled> {
  return sendSettled(api, change, {
    batch: change.remove,
    verb: 'revoked',
    send: rules =>
      api.revoke(
        change.groupId,
        change.port,
        mapFamilies(rules, list => list.map((rule: ManagedRule) => rule.raw))
      ),
    settle: settleRevoke
  })
}

interface Sending<T> {
  batch: Families<T>
  verb: string
  send: (items: Families<T>) => Promise<void>
  settle: (
    items: Families<T>,
    present: PresentCidrs,
    code: string | undefined,
    mayRetry: boolean
  ) => Settlement<T>
}

/**
 * Sends the batch; after any error reads the group once and lets it decide: done, the rest once
 * more, or failed. The report counts the plan's change when it is made, whoever made part of it.
 * No call beyond the batch's own unless there is an error.
 */
async function sendSettled<T>(
  api: Ec2Api,
  change: GroupChange,
  sending: Sending<T>
): Promise<Settled> {
  const total = count(sending.batch)
  let pending = sending.batch
  for (let sent = 1; ; sent++) {
    try {
      await sending.send(pending)
      return { done: total }
    } catch (error) {
      let present: PresentCidrs
      try {
        present = await portCidrs(api, change)
      } catch (readError) {
        // Nothing can be claimed done without seeing the group.
        const reason =
          `${explainEc2Error(error)} (reading the group again to check failed too: ` +
          `${explainEc2Error(readError)})`
        return { done: total - count(pending), error: reason }
      }
      const settled = sending.settle(pending, present, errorCode(error), sent < SENDS)
      if (settled.verdict === 'done') return { done: total }
      const left = count(settled.left)
      if (settled.verdict === 'fail') {
        return {
          done: total - left,
          error: partialFailure(sending.verb, left, total, explainEc2Error(error))
        }
      }
      pending = settled.left
    }
  }
}

/** The CIDRs the group allows on tcp/port right now, canonical, whoever owns the rules. */
async function portCidrs(api: Ec2Api, change: GroupChange): Promise<Record<IpFamily, Set<string>>> {
  const group = await api.describeGroup(change.groupId)
  const present: Record<IpFamily, Set<string>> = { ipv4: new Set(), ipv6: new Set() }
  for (const permission of group?.IpPermissions ?? []) {
    if (permission.IpProtocol !== 'tcp') continue
    if (permission.FromPort !== change.port || permission.ToPort !== change.port) continue
    for (const range of permission.IpRanges ?? []) present.ipv4.add(canonical(range.CidrIp))
    for (const range of permission.Ipv6Ranges ?? []) present.ipv6.add(canonical(range.CidrIpv6))
  }
  return present
}

function canonical(cidr: string | undefined): string {
  try {
    return canonicalCidr(cidr ?? '')
  } catch {
    return cidr ?? ''
  }
}

function mapFamilies<T, U>(
  value: Record<IpFamily, T[]>,
  map: (items: T[], family: IpFamily) => U[]
): Record<IpFamily, U[]> {
  return { ipv4: map(value.ipv4, 'ipv4'), ipv6: map(value.ipv6, 'ipv6') }
}

function count(value: Record<IpFamily, unknown[]>): number {
  return IP_FAMILIES.reduce((sum, family) => sum + value[family].length, 0)
}

/** At most `limit` tasks at once, shared by everyone holding the limiter. */
class Limiter {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly limit: number) {}

  /** Runs `work` for every item, each when a slot is free, and waits for all of them. */
  async each<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    await Promise.all(items.map(item => this.run(() => work(item))))
  }

  private async run(task: () => Promise<void>): Promise<void> {
    if (this.running < this.limit) this.running += 1
    else await new Promise<void>(resolve => this.waiting.push(resolve))
    try {
      await task()
    } finally {
      // A finished task hands its slot straight to the next waiter, so none can jump the queue.
      const next = this.waiting.shift()
      if (next) next()
      else this.running -= 1
    }
  }
}
