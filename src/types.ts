// The plain values handed from one step of the flow to the next:
// Config -> RangeSet -> Inventory -> Plan -> ApplyResult -> report.

export type IpFamily = 'ipv4' | 'ipv6'
export const IP_FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6']

/** `global` groups get the ranges whose region is GLOBAL, `regional` groups all the others. */
export type Scope = 'global' | 'regional'
export const SCOPES: readonly Scope[] = ['global', 'regional']

/** CIDRs per scope and family: canonical, sorted, deduplicated. */
export type CidrsByScope = Record<Scope, Record<IpFamily, string[]>>

/** What a change notification (repository_dispatch payload or inputs) announced. */
export interface Notification {
  md5?: string
  syncToken?: string
  createTime?: string
  url?: string
}

/** Where the ranges came from, for the report and outputs. */
export interface RangeSource {
  url: string
  syncToken: string
  createDate: string
  md5: string
  bytes: number
}

export interface RangeSet {
  source: RangeSource
  service: string
  cidrs: CidrsByScope
  /** Count of selected prefixes before merging, per scope and family (for the report). */
  publishedCounts: Record<Scope, Record<IpFamily, number>>
}
