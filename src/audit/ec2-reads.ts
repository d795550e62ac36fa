// The exposure audit's EC2 reads: a thin adapter over @aws-sdk/client-ec2, read-only. Its own
// client with few attempts: the audit never blocks a sync, so a throttled read gives up early and
// becomes a warning instead of holding the run (the sync's client retries 8 times).
import {
  EC2Client,
  paginateDescribeManagedPrefixLists,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSecurityGroups,
  paginateGetManagedPrefixListEntries
} from '@aws-sdk/client-ec2'
import type { ManagedPrefixList, NetworkInterface, SecurityGroup } from '@aws-sdk/client-ec2'
import type { AwsClientOptions } from '../aws/client-config.js'
import { clientConfig } from '../aws/client-config.js'

/** What the audit reads from EC2 in one region; small enough to fake in unit tests. */
export interface AuditEc2Api {
  /** Every interface carrying at least one of the groups. */
  interfacesWithGroups(groupIds: string[]): Promise<NetworkInterface[]>
  groupsById(groupIds: string[]): Promise<SecurityGroup[]>
  prefixLists(ids: string[]): Promise<ManagedPrefixList[]>
  prefixListEntries(id: string): Promise<string[]>
}

// "The maximum number of filter values specified on a single call is 200" (EC2's
// FilterLimitExceeded error, HTTP 400: gjbae1212/gossm#47, convox/rack#2205): each call carries at
// most 200 group ids, all in one group-id filter.
export const MAX_FILTER_VALUES = 200
// DescribeNetworkInterfaces and DescribeSecurityGroups accept MaxResults 5-1000; the largest page
// means the fewest calls (EC2 API reference). GetManagedPrefixListEntries accepts 1-100.
const PAGE_SIZE = 1000
const ENTRIES_PAGE_SIZE = 100
const DEFAULT_MAX_ATTEMPTS = 3

export function createAuditEc2Api(options: AwsClientOptions): AuditEc2Api {
  const client = new EC2Client(clientConfig(options, DEFAULT_MAX_ATTEMPTS))
  return new SdkAuditEc2Api(client)
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = []
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size))
  }
  return chunks
}

class SdkAuditEc2Api implements AuditEc2Api {
  constructor(private readonly client: EC2Client) {}

  async interfacesWithGroups(groupIds: string[]): Promise<NetworkInterface[]> {
    // DescribeNetworkInterfaces "fails unless you use pagination or one of the following filters:
    // group-id, ..." on accounts with many interfaces (EC2 API reference): both here.
    const byId = new Map<string, NetworkInterface>()
    for (const ids of chunk([...new Set(groupIds)], MAX_FILTER_VALUES)) {
      const pages = paginateDescribeNetworkInterfaces(
        { client: this.client },
        { Filters: [{ Name: 'group-id', Values: ids }], MaxResults: PAGE_SIZE }
      )
      for await (const page of pages) {
        for (const eni of page.NetworkInterfaces ?? []) {
          if (eni.NetworkInterfaceId) byId.set(eni.NetworkInterfaceId, eni)
        }
      }
    }
    return [...byId.values()]
  }

  async groupsById(groupIds: string[]): Promise<SecurityGroup[]> {
    // A group-id filter, not GroupIds: GroupIds fails the whole call when one group was deleted
    // meanwhile (InvalidGroup.NotFound); a filter just leaves it out.
    const groups: SecurityGroup[] = []
    for (const ids of chunk([...new Set(groupIds)], MAX_FILTER_VALUES)) {
      const pages = paginateDescribeSecurityGroups(
        { client: this.client },
        { Filters: [{ Name: 'group-id', Values: ids }], MaxResults: PAGE_SIZE }
      )
      for await (const page of pages) groups.push(...(page.SecurityGroups ?? []))
    }
    return groups
  }

  async prefixLists(ids: string[]): Promise<ManagedPrefixList[]> {
    // By id: the answer names each list, which identifies CloudFront's AWS-managed one
    // (com.amazonaws.global.cloudfront.origin-facing) in the same call.
    const lists: ManagedPrefixList[] = []
    for (const part of chunk([...new Set(ids)], MAX_FILTER_VALUES)) {
      const pages = paginateDescribeManagedPrefixLists(
        { client: this.client },
        { Filters: [{ Name: 'prefix-list-id', Values: part }], MaxResults: 100 }
      )
      for await (const page of pages) lists.push(...(page.PrefixLists ?? []))
    }
    return lists
  }

  async prefixListEntries(id: string): Promise<string[]> {
    const cidrs: string[] = []
    const pages = paginateGetManagedPrefixListEntries(
      { client: this.client },
      { PrefixListId: id, MaxResults: ENTRIES_PAGE_SIZE }
    )
    for await (const page of pages) {
      for (const entry of page.Entries ?? []) if (entry.Cidr) cidrs.push(entry.Cidr)
    }
    return cidrs
  }
}
