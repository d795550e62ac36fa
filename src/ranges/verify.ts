// Checks a downloaded ip-ranges.json against what a change notification announced. Pure.
//
// AWS republishes the file several times a day, and notifications can arrive late: by the time a
// run downloads the file it may legitimately be newer than the notification (different MD5, higher
// syncToken). An older file than announced means a stale cache; the same syncToken with another
// MD5 means the bytes are not what AWS published.

import { createHash } from 'node:crypto'
import { judgeSyncToken } from '../sync-token.js'
import type { Notification } from '../types.js'
import { type IpRangesDocument, RangesError } from './parse.js'

export interface VerifyResult {
  /** MD5 of the downloaded bytes, lowercase hex. */
  md5: string
  /** Set when the check passed for a reason worth telling the user (e.g. newer file). */
  notice?: string
}

const MD5 = /^[0-9a-f]{32}$/
const DIGITS = /^[0-9]+$/

export function md5Hex(bytes: Uint8Array | string): string {
  return createHash('md5').update(bytes).digest('hex')
}

function notificationSyncToken(notification: Notification): bigint | undefined {
  const token = notification.syncToken?.trim()
  if (token === undefined || token === '') return undefined
  if (!DIGITS.test(token)) {
    throw new RangesError(
      'notification',
      `The notification's syncToken ${JSON.stringify(token)} is not all digits (epoch seconds)`,
      'Pass the "synctoken" field of the AmazonIpSpaceChanged message unchanged, or leave it empty.'
    )
  }
  return BigInt(token)
}

/**
 * Throws `RangesError` code `implausible-sync-token` if the document's syncToken cannot be a
 * publication time at `now` (see ../sync-token.ts): applying it would record it on the groups it
 * changes, and every genuine file after it would be held back.
 */
export function checkSyncTokenPlausible(doc: IpRangesDocument, now: Date): void {
  const verdict = judgeSyncToken(doc.syncToken, now)
  if (verdict.plausible) return
  const shown = doc.syncToken.length > 24 ? `${doc.syncToken.slice(0, 24)}...` : doc.syncToken
  throw new RangesError(
    'implausible-sync-token',
    `The downloaded ip-ranges.json has syncToken ${shown} (createDate ${doc.createDate}), which ` +
      `cannot be an AWS publication time: ${verdict.reason}`,
    'Nothing was changed. The file is not what AWS publishes: check ip-ranges-url and any proxy ' +
      "or mirror. If the runner's clock is wrong (self-hosted runner), fix it (NTP)."
  )
}

/**
 * Throws `RangesError` code `stale` if the notification announced a newer publication than the
 * file that was downloaded (a cache or CDN served an older copy).
 */
export function checkNotStale(doc: IpRangesDocument, notification: Notification): void {
  const expected = notificationSyncToken(notification)
  if (expected === undefined) return
  if (BigInt(doc.syncToken) < expected) {
    throw new RangesError(
      'stale',
      `The downloaded ip-ranges.json is older than the notification: its syncToken is ` +
        `${doc.syncToken} (created ${doc.createDate}) but the notification announced ` +
        `${notification.syncToken?.trim()}; the server or a CDN cache served an outdated copy`,
      'Nothing was changed. Retry in a few minutes, when the new file has propagated.'
    )
  }
}

/**
 * Compares the MD5 of `bytes` with the notification's:
 * - no expected MD5, or a match: ok;
 * - a mismatch, but the file's syncToken is greater than the notification's: ok, with a notice
 *   (AWS published again since the notification);
 * - otherwise: `RangesError` code `md5-mismatch` naming both MD5s and both syncTokens.
 */
export function verifyDownload(
  bytes: Uint8Array,
  doc: IpRangesDocument,
  notification: Notification
): VerifyResult {
  const md5 = md5Hex(bytes)
  const expectedRaw = notification.md5?.trim()
  if (expectedRaw === undefined || expectedRaw === '') return { md5 }
  const expected = expectedRaw.toLowerCase()
  if (!MD5.test(expected)) {
    throw new RangesError(
      'notification',
      `The notification's md5 ${JSON.stringify(expectedRaw)} is not 32 hexadecimal digits`,
      'Pass the "md5" field of the AmazonIpSpaceChanged message unchanged, or leave it empty.'
    )
  }
  if (expected === md5) return { md5 }
  const expectedToken = notificationSyncToken(notification)
  if (expectedToken !== undefined && BigInt(doc.syncToken) > expectedToken) {
    return {
      md5,
      notice:
        `ip-ranges.json has been republished since the notification: the downloaded file has ` +
        `syncToken ${doc.syncToken} (created ${doc.createDate}, MD5 ${md5}), newer than the ` +
        `notified ${notification.syncToken?.trim()} (MD5 ${expected}); syncing the newer file`
    }
  }
  const tokens =
    expectedToken === undefined
      ? `file syncToken ${doc.syncToken}; the notification gave no syncToken`
      : `file syncToken ${doc.syncToken}, notified syncToken ${notification.syncToken?.trim()}`
  throw new RangesError(
    'md5-mismatch',
    `MD5 of the downloaded ip-ranges.json is ${md5} but the notification announced ${expected} ` +
      `(${tokens}): the bytes are not the publication that was announced`,
    expectedToken !== undefined && BigInt(doc.syncToken) === expectedToken
      ? 'Same syncToken, different content: the file was altered in transit or by a mirror. ' +
          'Check ip-ranges-url and any proxy; nothing was changed.'
      : 'Nothing was changed. Retry later; if it persists, check ip-ranges-url and any proxy, ' +
          'or run without the expected MD5.'
  )
}
