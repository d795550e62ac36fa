// A thin adapter over @aws-sdk/client-ec2: the only module that knows EC2's request shapes.
// Endpoints come from the SDK's standard settings (AWS_ENDPOINT_URL_EC2 and friends), credentials
// from the SDK's default chain unless the caller passes some.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateTagsCommand,
  DescribeManagedPrefixListsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  paginateDescribeSecurityGroups,
  RevokeSecurityGroupIngressCommand
} from '@aws-sdk/client-ec2'
import type { Filter, IpPermission, SecurityGroup } from '@aws-sdk/client-ec2'
import type { IpFamily } from '../types.js'
import type { AwsClientOptions } from './client-config.js'
import { clientConfig } from './client-config.js'
import { drainEchoes } from './drain-echoes.js'

/** What the sync needs from EC2 in one region; small enough to fake in unit tests. */
export interface Ec2Api {
  describeGroups(filters: Filter[]): Promise<SecurityGroup[]>
  describeGroup(groupId: string): Promise<SecurityGroup | undefined>
  prefixListWeights(ids: string[]): Promise<Map<string, Record<IpFamily, number>>>
  authorize(
    groupId: string,
    port: number,
    cidrs: Record<IpFamily, string[]>,
    description: string
  ): Promise<void>
  revoke(groupId: string, port: number, cidrs: Record<IpFamily, string[]>): Promise<void>
  tag(groupIds: string[], key: string, value: string): Promise<void>
}

// The sync must get through throttling storms (see clientConfig): it retries longer than the audit.
const DEFAULT_MAX_ATTEMPTS = 8
// A customer-managed prefix list counts its maximum entries against a group's quota; an
// AWS-managed one its published weight (Amazon VPC user guide, "AWS-managed prefix list weight").
// Lists not named here count 1, as the VPC quotas page states for AWS-managed lists.
const AWS_MANAGED_WEIGHTS: Record<string, number> = {
  'com.amazonaws.global.cloudfront.origin-facing': 55,
  'com.amazonaws.global.ipv6.cloudfront.origin-facing': 55
}

// DescribeSecurityGroups accepts MaxResults 5-1000; the largest page means the fewest calls.
const PAGE_SIZE = 1000

export function createEc2Api(options: AwsClientOptions): Ec2Api {
  const client = new EC2Client({
    ...clientConfig(options, DEFAULT_MAX_ATTEMPTS),
    // Resolve each command's middleware stack once instead of on every call (the SDK's documented
    // opt-in; it ignores stack changes made after the first call, and this client makes none: its
    // custom middleware is added below). Saves CPU and garbage on hundreds of calls.
    cacheMiddleware: true
  })
  drainEchoes(client.middlewareStack)
  return new SdkEc2Api(client)
}

class SdkEc2Api implements Ec2Api {
  constructor(private readonly client: EC2Client) {}

  async describeGroups(filters: Filter[]): Promise<SecurityGroup[]> {
    const groups: SecurityGroup[] = []
    const pages = paginateDescribeSecurityGroups(
      { client: this.client },
      { Filters: filters, MaxResults: PAGE_SIZE }
    )
    for await (const page of pages) groups.push(...(page.SecurityGroups ?? []))
    return groups
  }

  async describeGroup(groupId: string): Promise<SecurityGroup | undefined> {
    const result = await this.client.send(
      new DescribeSecurityGroupsCommand({ GroupIds: [groupId] })
    )
    return result.SecurityGroups?.[0]
  }

  async prefixListWeights(ids: string[]): Promise<Map<string, Record<IpFamily, number>>> {
    const weights = new Map<string, Record<IpFamily, number>>()
    if (ids.length === 0) return weights
    const result = await this.client.send(
      new DescribeManagedPrefixListsCommand({ PrefixListIds: ids })
    )
    for (const list of result.PrefixLists ?? []) {
      if (!list.PrefixListId) continue
      const weight = AWS_MANAGED_WEIGHTS[list.PrefixListName ?? ''] ?? list.MaxEntries ?? 1
      if (list.AddressFamily === 'IPv6') weights.set(list.PrefixListId, { ipv4: 0, ipv6: weight })
      else if (list.AddressFamily === 'IPv4')
        weights.set(list.PrefixListId, { ipv4: weight, ipv6: 0 })
      else weights.set(list.PrefixListId, { ipv4: weight, ipv6: weight })
    }
    return weights
  }

  async authorize(
    groupId: string,
    port: number,
    cidrs: Record<IpFamily, string[]>,
    description: string
  ): Promise<void> {
    const command = new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [permission(port, cidrs, description)]
    })
    await this.client.send(command)
  }

  async revoke(groupId: string, port: number, cidrs: Record<IpFamily, string[]>): Promise<void> {
    const command = new RevokeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [permission(port, cidrs)]
    })
    await this.client.send(command)
  }

  async tag(groupIds: string[], key: string, value: string): Promise<void> {
    // One CreateTags call tags up to 1000 resources (EC2 API reference, CreateTags).
    for (let start = 0; start < groupIds.length; start += 1000) {
      await this.client.send(
        new CreateTagsCommand({
          Resources: groupIds.slice(start, start + 1000),
          Tags: [{ Key: key, Value: value }]
        })
      )
    }
  }
}

/** One tcp permission for one port carrying every CIDR of both families: one call, many rules. */
export function permission(
  port: number,
  cidrs: Record<IpFamily, string[]>,
  description?: string
): IpPermission {
  const withDescription = description ? { Description: description } : {}
  return {
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    ...(cidrs.ipv4.length > 0
      ? { IpRanges: cidrs.ipv4.map(cidr => ({ CidrIp: cidr, ...withDescription })) }
      : {}),
    ...(cidrs.ipv6.length > 0
      ? { Ipv6Ranges: cidrs.ipv6.map(cidr => ({ CidrIpv6: cidr, ...withDescription })) }
      : {})
  }
}

/** The EC2 error code of a failed call (the SDK puts it in `name`), if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'name' in error) {
    const name = (error as { name: unknown }).name
    return typeof name === 'string' ? name : undefined
  }
  return undefined
}

/**
 * An EC2 failure as a sentence that says what to do. `action` names the call for context (the SDK's
 * own messages do not say which call, region or credentials failed).
 */
export function explainEc2Error(error: unknown, action?: string): string {
  const code = errorCode(error)
  const message = error instanceof Error ? error.message : String(error)
  const what = code && !message.startsWith(code) ? `${code}: ${message}` : message
  const prefix = action ? `${action} failed: ` : ''
  if (code === 'RulesPerSecurityGroupLimitExceeded') {
    return (
      `${prefix}${code}: the group has fewer free rule slots than max-rules-per-group assumed. ` +
      "Set max-rules-per-group to auto (or the account's quota L-0EA8095F), or tag another group " +
      'for this pool.'
    )
  }
  if (code === 'UnauthorizedOperation' || code === 'AccessDenied') {
    return (
      `${prefix}${what} The role needs ec2:DescribeSecurityGroups, ` +
      'ec2:DescribeManagedPrefixLists, ec2:AuthorizeSecurityGroupIngress, ' +
      'ec2:RevokeSecurityGroupIngress and ec2:CreateTags on the tagged groups ' +
      '(infra/github-oidc-role.yml grants exactly these).'
    )
  }
  if (code === 'AuthFailure' || code === 'InvalidClientTokenId' || code === 'ExpiredToken') {
    return (
      `${prefix}${what} EC2 did not accept the credentials: set 'role-to-assume' to a role the ` +
      "job's OIDC token may assume, or renew the credentials configured earlier in the job."
    )
  }
  return `${prefix}${what}`
}
