// The exposure audit's judgement: given what one region's network interfaces carry and what the
// groups on them allow, which origins answer more than CloudFront, which pools are half attached,
// which are attached nowhere, and which cannot grow. Pure: the EC2 reads are in ./read.ts.
import type { IpPermission } from '@aws-sdk/client-ec2'
import type { IpFamily } from '../types.js'
import type { Attachment } from './attachment.js'
import { describeAttachment } from './attachment.js'
import { classifyCidr, coversTcpPort, describePorts } from './sources.js'

/** The AWS-managed prefix lists that hold CloudFront's origin-facing ranges. */
export const CLOUDFRONT_PREFIX_LISTS: readonly string[] = [
  'com.amazonaws.global.cloudfront.origin-facing',
  'com.amazonaws.global.ipv6.cloudfront.origin-facing'
]
// "The weight of the com.amazonaws.global.cloudfront.origin-facing prefix list is 55" (Amazon
// CloudFront developer guide, "Use the CloudFront managed prefix list"): one reference counts as
// 55 rules against the group's quota.
export const CLOUDFRONT_PREFIX_LIST_WEIGHT = 55

export type FindingKind =
  | 'wider-exposure'
  | 'partial-pool'
  | 'no-room'
  | 'unattached-pool'
  | 'cloudfront-prefix-list'
  | 'private-source'

export type Severity = 'high' | 'medium' | 'info'

export const SEVERITY: Record<FindingKind, Severity> = {
  'wider-exposure': 'high',
  'partial-pool': 'high',
  'no-room': 'medium',
  'unattached-pool': 'info',
  'cloudfront-prefix-list': 'info',
  'private-source': 'info'
}

// Worst first: an origin open to everyone, then part of CloudFront refused, then growth blocked.
const ORDER: readonly FindingKind[] = [
  'wider-exposure',
  'partial-pool',
  'no-room',
  'unattached-pool',
  'cloudfront-prefix-list',
  'private-source'
]

/** The kinds counted by the `exposure-findings` output and `fail-on-exposure`. */
export const EXPOSURE_KINDS: ReadonlySet<FindingKind> = new Set(['wider-exposure', 'partial-pool'])

export interface ExposureFinding {
  kind: FindingKind
  severity: Severity
  account: string
  region: string
  /** The pool id (account/region/vpc/scope/tcp:port). */
  pool: string
  port: number
  /** The interface the finding is about (none for pool-wide findings). */
  interfaceId?: string
  /** What the interface belongs to: a load balancer, an instance or something else. */
  attachment?: Attachment
  /** Offending (or, for informational findings, noted) sources, each naming its group. */
  sources?: string[]
  /** Partial pool: the pool's groups the interface lacks. */
  missingGroups?: string[]
  /** One sentence naming the interface, its owner, the pool and the port; untrusted text inside. */
  message: string
}

/** A pool as the audit sees it. */
export interface AuditPool {
  id: string
  account: string
  region: string
  vpcId: string
  port: number
  groupIds: string[]
  /** The plan was refused because the pool needs another group. */
  needsGroups: boolean
  /** Rules per group (quota L-0EA8095F as the planner used it). */
  ruleLimit: number
}

export interface AuditInterface {
  id: string
  groupIds: string[]
  attachment: Attachment
}

export interface AuditGroup {
  groupId: string
  groupName: string
  permissions: IpPermission[]
}

export interface AuditPrefixList {
  id: string
  name: string
  /** Entries' CIDRs; undefined when they could not be read. */
  entries?: string[]
}

export interface RegionAuditInput {
  account: string
  region: string
  pools: AuditPool[]
  interfaces: AuditInterface[]
  /** Every group on the interfaces, managed or not; a group missing here is not evaluated. */
  groups: ReadonlyMap<string, AuditGroup>
  prefixLists: ReadonlyMap<string, AuditPrefixList>
  /** The exact union of CloudFront's published ranges (mergeCidrs), per family. */
  cloudFront: Record<IpFamily, readonly string[]>
  /** The action's rule description: rules carrying it (or none) on a pool's port are the pool's. */
  ruleDescription: string
  /** Security groups per network interface (quota L-2AFB9258). */
  groupsPerInterface: number
}

export function evaluateRegion(input: RegionAuditInput): ExposureFinding[] {
  const findings: ExposureFinding[] = []
  for (const pool of input.pools) {
    const members = new Set(pool.groupIds)
    const carrying = input.interfaces.filter(eni => eni.groupIds.some(id => members.has(id)))
    const base = { account: input.account, region: input.region, pool: pool.id, port: pool.port }
    if (carrying.length === 0) {
      findings.push({
        ...base,
        kind: 'unattached-pool',
        severity: SEVERITY['unattached-pool'],
        message:
          `Pool ${pool.id} (${pool.groupIds.join(', ')}) is attached to no network interface: ` +
          'its rules protect nothing yet.'
      })
      continue
    }
    const listsSeen = new Set<string>()
    for (const eni of carrying) {
      const where = `${eni.id} (${describeAttachment(eni.attachment)})`
      const onEni = { ...base, interfaceId: eni.id, attachment: eni.attachment }
      const missing = pool.groupIds.filter(id => !eni.groupIds.includes(id))
      if (missing.length > 0) {
        findings.push({
          ...onEni,
          kind: 'partial-pool',
          severity: SEVERITY['partial-pool'],
          missingGroups: missing,
          message:
            `${where} carries only part of pool ${pool.id}: it lacks ${missing.join(', ')}, so ` +
            `CloudFront addresses held there are refused on tcp/${pool.port}. Attach the whole pool.`
        })
      }
      const { wide, internal, cloudFrontLists } = sourcesOnPort(input, eni, pool)
      if (wide.length > 0) {
        findings.push({
          ...onEni,
          kind: 'wider-exposure',
          severity: SEVERITY['wider-exposure'],
          sources: wide,
          message:
            `${where} answers more than CloudFront on tcp/${pool.port} (pool ${pool.id}): ` +
            `${wide.join('; ')}. Remove these rules or move them off this interface.`
        })
      }
      if (internal.length > 0) {
        findings.push({
          ...onEni,
          kind: 'private-source',
          severity: SEVERITY['private-source'],
          sources: internal,
          message: `${where} also allows tcp/${pool.port} from ${internal.join('; ')}.`
        })
      }
      for (const list of cloudFrontLists) {
        if (listsSeen.has(list.key)) continue
        listsSeen.add(list.key)
        findings.push({
          ...onEni,
          kind: 'cloudfront-prefix-list',
          severity: SEVERITY['cloudfront-prefix-list'],
          sources: [list.text],
          message: cloudFrontListMessage(list.text, pool)
        })
      }
    }
    if (pool.needsGroups) {
      const full = carrying.filter(eni => eni.groupIds.length >= input.groupsPerInterface)
      if (full.length > 0) {
        findings.push({
          ...base,
          kind: 'no-room',
          severity: SEVERITY['no-room'],
          sources: full.map(eni => `${eni.id} (${describeAttachment(eni.attachment)})`),
          message:
            `Pool ${pool.id} needs another group, but ${full.length} of its ${carrying.length} ` +
            `interface(s) already carry ${input.groupsPerInterface} groups, the quota ` +
            `'Security groups per network interface' (L-2AFB9258): ` +
            `${full.map(eni => eni.id).join(', ')}. Raise the quota or detach a group there ` +
            'before tagging another group for this pool.'
        })
      }
    }
  }
  return sortFindings(findings)
}

function cloudFrontListMessage(text: string, pool: AuditPool): string {
  const fits = CLOUDFRONT_PREFIX_LIST_WEIGHT <= pool.ruleLimit
  return (
    `${text} already allows CloudFront's origin-facing addresses on tcp/${pool.port} (pool ` +
    `${pool.id}). It weighs ${CLOUDFRONT_PREFIX_LIST_WEIGHT} rules; with ${pool.ruleLimit} ` +
    `rules per group it ${fits ? 'fits in one group alone and could replace' : 'does not fit one group, so it cannot replace'} ` +
    `this pool's ${pool.groupIds.length} group(s).`
  )
}

interface PortSources {
  wide: string[]
  internal: string[]
  cloudFrontLists: { key: string; text: string }[]
}

/** Every source that lets the pool's port in, across all groups on the interface. */
function sourcesOnPort(input: RegionAuditInput, eni: AuditInterface, pool: AuditPool): PortSources {
  const out: PortSources = { wide: [], internal: [], cloudFrontLists: [] }
  const members = new Set(pool.groupIds)
  for (const groupId of eni.groupIds) {
    const group = input.groups.get(groupId)
    if (!group) continue
    const inPool = members.has(groupId)
    for (const permission of group.permissions) {
      if (!coversTcpPort(permission, pool.port)) continue
      const how = `${groupId} (${describePorts(permission)})`
      const exactPort =
        permission.IpProtocol === 'tcp' &&
        permission.FromPort === pool.port &&
        permission.ToPort === pool.port
      const ranges = [
        ...(permission.IpRanges ?? []).map(r => ({ cidr: r.CidrIp, description: r.Description })),
        ...(permission.Ipv6Ranges ?? []).map(r => ({
          cidr: r.CidrIpv6,
          description: r.Description
        }))
      ]
      for (const { cidr, description } of ranges) {
        if (!cidr) continue
        // The pool's own rules: placed by the action, CloudFront's ranges; one outside them is an
        // obsolete range the sync revokes (or, in a dry run, would), so it is only noted.
        const owned =
          inPool &&
          exactPort &&
          (description === undefined || description === '' || description === input.ruleDescription)
        const kind = classifyCidr(cidr, input.cloudFront)
        if (owned) {
          if (kind !== 'cloudfront') out.internal.push(`the pool's own ${cidr} via ${how}`)
          continue
        }
        if (kind === 'public' || kind === undefined) out.wide.push(`${cidr} via ${how}`)
        else if (kind === 'private') out.internal.push(`${cidr} via ${how}`)
      }
      for (const pair of permission.UserIdGroupPairs ?? []) {
        out.internal.push(`group ${pair.GroupId ?? '?'} via ${how}`)
      }
      for (const reference of permission.PrefixListIds ?? []) {
        const id = reference.PrefixListId ?? ''
        const list = input.prefixLists.get(id)
        const label = list ? `${id} (${list.name})` : id
        if (list && CLOUDFRONT_PREFIX_LISTS.includes(list.name)) {
          out.cloudFrontLists.push({ key: id, text: `${label} via ${how}` })
          continue
        }
        const entries = list?.entries
        if (entries === undefined) {
          out.internal.push(`prefix list ${label} via ${how}, entries not readable`)
          continue
        }
        const classes = entries.map(cidr => ({ cidr, kind: classifyCidr(cidr, input.cloudFront) }))
        const open = classes.filter(c => c.kind === 'public' || c.kind === undefined)
        if (open.length > 0) {
          const shown = open.slice(0, 3).map(c => c.cidr)
          const more = open.length > shown.length ? ` and ${open.length - shown.length} more` : ''
          out.wide.push(`prefix list ${label} holding ${shown.join(', ')}${more} via ${how}`)
        } else if (classes.some(c => c.kind === 'private')) {
          out.internal.push(`prefix list ${label} via ${how}`)
        }
      }
    }
  }
  return out
}

export function sortFindings(findings: ExposureFinding[]): ExposureFinding[] {
  return [...findings].sort(
    (a, b) =>
      ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) ||
      compare(a.pool, b.pool) ||
      compare(a.interfaceId ?? '', b.interfaceId ?? '')
  )
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function countExposure(findings: readonly ExposureFinding[]): number {
  return findings.filter(finding => EXPOSURE_KINDS.has(finding.kind)).length
}
