// The lean DescribeSecurityGroups reader against the SDK's own deserializer: for every answer the
// SDK reads, the reader must build exactly the SDK's objects, or refuse (and the SDK reads it).
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2'
import type { DescribeSecurityGroupsCommandOutput } from '@aws-sdk/client-ec2'
import { Readable } from 'node:stream'
import { useLeanAnswers } from '../../src/aws/lean-answers.js'
import { readSecurityGroupsPage } from '../../src/aws/security-groups-xml.js'
import { bodyRecorder } from '../helpers/raw-bodies.js'

/**
 * An EC2 client whose every call gets `xml` back with HTTP 200; nothing leaves the process.
 * `sdkParsed` lists the size of each body the SDK's own deserializer was handed.
 */
function clientAnswering(
  xml: string,
  lean: boolean
): { client: EC2Client; calls: () => number; sdkParsed: number[] } {
  let calls = 0
  const sdkParsed: number[] = []
  const client = new EC2Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDUNITTEST', secretAccessKey: 'unit-test' },
    maxAttempts: 1,
    requestHandler: {
      handle: async () => {
        calls += 1
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'text/xml;charset=UTF-8' },
            body: Readable.from([Buffer.from(xml, 'utf8')])
          }
        }
      }
    }
  })
  if (lean) useLeanAnswers(client.middlewareStack)
  client.middlewareStack.addRelativeTo(
    bodyRecorder(body => sdkParsed.push(body.length)),
    {
      relation: 'after',
      toMiddleware: 'deserializerMiddleware',
      name: 'observeSdkBody'
    }
  )
  return { client, calls: () => calls, sdkParsed }
}

async function viaSdk(
  xml: string,
  lean = false,
  sdkParsed: number[] = []
): Promise<DescribeSecurityGroupsCommandOutput> {
  const answering = clientAnswering(xml, lean)
  try {
    return await answering.client.send(new DescribeSecurityGroupsCommand({}))
  } finally {
    sdkParsed.push(...answering.sdkParsed)
  }
}

function withoutMetadata(output: DescribeSecurityGroupsCommandOutput): object {
  const rest: Partial<DescribeSecurityGroupsCommandOutput> = { ...output }
  delete rest.$metadata
  return rest
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/'

function answer(groups: string, nextToken = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSecurityGroupsResponse xmlns="${NS}">` +
    `<requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>` +
    `<securityGroupInfo>${groups}</securityGroupInfo>${nextToken}</DescribeSecurityGroupsResponse>`
  )
}

// Shaped like the sample answer in the EC2 API reference, with every kind of rule source.
const FULL_GROUP = `<item>
  <ownerId>123456789012</ownerId>
  <groupId>sg-1a2b3c4d</groupId>
  <groupName>edge &amp; origin &lt;g&gt;</groupName>
  <groupDescription>CloudFront &quot;global&quot; &apos;ranges&apos; &#x41;&#66;</groupDescription>
  <vpcId>vpc-1a2b3c4d</vpcId>
  <securityGroupArn>arn:aws:ec2:us-east-1:123456789012:security-group/sg-1a2b3c4d</securityGroupArn>
  <ipPermissions>
    <item>
      <ipProtocol>tcp</ipProtocol>
      <fromPort>443</fromPort>
      <toPort>443</toPort>
      <groups>
        <item><description>lb</description><userId>123456789012</userId><groupId>sg-9a8d7f5c</groupId><groupName>lb</groupName><vpcId>vpc-1</vpcId><vpcPeeringConnectionId>pcx-1</vpcPeeringConnectionId><peeringStatus>active</peeringStatus></item>
      </groups>
      <ipRanges>
        <item><cidrIp>120.52.22.96/27</cidrIp><description>cloudfront-sg-sync</description></item>
        <item><cidrIp>205.251.249.0/24</cidrIp><description>cloudfront-sg-sync</description></item>
        <item><cidrIp>10.0.0.0/8</cidrIp></item>
      </ipRanges>
      <ipv6Ranges>
        <item><cidrIpv6>2600:9000:eee::/48</cidrIpv6><description>cloudfront-sg-sync</description></item>
      </ipv6Ranges>
      <prefixListIds>
        <item><prefixListId>pl-3b927c52</prefixListId><description>origin-facing</description></item>
      </prefixListIds>
    </item>
    <item>
      <ipProtocol>-1</ipProtocol>
      <groups/>
      <ipRanges></ipRanges>
      <ipv6Ranges>
      </ipv6Ranges>
      <prefixListIds/>
    </item>
  </ipPermissions>
  <ipPermissionsEgress>
    <item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>
  </ipPermissionsEgress>
  <tagSet>
    <item><key>Name</key><value>cloudfront_g</value></item>
    <item><key>AutoUpdate</key><value>true</value></item>
    <item><key>empty</key><value/></item>
    <item><key>blank</key><value>
    </value></item>
    <item><key>spaced</key><value>  a  b  </value></item>
    <item><key>unicode</key><value>origine · été ✓ 🚀</value></item>
  </tagSet>
</item>`

const BARE_GROUP = `<item><ownerId>123456789012</ownerId><groupId>sg-2</groupId><groupName>bare</groupName><groupDescription/><vpcId>vpc-2</vpcId><ipPermissions/><ipPermissionsEgress/></item>`

const MINIMAL_GROUP = `<item><groupId>sg-3</groupId></item>`

const READABLE: [string, string][] = [
  ['a full group with every kind of source, entities and blank values', answer(FULL_GROUP)],
  ['a group without tags and empty rule lists', answer(BARE_GROUP)],
  ['a group with only an id', answer(MINIMAL_GROUP)],
  ['no group at all', answer('')],
  ['no group list element', answer('').replace('<securityGroupInfo></securityGroupInfo>', '')],
  ['a next page token', answer(BARE_GROUP, '<nextToken>eyJ2IjoiMiJ9&#x3D;&#x3D;</nextToken>')],
  ['several groups', answer(FULL_GROUP + BARE_GROUP + MINIMAL_GROUP + FULL_GROUP)],
  ['CRLF line ends', answer(FULL_GROUP).replace(/\n/g, '\r\n')],
  [
    'comments and CDATA',
    answer(FULL_GROUP)
      .replace('<groupName>edge', '<!-- a comment --><groupName>edge')
      .replace('<value>true</value>', '<value><![CDATA[tr]]>u<![CDATA[e]]></value>')
      .replace('<ipProtocol>tcp</ipProtocol>', '<ipProtocol>t<!-- x -->cp</ipProtocol>')
  ],
  [
    'single-quoted attributes holding ">"',
    answer(BARE_GROUP).replace('<groupId>', `<groupId a='>' b="x>">`)
  ]
]

describe('readSecurityGroupsPage builds what the SDK builds', () => {
  it.each(READABLE)('%s', async (_name, xml) => {
    const parsedBySdk: number[] = []
    const sdk = withoutMetadata(await viaSdk(xml, false, parsedBySdk))
    expect(parsedBySdk).toEqual([Buffer.byteLength(xml)])
    expect(readSecurityGroupsPage(xml)).toEqual(sdk)
    // Through the client: the SDK parses nothing, and its output carries the page read here.
    const parsedWhenLean: number[] = []
    expect(withoutMetadata(await viaSdk(xml, true, parsedWhenLean))).toEqual(sdk)
    expect(parsedWhenLean).toEqual([0])
  })

  it('reads the numbers, the entities and the blank values as the SDK does', () => {
    const page = readSecurityGroupsPage(answer(FULL_GROUP, '<nextToken>t</nextToken>'))
    const group = page.SecurityGroups?.[0]
    expect(page.NextToken).toBe('t')
    expect(group?.GroupName).toBe('edge & origin <g>')
    expect(group?.Description).toBe(`CloudFront "global" 'ranges' AB`)
    expect(group?.IpPermissions?.[0]?.FromPort).toBe(443)
    expect(group?.IpPermissions?.[1]?.IpRanges).toEqual([])
    expect(group?.IpPermissions?.[1]?.FromPort).toBeUndefined()
    expect(group?.Tags?.find(t => t.Key === 'blank')?.Value).toBe('')
    expect(group?.Tags?.find(t => t.Key === 'spaced')?.Value).toBe('  a  b  ')
  })
})

const UNREADABLE: [string, string][] = [
  ['a byte-order mark', `\uFEFF${answer(BARE_GROUP)}`],
  [
    'a DOCTYPE',
    answer(BARE_GROUP).replace(
      '<DescribeSecurityGroupsResponse',
      '<!DOCTYPE x><DescribeSecurityGroupsResponse'
    )
  ],
  ['an HTML entity', answer(BARE_GROUP).replace('>bare<', '>a&nbsp;b<')],
  ['a port that is not an integer', answer(FULL_GROUP).replace('<fromPort>443', '<fromPort>44.3')]
]

describe('an answer the reader does not know goes to the SDK as it came', () => {
  it.each(UNREADABLE)('%s', async (_name, xml) => {
    expect(() => readSecurityGroupsPage(xml)).toThrow()
    const sdk = await viaSdk(xml).then(withoutMetadata, (error: Error) => error.message)
    const parsedWhenLean: number[] = []
    const lean = await viaSdk(xml, true, parsedWhenLean).then(
      withoutMetadata,
      (error: Error) => error.message
    )
    expect(lean).toEqual(sdk)
    expect(parsedWhenLean).toEqual([Buffer.byteLength(xml)])
  })

  it.each([
    [
      'another answer',
      answer('').replace(/DescribeSecurityGroupsResponse/g, 'DescribeVpcsResponse')
    ],
    ['truncated XML', answer(FULL_GROUP).slice(0, 900)],
    ['mismatched tags', answer(BARE_GROUP).replace('</groupName>', '</groupId>')],
    ['two roots', answer(BARE_GROUP) + '<x/>'],
    ['text outside the root', `${answer(BARE_GROUP)} trailing`]
  ])('refuses %s', (_name, xml) => {
    expect(() => readSecurityGroupsPage(xml)).toThrow()
  })

  it('makes one call either way (no retry, no second request)', async () => {
    const doctype = UNREADABLE.find(([name]) => name === 'a DOCTYPE')?.[1] ?? ''
    const { client, calls } = clientAnswering(doctype, true)
    const output = await client.send(new DescribeSecurityGroupsCommand({}))
    expect(output.SecurityGroups?.[0]?.GroupName).toBe('bare')
    expect(calls()).toBe(1)
  })
})
