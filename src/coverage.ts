// Which published ranges reach no group: a scope with ranges and no tagged group in a region leaves
// those ranges unallowed there behind an otherwise green run (issue 13). Pure.
import type { ManagedGroup } from './inventory.js'
import type { CidrsByScope, IpFamily, Scope } from './types.js'
import { SCOPES } from './types.js'

export interface UncoveredScope {
  /** The region, prefixed with the account when the run syncs several. */
  where: string
  scope: Scope
  /** Published ranges of the scope (all requested families) that no group in `where` allows. */
  ranges: number
  /** The Name tag value that would select a group for the scope. */
  nameTag: string
}

export interface CoverageOptions {
  families: IpFamily[]
  nameTags: Record<Scope, string>
  /** Label of a place: `region`, or `account region` when several accounts are synced. */
  label: (account: string, region: string) => string
}

/**
 * Every place (account and region) that has at least one managed group but none for a scope the
 * document publishes ranges for. Places with no group at all are reported elsewhere (the run
 * fails when no place has any).
 */
export function uncoveredScopes(
  desired: CidrsByScope,
  places: { account: string; region: string; groups: Pick<ManagedGroup, 'scope'>[] }[],
  options: CoverageOptions
): UncoveredScope[] {
  const found: UncoveredScope[] = []
  for (const place of places) {
    const here = place.groups
    if (here.length === 0) continue
    for (const scope of SCOPES) {
      const ranges = options.families.reduce((n, family) => n + desired[scope][family].length, 0)
      if (ranges === 0 || here.some(g => g.scope === scope)) continue
      found.push({
        where: options.label(place.account, place.region),
        scope,
        ranges,
        nameTag: options.nameTags[scope]
      })
    }
  }
  return found
}

export function describeUncovered(gap: UncoveredScope, service: string): string {
  return (
    `${gap.where}: ${gap.ranges} ${gap.scope} range(s) of ${service} reach no group, since no ` +
    `group there is tagged Name=${gap.nameTag}. Tag one (with the same opt-in and Protocol tags ` +
    `as the others) to allow them, or narrow the ranges if you mean to leave them out.`
  )
}
