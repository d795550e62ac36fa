// Turns the security groups EC2 returned into what the planner needs: which groups we manage, which
// of their rules we own, and how much of each group's rule quota other rules already use. Pure.
import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2'
import { canonicalCidr } from './ranges/cidr.js'
import { judgeSyncToken } from './sync-token.js'
import type { IpFamily, Scope } from './types.js'
import { IP_FAMILIES } from './types.js'

/** A rule the action owns: tcp on the group's port, a CIDR source, our description or none. */
export interface ManagedRule {
  /** Canonical form, for comparison with the published ranges. */
  cidr: string
  /** The text EC2 holds, used verbatim when revoking. */
  raw: string
}

export interface ManagedGroup {
  /** The owning account (the group's OwnerId). */
  account: string
  region: string
  groupId: string
  groupName: string
  vpcId: string
  /** The Name tag value that selected the scope. */
  nameTag: string
  scope: Scope
  protocol: string
  port: number
  managed: Record<IpFamily, ManagedRule[]>
  /** Inbound rules the group may hold per family: the account's quota in this region. */
  ruleLimit: number
  /** Quota used by rules we do not own (never touched, but they take capacity). */
  foreignWeight: Record<IpFamily, number>
  /** CIDRs already allowed on our port by rules we do not own: wanted ones need no rule of ours. */
  foreignOnPort: Record<IpFamily, string[]>
  /** The syncToken of the ranges last applied to this group (tag SYNC_TOKEN_TAG), if any. */
  syncToken?: string
  /**
   * Set instead of `syncToken` when the tag holds no plausible publication time (see
   * ./sync-token.ts): believing it could hold every genuine file back, so it is ignored, and
   * overwritten by the genuine token the next time the group changes.
   */
  ignoredSyncToken?: { value: string; reason: string }
  /** Set when grow-pools created the group (tag CREATED_BY_TAG). */
  createdByAction?: boolean
}

export interface SkippedGroup {
  account: string
  region: string
  groupId: string
  groupName: string
  reason: string
  /** A tag right but for case, and its expected value: `Protocol=HTTPS (expected https)`. */
  closeTag?: string
}

export interface RegionInventory {
  account: string
  region: string
  groups: ManagedGroup[]
  skipped: SkippedGroup[]
  /** Groups whose opt-in or Name tag is right but for case (see `nearMisses`), as hints. */
  nearMisses?: string[]
}

export interface Ownership {
  globalNameTag: string
  regionalNameTag: string
  autoUpdateTag: string
  protocolTag: string
  protocolPorts: Map<string, number>
  ruleDescription: string
  /** The run's clock: a sync-token tag later than this (plus skew) is not believed. */
  now: Date
}

/** Quota weight of a prefix list reference, per family, when known. */
export type PrefixListWeights = Map<string, Record<IpFamily, number>>

/** The `Protocol` tag key of the seed design (AWS's sample Lambda). */
export const PROTOCOL_TAG = 'Protocol'
/** Records on each changed group the syncToken of the ranges applied, so no run goes backwards. */
export const SYNC_TOKEN_TAG = 'cloudfront-sg-sync:sync-token'
/** Marks the groups grow-pools created (src/grow): never deleted, reported once left empty. */
export const CREATED_BY_TAG = 'cloudfront-sg-sync:created-by'

function tagOf(group: SecurityGroup, key: string): string | undefined {
  return group.Tags?.find(tag => tag.Key === key)?.Value
}

/** Where a group was read: its account (until EC2's OwnerId says otherwise), region and quota. */
export interface GroupLocation {
  account: string
  region: string
  ruleLimit: number
}

export function classifyGroup(
  location: GroupLocation,
  group: SecurityGroup,
  owner: Ownership,
  prefixListWeights: PrefixListWeights = new Map()
): ManagedGroup | SkippedGroup {
  const { region, ruleLimit } = location
  const account = group.OwnerId || location.account
  const groupId = group.GroupId ?? ''
  const groupName = group.GroupName ?? ''
  const skip = (reason: string): SkippedGroup => ({ account, region, groupId, groupName, reason })

  // The describe filters already require these; re-checking guards against a loose filter match.
  if (tagOf(group, owner.autoUpdateTag) !== 'true') {
    return skip(`tag ${owner.autoUpdateTag} is not 'true'`)
  }
  const name = tagOf(group, 'Name')
  const scope: Scope | undefined =
    name === owner.globalNameTag
      ? 'global'
      : name === owner.regionalNameTag
        ? 'regional'
        : undefined
  if (scope === undefined) return skip(`Name tag '${name ?? ''}' is not a configured scope`)
  if (!group.VpcId) return skip('not in a VPC (EC2-Classic groups are not supported)')

  const protocol = tagOf(group, owner.protocolTag)
  const port = protocol === undefined ? undefined : owner.protocolPorts.get(protocol)
  if (protocol === undefined || port === undefined) {
    const known = [...owner.protocolPorts.keys()]
    const close = protocol === undefined ? undefined : closeMatch(protocol, known)
    const skipped = skip(
      `${owner.protocolTag} tag '${protocol ?? '(missing)'}' is not one of ${known.join(', ')}` +
        (close ? ` (tag values match exactly: did you mean '${close}'?)` : '') +
        " (input 'protocol-ports' maps tag values to ports)"
    )
    return close
      ? { ...skipped, closeTag: `${owner.protocolTag}=${protocol} (expected ${close})` }
      : skipped
  }

  const managed: Record<IpFamily, ManagedRule[]> = { ipv4: [], ipv6: [] }
  const foreignWeight: Record<IpFamily, number> = { ipv4: 0, ipv6: 0 }
  const foreignOnPort: Record<IpFamily, string[]> = { ipv4: [], ipv6: [] }
  for (const permission of group.IpPermissions ?? []) {
    const ours = isOurPermissionShape(permission, port)
    const owned = (description: string | undefined): boolean =>
      ours &&
      (description === undefined || description === '' || description === owner.ruleDescription)
    const sources: Record<IpFamily, { cidr: string; description: string | undefined }[]> = {
      ipv4: (permission.IpRanges ?? []).map(r => ({
        cidr: r.CidrIp ?? '',
        description: r.Description
      })),
      ipv6: (permission.Ipv6Ranges ?? []).map(r => ({
        cidr: r.CidrIpv6 ?? '',
        description: r.Description
      }))
    }
    for (const family of IP_FAMILIES) {
      for (const { cidr, description } of sources[family]) {
        if (owned(description)) managed[family].push({ cidr: canonicalOrRaw(cidr), raw: cidr })
        else {
          foreignWeight[family] += 1
          if (ours) foreignOnPort[family].push(canonicalOrRaw(cidr))
        }
      }
    }
    // "A rule that references a security group or AWS-managed prefix list ID counts as one rule for
    // IPv4 and one rule for IPv6"; a customer-managed prefix list counts its maximum entries.
    // (Amazon VPC User Guide, "Amazon VPC quotas", Security groups.)
    const groupReferences = permission.UserIdGroupPairs?.length ?? 0
    foreignWeight.ipv4 += groupReferences
    foreignWeight.ipv6 += groupReferences
    for (const reference of permission.PrefixListIds ?? []) {
      const weight = prefixListWeights.get(reference.PrefixListId ?? '') ?? { ipv4: 1, ipv6: 1 }
      foreignWeight.ipv4 += weight.ipv4
      foreignWeight.ipv6 += weight.ipv6
    }
  }
  return {
    account,
    region,
    groupId,
    groupName,
    vpcId: group.VpcId,
    nameTag: name ?? '',
    scope,
    protocol,
    port,
    managed,
    ruleLimit,
    foreignWeight,
    foreignOnPort,
    ...syncTokenOf(group, owner.now),
    ...(tagOf(group, CREATED_BY_TAG) !== undefined ? { createdByAction: true } : {})
  }
}

// Anyone who can tag the group (or a forged document applied before issue 15) can write the tag:
// only a value that can be a past publication time is believed.
function syncTokenOf(
  group: SecurityGroup,
  now: Date
): Pick<ManagedGroup, 'syncToken' | 'ignoredSyncToken'> {
  const value = tagOf(group, SYNC_TOKEN_TAG)
  if (value === undefined) return {}
  const verdict = judgeSyncToken(value, now)
  if (verdict.plausible) return { syncToken: value }
  // EC2 tag values reach 256 characters: keep messages short.
  const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value
  return { ignoredSyncToken: { value: shown, reason: verdict.reason } }
}

function isOurPermissionShape(permission: IpPermission, port: number): boolean {
  return (
    permission.IpProtocol === 'tcp' && permission.FromPort === port && permission.ToPort === port
  )
}

// EC2 accepted it, so it is a valid CIDR; should our parser ever disagree, compare it as written.
function canonicalOrRaw(cidr: string): string {
  try {
    return canonicalCidr(cidr)
  } catch {
    return cidr
  }
}

/** Prefix list ids referenced by the groups' rules (their quota weight must be looked up). */
export function referencedPrefixLists(groups: SecurityGroup[]): string[] {
  const ids = new Set<string>()
  for (const group of groups) {
    for (const permission of group.IpPermissions ?? []) {
      for (const reference of permission.PrefixListIds ?? []) {
        if (reference.PrefixListId) ids.add(reference.PrefixListId)
      }
    }
  }
  return [...ids].sort()
}

/** The expected value `value` differs from only by case or surrounding spaces, if any. */
export function closeMatch(value: string, expected: readonly string[]): string | undefined {
  const folded = value.trim().toLowerCase()
  return expected.find(candidate => candidate !== value && candidate.toLowerCase() === folded)
}

/**
 * Groups the exact tag filters missed by a hair: `AutoUpdate` or `Name` right but for case or
 * spaces (`AutoUpdate=True`, `Name=CloudFront_G`). Fed the groups that carry the opt-in tag key
 * with any value; one sentence per group, naming the tag to fix.
 */
export function nearMisses(groups: SecurityGroup[], owner: Ownership): string[] {
  const hints: string[] = []
  for (const group of groups) {
    const fixes: string[] = []
    const autoUpdate = tagOf(group, owner.autoUpdateTag) ?? ''
    const name = tagOf(group, 'Name') ?? ''
    const names = [owner.globalNameTag, owner.regionalNameTag]
    const autoClose = closeMatch(autoUpdate, ['true'])
    const nameClose = closeMatch(name, names)
    if (autoUpdate !== 'true' && !autoClose) continue
    if (!names.includes(name) && !nameClose) continue
    if (autoClose) fixes.push(`${owner.autoUpdateTag}=${autoUpdate} (expected ${autoClose})`)
    if (nameClose) fixes.push(`Name=${name} (expected ${nameClose})`)
    if (fixes.length > 0) {
      hints.push(`${group.GroupId ?? ''} is tagged ${fixes.join(' and ')}`)
    }
  }
  return hints
}

export function isSkipped(entry: ManagedGroup | SkippedGroup): entry is SkippedGroup {
  return 'reason' in entry
}
