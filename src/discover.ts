// Reads one region's tagged security groups (all pages, exact tag filters) and classifies them.
import type { Ec2Api } from './aws/ec2.js'
import { explainEc2Error } from './aws/ec2.js'
import type { GroupLocation, Ownership, RegionInventory } from './inventory.js'
import { classifyGroup, isSkipped, nearMisses, referencedPrefixLists } from './inventory.js'

/**
 * `ruleLimit` is a promise so that the quota lookup and the describe calls run at once.
 */
export async function discoverRegion(
  api: Ec2Api,
  place: Omit<GroupLocation, 'ruleLimit'>,
  owner: Ownership,
  ruleLimit: Promise<number> | number
): Promise<RegionInventory> {
  // Tag filter values match exactly and case-sensitively (EC2 DescribeSecurityGroups, Filter).
  const describing = api.describeGroups([
    { Name: `tag:${owner.autoUpdateTag}`, Values: ['true'] },
    { Name: 'tag:Name', Values: [owner.globalNameTag, owner.regionalNameTag] }
  ])
  const [groups, limit] = await Promise.all([
    describing.catch((error: unknown) => {
      throw new Error(
        explainEc2Error(error, `DescribeSecurityGroups in ${place.account} ${place.region}`),
        { cause: error }
      )
    }),
    ruleLimit
  ])
  const weights = await api.prefixListWeights(referencedPrefixLists(groups))
  const location: GroupLocation = { ...place, ruleLimit: limit }
  const inventory: RegionInventory = {
    account: place.account,
    region: place.region,
    groups: [],
    skipped: []
  }
  for (const group of groups) {
    const entry = classifyGroup(location, group, owner, weights)
    if (isSkipped(entry)) inventory.skipped.push(entry)
    else inventory.groups.push(entry)
  }
  if (inventory.groups.length === 0) {
    // Nothing selected: one more read, by the opt-in tag's key alone, finds groups whose values
    // differ only by case (filters match values exactly), so the warning can name the fix.
    const tagged = await api
      .describeGroups([{ Name: 'tag-key', Values: [owner.autoUpdateTag] }])
      .catch(() => [])
    inventory.nearMisses = nearMisses(tagged, owner)
  }
  return inventory
}
