// `mode: check`: decides from a plan, without changing anything, whether the groups hold the
// published ranges. Pure: main.ts reads and plans as for a sync, then hands the plan here.
//
// Staleness is the age gap between the ranges a pool's groups last recorded (tag
// cloudfront-sg-sync:sync-token, the document's syncToken, epoch seconds) and the published
// document. It is only measured where rules differ: a pool that holds exactly the published set is
// current whatever its tag says (AWS republishes ip-ranges.json several times a day while the
// CloudFront subset changes a few times a month, and a sync only tags the groups it changes), and
// a pool with no tag at all cannot say since when it differs.
import { formatDuration } from './duration.js'
import type { ManagedGroup } from './inventory.js'
import type { Plan } from './plan.js'
import { poolId } from './plan.js'

export type CheckCondition = 'refused' | 'held-back' | 'out-of-sync' | 'stale'

export interface CheckOptions {
  /** syncToken of the published document the check read. */
  documentSyncToken: string
  maxStalenessSeconds: number
}

export interface PoolCheck {
  id: string
  state: 'in-sync' | 'out-of-sync' | 'held-back'
  rulesToAdd: number
  rulesToRemove: number
  /** The newest syncToken recorded on the pool's groups, if any. */
  recordedSyncToken?: string
  /** How much older the recorded ranges are than the document: out-of-sync pools with a record. */
  lagSeconds?: number
}

export interface CheckFinding {
  condition: CheckCondition
  message: string
}

export interface CheckResult {
  inSync: boolean
  /** 0 when every pool is in sync; the largest known lag otherwise; undefined when none is known. */
  stalenessSeconds?: number
  documentSyncToken: string
  maxStalenessSeconds: number
  pools: PoolCheck[]
  /** Why the check fails, most serious first; empty when it passes. */
  findings: CheckFinding[]
}

type TaggedGroup = Pick<
  ManagedGroup,
  'account' | 'region' | 'vpcId' | 'scope' | 'port' | 'syncToken'
>

const LISTED_POOLS = 5

export function decideCheck(plan: Plan, groups: TaggedGroup[], options: CheckOptions): CheckResult {
  const document = BigInt(options.documentSyncToken)
  const recorded = newestTokenPerPool(groups)
  const pools: PoolCheck[] = []
  for (const held of plan.heldBack) {
    pools.push({
      id: held.id,
      state: 'held-back',
      rulesToAdd: 0,
      rulesToRemove: 0,
      recordedSyncToken: held.recordedSyncToken
    })
  }
  for (const pool of plan.pools) {
    let rulesToAdd = 0
    let rulesToRemove = 0
    for (const group of pool.groups) {
      rulesToAdd += group.add.ipv4.length + group.add.ipv6.length
      rulesToRemove += group.remove.ipv4.length + group.remove.ipv6.length
    }
    const token = recorded.get(pool.id)
    const inSync = rulesToAdd + rulesToRemove === 0
    pools.push({
      id: pool.id,
      state: inSync ? 'in-sync' : 'out-of-sync',
      rulesToAdd,
      rulesToRemove,
      ...(token === undefined ? {} : { recordedSyncToken: token }),
      ...(!inSync && token !== undefined && BigInt(token) <= document
        ? { lagSeconds: Number(document - BigInt(token)) }
        : {})
    })
  }

  const outOfSync = pools.filter(pool => pool.state === 'out-of-sync')
  const lags = outOfSync.flatMap(pool => (pool.lagSeconds === undefined ? [] : [pool.lagSeconds]))
  const stalenessSeconds =
    outOfSync.length === 0 ? 0 : lags.length > 0 ? Math.max(...lags) : undefined

  const findings: CheckFinding[] = []
  if (plan.problems.length > 0) {
    findings.push({
      condition: 'refused',
      message: `A sync would be refused: ${plan.problems.map(problem => problem.message).join(' ')}`
    })
  }
  const heldBack = pools.filter(pool => pool.state === 'held-back')
  if (heldBack.length > 0) {
    findings.push({
      condition: 'held-back',
      message:
        `${heldBack.length} pool(s) record ranges newer than the published document ` +
        `(syncToken ${options.documentSyncToken}, ${isoOf(options.documentSyncToken)}): ` +
        listed(heldBack, pool => `${pool.id} since ${describeToken(pool.recordedSyncToken)}`) +
        '. The source served an older file, or the tag was set by hand; a sync leaves these ' +
        'pools alone until the document catches up.'
    })
  }
  if (outOfSync.length > 0) {
    findings.push({
      condition: 'out-of-sync',
      message:
        `${outOfSync.length} pool(s) do not hold the published ranges (syncToken ` +
        `${options.documentSyncToken}): ` +
        listed(
          outOfSync,
          pool =>
            `${pool.id} (+${pool.rulesToAdd} / −${pool.rulesToRemove} rules; ` +
            (pool.recordedSyncToken === undefined
              ? 'no syncToken recorded, so since when is unknown)'
              : `last synced to ${describeToken(pool.recordedSyncToken)})`)
        ) +
        '. A sync run would bring them in line.'
    })
  }
  const stale = outOfSync.filter(
    pool => pool.lagSeconds !== undefined && pool.lagSeconds > options.maxStalenessSeconds
  )
  if (stale.length > 0 && stalenessSeconds !== undefined) {
    findings.push({
      condition: 'stale',
      message:
        `The sync has stopped: ${stale.length} pool(s) lag the published ranges by up to ` +
        `${formatDuration(stalenessSeconds)}, more than max-staleness ` +
        `(${formatDuration(options.maxStalenessSeconds)}): ` +
        listed(stale, pool => `${pool.id} behind since ${describeToken(pool.recordedSyncToken)}`) +
        '. Check that the sync workflow is enabled and its recent runs succeed.'
    })
  }
  return {
    inSync: findings.length === 0,
    ...(stalenessSeconds === undefined ? {} : { stalenessSeconds }),
    documentSyncToken: options.documentSyncToken,
    maxStalenessSeconds: options.maxStalenessSeconds,
    pools,
    findings
  }
}

function newestTokenPerPool(groups: TaggedGroup[]): Map<string, string> {
  const newest = new Map<string, string>()
  for (const group of groups) {
    if (group.syncToken === undefined) continue
    const id = poolId(group)
    const current = newest.get(id)
    if (current === undefined || BigInt(group.syncToken) > BigInt(current)) {
      newest.set(id, group.syncToken)
    }
  }
  return newest
}

function listed(pools: PoolCheck[], describe: (pool: PoolCheck) => string): string {
  const shown = pools.slice(0, LISTED_POOLS).map(describe)
  const more = pools.length - shown.length
  return more > 0 ? `${shown.join('; ')}; and ${more} more` : shown.join('; ')
}

/** `syncToken 1785000000 (2026-07-25T17:20:00Z)`. */
export function describeToken(token: string | undefined): string {
  return token === undefined ? 'an unknown time' : `syncToken ${token} (${isoOf(token)})`
}

function isoOf(token: string): string {
  const date = new Date(Number(token) * 1000)
  return Number.isNaN(date.getTime())
    ? 'an unreadable time'
    : date.toISOString().replace('.000Z', 'Z')
}
