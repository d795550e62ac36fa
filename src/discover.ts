// Reads one region's tagged security groups (all pages, exact tag filters) and classifies them.
import type { Ec2Api } from './aws/ec2.js'
import type { Ownership, RegionInventory } from './inventory.js'
import { classifyGroup, isSkipped, referencedPrefixLists } from './inventory.js'

export async function discoverRegion(
  api: Ec2Api,
  region: string,
  owner: Ownership
): Promise<RegionInventory> {
  // Tag filter values match exactly and case-sensitively (EC2 DescribeSecurityGroups, Filter).
  const groups = await api.describeGroups([
    { Name: `tag:${owner.autoUpdateTag}`, Values: ['true'] },
    { Name: 'tag:Name', Values: [owner.globalNameTag, owner.regionalNameTag] }
  ])
  const weights = await api.prefixListWeights(referencedPrefixLists(groups))
  const inventory: RegionInventory = { region, groups: [], skipped: [] }
  for (const group of groups) {
    const entry = classifyGroup(region, group, owner, weights)
    if (isSkipped(entry)) inventory.skipped.push(entry)
    else inventory.groups.push(entry)
  }
  return inventory
}
