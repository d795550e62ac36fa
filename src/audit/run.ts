// The exposure audit step: per account and region, read the interfaces that carry managed groups
// and what the groups on them allow, then judge (./exposure.ts). Read-only, and it never fails a
// sync: a denied or throttled read becomes a warning naming the permission or the cause.
import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2'
import { errorCode } from '../aws/ec2.js'
import { DEFAULT_GROUPS_PER_INTERFACE } from '../aws/quotas.js'
import type { ManagedGroup } from '../inventory.js'
import { poolId } from '../plan.js'
import { mergeCidrs } from '../ranges/cidr.js'
import type { IpFamily } from '../types.js'
import { attachmentOf } from './attachment.js'
import type { AuditEc2Api } from './ec2-reads.js'
import type {
  AuditGroup,
  AuditPool,
  AuditPrefixList,
  ExposureFinding,
  RegionAuditInput
} from './exposure.js'
import { CLOUDFRONT_PREFIX_LISTS, countExposure, evaluateRegion, sortFindings } from './exposure.js'
import { coversTcpPort } from './sources.js'

export interface ExposureReport {
  findings: ExposureFinding[]
  /** Partial-pool and wider-exposure findings: the `exposure-findings` output. */
  exposureCount: number
  /** Places audited ("account region"); places skipped are named in `warnings`. */
  audited: string[]
  warnings: string[]
}

/** One account and region: its managed groups and how to read it. */
export interface AuditPlace {
  account: string
  region: string
  groups: ManagedGroup[]
  api: AuditEc2Api
  /** Security groups per network interface (L-2AFB9258); read only when a pool needs to grow. */
  groupsPerInterface: () => Promise<{ value: number; warning?: string }>
}

export interface AuditOptions {
  /** CloudFront's published ranges, per family (any scope). */
  cloudFront: Record<IpFamily, readonly string[]>
  ruleDescription: string
  /** Pool ids the plan refused for want of capacity. */
  poolsNeedingGroups: ReadonlySet<string>
}

export async function auditExposure(
  places: AuditPlace[],
  options: AuditOptions
): Promise<ExposureReport> {
  const cloudFront = {
    ipv4: mergeCidrs(options.cloudFront.ipv4),
    ipv6: mergeCidrs(options.cloudFront.ipv6)
  }
  const results = await Promise.all(
    places
      .filter(place => place.groups.length > 0)
      .map(place => auditPlace(place, { ...options, cloudFront }))
  )
  const findings = sortFindings(results.flatMap(result => result.findings))
  return {
    findings,
    exposureCount: countExposure(findings),
    audited: results.filter(result => result.audited).map(result => result.where),
    warnings: results.flatMap(result => result.warnings)
  }
}

interface PlaceResult {
  where: string
  audited: boolean
  findings: ExposureFinding[]
  warnings: string[]
}

async function auditPlace(place: AuditPlace, options: AuditOptions): Promise<PlaceResult> {
  const where = `${place.account} ${place.region}`
  const warnings: string[] = []
  const pools = poolsOf(place.groups, options.poolsNeedingGroups)
  const managedIds = place.groups.map(group => group.groupId)

  let interfaces
  try {
    interfaces = await place.api.interfacesWithGroups(managedIds)
  } catch (error) {
    warnings.push(
      `Exposure audit skipped in ${where}: ${explainReadError(error, 'DescribeNetworkInterfaces')}`
    )
    return { where, audited: false, findings: [], warnings }
  }

  const groups = new Map<string, AuditGroup>()
  const onInterfaces = [
    ...new Set(interfaces.flatMap(eni => (eni.Groups ?? []).map(g => g.GroupId ?? '')))
  ]
  try {
    for (const group of await place.api.groupsById(onInterfaces.filter(Boolean))) {
      if (group.GroupId) groups.set(group.GroupId, auditGroup(group))
    }
  } catch (error) {
    warnings.push(
      `Exposure audit in ${where} could not read the groups on the interfaces, so it did not ` +
        `check their rules: ${explainReadError(error, 'DescribeSecurityGroups')}`
    )
  }

  const prefixLists = await readPrefixLists(place, [...groups.values()], pools, warnings, where)
  // The interface quota matters only where a pool must grow and something carries it.
  const carried = new Set(interfaces.flatMap(eni => (eni.Groups ?? []).map(g => g.GroupId)))
  const growing = pools.some(pool => pool.needsGroups && pool.groupIds.some(id => carried.has(id)))
  let groupsPerInterface = DEFAULT_GROUPS_PER_INTERFACE
  if (growing) {
    const quota = await place.groupsPerInterface()
    groupsPerInterface = quota.value
    if (quota.warning) warnings.push(quota.warning)
  }

  const input: RegionAuditInput = {
    account: place.account,
    region: place.region,
    pools,
    interfaces: interfaces.map(eni => ({
      id: eni.NetworkInterfaceId ?? '',
      groupIds: (eni.Groups ?? []).map(g => g.GroupId ?? ''),
      attachment: attachmentOf(eni)
    })),
    groups,
    prefixLists,
    cloudFront: options.cloudFront,
    ruleDescription: options.ruleDescription,
    groupsPerInterface
  }
  return { where, audited: true, findings: evaluateRegion(input), warnings }
}

function poolsOf(groups: ManagedGroup[], needing: ReadonlySet<string>): AuditPool[] {
  const pools = new Map<string, AuditPool>()
  for (const group of groups) {
    const id = poolId(group)
    const pool = pools.get(id)
    if (pool) {
      pool.groupIds.push(group.groupId)
      continue
    }
    pools.set(id, {
      id,
      account: group.account,
      region: group.region,
      vpcId: group.vpcId,
      port: group.port,
      groupIds: [group.groupId],
      needsGroups: needing.has(id),
      ruleLimit: group.ruleLimit
    })
  }
  for (const pool of pools.values()) pool.groupIds.sort()
  return [...pools.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

function auditGroup(group: SecurityGroup): AuditGroup {
  return {
    groupId: group.GroupId ?? '',
    groupName: group.GroupName ?? '',
    permissions: group.IpPermissions ?? []
  }
}

/** Names of the prefix lists referenced on a pool's port, and the entries of all but CloudFront's. */
async function readPrefixLists(
  place: AuditPlace,
  groups: AuditGroup[],
  pools: AuditPool[],
  warnings: string[],
  where: string
): Promise<Map<string, AuditPrefixList>> {
  const ports = [...new Set(pools.map(pool => pool.port))]
  const onPort = (permission: IpPermission) => ports.some(port => coversTcpPort(permission, port))
  const ids = [
    ...new Set(
      groups.flatMap(group =>
        group.permissions
          .filter(onPort)
          .flatMap(permission => (permission.PrefixListIds ?? []).map(r => r.PrefixListId ?? ''))
      )
    )
  ].filter(Boolean)
  const lists = new Map<string, AuditPrefixList>()
  if (ids.length === 0) return lists
  try {
    for (const list of await place.api.prefixLists(ids)) {
      if (list.PrefixListId) {
        lists.set(list.PrefixListId, { id: list.PrefixListId, name: list.PrefixListName ?? '' })
      }
    }
  } catch (error) {
    warnings.push(
      `Exposure audit in ${where} could not read prefix lists ${ids.join(', ')}: ` +
        explainReadError(error, 'DescribeManagedPrefixLists')
    )
  }
  for (const id of ids) {
    const list = lists.get(id) ?? { id, name: '' }
    lists.set(id, list)
    if (CLOUDFRONT_PREFIX_LISTS.includes(list.name)) continue
    try {
      list.entries = await place.api.prefixListEntries(id)
    } catch (error) {
      warnings.push(
        `Exposure audit in ${where} could not read the entries of prefix list ${id}: ` +
          explainReadError(error, 'GetManagedPrefixListEntries')
      )
    }
  }
  return lists
}

const DENIED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException'])
const THROTTLED = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException'])

/** A failed read as a sentence that says what to do. */
export function explainReadError(error: unknown, action: string): string {
  const code = errorCode(error) ?? 'Error'
  const message = error instanceof Error ? error.message : String(error)
  if (DENIED.has(code)) {
    return (
      `${action} was denied (${code}). Grant the role ec2:${action} (infra/github-oidc-role.yml ` +
      'does) to audit which interfaces carry the managed groups; the sync itself is unaffected.'
    )
  }
  if (THROTTLED.has(code)) {
    return (
      `${action} was throttled by EC2 (${code}) after retries; the audit runs again next run. ` +
      'The sync itself is unaffected.'
    )
  }
  return `${action} failed (${code}: ${message}); the sync itself is unaffected.`
}
