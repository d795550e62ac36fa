// The ranges step: download -> verify against the notification -> validate -> select.

import type { IpFamily, Notification, RangeSet } from '../types.js'
import { type DownloadOptions, downloadIpRanges } from './fetch.js'
import { parseIpRanges } from './parse.js'
import { selectRanges } from './select.js'
import { checkNotStale, checkSyncTokenPlausible, verifyDownload } from './verify.js'

export {
  AddressSet,
  canonicalCidr,
  cidrContains,
  compareCidrs,
  mergeCidrs,
  sortUniqueCidrs,
  tryParseCidr
} from './cidr.js'
export { type DownloadOptions, downloadIpRanges, isLoopbackHostname } from './fetch.js'
export { type IpRangesDocument, parseIpRanges, RangesError, type RangesErrorCode } from './parse.js'
export { listServices, MAX_ADDRESSES, MAX_SELECTED_PREFIXES, selectRanges } from './select.js'
export { checkNotStale, checkSyncTokenPlausible, md5Hex, verifyDownload } from './verify.js'

export interface LoadRangeSetOptions {
  url: string
  service: string
  families: readonly IpFamily[]
  mergeAdjacent: boolean
  /** What a change notification announced; checked against the download when present. */
  notification?: Notification
  /** The run's clock: a document whose syncToken lies in its future is refused. */
  now: Date
  download?: DownloadOptions
}

export interface LoadedRangeSet extends RangeSet {
  /** Things worth telling the user that are not failures (e.g. the file is newer than notified). */
  notices: string[]
  /** Requested families the service publishes nothing for: the planner decides (issue 15). */
  unpublished: IpFamily[]
}

/**
 * Downloads, verifies, validates and selects. Throws `RangesError` (with a `hint`) on any
 * failure; nothing has been changed anywhere when it does.
 */
export async function loadRangeSet(options: LoadRangeSetOptions): Promise<LoadedRangeSet> {
  const notification = options.notification ?? {}
  const download = await downloadIpRanges(options.url, options.download)
  const doc = parseIpRanges(download.body)
  checkSyncTokenPlausible(doc, options.now)
  checkNotStale(doc, notification)
  const verified = verifyDownload(download.body, doc, notification)
  const notices: string[] = []
  if (verified.notice) notices.push(verified.notice)
  if (download.url !== new URL(options.url).href) {
    notices.push(`${options.url} redirected to ${download.url}`)
  }
  const selection = selectRanges(doc, {
    service: options.service,
    families: options.families,
    mergeAdjacent: options.mergeAdjacent
  })
  return {
    source: {
      url: download.url,
      syncToken: doc.syncToken,
      createDate: doc.createDate,
      md5: verified.md5,
      bytes: download.body.byteLength
    },
    service: options.service,
    cidrs: selection.cidrs,
    publishedCounts: selection.publishedCounts,
    notices,
    unpublished: selection.unpublished
  }
}
