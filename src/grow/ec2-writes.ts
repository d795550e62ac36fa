// Pool growth's EC2 calls: a thin adapter over @aws-sdk/client-ec2 (CreateSecurityGroup,
// ModifyNetworkInterfaceAttribute). Kept apart from the sync's adapter: only grow-pools needs
// these permissions.
import {
  CreateSecurityGroupCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand
} from '@aws-sdk/client-ec2'
import type { AwsClientOptions } from '../aws/client-config.js'
import { clientConfig } from '../aws/client-config.js'

export interface GrowthEc2Api {
  /** Creates the group with its tags in the same call; returns its id. */
  createGroup(input: {
    vpcId: string
    groupName: string
    description: string
    tags: Record<string, string>
  }): Promise<string>
  /** Sets the interface's groups to exactly `groupIds` (EC2 replaces the whole list). */
  setInterfaceGroups(interfaceId: string, groupIds: string[]): Promise<void>
}

export function createGrowthEc2Api(options: AwsClientOptions): GrowthEc2Api {
  const client = new EC2Client(clientConfig(options, 8))
  return {
    async createGroup(input) {
      // Tags in TagSpecifications, not a later CreateTags: the group never exists untagged, and
      // IAM can require the marker tag on the request (aws:RequestTag).
      const result = await client.send(
        new CreateSecurityGroupCommand({
          VpcId: input.vpcId,
          GroupName: input.groupName,
          Description: input.description,
          TagSpecifications: [
            {
              ResourceType: 'security-group',
              Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value }))
            }
          ]
        })
      )
      if (!result.GroupId) throw new Error('CreateSecurityGroup answered without a GroupId')
      return result.GroupId
    },
    async setInterfaceGroups(interfaceId, groupIds) {
      await client.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: interfaceId,
          Groups: groupIds
        })
      )
    }
  }
}
