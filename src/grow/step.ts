// Pool growth, the I/O: read the interfaces that carry each short pool and the groups-per-interface
// quota (decide, before any change), then create the groups and attach them, before the plan's
// first authorize: an empty group allows nothing, so attaching it first opens no gap.
import { attachmentOf } from '../audit/attachment.js'
import type { AuditEc2Api } from '../audit/ec2-reads.js'
import type { ManagedGroup } from '../inventory.js'
import type { GrowthEc2Api } from './ec2-writes.js'
import type { LoadBalancerApi } from './elbv2.js'
import type {
  Attach,
  GrowthDecision,
  GrowthInterface,
  GrowthLoadBalancer,
  NewGroup
} from './plan.js'
import { decideGrowth, growthNeeds } from './plan.js'

export interface GrowthPlace {
  account: string
  region: string
  reads: AuditEc2Api
  writes: GrowthEc2Api
  loadBalancers: LoadBalancerApi
  groupsPerInterface: () => Promise<{ value: number; warning?: string }>
}

export interface CreatedGroup {
  account: string
  region: string
  poolId: string
  groupId: string
  groupName: string
  attachedTo: string[]
}

export interface PreparedGrowth {
  decisions: Map<string, GrowthDecision>
  refusals: string[]
  warnings: string[]
}

const key = (account: string, region: string) => `${account}/${region}`

/**
 * Reads and decides, per account and region where a pool grows or holds a group grow-pools
 * created; changes nothing.
 */
export async function prepareGrowth(
  newGroups: NewGroup[],
  groups: ManagedGroup[],
  placeOf: (account: string, region: string) => GrowthPlace
): Promise<PreparedGrowth> {
  const decisions = new Map<string, GrowthDecision>()
  const refusals: string[] = []
  const warnings: string[] = []
  const places = [
    ...new Set([
      ...newGroups.map(g => key(g.account, g.region)),
      ...groups.filter(g => g.createdByAction).map(g => key(g.account, g.region))
    ])
  ].sort()
  for (const where of places) {
    const [account, region] = where.split('/') as [string, string]
    const place = placeOf(account, region)
    const inPlace = newGroups.filter(g => key(g.account, g.region) === where)
    const here = groups.filter(g => key(g.account, g.region) === where)
    let interfaces: GrowthInterface[]
    try {
      const read = await place.reads.interfacesWithGroups(here.map(g => g.groupId))
      interfaces = read.map(eni => ({
        id: eni.NetworkInterfaceId ?? '',
        groupIds: (eni.Groups ?? []).map(g => g.GroupId ?? ''),
        attachment: attachmentOf(eni)
      }))
    } catch (error) {
      refusals.push(
        `Pools in ${account} ${region} cannot grow: reading their network interfaces failed ` +
          `(${(error as Error).message}); the role needs ec2:DescribeNetworkInterfaces.`
      )
      continue
    }
    const needs = growthNeeds(inPlace, here, interfaces)
    if (needs.length === 0) continue
    const quota = await place.groupsPerInterface()
    if (quota.warning) warnings.push(quota.warning)
    const lbNames = [
      ...new Set(
        interfaces.flatMap(eni =>
          eni.attachment.kind === 'load-balancer' &&
          (eni.attachment.type === 'application' || eni.attachment.type === 'network')
            ? [eni.attachment.name]
            : []
        )
      )
    ]
    const loadBalancers = new Map<string, GrowthLoadBalancer>()
    if (lbNames.length > 0) {
      try {
        for (const lb of await place.loadBalancers.describe(lbNames)) loadBalancers.set(lb.name, lb)
      } catch (error) {
        refusals.push(
          `Pools in ${account} ${region} cannot grow: reading load balancers ${lbNames.join(', ')} ` +
            `failed (${(error as Error).message}); the role needs ` +
            'elasticloadbalancing:DescribeLoadBalancers.'
        )
        continue
      }
    }
    const decision = decideGrowth(needs, interfaces, quota.value, loadBalancers)
    decisions.set(where, decision)
    refusals.push(...decision.refusals)
  }
  return { decisions, refusals, warnings }
}

/** Whether anything is to be created or attached. */
export function hasGrowthWork(newGroups: NewGroup[], prepared: PreparedGrowth): boolean {
  return (
    newGroups.length > 0 ||
    [...prepared.decisions.values()].some(
      decision => decision.attach.length + decision.attachLoadBalancers.length > 0
    )
  )
}

/**
 * Creates every new group, then attaches them; returns placeholder -> real id. Throws on the first
 * failure, before any rule changes (the caller applies the plan only after this succeeds).
 */
export async function executeGrowth(
  newGroups: NewGroup[],
  prepared: PreparedGrowth,
  placeOf: (account: string, region: string) => GrowthPlace,
  log: (message: string) => void
): Promise<{ ids: Map<string, string>; created: CreatedGroup[] }> {
  const ids = new Map<string, string>()
  const created: CreatedGroup[] = []
  for (const group of newGroups) {
    const place = placeOf(group.account, group.region)
    const groupId = await place.writes.createGroup(group)
    ids.set(group.placeholderId, groupId)
    created.push({
      account: group.account,
      region: group.region,
      poolId: group.poolId,
      groupId,
      groupName: group.groupName,
      attachedTo: []
    })
    log(`${group.region} created ${groupId} (${group.groupName}) for pool ${group.poolId}`)
  }
  for (const [where, decision] of prepared.decisions) {
    const [account, region] = where.split('/') as [string, string]
    const place = placeOf(account, region)
    for (const attach of decision.attach) {
      const groupIds = attach.groupIds.map(id => ids.get(id) ?? id)
      await place.writes.setInterfaceGroups(attach.interfaceId, groupIds)
      for (const entry of created) {
        if (groupIds.includes(entry.groupId)) entry.attachedTo.push(describe(attach))
      }
      log(`${region} attached ${groupIds.join(', ')} to ${attach.what}`)
    }
    for (const attach of decision.attachLoadBalancers) {
      const groupIds = attach.groupIds.map(id => ids.get(id) ?? id)
      await place.loadBalancers.setSecurityGroups(attach.arn, groupIds)
      for (const entry of created) {
        if (groupIds.includes(entry.groupId)) entry.attachedTo.push(attach.what)
      }
      log(`${region} set ${groupIds.join(', ')} on ${attach.what}`)
    }
  }
  return { ids, created }
}

const describe = (attach: Attach): string => attach.what

/** Groups grow-pools created that the plan leaves without a managed rule: safe to delete by hand. */
export function removableGroups(
  groups: ManagedGroup[],
  after: ReadonlyMap<string, number>
): string[] {
  return groups
    .filter(group => group.createdByAction && (after.get(group.groupId) ?? 1) === 0)
    .map(group => group.groupId)
    .sort()
}
