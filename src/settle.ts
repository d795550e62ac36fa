// What a failed authorize or revoke really did, decided from a fresh read of the group (pure).
// An error does not prove that nothing changed: when the answer to a call that took effect is lost,
// the SDK's retry meets the changed group and fails (InvalidPermission.Duplicate or .NotFound, or
// RulesPerSecurityGroupLimitExceeded when EC2 checks the quota, which counts the repeated rules,
// before duplicates; the order is not documented). So the group is read again and every rule of
// the batch already in the wanted state counts as done; only the rest can have failed.
import type { IpFamily } from './types.js'
import { IP_FAMILIES } from './types.js'

export type Families<T> = Record<IpFamily, T[]>

/** The canonical CIDRs the group allows on the change's tcp port right now, per family. */
export type PresentCidrs = Record<IpFamily, ReadonlySet<string>>

export type Verdict =
  /** Every rule of the batch is in the wanted state: the change is made. */
  | 'done'
  /** Send `left` once more: the error came from rules of the batch that are now settled. */
  | 'retry'
  /** `left` failed, with the call's error. */
  | 'fail'

export interface Settlement<T> {
  done: Families<T>
  left: Families<T>
  verdict: Verdict
}

const DUPLICATE = 'InvalidPermission.Duplicate'
const NOT_FOUND = 'InvalidPermission.NotFound'
const QUOTA = 'RulesPerSecurityGroupLimitExceeded'

/**
 * After an authorize of `batch` failed with `code`: rules present (whoever added them) are done.
 * A retry of the missing ones is worth it when the error can come from the present ones: EC2
 * rejects the whole request if any one rule exists (Duplicate), and a quota check that counts the
 * existing rules again can reject a request that fits once they are left out. A quota error with
 * none of the batch present is a genuine lack of room: no retry.
 */
export function settleAuthorize(
  batch: Families<string>,
  present: PresentCidrs,
  code: string | undefined,
  mayRetry: boolean
): Settlement<string> {
  const split = splitBatch(batch, (cidr, family) => present[family].has(cidr))
  const retry =
    code === DUPLICATE || (code === QUOTA && size(split.done) > 0 && size(split.left) > 0)
  return { ...split, verdict: verdictOf(split, retry && mayRetry) }
}

/**
 * After a revoke of `batch` failed with `code`: rules no longer present are done. EC2 rejects the
 * whole revoke if any one rule is missing (InvalidPermission.NotFound, non-default VPCs), so the
 * rules still present are revoked once more.
 */
export function settleRevoke<T extends { cidr: string }>(
  batch: Families<T>,
  present: PresentCidrs,
  code: string | undefined,
  mayRetry: boolean
): Settlement<T> {
  const split = splitBatch(batch, (rule, family) => !present[family].has(rule.cidr))
  return { ...split, verdict: verdictOf(split, code === NOT_FOUND && mayRetry) }
}

/** The failure of the rules left, saying how much of the batch did get done. */
export function partialFailure(verb: string, left: number, total: number, reason: string): string {
  return left === total ? reason : `${left} of ${total} rules not ${verb}: ${reason}`
}

export function size(value: Families<unknown>): number {
  return IP_FAMILIES.reduce((sum, family) => sum + value[family].length, 0)
}

function splitBatch<T>(
  batch: Families<T>,
  isDone: (item: T, family: IpFamily) => boolean
): Omit<Settlement<T>, 'verdict'> {
  const done: Families<T> = { ipv4: [], ipv6: [] }
  const left: Families<T> = { ipv4: [], ipv6: [] }
  for (const family of IP_FAMILIES) {
    for (const item of batch[family]) (isDone(item, family) ? done : left)[family].push(item)
  }
  return { done, left }
}

function verdictOf(split: Omit<Settlement<unknown>, 'verdict'>, retry: boolean): Verdict {
  if (size(split.left) === 0) return 'done'
  return retry ? 'retry' : 'fail'
}
