// Pool growth, the pure part: how many groups each pool short of rule slots needs (planned as
// virtual members with full capacity, so the planner places the overflow in them), and where each
// new group must be attached first. Nothing here talks to AWS.
import type { Attachment } from '../audit/attachment.js'
import { describeAttachment } from '../audit/attachment.js'
import type { ManagedGroup } from '../inventory.js'
import { CREATED_BY_TAG } from '../inventory.js'
import type { Plan, PlanOptions } from '../plan.js'
import { buildPlan, poolId } from '../plan.js'
import type { CidrsByScope } from '../types.js'

export { CREATED_BY_TAG }
export const CREATED_BY_VALUE = 'grow-pools'
/** Placeholder ids start so: never a real id (sg- and hex digits only). */
const PLACEHOLDER = 'sg-new-'
/** More than this many new groups for one pool means something else is wrong: refuse instead. */
export const MAX_NEW_GROUPS_PER_POOL = 4

export interface NewGroup {
  placeholderId: string
  poolId: string
  account: string
  region: string
  vpcId: string
  groupName: string
  description: string
  /** Tags as the pool's groups carry them, plus CREATED_BY_TAG. */
  tags: Record<string, string>
}

export interface GrowthTags {
  autoUpdateTag: string
  protocolTag: string
}

export const isPlaceholder = (groupId: string): boolean => groupId.startsWith(PLACEHOLDER)

/**
 * Plans with as many virtual groups per short pool as it takes (one more per round) for every
 * capacity problem to go away, up to MAX_NEW_GROUPS_PER_POOL; the plan keeps whatever capacity
 * problem remains. The virtual groups hold no rule and count no foreign rule: full capacity.
 */
export function planWithGrowth(
  desired: CidrsByScope,
  groups: ManagedGroup[],
  options: PlanOptions,
  tags: GrowthTags
): { plan: Plan; newGroups: NewGroup[] } {
  const extra: ManagedGroup[] = []
  const newGroups: NewGroup[] = []
  let plan = buildPlan(desired, groups, options)
  for (let round = 0; round < MAX_NEW_GROUPS_PER_POOL; round += 1) {
    const short = new Set(
      plan.problems.flatMap(p => (p.kind === 'capacity' && p.poolId ? [p.poolId] : []))
    )
    if (short.size === 0) break
    for (const id of [...short].sort()) {
      const members = [...groups, ...extra].filter(group => poolId(group) === id)
      const sample = members[0]
      if (!sample) continue
      const virtual = virtualMember(sample, members.length + 1)
      extra.push(virtual)
      newGroups.push(describeNewGroup(virtual, sample, tags))
    }
    plan = buildPlan(desired, [...groups, ...extra], options)
  }
  return { plan, newGroups }
}

function virtualMember(sample: ManagedGroup, n: number): ManagedGroup {
  const name = `cloudfront-sg-sync-${sample.scope}-${sample.port}-${n}`
  return {
    account: sample.account,
    region: sample.region,
    groupId: `${PLACEHOLDER}${sample.scope}-${sample.port}-${n}`,
    groupName: name,
    vpcId: sample.vpcId,
    nameTag: sample.nameTag,
    scope: sample.scope,
    protocol: sample.protocol,
    port: sample.port,
    managed: { ipv4: [], ipv6: [] },
    ruleLimit: sample.ruleLimit,
    foreignWeight: { ipv4: 0, ipv6: 0 },
    foreignOnPort: { ipv4: [], ipv6: [] }
  }
}

function describeNewGroup(virtual: ManagedGroup, sample: ManagedGroup, tags: GrowthTags): NewGroup {
  return {
    placeholderId: virtual.groupId,
    poolId: poolId(virtual),
    account: virtual.account,
    region: virtual.region,
    vpcId: virtual.vpcId,
    // Names are unique per VPC (EC2 answers InvalidGroup.Duplicate): scope, port and the pool's
    // size tell pools and generations apart.
    groupName: virtual.groupName,
    // EC2 allows only a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* in descriptions (EC2 API
    // reference, CreateSecurityGroup): no tag value goes in, only fixed text and numbers.
    description:
      `Created by cloudfront-sg-sync grow-pools: CloudFront ${virtual.scope} ranges, tcp ` +
      `${virtual.port}, like ${sample.groupId}`,
    tags: {
      Name: sample.nameTag,
      [tags.autoUpdateTag]: 'true',
      [tags.protocolTag]: sample.protocol,
      [CREATED_BY_TAG]: CREATED_BY_VALUE
    }
  }
}

/** A network interface as the growth decision sees it. */
export interface GrowthInterface {
  id: string
  groupIds: string[]
  attachment: Attachment
}

export interface Attach {
  interfaceId: string
  /** The complete new list: ModifyNetworkInterfaceAttribute replaces the interface's groups. */
  groupIds: string[]
  what: string
}

export interface AttachLoadBalancer {
  arn: string
  /** The complete new list: SetSecurityGroups replaces the load balancer's groups. */
  groupIds: string[]
  what: string
}

/** A load balancer as DescribeLoadBalancers tells it. */
export interface GrowthLoadBalancer {
  arn: string
  name: string
  type: string
  groupIds: string[]
}

/** "Security groups per load balancer: 5" (Elastic Load Balancing quotas, ALB and NLB). */
export const GROUPS_PER_LOAD_BALANCER = 5

export interface GrowthDecision {
  attach: Attach[]
  attachLoadBalancers: AttachLoadBalancer[]
  /** Why growth is refused; empty when it may go ahead. */
  refusals: string[]
}

/** One pool's groups to attach: `members` are in place, `adding` must join them everywhere. */
export interface GrowthNeed {
  poolId: string
  members: string[]
  adding: string[]
}

/**
 * What each short pool needs: its members, and the new groups (placeholders). A group grow-pools
 * created earlier that some interface carrying the rest of the pool lacks (a run stopped between
 * create and attach) is attached again before anything else: otherwise the plan would put ranges
 * in a group nothing carries, and CloudFront would be refused on those ranges.
 */
export function growthNeeds(
  newGroups: NewGroup[],
  groups: ManagedGroup[],
  interfaces: GrowthInterface[]
): GrowthNeed[] {
  const byPool = new Map<string, ManagedGroup[]>()
  for (const group of groups)
    byPool.set(poolId(group), [...(byPool.get(poolId(group)) ?? []), group])
  const needs: GrowthNeed[] = []
  for (const [id, pool] of [...byPool].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const base = pool.filter(g => !g.createdByAction).map(g => g.groupId)
    const carriers = interfaces.filter(eni => base.every(g => eni.groupIds.includes(g)))
    const unattached = pool
      .filter(g => g.createdByAction)
      .filter(g => carriers.some(eni => !eni.groupIds.includes(g.groupId)))
      .map(g => g.groupId)
    const adding = [
      ...unattached,
      ...newGroups.filter(g => g.poolId === id).map(g => g.placeholderId)
    ]
    if (adding.length === 0) continue
    const members = pool.map(g => g.groupId).filter(g => !unattached.includes(g))
    needs.push({ poolId: id, members, adding })
  }
  return needs
}

/**
 * Where each group to add goes, or why not. Attachable: an instance's interface, a detached plain
 * interface nobody manages, and an Application or Network Load Balancer (through ELBv2
 * SetSecurityGroups, whose interfaces follow). Anything else is refused, naming it.
 */
export function decideGrowth(
  needs: GrowthNeed[],
  interfaces: GrowthInterface[],
  groupsPerInterface: number,
  loadBalancers: ReadonlyMap<string, GrowthLoadBalancer> = new Map()
): GrowthDecision {
  const refusals: string[] = []
  const attach = new Map<string, Attach>()
  const attachLb = new Map<string, AttachLoadBalancer>()
  for (const { poolId: id, members, adding } of needs) {
    const carriers = interfaces.filter(eni => eni.groupIds.some(g => members.includes(g)))
    if (carriers.length === 0) {
      // A group nothing carries would take the overflow and protect nothing: CloudFront's requests
      // from those ranges would still be refused wherever the pool is attached later.
      refusals.push(
        `Pool ${id} cannot grow: no network interface carries it, so a new group would have ` +
          'nowhere to go. Attach the pool first.'
      )
      continue
    }
    for (const eni of carriers) {
      const what = `${eni.id} (${describeAttachment(eni.attachment)})`
      const missing = members.filter(g => !eni.groupIds.includes(g))
      if (missing.length > 0) {
        refusals.push(
          `Pool ${id} cannot grow: ${what} carries only part of it (missing ${missing.join(', ')}). ` +
            'Attach the whole pool there, or detach it, first.'
        )
        continue
      }
      const lbAttachment = eni.attachment
      if (
        lbAttachment.kind === 'load-balancer' &&
        (lbAttachment.type === 'application' || lbAttachment.type === 'network')
      ) {
        const lb = loadBalancers.get(lbAttachment.name)
        if (!lb) {
          refusals.push(
            `Pool ${id} cannot grow: ${what}: DescribeLoadBalancers did not return load balancer ` +
              `${lbAttachment.name}.`
          )
          continue
        }
        const current = attachLb.get(lb.arn)?.groupIds ?? lb.groupIds
        const next = [...current, ...adding.filter(g => !current.includes(g))]
        if (next.length > GROUPS_PER_LOAD_BALANCER) {
          refusals.push(
            `Pool ${id} cannot grow: ${what} has ${current.length} security group(s) and a load ` +
              `balancer takes at most ${GROUPS_PER_LOAD_BALANCER}, so the ` +
              `${next.length - current.length} new group(s) do not fit. Free a slot first.`
          )
          continue
        }
        if (next.length > current.length) {
          attachLb.set(lb.arn, {
            arn: lb.arn,
            groupIds: next,
            what: describeAttachment(eni.attachment)
          })
        }
        continue
      }
      const reason = unattachable(eni.attachment)
      if (reason) {
        refusals.push(`Pool ${id} cannot grow: ${what} ${reason}`)
        continue
      }
      const current = attach.get(eni.id)?.groupIds ?? eni.groupIds
      const next = [...current, ...adding.filter(g => !current.includes(g))]
      if (next.length > groupsPerInterface) {
        refusals.push(
          `Pool ${id} cannot grow: ${what} carries ${current.length} security group(s) and the ` +
            `quota allows ${groupsPerInterface} per interface (L-2AFB9258), so the ` +
            `${next.length - current.length} new group(s) do not fit. Raise the quota or free a slot.`
        )
        continue
      }
      if (next.length > current.length)
        attach.set(eni.id, { interfaceId: eni.id, groupIds: next, what })
    }
  }
  if (refusals.length > 0) return { attach: [], attachLoadBalancers: [], refusals }
  return { attach: [...attach.values()], attachLoadBalancers: [...attachLb.values()], refusals }
}

function unattachable(attachment: Attachment): string | undefined {
  if (attachment.kind === 'instance') return undefined
  if (attachment.kind === 'load-balancer') {
    // Gateway Load Balancers take no security group; Classic ones change through another API.
    return (
      `belongs to a ${attachment.type} load balancer, whose groups this action does not change ` +
      '(only Application and Network Load Balancers, through ELBv2 SetSecurityGroups). Tag ' +
      'another group for the pool and add it to the load balancer by hand.'
    )
  }
  if (attachment.interfaceType === 'interface' && !attachment.requesterId) return undefined
  return (
    'is managed by a service (' +
    `${attachment.requesterId ?? attachment.interfaceType}), which sets its own groups: ` +
    'add the group through that service.'
  )
}

/** Rewrites the plan's placeholder ids to the ids EC2 gave the new groups. */
export function resolvePlaceholders(plan: Plan, ids: ReadonlyMap<string, string>): Plan {
  return {
    ...plan,
    pools: plan.pools.map(pool => ({
      ...pool,
      groups: pool.groups.map(change => ({
        ...change,
        groupId: ids.get(change.groupId) ?? change.groupId
      }))
    }))
  }
}
