import * as core from '@actions/core'
import { EC2Client, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2'

export async function run(): Promise<void> {
  const c = new EC2Client({ region: 'us-east-1' })
  core.info(String(typeof c.send) + String(typeof DescribeSecurityGroupsCommand))
}
